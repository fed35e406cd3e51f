//! Logging a session in with a name and a password, however they came
//! (`connect` typed, the answer to a hidden `Password:`, Mudlet's GMCP
//! `Char.Login.Credentials`): bans, throttles per address and per account,
//! the password checked off the game thread.

use crate::model::names::name_key;
use crate::model::world::{Account, Object};
use crate::runtime::passwords::verify_password;
use crate::runtime::server::{Completion, Server};
use crate::store;
use tavern_shared::SessId;

/// Evennia's answer to a wrong name or password, whichever it was.
pub const BAD_LOGIN_MSG: &str = "Username and/or password is incorrect.";
/// Told when too many logins failed from an address or for an account.
pub const LOGIN_THROTTLED_MSG: &str =
    "|RYou made too many connection attempts. Try again in a few minutes.|n";

/// Tells a client that logged in over GMCP how it went (`Char.Login.Result`).
fn gmcp_result(server: &mut Server, sessid: SessId, gmcp: bool, message: Option<&str>) {
    if !gmcp {
        return;
    }
    let mut result = serde_json::json!({"success": message.is_none()});
    if let Some(m) = message {
        result["message"] = tavern_shared::markup::strip(m).trim().into();
    }
    server.send_msg(
        sessid,
        crate::runtime::feeds::gmcp("Char.Login.Result", result),
    );
}

/// How long a login for an account waits before its password is checked,
/// after `failures` failed (or still pending) attempts for that account
/// within the window: nothing up to `free` of them, then 1 s, 2 s, 4 s, ...
/// up to [`MAX_ACCOUNT_BACKOFF`]. Guessing one account from many addresses
/// is slowed down; its owner, with the right password, always gets in.
pub fn account_backoff(failures: usize, free: usize) -> std::time::Duration {
    if free == 0 || failures < free {
        return std::time::Duration::ZERO;
    }
    let exp = (failures - free).min(16) as u32;
    std::time::Duration::from_secs(1u64 << exp).min(MAX_ACCOUNT_BACKOFF)
}

/// The longest wait [`account_backoff`] imposes.
pub const MAX_ACCOUNT_BACKOFF: std::time::Duration = std::time::Duration::from_secs(30);

/// Checks the credentials off the game thread, then logs the session in.
///
/// Failed logins are throttled per address (`max_failed_logins` per
/// `login_window_secs`), counted when an attempt starts, so attempts made
/// at once cannot slip past the limit; a success is not counted. Per
/// account, failures only slow further attempts down ([`account_backoff`]).
///
/// `gmcp`: the credentials came over GMCP (`Char.Login.Credentials`), and
/// the client hears `Char.Login.Result` as well as the text.
pub fn start_login(
    server: &mut Server,
    sessid: SessId,
    name: String,
    password: String,
    gmcp: bool,
) {
    let ip = server
        .sessions
        .get(sessid)
        .map(|s| s.ip().to_string())
        .unwrap_or_default();
    if let Some(ban) = server.ban_for(sessid, Some(&name)) {
        let msg = crate::runtime::actions::banned_msg(&ban);
        server.msg_session(sessid, msg.clone());
        gmcp_result(server, sessid, gmcp, Some(&msg));
        return;
    }
    let account_key = format!("account:{}", name_key(&name));
    let now = server.now();
    if !server.login_throttle.take(&ip, now) {
        server.msg_session(sessid, LOGIN_THROTTLED_MSG);
        gmcp_result(server, sessid, gmcp, Some(LOGIN_THROTTLED_MSG));
        return;
    }
    let free = server.settings.security.max_failed_logins as usize;
    let delay = account_backoff(server.account_failures.count(&account_key, now), free);
    server.account_failures.record(&account_key, now);
    let db = server.db.clone();
    let security = server.settings.security.clone();
    server.spawn_for(sessid, async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let found = store::find_account(&db, &name).await;
        let completion: Completion = match found {
            Err(e) => Box::new(move |server: &mut Server| {
                tracing::error!(sessid, "login failed on the database: {e}");
                server.login_throttle.forgive(&ip);
                server.account_failures.forgive(&account_key);
                let msg = "The game cannot log you in right now. Please try again.";
                server.msg_session(sessid, msg);
                gmcp_result(server, sessid, gmcp, Some(msg));
            }),
            Ok(row) => {
                let hash = row.as_ref().map(|r| r.password_hash.clone());
                let ok = verify_password(&security, password, hash).await;
                if ok && let Some(row) = row {
                    let _ = store::record_login(&db, row.id).await;
                    let character = match row.last_puppet {
                        Some(id) => store::load_object(&db, id).await.ok().flatten(),
                        None => None,
                    };
                    Box::new(move |server: &mut Server| {
                        server.login_throttle.forgive(&ip);
                        server.account_failures.forgive(&account_key);
                        // The character may have been created by another process (the CLI).
                        if let Some(c) = character
                            && server.world.get(c.id).is_none()
                        {
                            server.world.insert_loaded(Object::from(c));
                        }
                        gmcp_result(server, sessid, gmcp, None);
                        server.login(sessid, Account::from(&row));
                    })
                } else {
                    Box::new(move |server: &mut Server| {
                        server.msg_session(sessid, BAD_LOGIN_MSG);
                        gmcp_result(server, sessid, gmcp, Some(BAD_LOGIN_MSG));
                    })
                }
            }
        };
        completion
    });
}
