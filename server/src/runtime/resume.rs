//! Resuming a webclient session after its connection dropped, without the
//! password: at log-in the page is given a random single-use token
//! (`Tavern.Resume {"token": …}`, kept in the tab's sessionStorage, never
//! the password); when the connection drops, the token stays good for
//! [`RESUME_WINDOW_MS`]; the reconnected page sends `resume <token>` and is
//! logged in again (as a log-in: the same bans, hooks and puppet), and is
//! given a new token. A token is gone once used, when it expires, and when
//! the session ends on purpose (`quit`, boot, ban: the server closes it).
//! Tokens of open sessions live in the session's data (so a reload keeps
//! them); those of dropped sessions in the server's memory (a reload in the
//! window forgets them: the player types the password again).

use std::collections::HashMap;

use tavern_shared::SessId;

use crate::model::world::{AccountId, Timestamp};
use crate::runtime::server::Server;

/// How long a dropped webclient session may be resumed, in ms.
pub const RESUME_WINDOW_MS: i64 = 5 * 60 * 1000;
/// The session data key of an open session's token.
pub const RESUME_KEY: &str = "_resume_token";
/// Told when a token is unknown, used or expired.
pub const RESUME_FAILED_MSG: &str = "That session cannot be resumed; please log in again.";

/// Tokens of dropped sessions: token → (account, good until).
#[derive(Default)]
pub struct ResumeTokens(HashMap<String, (AccountId, Timestamp)>);

impl ResumeTokens {
    /// Keeps a dropped session's token until `until` (forgetting expired ones).
    pub fn keep(&mut self, token: String, account: AccountId, now: Timestamp) {
        self.0.retain(|_, (_, until)| *until > now);
        self.0.insert(token, (account, now + RESUME_WINDOW_MS));
    }

    /// Takes a token: its account, if it is known and not expired.
    pub fn take(&mut self, token: &str, now: Timestamp) -> Option<AccountId> {
        let (account, until) = self.0.remove(token)?;
        (until > now).then_some(account)
    }
}

impl Server {
    /// Gives a webclient session that just logged in a token to resume with.
    pub(crate) fn issue_resume_token(&mut self, sessid: SessId) {
        let Some(s) = self.sessions.get_mut(sessid) else {
            return;
        };
        if s.sync.protocol != "websocket" {
            return;
        }
        let bytes: [u8; 32] = rand::random();
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        s.set_data(RESUME_KEY, token.clone().into());
        self.send_msg(
            sessid,
            crate::runtime::feeds::gmcp("Tavern.Resume", serde_json::json!({"token": token})),
        );
    }

    /// A session's connection dropped: its token stays good for a while.
    pub(crate) fn keep_resume_token(&mut self, sessid: SessId) {
        let now = self.now();
        let Some(s) = self.sessions.get(sessid) else {
            return;
        };
        let (Some(account), Some(token)) = (
            s.account(),
            s.data().get(RESUME_KEY).and_then(|v| v.as_str()),
        ) else {
            return;
        };
        let token = token.to_string();
        self.resume_tokens.keep(token, account, now);
    }

    /// `resume <token>` from a reconnected page that is not logged in.
    pub(crate) fn resume(&mut self, sessid: SessId, token: &str) {
        let logged_in = self.sessions.get(sessid).is_none_or(|s| s.sync.logged_in);
        if logged_in || token.len() != 64 {
            return;
        }
        let now = self.now();
        let account = self
            .resume_tokens
            .take(token, now)
            .and_then(|a| self.world.accounts.get(&a).cloned());
        let Some(account) = account else {
            self.msg_session(sessid, RESUME_FAILED_MSG);
            return;
        };
        if let Some(ban) = self.ban_for(sessid, Some(&account.name)) {
            self.msg_session(sessid, crate::runtime::actions::banned_msg(&ban));
            return;
        }
        tracing::info!(sessid, account = account.id, "session resumed");
        self.login(sessid, account);
    }
}
