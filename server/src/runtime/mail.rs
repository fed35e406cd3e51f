//! Mail (Evennia's mail contrib): letters from account to account, kept in
//! each recipient's inbox (an account attribute, bounded), read when they
//! like; unread mail is announced at login.

use serde::{Deserialize, Serialize};
use tavern_shared::markup::escape;

use crate::model::ids::{AccountId, Timestamp};
use crate::runtime::server::Server;

/// The account attribute holding its inbox.
pub const MAIL_ATTR: &str = "_mail";
/// How many letters an inbox holds.
pub const MAX_MAILS: usize = 200;
/// The longest subject.
pub const MAX_SUBJECT: usize = 80;
/// The longest letter.
pub const MAX_BODY: usize = 4000;

/// A letter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mail {
    /// When it was sent.
    pub at: Timestamp,
    /// Who sent it.
    pub from: String,
    /// Who it went to.
    pub to: Vec<String>,
    /// Its subject.
    pub subject: String,
    /// Its text.
    pub body: String,
    /// Whether the recipient read it.
    #[serde(default)]
    pub read: bool,
    /// Whether it was forwarded.
    #[serde(default)]
    pub forwarded: bool,
}

impl Server {
    /// An account's inbox, oldest first.
    pub fn mail_inbox(&self, account: AccountId) -> Vec<Mail> {
        self.world
            .accounts
            .get(&account)
            .and_then(|a| a.attr(MAIL_ATTR))
            .unwrap_or_default()
    }

    /// Replaces an account's inbox.
    pub fn mail_set_inbox(&mut self, account: AccountId, inbox: &[Mail]) {
        self.world
            .update_account(account, |a| a.set_attr(MAIL_ATTR, inbox));
    }

    /// Sends a letter; recipients online are told at once. Refused (and
    /// sent to nobody) when a subject or text is too long or an inbox is full.
    pub fn mail_send(
        &mut self,
        from: AccountId,
        to: &[AccountId],
        subject: &str,
        body: &str,
        forwarded: bool,
    ) -> Result<(), String> {
        let (subject, body) = (subject.trim(), body.trim());
        if body.is_empty() {
            return Err("A letter needs some text.".into());
        }
        if subject.chars().count() > MAX_SUBJECT || body.chars().count() > MAX_BODY {
            return Err(format!(
                "A subject is at most {MAX_SUBJECT} characters and a letter at most {MAX_BODY}."
            ));
        }
        for &a in to {
            if self.mail_inbox(a).len() >= MAX_MAILS {
                return Err(format!(
                    "{}'s mailbox is full.",
                    escape(self.world.account_name(a))
                ));
            }
        }
        let letter = Mail {
            at: self.now(),
            from: self.world.account_name(from).to_string(),
            to: to
                .iter()
                .map(|a| self.world.account_name(*a).to_string())
                .collect(),
            subject: if subject.is_empty() {
                "(no subject)".into()
            } else {
                subject.to_string()
            },
            body: body.to_string(),
            read: false,
            forwarded,
        };
        for &a in to {
            let mut inbox = self.mail_inbox(a);
            inbox.push(letter.clone());
            self.mail_set_inbox(a, &inbox);
            self.msg_account(
                a,
                &format!(
                    "You have new mail from {}: {}",
                    escape(&letter.from),
                    escape(&letter.subject)
                ),
            );
        }
        Ok(())
    }

    /// At a login: how many unread letters wait.
    pub(crate) fn mail_at_login(&mut self, account: AccountId) {
        let unread = self.mail_inbox(account).iter().filter(|m| !m.read).count();
        if unread > 0 {
            self.msg_account(
                account,
                &format!("You have {unread} unread letter(s). Type |wmail|n to read them."),
            );
        }
    }
}
