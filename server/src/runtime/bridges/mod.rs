//! Bridges: a channel's lines carried to another chat system and back (an
//! IRC channel today; a Discord or Grapevine bridge is one more [`Bridge`]).
//!
//! A bridge runs beside the game as its own tokio task, started with the
//! server. It talks to the game through a [`BridgeLink`] only:
//!
//! - lines said on its channel arrive from [`BridgeLink::next`]. They leave
//!   the game thread like every other output: only after the line is in the
//!   channel's history on disk (the driver holds them with the frames of the
//!   same commit), and through a bounded queue the game never waits on — a
//!   bridge that cannot keep up loses lines (counted and logged), the game
//!   never slows down for it;
//! - lines from the other side go in with [`BridgeLink::say`]: they are said
//!   on the channel as `name@bridge` (`Anna@irc`), recorded in its history,
//!   and not sent back to the bridge they came from.
//!
//! A bridge reconnects by itself, and ends when [`BridgeLink::next`] returns
//! `None` (the server is stopping). A reload restarts it with the server.

pub mod irc;

use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;
use tracing::warn;

use crate::model::channels::ChannelId;
use crate::runtime::server::{Completion, Server, ServerEvent};

/// How many lines may wait for a bridge before new ones are dropped.
pub const BRIDGE_QUEUE: usize = 256;

/// The longest line a bridge may say into the game, in characters (longer
/// ones are cut).
pub const MAX_BRIDGED_LINE: usize = 1000;

/// A line said on a bridged channel, for the other side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeLine {
    /// The channel's key.
    pub channel: String,
    /// Who said it (`Anna`, or empty for the game itself).
    pub sender: String,
    /// What was said, as typed (markup not rendered).
    pub text: String,
    /// A pose (`Anna waves`) rather than speech.
    pub pose: bool,
}

/// A chat system a channel is bridged to. Implement it for another service
/// and register it with `Game::bridge`.
pub trait Bridge: Send + 'static {
    /// A short name, shown after the names of those who speak through it
    /// (`Anna@irc`) and in logs.
    fn name(&self) -> String;
    /// The game channel it carries (its key or an alias).
    fn channel(&self) -> String;
    /// Runs until `link.next()` returns `None`: forwards the channel's lines
    /// out, and says what the other side says with `link.say`. A network
    /// error is the bridge's to recover from (reconnect with a backoff);
    /// it must never block the thread it runs on.
    fn run(self: Box<Self>, link: BridgeLink) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// A bridge's side of its connection to the game.
pub struct BridgeLink {
    id: usize,
    lines: mpsc::Receiver<BridgeLine>,
    events: mpsc::Sender<ServerEvent>,
}

impl BridgeLink {
    /// The next line said on the channel; `None` when the server stops.
    pub async fn next(&mut self) -> Option<BridgeLine> {
        self.lines.recv().await
    }

    /// Says a line from the other side on the channel, as `who@<bridge>`.
    /// Markup in it is shown, not obeyed; control characters are dropped.
    /// False when the server is gone.
    pub async fn say(&self, who: &str, text: &str, pose: bool) -> bool {
        let (id, who, text) = (self.id, clean(who, 40), clean(text, MAX_BRIDGED_LINE));
        self.run(move |server| server.bridge_heard(id, &who, &text, pose))
            .await
    }

    /// Tells the game how the bridge is doing (`connected to host:port as
    /// nick`, `reconnecting in 8s: refused`), shown by `channel/bridges`.
    pub async fn status(&self, status: impl Into<String>) -> bool {
        let (id, status) = (self.id, status.into());
        self.run(move |server| {
            if let Some(b) = server.bridges.list.get_mut(id) {
                b.status = status;
            }
        })
        .await
    }

    async fn run(&self, f: impl FnOnce(&mut Server) + Send + 'static) -> bool {
        let completion: Completion = Box::new(f);
        self.events
            .send(ServerEvent::Outside(completion))
            .await
            .is_ok()
    }
}

/// Text from outside, made safe to say: no control characters (IRC colour
/// and formatting codes among them), at most `max` characters.
pub fn clean(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

/// A bridge the server runs.
pub struct BridgeEntry {
    /// Its name (`irc`).
    pub name: String,
    /// Its channel.
    pub channel: ChannelId,
    /// What it last said of itself.
    pub status: String,
}

/// The server's bridges: those running, those waiting to be started by the
/// driver, and the lines waiting to go out with the next transmit.
#[derive(Default)]
pub struct Bridges {
    /// Every bridge, by id (its index).
    pub list: Vec<BridgeEntry>,
    pending: Vec<(usize, Box<dyn Bridge>)>,
    outbox: Vec<(usize, BridgeLine)>,
}

impl Bridges {
    /// The bridges of a channel, by id.
    fn of_channel(&self, ch: ChannelId) -> impl Iterator<Item = usize> + '_ {
        self.list
            .iter()
            .enumerate()
            .filter(move |(_, b)| b.channel == ch)
            .map(|(i, _)| i)
    }

    /// Lines waiting to go out (the driver takes them with a transmit).
    pub(crate) fn take_outbox(&mut self) -> Vec<(usize, BridgeLine)> {
        std::mem::take(&mut self.outbox)
    }
}

impl Server {
    /// Starts the bridges of the settings (`[[channels.irc]]`) and the
    /// game's (`Game::bridge`), once the channels exist. A bridge to a
    /// channel that does not exist is not started (and says so in the log).
    pub(crate) fn start_bridges(&mut self) {
        let mut all: Vec<Box<dyn Bridge>> = self
            .settings
            .channels
            .irc
            .iter()
            .map(|s| Box::new(irc::IrcBridge::new(s.clone())) as Box<dyn Bridge>)
            .collect();
        for make in self.game.bridges.clone() {
            all.extend(make(&self.settings));
        }
        for bridge in all {
            let (name, channel) = (bridge.name(), bridge.channel());
            let Some(ch) = self.channel(&channel) else {
                warn!(bridge = %name, %channel, "a bridge to a channel that does not exist is not started");
                continue;
            };
            let id = self.bridges.list.len();
            self.bridges.list.push(BridgeEntry {
                name,
                channel: ch,
                status: "starting".into(),
            });
            self.bridges.pending.push((id, bridge));
        }
    }

    /// The next bridge to start, for the driver.
    pub fn poll_bridge(&mut self) -> Option<(usize, Box<dyn Bridge>)> {
        if self.bridges.pending.is_empty() {
            return None;
        }
        Some(self.bridges.pending.remove(0))
    }

    /// A line was said on `ch`: it goes to each of the channel's bridges
    /// but the one it came from.
    pub(crate) fn bridge_out(&mut self, ch: ChannelId, from: Option<usize>, line: BridgeLine) {
        let ids: Vec<usize> = self
            .bridges
            .of_channel(ch)
            .filter(|&i| Some(i) != from)
            .collect();
        for id in ids {
            self.bridges.outbox.push((id, line.clone()));
        }
    }

    /// A bridge heard a line on the other side.
    fn bridge_heard(&mut self, id: usize, who: &str, text: &str, pose: bool) {
        let Some(b) = self.bridges.list.get(id) else {
            return;
        };
        if who.is_empty() || text.is_empty() {
            return;
        }
        let (ch, sender) = (b.channel, format!("{who}@{}", b.name));
        if let Err(e) = self.channel_say_from(ch, None, &sender, text, pose, Some(id)) {
            tracing::debug!(bridge = id, %e, "a bridged line was not said");
        }
    }
}

/// Starts a bridge on the current tokio runtime; returns where its lines go.
pub(crate) fn spawn_bridge(
    id: usize,
    bridge: Box<dyn Bridge>,
    events: mpsc::Sender<ServerEvent>,
) -> mpsc::Sender<BridgeLine> {
    let (tx, rx) = mpsc::channel(BRIDGE_QUEUE);
    let link = BridgeLink {
        id,
        lines: rx,
        events,
    };
    tokio::spawn(bridge.run(link));
    tx
}
