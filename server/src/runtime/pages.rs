//! Pages: messages from account to account, wherever their characters are,
//! to every session of the recipient. Each account keeps its last pages
//! (sent and received, bounded) in an attribute, so a page to someone
//! offline waits and is shown at their next login, and `page` lists them
//! after any reload.

use serde::{Deserialize, Serialize};
use tavern_shared::markup::escape;

use crate::model::ids::{AccountId, Timestamp};
use crate::runtime::server::Server;

/// The account attribute that holds its pages.
pub const PAGES_ATTR: &str = "_pages";
/// How many pages an account keeps (the oldest go first).
pub const MAX_PAGES: usize = 100;
/// The longest page.
pub const MAX_PAGE_LEN: usize = 2000;

/// A page as kept by the sender and each recipient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// When it was sent.
    pub at: Timestamp,
    /// Who sent it.
    pub from: String,
    /// Who it was for.
    pub to: Vec<String>,
    /// What it said.
    pub text: String,
    /// Whether it is a pose (`page bob = :waves`).
    #[serde(default)]
    pub pose: bool,
    /// For a recipient: whether it was shown (it was online, or has logged in since).
    #[serde(default)]
    pub seen: bool,
}

impl Page {
    /// How the recipient sees it: `Account Bob pages: hi`, or `From afar, Bob waves`.
    pub fn received_text(&self) -> String {
        if self.pose {
            format!("From afar, {} {}", escape(&self.from), escape(&self.text))
        } else {
            format!(
                "Account {} pages: {}",
                escape(&self.from),
                escape(&self.text)
            )
        }
    }
}

impl Server {
    /// An account's pages, oldest first.
    pub fn pages(&self, account: AccountId) -> Vec<Page> {
        self.world
            .accounts
            .get(&account)
            .and_then(|a| a.attr(PAGES_ATTR))
            .unwrap_or_default()
    }

    fn keep_page(&mut self, account: AccountId, page: Page) {
        let mut all = self.pages(account);
        all.push(page);
        if all.len() > MAX_PAGES {
            let extra = all.len() - MAX_PAGES;
            all.drain(..extra);
        }
        self.world
            .update_account(account, |a| a.set_attr(PAGES_ATTR, &all));
    }

    /// Sends a page from one account to others: each recipient online sees
    /// it on every session; one offline sees it at its next login. Every
    /// side keeps it. Returns the recipients who were offline.
    pub fn page(
        &mut self,
        from: AccountId,
        to: &[AccountId],
        text: &str,
        pose: bool,
    ) -> Vec<AccountId> {
        let names: Vec<String> = to
            .iter()
            .map(|a| self.world.account_name(*a).to_string())
            .collect();
        let page = Page {
            at: self.now(),
            from: self.world.account_name(from).to_string(),
            to: names,
            text: text.to_string(),
            pose,
            seen: true,
        };
        let mut offline = Vec::new();
        for &a in to {
            let online = !self.sessions.of_account(a).is_empty();
            if online {
                self.msg_account(a, &page.received_text());
            } else {
                offline.push(a);
            }
            if a != from {
                self.keep_page(
                    a,
                    Page {
                        seen: online,
                        ..page.clone()
                    },
                );
            }
        }
        self.keep_page(from, page);
        offline
    }

    /// At a login: the pages that came while the account was away.
    pub(crate) fn deliver_pages(&mut self, account: AccountId) {
        let mut all = self.pages(account);
        let name = self.world.account_name(account).to_string();
        let waiting: Vec<String> = all
            .iter()
            .filter(|p| !p.seen && p.from != name)
            .map(Page::received_text)
            .collect();
        if waiting.is_empty() {
            return;
        }
        for p in &mut all {
            p.seen = true;
        }
        self.world
            .update_account(account, |a| a.set_attr(PAGES_ATTR, &all));
        self.msg_account(
            account,
            &format!(
                "|wWhile you were away you were paged {} time(s):|n\n{}",
                waiting.len(),
                waiting.join("\n")
            ),
        );
    }
}
