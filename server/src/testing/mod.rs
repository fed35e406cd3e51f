//! Testing a game without sockets: [`TestGame`] runs the game's server in
//! process, on a fresh SQLite file, and lets a test type lines as players and
//! read what each one was told.
//!
//! The server is the real one — the same commands, cmdsets, typeclasses,
//! locks, hooks and database — only the portal is replaced by the test, so a
//! command is tested exactly as a player would meet it:
//!
//! ```
//! use tavern_server::testing::TestGame;
//! use tavern_server::{CmdCtx, Command, Game};
//!
//! struct Wave;
//!
//! impl Command for Wave {
//!     fn key(&self) -> &str { "wave" }
//!     fn help(&self) -> &str { "wave\n\nWave at everyone in the room." }
//!     fn func(&self, ctx: &mut CmdCtx<'_>) {
//!         ctx.msg("You wave.");
//!         let me = ctx.caller_name();
//!         ctx.msg_others_in_room(&format!("{me} waves."));
//!     }
//! }
//!
//! let mut t = TestGame::new(Game::new().command(Wave));
//! let anna = t.player("Anna");
//! let bert = t.player("Bert");
//! assert_eq!(t.cmd(anna, "wave"), "You wave.");
//! assert!(t.heard(bert).contains("Anna waves."));
//! ```
//!
//! Password hashing is made cheap and the throttles generous, as in a load
//! test; everything else is the game's settings (see [`TestGame::with_settings`]).

#[cfg(test)]
pub(crate) mod db;
#[cfg(test)]
pub(crate) mod harness;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::Value;
pub use tavern_shared::link::LoginProof;
use tavern_shared::link::{PortalOp, StartMode, StopMode, ToPortal, ToServer};
use tavern_shared::markup;
use tavern_shared::{Msg, SessId, SessionSync, Settings};

use crate::Game;
use crate::model::world::ObjId;
use crate::runtime::driver::{Clock, Driver, Wake};
use crate::runtime::server::{Server, ServerEvent};
use crate::store::{self, persister::Persister};

/// The password [`TestGame::player`] gives the accounts it creates.
pub const TEST_PASSWORD: &str = "test-password-1";

/// How long a test waits for background work (password hashing, database
/// writes) before it fails rather than hangs.
const SETTLE_PATIENCE: Duration = Duration::from_secs(60);

/// A game server in process, with players typing into it. See the [module docs](self).
pub struct TestGame {
    rt: tokio::runtime::Runtime,
    driver: Option<Driver>,
    game: Arc<Game>,
    settings: Arc<Settings>,
    dir: PathBuf,
    next_sessid: SessId,
    seq: HashMap<SessId, u64>,
    told: HashMap<SessId, Vec<String>>,
    oob_told: HashMap<SessId, Vec<(String, Value)>>,
    syncs: HashMap<SessId, SessionSync>,
    closed: HashMap<SessId, Option<String>>,
    /// How far [`TestGame::advance`] moved the test's clock (kept across
    /// reloads): the server is handed the wall clock plus this.
    advanced: Arc<AtomicI64>,
}

impl TestGame {
    /// The game on a fresh database, with the default settings.
    pub fn new(game: Game) -> Self {
        Self::with_settings(game, |_| {})
    }

    /// The game with settings changed by `tweak` (after the test defaults:
    /// cheap password hashing, no throttles).
    pub fn with_settings(game: Game, tweak: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = Settings::defaults();
        settings.security.password_hash_memory_kib = 64;
        settings.security.password_hash_iterations = 1;
        settings.security.max_failed_logins = 1_000_000;
        settings.security.max_account_creations = 1_000_000;
        // A test types as fast as it can; the rate limit has its own tests.
        settings.server.max_command_rate = 0;
        let dir = std::env::temp_dir().join(format!(
            "tavern-testgame-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).expect("cannot create a temporary directory for the test");
        // What the game writes in its data directory stays in the test's.
        settings.game.data_dir = dir.join("data");
        tweak(&mut settings);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cannot start a runtime for the test");
        let mut t = TestGame {
            rt,
            driver: None,
            game: Arc::new(game),
            settings: Arc::new(settings),
            dir,
            next_sessid: 1,
            seq: HashMap::new(),
            told: HashMap::new(),
            oob_told: HashMap::new(),
            syncs: HashMap::new(),
            closed: HashMap::new(),
            advanced: Arc::new(AtomicI64::new(0)),
        };
        t.boot(StartMode::Cold);
        t
    }

    /// The test's clock: the wall clock, moved on by [`TestGame::advance`].
    fn clock(&self) -> Clock {
        let advanced = self.advanced.clone();
        Arc::new(move || {
            tavern_shared::session::now_millis() as i64 + advanced.load(Ordering::Relaxed)
        })
    }

    /// Loads the world from the database and starts a server on it, as the
    /// server process does, then hands it the sessions the "portal" holds.
    fn boot(&mut self, start_mode: StartMode) {
        let url = format!("sqlite://{}?mode=rwc", self.dir.join("game.db3").display());
        let (db, world) = self.rt.block_on(async {
            let db = store::connect(&url, 2)
                .await
                .expect("cannot open the test database");
            store::world_file::apply_pending_import(&db)
                .await
                .expect("cannot apply a pending world import");
            let world = store::load_world(&db)
                .await
                .expect("cannot load the test world");
            (db, world)
        });
        let _rt = self.rt.enter();
        let clock = self.clock();
        let mut server = Server::new(
            self.settings.clone(),
            world,
            db.clone(),
            self.game.clone(),
            clock(),
        );
        server.started();
        let mut driver = Driver::new(
            server,
            Persister::start(&url, self.settings.commit_interval()),
            clock,
        );
        driver.transmit();
        self.driver = Some(driver);
        self.settle();
        let sessions = self.syncs.values().cloned().collect();
        self.link(ToServer::Sync {
            portal_instance: 1,
            portal_id: 0,
            start_mode,
            sessions,
        });
    }

    fn driver_mut(&mut self) -> &mut Driver {
        self.driver.as_mut().expect("the test server is running")
    }

    /// The running server, to look at the world: `t.server().world.get(id)`.
    pub fn server(&self) -> &Server {
        self.driver
            .as_ref()
            .expect("the test server is running")
            .server()
    }

    /// Runs game code against the server (creating objects, changing
    /// attributes, calling hooks), then lets the work it started finish.
    pub fn with_server<R>(&mut self, f: impl FnOnce(&mut Server) -> R) -> R {
        let r = {
            let _rt = self.rt.enter();
            f(self.driver_mut().server_mut())
        };
        self.settle();
        r
    }

    /// Sends a link message, then waits for the background work it started.
    fn link(&mut self, msg: ToServer) {
        {
            let _rt = self.rt.enter();
            self.driver_mut().apply(ServerEvent::Link(msg));
        }
        self.settle();
    }

    /// Transmits, then applies background completions and waits for commits
    /// until no work is in flight and no frame is held; what the portal
    /// would have been sent is recorded.
    fn settle(&mut self) {
        loop {
            let now = (self.clock())();
            let frames = {
                let _rt = self.rt.enter();
                let d = self.driver_mut();
                d.transmit();
                // What fell due fires, as the driver's loop fires it.
                if d.server().poll_timeout().is_some_and(|t| t <= now) {
                    d.timeout();
                    d.transmit();
                }
                d.ready()
            };
            self.absorb(frames);
            let d = self.driver.as_ref().expect("the test server is running");
            if d.server().inflight == 0 && !d.holding() {
                return;
            }
            let d = self.driver.as_mut().expect("the test server is running");
            let woke = self
                .rt
                .block_on(async { tokio::time::timeout(SETTLE_PATIENCE, d.wake()).await })
                .expect("background work of the test server did not finish");
            let _rt = self.rt.enter();
            match woke {
                Wake::Event(ev) => d.apply(ev),
                Wake::Timeout => d.timeout(),
                Wake::Committed => {}
                Wake::Closed => panic!("the test server's persister stopped"),
            }
        }
    }

    /// Records messages a session was sent.
    fn told_msgs(&mut self, sessid: SessId, msgs: &[Msg]) {
        for m in msgs {
            if m.cmd == "text" || m.cmd == "prompt" {
                let text = m.first_str().map(markup::strip).unwrap_or_default();
                self.told.entry(sessid).or_default().push(text);
            } else {
                let protocol = m
                    .kwargs
                    .get("options")
                    .and_then(|o| o.get("protocol"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let payload = m.args.first().cloned().unwrap_or(Value::Null);
                self.oob_told
                    .entry(sessid)
                    .or_default()
                    .push((format!("{protocol}:{}", m.cmd), payload));
            }
        }
    }

    /// Records what the portal would do with the server's frames.
    fn absorb(&mut self, frames: Vec<ToPortal>) {
        for frame in frames {
            let ToPortal::Batch { ops, .. } = frame else {
                continue;
            };
            for op in ops {
                match op {
                    PortalOp::Output { .. } | PortalOp::OutputMany { .. } => {
                        for (sessid, msgs) in op.outputs() {
                            self.told_msgs(sessid, msgs);
                        }
                    }
                    PortalOp::SyncSession(sync) if self.syncs.contains_key(&sync.sessid) => {
                        self.syncs.insert(sync.sessid, *sync);
                    }
                    PortalOp::Disconnect { sessid, reason } => {
                        self.syncs.remove(&sessid);
                        self.closed.insert(sessid, reason);
                        let _rt = self.rt.enter();
                        if let Some(d) = self.driver.as_mut() {
                            d.apply(ServerEvent::Link(ToServer::Disconnected { sessid }));
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Runs async work beside the game (a store call, as the launcher or an
    /// outside tool makes) on the test's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// A new connection, at the connection screen.
    pub fn connect(&mut self) -> SessId {
        self.connect_by("telnet")
    }

    /// A new connection by `protocol` (`"telnet"`, `"websocket"`), at the
    /// connection screen.
    pub fn connect_by(&mut self, protocol: &str) -> SessId {
        let sessid = self.next_sessid;
        self.next_sessid += 1;
        let sync = SessionSync {
            sessid,
            address: format!("127.0.0.1:{}", 40000 + sessid),
            protocol: protocol.into(),
            ..Default::default()
        };
        self.syncs.insert(sessid, sync.clone());
        self.link(ToServer::Connected(Box::new(sync)));
        sessid
    }

    /// A new connection that creates the account `name` (password
    /// [`TEST_PASSWORD`]) and logs in with it: with the default settings the
    /// player is then in the game as a character of the same name.
    ///
    /// Panics if the game refuses the account.
    pub fn player(&mut self, name: &str) -> SessId {
        let sessid = self.connect();
        let quoted = format!("\"{name}\" {TEST_PASSWORD}");
        let created = self.cmd(sessid, &format!("create {quoted}"));
        assert!(
            created.contains("A new account"),
            "the game refused to create the account {name:?}: {created}"
        );
        self.login(sessid, name);
        sessid
    }

    /// Logs a connection in to an existing account made by [`TestGame::player`].
    pub fn login(&mut self, sessid: SessId, name: &str) -> String {
        let told = self.cmd(sessid, &format!("connect \"{name}\" {TEST_PASSWORD}"));
        assert!(
            self.syncs.get(&sessid).is_some_and(|s| s.logged_in),
            "{name:?} could not log in: {told}"
        );
        told
    }

    /// The portal logs a connection in as it opens (SSH), with a password
    /// or a public key the client proved it holds; the session hears
    /// `Char.Login.Result` (see [`TestGame::oob`]).
    pub fn authenticate(&mut self, sessid: SessId, account: &str, proof: LoginProof) {
        self.link(ToServer::Authenticate {
            sessid,
            account: account.into(),
            proof,
        });
    }

    /// Whether a session is logged in to an account.
    pub fn logged_in(&self, sessid: SessId) -> bool {
        self.syncs.get(&sessid).is_some_and(|s| s.logged_in)
    }

    /// Gives the account a session is logged in to a permission
    /// (`"Builder"`, `"Admin"`, ...).
    pub fn grant(&mut self, sessid: SessId, permission: &str) {
        let account = self
            .syncs
            .get(&sessid)
            .and_then(|s| s.account_id)
            .expect("grant: the session is not logged in");
        let permission = permission.to_string();
        self.with_server(|s| {
            s.world.update_account(account, |a| {
                if !a.permissions.contains(&permission) {
                    a.permissions.push(permission);
                }
            })
        });
    }

    /// Types `line` as the player on `sessid` and returns what that session
    /// was told while the command and its background work ran (colour codes
    /// removed, lines joined by newlines). What it had been told before is
    /// dropped: read it first with [`TestGame::heard`] if it matters.
    pub fn cmd(&mut self, sessid: SessId, line: &str) -> String {
        self.told.remove(&sessid);
        self.input(sessid, Msg::text(line));
        self.heard(sessid)
    }

    /// Input from a session, numbered in order as the portal numbers it.
    fn input(&mut self, sessid: SessId, msg: Msg) {
        let seq = self.seq.entry(sessid).or_default();
        *seq += 1;
        let seq = *seq;
        self.link(ToServer::Input { sessid, seq, msg });
    }

    /// Out-of-band input from the session's client, as the portal hands it
    /// on: GMCP `Tavern.Choice "left"` is `send_oob(s, "tavern_choice", json!("left"))`.
    pub fn send_oob(&mut self, sessid: SessId, cmd: &str, arg: Value) {
        self.input(sessid, Msg::new(cmd).arg(arg));
    }

    /// Everything `sessid` has been told since its last [`TestGame::cmd`] or
    /// `heard` (what other players' commands made it see), and forgets it.
    pub fn heard(&mut self, sessid: SessId) -> String {
        self.told.remove(&sessid).unwrap_or_default().join("\n")
    }

    /// The session's client negotiates GMCP and MSDP (as Mudlet does), so the
    /// live-data feeds send it their packages from now on.
    pub fn enable_oob(&mut self, sessid: SessId) {
        let Some(mut sync) = self.syncs.get(&sessid).cloned() else {
            return;
        };
        sync.flags.options = vec!["GMCP".into(), "MSDP".into()];
        self.syncs.insert(sessid, sync.clone());
        self.link(ToServer::Updated(Box::new(sync)));
    }

    /// The session's client names the GMCP packages it takes
    /// (`Core.Supports.Set`), as Mudlet does after negotiating GMCP.
    pub fn supports(&mut self, sessid: SessId, packages: &[&str]) {
        let Some(mut sync) = self.syncs.get(&sessid).cloned() else {
            return;
        };
        sync.flags.oob_supports = packages.iter().map(|p| p.to_string()).collect();
        self.syncs.insert(sessid, sync.clone());
        self.link(ToServer::Updated(Box::new(sync)));
    }

    /// The out-of-band messages `sessid` was sent since last asked, as
    /// `("gmcp:Char.Vitals", payload)` / `("msdp:HEALTH", value)`, and forgets them.
    pub fn oob(&mut self, sessid: SessId) -> Vec<(String, Value)> {
        self.oob_told.remove(&sessid).unwrap_or_default()
    }

    /// The object a session puppets.
    pub fn puppet(&self, sessid: SessId) -> Option<ObjId> {
        self.server().sessions.get(sessid)?.puppet()
    }

    /// Whether the server disconnected the session, and the reason it gave.
    pub fn disconnected(&self, sessid: SessId) -> Option<Option<&str>> {
        self.closed.get(&sessid).map(|r| r.as_deref())
    }

    /// Moves the test's clock on by `by` and fires the timeouts that fell
    /// due, as the server does when the time comes.
    pub fn advance(&mut self, by: Duration) {
        self.advanced
            .fetch_add(by.as_millis() as i64, Ordering::Relaxed);
        {
            let _rt = self.rt.enter();
            self.driver_mut().timeout();
        }
        self.settle();
    }

    /// The player closes the connection.
    pub fn disconnect(&mut self, sessid: SessId) {
        self.syncs.remove(&sessid);
        self.link(ToServer::Disconnected { sessid });
    }

    /// Does what `tavern reload` does: runs the `at_server_reload` hooks,
    /// writes the world to the database, and starts a new server from the
    /// database, which the connected sessions rejoin still logged in and
    /// puppeting. What survives this survives a real reload.
    pub fn reload(&mut self) {
        self.restart(StopMode::Reload, Duration::ZERO);
    }

    /// A reload with the server down for `down` (the test's clock moves on
    /// between the old server's end and the new one's start): what falls
    /// due meanwhile is what a real outage would miss.
    pub fn reload_after(&mut self, down: Duration) {
        self.restart(StopMode::Reload, down);
    }

    /// Like [`TestGame::reload`] with cold-start hooks (`tavern reset`).
    pub fn reset(&mut self) {
        self.restart(StopMode::Reset, Duration::ZERO);
    }

    fn restart(&mut self, mode: StopMode, down: Duration) {
        self.link(ToServer::Stop { mode });
        let last = {
            let mut driver = self.driver.take().expect("the test server is running");
            self.rt.block_on(driver.finish(mode))
        };
        self.absorb(last);
        self.advanced
            .fetch_add(down.as_millis() as i64, Ordering::Relaxed);
        let start = match mode {
            StopMode::Reset => StartMode::Reset,
            _ => StartMode::Reload,
        };
        self.boot(start);
    }
}

impl Drop for TestGame {
    fn drop(&mut self) {
        if let Some(driver) = self.driver.take() {
            let _rt = self.rt.enter();
            drop(driver);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
