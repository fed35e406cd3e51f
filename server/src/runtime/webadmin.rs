//! What the web admin (the portal's `/admin` pages) asks of the game.
//!
//! A log-in is checked as `connect` checks one (bans, throttles, the
//! password off the game thread) and holds only for accounts with the
//! Admin permission — checked again on every request, so taking it away
//! ends the admin's access at once. Pages read the world directly, through
//! its indexes; every change is a command line run as the admin, in a
//! session that lasts for that one event and puppets the admin's character:
//! the command's own locks, messages and saving apply, and the answer
//! leaves only once what the command changed is saved.

use tavern_shared::SessionSync;
use tavern_shared::link::PortalOp;
use tavern_shared::link::admin::{
    AdminAccount, AdminObject, AdminObjectRow, AdminReply, AdminRequest, AdminScript, AdminSession,
};
use tavern_shared::session::SessId;

use crate::model::locks::Accessor;
use crate::model::names::name_key;
use crate::model::timers::Attached;
use crate::model::world::{Account, AccountId, ObjId};
use crate::runtime::login::{Credentials, check_credentials};
use crate::runtime::server::Server;

/// The session the web admin's commands run in: it lives for one event.
pub const ADMIN_SESSION: SessId = SessId::MAX - 1;

/// The most rows a list page shows.
pub const ADMIN_PAGE: usize = 200;

use tavern_shared::link::admin::ACCOUNT_GONE_MSG;
pub use tavern_shared::link::admin::NOT_ADMIN_MSG;

impl Server {
    /// Answers one request of the web admin with [`PortalOp::Admin`].
    pub(crate) fn admin_request(&mut self, token: u64, account: AccountId, request: AdminRequest) {
        if let AdminRequest::LogIn {
            name,
            password,
            address,
        } = request
        {
            self.admin_login(token, name, password, address);
            return;
        }
        let Some(admin) = self.world.accounts.get(&account).cloned() else {
            self.admin_reply(token, AdminReply::Refused(ACCOUNT_GONE_MSG.into()));
            return;
        };
        if !self.may_administer(account) {
            self.admin_reply(token, AdminReply::Refused(NOT_ADMIN_MSG.into()));
            return;
        }
        let reply = match request {
            AdminRequest::LogIn { .. } => return,
            AdminRequest::Sessions => AdminReply::Sessions(self.admin_sessions()),
            AdminRequest::Accounts { query } => AdminReply::Accounts(self.admin_accounts(&query)),
            AdminRequest::Objects { query } => {
                let (found, total) = self.admin_objects(&query);
                AdminReply::Objects { found, total }
            }
            AdminRequest::Object { id } => AdminReply::Object(self.admin_object(id)),
            AdminRequest::Scripts => AdminReply::Scripts(self.admin_scripts()),
            AdminRequest::Whoami => AdminReply::LoggedIn {
                account,
                name: admin.name.clone(),
            },
            AdminRequest::Run { line } => AdminReply::Ran(self.admin_run(&admin, &line)),
        };
        self.admin_reply(token, reply);
    }

    fn admin_reply(&mut self, token: u64, reply: AdminReply) {
        self.push_op(PortalOp::Admin { token, reply });
    }

    /// Whether an account may use the admin site: the Admin permission (or
    /// one above it), or a superuser.
    pub fn may_administer(&self, account: AccountId) -> bool {
        self.has_perm(
            Accessor {
                account: Some(account),
                puppet: None,
            },
            "Admin",
        )
    }

    fn admin_login(&mut self, token: u64, name: String, password: String, address: String) {
        let ip = address
            .rsplit_once(':')
            .map_or(address.as_str(), |(ip, _)| ip)
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        check_credentials(self, None, ip, name, password, move |server, checked| {
            let reply = match checked {
                Ok(Credentials { row, character }) => {
                    // Made by the launcher while this server started: taken
                    // in, as a log-in takes it (its character is the
                    // admin's puppet for commands).
                    crate::runtime::login::take_in(server, &row, character);
                    if server.may_administer(row.id) {
                        tracing::info!(account = row.id, "logged in to the web admin");
                        AdminReply::LoggedIn {
                            account: row.id,
                            name: row.name.clone(),
                        }
                    } else {
                        tracing::warn!(account = row.id, "refused the web admin: not an admin");
                        AdminReply::Refused(NOT_ADMIN_MSG.into())
                    }
                }
                Err(msg) => AdminReply::Refused(tavern_shared::markup::strip(&msg)),
            };
            server.admin_reply(token, reply);
        });
    }

    /// Runs a command line as the admin: in a session for this event only,
    /// logged in to the admin's account and puppeting its character (so
    /// building commands are there), answering "yes" to a question the
    /// command asks (the page asked already). What it said, markup stripped.
    fn admin_run(&mut self, admin: &Account, line: &str) -> String {
        let puppet = admin
            .last_puppet
            .filter(|p| self.world.get(*p).is_some())
            .or_else(|| self.world.characters_of(admin.id).first().copied());
        let sync = SessionSync {
            sessid: ADMIN_SESSION,
            address: "web admin".into(),
            protocol: "webadmin".into(),
            logged_in: true,
            account_id: Some(admin.id),
            account_name: Some(admin.name.clone()),
            puppet_id: puppet,
            ..Default::default()
        };
        tracing::info!(account = admin.id, line, "web admin runs a command");
        let from = self.enter_passing(sync);
        self.execute_line(ADMIN_SESSION, line);
        if self
            .sessions
            .get(ADMIN_SESSION)
            .is_some_and(|s| s.asked.is_some())
        {
            self.execute_line(ADMIN_SESSION, "yes");
        }
        self.command_failed = false;
        let said = self.said_to(ADMIN_SESSION, from);
        self.leave_passing(ADMIN_SESSION, from);
        said
    }

    fn admin_sessions(&self) -> Vec<AdminSession> {
        let now = self.now().max(0) as u64;
        self.sessions
            .all()
            .take(ADMIN_PAGE * 5)
            .map(|s| AdminSession {
                sessid: s.sessid(),
                account: s.account().map(|a| self.world.account_name(a).to_string()),
                puppet: s.puppet().map(|p| self.world.name_of(p).to_string()),
                protocol: s.sync.protocol.clone(),
                address: s.sync.address.clone(),
                connected_secs: now.saturating_sub(s.sync.conn_time) / 1000,
                idle_secs: now.saturating_sub(s.sync.cmd_last_visible.max(s.sync.conn_time)) / 1000,
            })
            .collect()
    }

    fn admin_accounts(&self, query: &str) -> Vec<AdminAccount> {
        let query = query.trim();
        let ids: Vec<AccountId> = if query.is_empty() {
            let mut all: Vec<AccountId> = self.world.accounts.keys().copied().collect();
            all.sort_unstable();
            all.truncate(ADMIN_PAGE);
            all
        } else {
            self.world.account_named(query).into_iter().collect()
        };
        ids.into_iter()
            .filter_map(|id| self.world.accounts.get(&id))
            .map(|a| AdminAccount {
                id: a.id,
                name: a.name.clone(),
                permissions: a.permissions.clone(),
                superuser: a.is_superuser,
                characters: self
                    .world
                    .characters_of(a.id)
                    .into_iter()
                    .map(|c| self.world.name_of(c).to_string())
                    .collect(),
                sessions: self.sessions.of_account(a.id).len(),
            })
            .collect()
    }

    fn admin_row(&self, id: ObjId) -> Option<AdminObjectRow> {
        let o = self.world.get(id)?;
        Some(AdminObjectRow {
            id,
            key: o.key.clone(),
            kind: o.kind.as_str().to_string(),
            typeclass: o.typeclass.clone(),
            location: o
                .location
                .map(|l| format!("{} (#{l})", self.world.name_of(l))),
        })
    }

    /// Objects by `#id`, `tag:name`, `type:typeclass`, or the start of a
    /// key, alias or word of one — each through an index.
    fn admin_objects(&self, query: &str) -> (Vec<AdminObjectRow>, usize) {
        let query = query.trim();
        let ids: Vec<ObjId> = if let Some(id) = query.strip_prefix('#') {
            id.parse().ok().into_iter().collect()
        } else if let Some(tag) = query.strip_prefix("tag:") {
            let (key, category) = match tag.split_once(':') {
                Some((k, c)) => (k, Some(c)),
                None => (tag, None),
            };
            self.world.tagged(key, category)
        } else if let Some(tc) = query.strip_prefix("type:") {
            self.world.of_typeclass(tc).to_vec()
        } else if query.is_empty() {
            Vec::new()
        } else {
            // Past the budget, the exact key is what is asked.
            let key = name_key(query);
            self.world
                .prefixed(&key, ADMIN_PAGE * 5)
                .unwrap_or_else(|| self.world.named(query).to_vec())
        };
        let total = ids.len();
        let found = ids
            .into_iter()
            .take(ADMIN_PAGE)
            .filter_map(|id| self.admin_row(id))
            .collect();
        (found, total)
    }

    fn admin_object(&self, id: ObjId) -> Option<AdminObject> {
        let row = self.admin_row(id)?;
        let o = self.world.get(id)?;
        Some(AdminObject {
            row,
            aliases: o.aliases.clone(),
            attributes: o
                .db
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            tags: o
                .tags
                .iter()
                .map(|t| match &t.category {
                    Some(c) => format!("{}:{c}", t.key),
                    None => t.key.clone(),
                })
                .collect(),
            locks: o
                .locks
                .iter()
                .map(|l| (l.access_type.clone(), l.source.clone()))
                .collect(),
            contents: self
                .world
                .contents(id)
                .iter()
                .take(ADMIN_PAGE)
                .filter_map(|&c| self.admin_row(c))
                .collect(),
        })
    }

    fn admin_scripts(&self) -> Vec<AdminScript> {
        let on = |a: &Attached| match a {
            Attached::Global => String::new(),
            Attached::Object(id) => format!("{} (#{id})", self.world.name_of(*id)),
            Attached::Account(id) => format!("account {}", self.world.account_name(*id)),
        };
        let every = |interval: i64, repeats: u32, done: u32| {
            let mut d = if interval > 0 {
                format!("every {}s", interval as f64 / 1000.0)
            } else {
                "once".to_string()
            };
            if repeats > 0 {
                d.push_str(&format!(", {done} of {repeats} repeats"));
            }
            d
        };
        let mut out: Vec<AdminScript> = self
            .world
            .timers
            .scripts()
            .take(ADMIN_PAGE)
            .map(|s| AdminScript {
                kind: "script".into(),
                name: s.key.clone(),
                on: on(&s.on),
                detail: every(s.schedule.interval, s.schedule.repeats, s.schedule.done),
            })
            .collect();
        out.extend(
            self.world
                .timers
                .delays()
                .take(ADMIN_PAGE)
                .map(|d| AdminScript {
                    kind: "delay".into(),
                    name: d.callback.clone(),
                    on: String::new(),
                    detail: every(d.schedule.interval, d.schedule.repeats, d.schedule.done),
                }),
        );
        out.extend(
            self.world
                .flows
                .iter()
                .take(ADMIN_PAGE)
                .map(|(name, f)| AdminScript {
                    kind: "flow".into(),
                    name: name.clone(),
                    on: match &f.owner {
                        crate::model::flows::engine::Owner::Object(id) => {
                            on(&Attached::Object(*id))
                        }
                        crate::model::flows::engine::Owner::Account(id) => {
                            on(&Attached::Account(*id))
                        }
                        crate::model::flows::engine::Owner::Game => String::new(),
                    },
                    detail: format!(
                        "{} in {}",
                        f.def,
                        f.states
                            .iter()
                            .map(|s| s.state.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }),
        );
        out
    }
}
