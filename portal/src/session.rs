//! A PortalSession: one player connection as the portal holds it.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use tavern_shared::session::{ProtocolFlags, now_millis};
use tavern_shared::{Msg, SessId, SessionSync};
use tokio::sync::mpsc;

use crate::fanout::Outgoing;
use crate::outbox::{OutboxReceiver, OutboxSender, outbox};

/// What a connection's task tells the PortalSessionHandler.
pub(crate) enum SessionEvent {
    /// A new connection, with where its output goes.
    Connected {
        /// Its session data.
        sync: Box<SessionSync>,
        /// Its output queue (bounded: a client that stops reading is dropped).
        out: OutboxSender<SessionOut>,
    },
    /// A line or out-of-band message the client sent.
    Input {
        /// Which connection.
        sessid: SessId,
        /// What it sent.
        msg: Msg,
    },
    /// The client's negotiated options changed.
    Flags {
        /// Which connection.
        sessid: SessId,
        /// What it negotiated.
        flags: ProtocolFlags,
    },
    /// The connection logs in as it opens (SSH): the server checks the proof.
    Authenticate {
        /// Which connection.
        sessid: SessId,
        /// The account name given.
        account: String,
        /// What proves it.
        proof: tavern_shared::link::LoginProof,
    },
    /// The connection closed.
    Closed {
        /// Which connection.
        sessid: SessId,
    },
    /// A connection stopped to go on in a new portal process: the socket and
    /// its protocol state.
    HandedOver {
        /// Which connection.
        sessid: SessId,
        /// Its socket and telnet state.
        conn: Box<crate::upgrade::HandedConnection>,
    },
    /// The web admin asks the game something (not a connection of its own).
    Admin {
        /// The admin's account (0 for a log-in).
        account: i64,
        /// What it asks.
        request: tavern_shared::link::admin::AdminRequest,
        /// Where the answer goes.
        reply: tokio::sync::oneshot::Sender<tavern_shared::link::admin::AdminReply>,
    },
}

/// Tells the handler about a new connection; returns where its output will
/// arrive, or None when the portal is shutting down.
pub(crate) async fn announce(
    hub: &mpsc::Sender<SessionEvent>,
    sessid: SessId,
    addr: SocketAddr,
    protocol: &str,
    flags: ProtocolFlags,
    max_queued_output: usize,
) -> Option<OutboxReceiver<SessionOut>> {
    let (out, rx) = outbox(max_queued_output);
    let now = now_millis();
    let sync = SessionSync {
        sessid,
        address: addr.to_string(),
        protocol: protocol.into(),
        conn_time: now,
        cmd_last: now,
        cmd_last_visible: now,
        flags,
        ..Default::default()
    };
    let connected = SessionEvent::Connected {
        sync: Box::new(sync),
        out,
    };
    hub.send(connected).await.ok()?;
    tracing::debug!("connected");
    Some(rx)
}

/// What the portal sends to a connection's task.
#[derive(Debug)]
pub(crate) enum SessionOut {
    /// Render and send these messages (shared: the sessions a room's line
    /// goes to all hold the same ones).
    Msgs(Arc<Outgoing>),
    /// Send the reason (if any), then close the connection.
    Close(Option<String>),
    /// Render from now on by the player's choices (`option`).
    Choices(tavern_shared::session::ClientChoices),
    /// The portal hands its connections to a new process (`tavern
    /// upgrade-portal`): stop, and hand this one over
    /// ([`SessionEvent::HandedOver`]), or — a connection whose encryption
    /// cannot move (TLS, SSH) or a websocket — close it asking the player to
    /// connect again.
    HandOver,
}

/// Told to a connection that cannot be carried to a new portal process.
pub(crate) const RECONNECT_MSG: &str = "The game's portal is being upgraded: please connect again in a moment. Nothing you did is lost.";

impl SessionOut {
    /// One line of text.
    pub(crate) fn text(text: impl Into<String>) -> Self {
        SessionOut::Msgs(Outgoing::one([Msg::text(text)]))
    }
}

/// The portal's record of one connection.
pub(crate) struct PortalSession {
    /// Its session data, as the portal keeps it (and hands each new server).
    pub sync: SessionSync,
    /// To the connection's task. Bounded: a client that stops reading is disconnected.
    pub out: OutboxSender<SessionOut>,
    /// Input not yet acknowledged by a server, oldest first: sent to the current
    /// server, or waiting for the next one. Replayed in order after a (re)connect.
    pub unacked: VecDeque<(u64, Msg)>,
    /// The seq of the last input taken from this session.
    pub last_seq: u64,
    /// Whether the connection screen has been sent.
    pub greeted: bool,
}

impl PortalSession {
    /// The record of a new connection.
    pub(crate) fn new(sync: SessionSync, out: OutboxSender<SessionOut>) -> Self {
        Self {
            sync,
            out,
            unacked: VecDeque::new(),
            last_seq: 0,
            greeted: false,
        }
    }

    /// Takes a line of input; `None` when the queue is full and it was dropped.
    pub(crate) fn queue_input(&mut self, msg: Msg, max_queued: usize) -> Option<u64> {
        if self.unacked.len() >= max_queued {
            return None;
        }
        self.last_seq += 1;
        self.unacked.push_back((self.last_seq, msg));
        Some(self.last_seq)
    }

    /// The server has carried out every input up to `seq`.
    pub(crate) fn ack(&mut self, seq: u64) {
        while self.unacked.front().is_some_and(|(s, _)| *s <= seq) {
            self.unacked.pop_front();
        }
        if self.unacked.is_empty() {
            // Its room goes too: most sessions are idle most of the time.
            self.unacked = VecDeque::new();
        }
    }

    /// Sends to the connection; false when its queue is full (a stalled reader) or it is gone.
    pub(crate) fn send(&self, out: SessionOut) -> bool {
        self.out.try_send(out).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_numbered_bounded_and_trimmed_by_acks() {
        let (tx, _rx) = outbox(1);
        let mut s = PortalSession::new(SessionSync::default(), tx);
        assert_eq!(s.queue_input(Msg::text("a"), 3), Some(1));
        assert_eq!(s.queue_input(Msg::text("b"), 3), Some(2));
        assert_eq!(s.queue_input(Msg::text("c"), 3), Some(3));
        assert_eq!(s.queue_input(Msg::text("d"), 3), None, "the queue is full");
        s.ack(2);
        let left: Vec<_> = s.unacked.iter().map(|(n, _)| *n).collect();
        assert_eq!(left, vec![3]);
        assert_eq!(
            s.queue_input(Msg::text("e"), 3),
            Some(4),
            "seq keeps counting"
        );
        s.ack(10);
        assert!(s.unacked.is_empty());
        assert_eq!(s.unacked.capacity(), 0, "an idle session holds no queue");
    }
}
