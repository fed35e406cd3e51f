//! Logging a session in with a name and a password, however they came
//! (`connect` typed, the answer to a hidden `Password:`, Mudlet's GMCP
//! `Char.Login.Credentials`, an SSH client's password): bans, throttles per
//! address and per account, the password checked off the game thread. And
//! an SSH client's public key, checked against the account's `sshkey` list.

use crate::model::names::name_key;
use crate::model::ssh_keys;
use crate::model::world::{Account, Object};
use crate::runtime::passwords::verify_password;
use crate::runtime::server::{Completion, Server};
use crate::store;
use tavern_shared::SessId;
use tavern_shared::link::LoginProof;

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
        crate::runtime::feeds::gmcp(tavern_shared::link::LOGIN_RESULT, result),
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

/// An account whose password was right, and the character it played last
/// as the database has it.
pub(crate) struct Credentials {
    /// The account's row.
    pub row: store::entities::account::Model,
    /// Its last puppet's row.
    pub character: Option<store::entities::object::Model>,
}

/// Checks a name and password as every log-in does: a ban on the address
/// or the name, the failed-login throttle per address (counted as the
/// attempt starts, so attempts made at once cannot slip past it; a success
/// is taken back), the per-account back-off ([`account_backoff`]), the
/// password hash checked off the game thread. `done` runs on the game
/// thread with the account, or the message to show. With `sessid`, that
/// session's later input waits until then.
pub(crate) fn check_credentials(
    server: &mut Server,
    sessid: Option<SessId>,
    ip: String,
    name: String,
    password: String,
    done: impl FnOnce(&mut Server, Result<Credentials, String>) + Send + 'static,
) {
    let bans = server.world.bans();
    if let Some(ban) = bans.of_address(&ip).or_else(|| bans.of_name(&name)) {
        let msg = crate::runtime::actions::banned_msg(ban);
        done(server, Err(msg));
        return;
    }
    let account_key = format!("account:{}", name_key(&name));
    let now = server.now();
    if !server.login_throttle.take(&ip, now) {
        done(server, Err(LOGIN_THROTTLED_MSG.to_string()));
        return;
    }
    let free = server.settings.security.max_failed_logins as usize;
    let delay = account_backoff(server.account_failures.count(&account_key, now), free);
    server.account_failures.record(&account_key, now);
    let db = server.db.clone();
    let security = server.settings.security.clone();
    let turns = server.db_turns.clone();
    let work = async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let turn = turns.acquire().await.ok();
        let found = store::find_account(&db, &name).await;
        drop(turn);
        let completion: Completion = match found {
            Err(e) => Box::new(move |server: &mut Server| {
                tracing::error!(?sessid, "login failed on the database: {e}");
                server.login_throttle.forgive(&ip);
                server.account_failures.forgive(&account_key);
                let msg = "The game cannot log you in right now. Please try again.";
                done(server, Err(msg.to_string()));
            }),
            Ok(row) => {
                let hash = row.as_ref().map(|r| r.password_hash.clone());
                let ok = verify_password(&security, password, hash).await;
                if ok && let Some(row) = row {
                    let turn = turns.acquire().await.ok();
                    let _ = store::record_login(&db, row.id).await;
                    let character = match row.last_puppet {
                        Some(id) => store::load_object(&db, id).await.ok().flatten(),
                        None => None,
                    };
                    drop(turn);
                    Box::new(move |server: &mut Server| {
                        server.login_throttle.forgive(&ip);
                        server.account_failures.forgive(&account_key);
                        done(server, Ok(Credentials { row, character }));
                    })
                } else {
                    Box::new(move |server: &mut Server| {
                        done(server, Err(BAD_LOGIN_MSG.to_string()));
                    })
                }
            }
        };
        completion
    };
    match sessid {
        Some(sessid) => server.spawn_for(sessid, work),
        None => server.spawn_task(work),
    }
}

/// An account whose password held may have been made by another process
/// (the launcher) whose word never reached this server (it was starting):
/// it and its character are taken into the world here, and the character's
/// creation hooks run now, once — not at the next start, over what the
/// player did meanwhile.
pub(crate) fn take_in(
    server: &mut Server,
    row: &store::entities::account::Model,
    character: Option<store::entities::object::Model>,
) {
    server
        .world
        .accounts
        .entry(row.id)
        .or_insert_with(|| Account::from(row));
    if let Some(c) = character
        && server.world.get(c.id).is_none()
    {
        server.world.insert_loaded(Object::from(c));
        server.pending_creation_hooks(Some(row.id));
    }
}

/// Checks the credentials off the game thread, then logs the session in.
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
    let Some(ip) = server.sessions.get(sessid).map(|s| s.ip().to_string()) else {
        return;
    };
    check_credentials(
        server,
        Some(sessid),
        ip,
        name,
        password,
        move |server, checked| match checked {
            Ok(Credentials { row, character }) => {
                take_in(server, &row, character);
                gmcp_result(server, sessid, gmcp, None);
                server.login(sessid, Account::from(&row));
            }
            Err(msg) => {
                server.msg_session(sessid, msg.clone());
                gmcp_result(server, sessid, gmcp, Some(&msg));
            }
        },
    );
}

impl Server {
    /// A log-in the portal made as the connection opened (SSH): a password
    /// is checked as `connect` checks it; a public key (whose holder the
    /// portal saw sign) must be one of the account's. The session hears
    /// `Char.Login.Result` either way.
    pub(crate) fn authenticate(&mut self, sessid: SessId, name: String, proof: LoginProof) {
        let Some(s) = self.sessions.get(sessid) else {
            return;
        };
        if s.sync.protocol != "ssh" {
            tracing::warn!(sessid, protocol = %s.sync.protocol, "a log-in on connection refused: not an SSH session");
            return;
        }
        if s.account().is_some() {
            gmcp_result(self, sessid, true, Some("You are already logged in."));
            return;
        }
        match proof {
            LoginProof::Password(password) => start_login(self, sessid, name, password, true),
            LoginProof::PublicKey(key) => self.key_login(sessid, &name, &key),
        }
    }

    fn key_login(&mut self, sessid: SessId, name: &str, key: &str) {
        if let Some(ban) = self.ban_for(sessid, Some(name)) {
            let msg = crate::runtime::actions::banned_msg(&ban);
            gmcp_result(self, sessid, true, Some(&msg));
            return;
        }
        // No throttle: a key cannot be guessed, and a client offers each
        // of its keys in turn until one is taken.
        let account = self
            .world
            .account_named(name)
            .and_then(|id| self.world.accounts.get(&id))
            .filter(|a| ssh_keys::has_key(a, key))
            .cloned();
        let Some(account) = account else {
            gmcp_result(self, sessid, true, Some(BAD_LOGIN_MSG));
            return;
        };
        tracing::info!(sessid, account = account.id, "logged in with an SSH key");
        let db = self.db.clone();
        let id = account.id;
        self.spawn_for(sessid, async move {
            let _ = store::record_login(&db, id).await;
            let done: Completion = Box::new(move |server: &mut Server| {
                gmcp_result(server, sessid, true, None);
                server.login(sessid, account);
            });
            done
        });
    }
}
