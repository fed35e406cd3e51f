//! The link-level harness: the server core driven directly, for the
//! crate's own tests — link messages in, the frames it would send out
//! (at once: what waits for a commit is the driver's business, tested
//! through [`TestGame`](super::TestGame)), a real SQLite file; sessions and
//! accounts made directly.

use std::collections::HashMap;
use std::sync::Arc;

use tavern_shared::link::{PortalOp, StartMode, ToPortal, ToServer};
use tavern_shared::{Msg, SessId, SessionSync, Settings};
use tokio::sync::mpsc;

use crate::Game;
use crate::model::world::{Account, AccountId, ObjId, Object, Timestamp};
use crate::runtime::server::{Server, ServerEvent};
use crate::store::{self, persister::Persister};

/// A server core with its persister, driven by hand.
pub(crate) struct LinkHarness {
    pub server: Server,
    persister: Persister,
    tasks_tx: mpsc::Sender<ServerEvent>,
    events: mpsc::Receiver<ServerEvent>,
    _dir: std::path::PathBuf,
    seq: HashMap<SessId, u64>,
    /// The database's URL.
    pub url: String,
}

fn now() -> Timestamp {
    tavern_shared::session::now_millis() as Timestamp
}

/// A server for `game`, with cheap password hashing; `tweak` changes settings.
pub(crate) async fn harness_with(game: Game, tweak: impl FnOnce(&mut Settings)) -> LinkHarness {
    let (url, dir) = crate::testing::db::sqlite_url("harness");
    let db = store::connect(&url, 2).await.unwrap();
    let world = store::load_world(&db).await.unwrap();
    let mut settings = Settings::defaults();
    settings.security.password_hash_memory_kib = 64;
    settings.security.password_hash_iterations = 1;
    tweak(&mut settings);
    let (tx, rx) = mpsc::channel(1024);
    let mut server = Server::new(Arc::new(settings), world, db.clone(), Arc::new(game), now());
    server.started();
    let mut h = LinkHarness {
        server,
        persister: Persister::start(&url, std::time::Duration::from_millis(5)),
        tasks_tx: tx,
        events: rx,
        _dir: dir,
        seq: HashMap::new(),
        url: url.clone(),
    };
    h.flush();
    h.link(ToServer::Sync {
        portal_instance: 7,
        portal_id: 0,
        start_mode: StartMode::Cold,
        sessions: vec![],
    });
    h
}

pub(crate) async fn harness() -> LinkHarness {
    harness_with(Game::new(), |_| {}).await
}

impl LinkHarness {
    /// Applies a link message; the frames the server sends.
    pub(crate) fn link(&mut self, msg: ToServer) -> Vec<ToPortal> {
        self.server.handle(ServerEvent::Link(msg), now());
        self.flush()
    }

    /// What the server has to send now: its changes go to the persister,
    /// its tasks are spawned, its frames are returned.
    pub(crate) fn flush(&mut self) -> Vec<ToPortal> {
        let mut frames = Vec::new();
        if let Some(mut t) = self.server.poll_transmit() {
            self.persister.save(std::mem::take(&mut t.changes));
            frames = t.into_frames();
        }
        while let Some(task) = self.server.poll_task() {
            crate::runtime::driver::spawn_task(task, self.tasks_tx.clone());
        }
        frames
    }

    /// Waits until every change handed to the persister is durable.
    pub(crate) async fn written(&mut self) {
        self.persister.flush().await;
    }

    /// A new connection (from an address of its own).
    pub(crate) fn connect(&mut self, sessid: SessId) {
        self.connect_from(sessid, &format!("127.0.0.{sessid}:5000"));
    }

    /// A new connection from `address` (`ip:port`).
    pub(crate) fn connect_from(&mut self, sessid: SessId, address: &str) {
        self.link(ToServer::Connected(Box::new(SessionSync {
            sessid,
            address: address.to_string(),
            protocol: "telnet".into(),
            ..Default::default()
        })));
    }

    /// A new connection whose client speaks GMCP and MSDP; `supports` is what
    /// it sent in `Core.Supports.Set` (empty: nothing).
    pub(crate) fn connect_gmcp(&mut self, sessid: SessId, supports: &[&str]) {
        let mut sync = SessionSync {
            sessid,
            address: format!("127.0.0.{sessid}:5000"),
            protocol: "telnet".into(),
            ..Default::default()
        };
        sync.flags.options = vec!["GMCP".into(), "MSDP".into()];
        sync.flags.oob_supports = supports.iter().map(|s| s.to_string()).collect();
        self.link(ToServer::Connected(Box::new(sync)));
    }

    /// Logs `sessid` in to `account` without connecting it first.
    pub(crate) fn login_only(&mut self, sessid: SessId, account: AccountId) -> Vec<ToPortal> {
        let a = self.server.world.accounts[&account].clone();
        self.server.login(sessid, a);
        self.flush()
    }

    /// Input from a session, numbered in order.
    pub(crate) fn input(&mut self, sessid: SessId, line: &str) -> Vec<ToPortal> {
        self.input_msg(sessid, Msg::text(line))
    }

    /// Any input message (an OOB command) from a session, numbered in order
    /// with its lines: the server runs a number it has seen only once.
    pub(crate) fn input_msg(&mut self, sessid: SessId, msg: Msg) -> Vec<ToPortal> {
        let seq = self.seq.entry(sessid).or_default();
        *seq += 1;
        let seq = *seq;
        self.link(ToServer::Input { sessid, seq, msg })
    }

    /// Input from a session; what that session was told, as one string.
    pub(crate) fn cmd(&mut self, sessid: SessId, line: &str) -> String {
        let frames = self.input(sessid, line);
        texts_for(&frames, sessid).join("\n")
    }

    /// Waits for the next completion of work off the game thread and applies it.
    pub(crate) async fn complete(&mut self) -> Vec<ToPortal> {
        let ev = self.events.recv().await.unwrap();
        self.server.handle(ev, now());
        self.flush()
    }

    /// An account (password "secret") with a character of its name, in the world.
    pub(crate) async fn account(&mut self, name: &str, permissions: &[&str]) -> (AccountId, ObjId) {
        let db = self.server.db.clone();
        let room = self.server.world.start_room;
        let id = store::reserve_ids(&db, 1).await.unwrap();
        let hash = crate::runtime::passwords::hash_password(
            &self.server.settings.security,
            "secret".into(),
        )
        .await
        .unwrap();
        let (a, c) = store::create_account(
            &db,
            name,
            hash,
            false,
            "Player",
            Some(store::NewCharacter {
                id,
                room,
                typeclass: "character",
                hooks_pending: false,
            }),
        )
        .await
        .unwrap();
        let mut account = Account::from(&a);
        if !permissions.is_empty() {
            account.permissions = permissions.iter().map(|p| p.to_string()).collect();
        }
        self.server.world.accounts.insert(account.id, account);
        let mut obj = Object::from(c.unwrap());
        obj.location = None;
        self.server.world.insert_loaded(obj);
        (a.id, id)
    }

    /// Connects `sessid` and logs it in to `account`; returns what it was told.
    pub(crate) fn login(&mut self, sessid: SessId, account: AccountId) -> String {
        self.connect(sessid);
        let a = self.server.world.accounts[&account].clone();
        self.server.login(sessid, a);
        let frames = self.flush();
        texts_for(&frames, sessid).join("\n")
    }
}

/// The texts sent to one session.
pub(crate) fn texts_for(frames: &[ToPortal], sessid: SessId) -> Vec<String> {
    let mut texts = Vec::new();
    for f in frames {
        if let ToPortal::Batch { ops, .. } = f {
            for op in ops {
                for (_, msgs) in op.outputs().into_iter().filter(|(s, _)| *s == sessid) {
                    texts.extend(msgs.iter().filter_map(|m| m.first_str().map(String::from)));
                }
            }
        }
    }
    texts
}

/// The out-of-band messages sent to one session: (protocol, name, payload).
pub(crate) fn oob_for(
    frames: &[ToPortal],
    sessid: SessId,
) -> Vec<(String, String, serde_json::Value)> {
    let mut out = Vec::new();
    for f in frames {
        if let ToPortal::Batch { ops, .. } = f {
            for op in ops {
                for (_, msgs) in op.outputs().into_iter().filter(|(s, _)| *s == sessid) {
                    for m in msgs.iter().filter(|m| m.cmd != "text" && m.cmd != "prompt") {
                        let protocol = m
                            .kwargs
                            .get("options")
                            .and_then(|o| o.get("protocol"))
                            .and_then(|p| p.as_str())
                            .unwrap_or("")
                            .to_string();
                        let payload = m.args.first().cloned().unwrap_or_default();
                        out.push((protocol, m.cmd.clone(), payload));
                    }
                }
            }
        }
    }
    out
}

/// Whether a session was disconnected in these frames, and why.
pub(crate) fn disconnected(frames: &[ToPortal], sessid: SessId) -> Option<Option<String>> {
    frames.iter().find_map(|f| match f {
        ToPortal::Batch { ops, .. } => ops.iter().find_map(|op| match op {
            PortalOp::Disconnect { sessid: s, reason } if *s == sessid => Some(reason.clone()),
            _ => None,
        }),
        _ => None,
    })
}
