//! The portals the server serves: a game can have several (`[portal] id`),
//! each holding its own players. The server keeps, per portal, which
//! process instance it is, whether its link is up, and — when its link is
//! lost — how long its sessions are kept for it to come back.
//!
//! A session's portal is in its id ([`tavern_shared::session::portal_of`]),
//! so what the server sends a session goes to that portal's link alone.

use std::collections::BTreeMap;

use tavern_shared::SessionSync;
use tavern_shared::link::{PortalOp, PortalReport, StartMode};
use tavern_shared::session::{PortalId, SessId, portal_of, sessids_of};
use tracing::{info, warn};

use crate::model::world::Timestamp;
use crate::runtime::server::{RELOAD_DONE_MSG, Server};
use crate::runtime::sessions::ServerSession;

/// One portal, as the server knows it.
#[derive(Debug, Clone)]
pub struct Portal {
    /// Its process instance (from its `Sync`; 0 until then).
    pub instance: u64,
    /// Its pid, as it said.
    pub pid: u32,
    /// Where its link comes from.
    pub address: String,
    /// Its link is up.
    pub linked: bool,
    /// When it linked, or when its link was lost.
    pub since: Timestamp,
}

/// Every portal the server serves or waits for.
#[derive(Debug, Default)]
pub struct Portals {
    portals: BTreeMap<PortalId, Portal>,
}

impl Portals {
    /// The portal with this id.
    pub fn get(&self, id: PortalId) -> Option<&Portal> {
        self.portals.get(&id)
    }

    /// Every portal, by id.
    pub fn all(&self) -> impl Iterator<Item = (PortalId, &Portal)> {
        self.portals.iter().map(|(id, p)| (*id, p))
    }

    /// When the sessions of the first portal whose link is lost are due to
    /// be dropped, after `grace_ms`.
    pub fn next_drop(&self, grace_ms: i64) -> Option<Timestamp> {
        self.portals
            .values()
            .filter(|p| !p.linked)
            .map(|p| p.since + grace_ms)
            .min()
    }
}

/// What the server takes from portal `portal`'s link: a portal speaks for
/// its own sessions only (their ids carry its id), its `Sync` is stamped with
/// the id its link proved, and only the main portal (0) may stop the server
/// or tell it of accounts the launcher made. `None`: ignored.
pub fn admit(
    portal: PortalId,
    msg: tavern_shared::link::ToServer,
) -> Option<tavern_shared::link::ToServer> {
    use tavern_shared::link::ToServer;
    let own = |sessid: SessId| portal_of(sessid) == portal;
    match msg {
        ToServer::Sync {
            portal_instance,
            start_mode,
            mut sessions,
            ..
        } => {
            sessions.retain(|s| own(s.sessid));
            Some(ToServer::Sync {
                portal_instance,
                portal_id: portal,
                start_mode,
                sessions,
            })
        }
        ToServer::Connected(ref s) | ToServer::Updated(ref s) => own(s.sessid).then_some(msg),
        ToServer::Disconnected { sessid }
        | ToServer::Input { sessid, .. }
        | ToServer::Authenticate { sessid, .. } => own(sessid).then_some(msg),
        ToServer::Stop { .. }
        | ToServer::AccountCreated { .. }
        | ToServer::Mark
        | ToServer::ReloadGivenUp { .. } => (portal == 0).then_some(msg),
        ToServer::Portals { .. } | ToServer::Admin { .. } | ToServer::Detach => Some(msg),
    }
}

impl Server {
    /// A portal's link is up (the server process says so before the
    /// portal's first message reaches the game).
    pub fn portal_linked(&mut self, id: PortalId, pid: u32, address: String) {
        let now = self.now();
        let p = self.portals.portals.entry(id).or_insert(Portal {
            instance: 0,
            pid,
            address: address.clone(),
            linked: true,
            since: now,
        });
        p.pid = pid;
        p.address = address;
        p.linked = true;
        p.since = now;
        info!(portal = id, pid, "portal linked");
    }

    /// A portal's link is lost. Its players stay in the game for
    /// `[link] portal_grace_secs`: a portal cut off for a moment links again
    /// and goes on; one that does not come back has its sessions dropped.
    pub fn portal_lost(&mut self, id: PortalId) {
        let now = self.now();
        if let Some(p) = self.portals.portals.get_mut(&id) {
            p.linked = false;
            p.since = now;
            let sessions = self.sessions_of_portal(id).len();
            warn!(
                portal = id,
                sessions,
                grace_secs = self.settings.link.portal_grace_secs,
                "portal link lost: keeping its sessions for it to come back"
            );
        }
    }

    /// The sessions portal `id` holds (a range of the session map: no scan).
    pub fn sessions_of_portal(&self, id: PortalId) -> Vec<SessId> {
        self.sessions.in_range(sessids_of(id))
    }

    fn portal_grace_ms(&self) -> i64 {
        (self.settings.link.portal_grace_secs as i64).saturating_mul(1000)
    }

    /// When [`Server::drop_lost_portals`] has work next.
    pub(crate) fn next_portal_drop(&self) -> Option<Timestamp> {
        self.portals.next_drop(self.portal_grace_ms())
    }

    /// Drops the sessions of every portal whose link has been lost for
    /// longer than the grace: their players leave the game.
    pub(crate) fn drop_lost_portals(&mut self) {
        let grace = self.portal_grace_ms();
        let now = self.now();
        let due: Vec<PortalId> = self
            .portals
            .all()
            .filter(|(_, p)| !p.linked && p.since + grace <= now)
            .map(|(id, _)| id)
            .collect();
        for id in due {
            let ids = self.sessions_of_portal(id);
            warn!(
                portal = id,
                sessions = ids.len(),
                "portal did not come back: its sessions are dropped"
            );
            for sessid in ids {
                self.session_closed(sessid);
            }
            self.portals.portals.remove(&id);
        }
    }

    /// A portal's full session list (PSYNC), after it linked.
    ///
    /// - A portal process the server has not met (a new instance): the
    ///   sessions it held before are gone with it (Evennia #2055), and those
    ///   it lists are taken as they are (after a server restart, they are
    ///   every session the server had: told the server restarted).
    /// - The same instance linking again (its link was cut, the server kept
    ///   running): the sessions the server kept go on as they were; those it
    ///   no longer lists closed meanwhile; new ones are added.
    pub(crate) fn portal_sync(
        &mut self,
        id: PortalId,
        instance: u64,
        start_mode: StartMode,
        sessions: Vec<SessionSync>,
    ) {
        let now = self.now();
        let known = self.portals.portals.get(&id).map(|p| p.instance);
        let relinked = known == Some(instance) && instance != 0;
        if !relinked && known.is_some_and(|i| i != 0) {
            warn!(
                portal = id,
                "a new instance of this portal: dropping every session of the old one"
            );
            for sessid in self.sessions_of_portal(id) {
                self.unpuppet(sessid);
                self.sessions.remove(sessid);
                self.forget_session(sessid);
            }
        }
        let p = self.portals.portals.entry(id).or_insert(Portal {
            instance,
            pid: 0,
            address: String::new(),
            linked: true,
            since: now,
        });
        p.instance = instance;
        p.linked = true;
        // The server's own start: the main portal says why it started (a
        // portal linking again to this same server says nothing of that).
        if !relinked && (id == 0 || !self.clock_running) {
            self.start_mode = start_mode;
        }
        let listed: std::collections::BTreeSet<SessId> =
            sessions.iter().map(|s| s.sessid).collect();
        if relinked {
            for sessid in self.sessions_of_portal(id) {
                if !listed.contains(&sessid) {
                    self.session_closed(sessid);
                }
            }
        }
        let count = sessions.len();
        let mut added = Vec::new();
        for sync in sessions {
            let sessid = sync.sessid;
            if portal_of(sessid) != id {
                warn!(
                    portal = id,
                    sessid, "a portal listed another portal's session: ignored"
                );
                continue;
            }
            if relinked && self.sessions.get(sessid).is_some() {
                // Kept as it was; its client may have missed live data in the cut.
                self.refresh_feeds(sessid);
                continue;
            }
            let mut session = ServerSession::new(sync);
            // A session whose account or puppet is gone comes back logged out.
            let account_ok = session
                .sync
                .account_id
                .is_some_and(|a| self.world.accounts.contains_key(&a));
            if session.sync.logged_in && !account_ok {
                session.sync.logged_in = false;
                session.sync.account_id = None;
                session.sync.account_name = None;
                session.sync.puppet_id = None;
                session.dirty = true;
            }
            if session
                .puppet()
                .is_some_and(|p| self.world.get(p).is_none())
            {
                session.sync.puppet_id = None;
                session.dirty = true;
            }
            self.sessions.insert(session);
            self.refresh_feeds(sessid);
            if start_mode != StartMode::Cold && !relinked {
                self.msg_session(sessid, RELOAD_DONE_MSG);
            }
            added.push(sessid);
        }
        // The world learns at once which objects the sessions play: until
        // it does, every look-up of a room's players looks at each of them.
        self.settle_sessions();
        let screen = self.connect_screen().to_string();
        self.push_op(PortalOp::ConnectScreen(screen));
        // The sessions are back: flows go on where they were, and timeouts
        // that fell due meanwhile fire now, with someone to hear them; so
        // do the other timers, from the driver's next turn.
        self.resume_flows();
        // A player in a menu is shown the node they are at.
        self.menus_after_restart(&added);
        self.clock_running = true;
        info!(
            portal = id,
            ?start_mode,
            relinked,
            sessions = count,
            "sessions synced from the portal"
        );
    }

    /// `tavern status`: every portal with its sessions.
    pub(crate) fn report_portals(&mut self, token: u64) {
        let now = self.now();
        let portals = self
            .portals
            .all()
            .map(|(id, p)| {
                let ids = self.sessions.in_range(sessids_of(id));
                PortalReport {
                    id,
                    pid: p.pid,
                    address: p.address.clone(),
                    linked: p.linked,
                    for_secs: (now - p.since).max(0) as u64 / 1000,
                    logged_in: ids
                        .iter()
                        .filter(|&&s| self.sessions.get(s).is_some_and(|s| s.sync.logged_in))
                        .count(),
                    sessions: ids.len(),
                }
            })
            .collect();
        self.push_op(PortalOp::Portals { token, portals });
    }
}
