//! The portal's end of the link: accepts the server and launcher connections,
//! checks their hello, and turns their frames into hub events.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tavern_shared::link::{
    self, Hello, HelloReply, LauncherReply, LauncherRequest, LinkStream, Proof, Role, StandbyGo,
    ToPortal, ToServer,
};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, debug, error, info, info_span, warn};

/// What the link's tasks tell the PortalSessionHandler.
pub(crate) enum LinkEvent {
    /// A server finished the handshake; `accept` says whether it may stay.
    ServerLinked {
        /// Which link (they are numbered as they open).
        link_id: u64,
        /// The server's process id, as it says.
        pid: u32,
        /// It answers [`ToServer::Mark`]: a reload may load the next
        /// server beside it.
        marks: bool,
        /// Where messages for it go.
        tx: mpsc::UnboundedSender<ToServer>,
        /// The handler's answer: true to keep it.
        accept: oneshot::Sender<bool>,
    },
    /// A frame from a linked server.
    ServerFrame {
        /// Which link.
        link_id: u64,
        /// What it sent.
        msg: ToPortal,
    },
    /// A server's link closed.
    ServerUnlinked {
        /// Which link.
        link_id: u64,
    },
    /// A reload's standby server has loaded the world's objects: it waits
    /// for the word that the old server stopped.
    StandbyReady {
        /// Its process id, as it says.
        pid: u32,
        /// The word, when the time comes (dropping it closes the standby's link).
        go: oneshot::Sender<StandbyGo>,
    },
    /// A launcher (`tavern status`, `reload`, `stop`) asks something.
    Launcher {
        /// What it asks.
        req: LauncherRequest,
        /// Where the answer goes.
        reply: oneshot::Sender<LauncherReply>,
    },
}

/// How long a link peer may take to prove it knows the secret.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How many link peers may be in their handshake at once; more are closed at once.
const MAX_HANDSHAKES: usize = 16;

/// Why a link peer was refused.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("it sent no valid hello: {0}")]
    NoHello(link::LinkError),
    #[error("{0}")]
    Hello(String),
    #[error("it does not know the link secret")]
    NoProof,
}

/// The portal's side of the handshake: the hello, our challenge with our
/// proof over the peer's nonce, the peer's proof over ours.
async fn authenticate(ls: &mut LinkStream<TcpStream>, secret: &str) -> Result<Hello, Refusal> {
    let hello: Hello = ls.recv().await.map_err(Refusal::NoHello)?;
    if let Some(reason) = hello.refusal() {
        error!(peer_version = hello.version, peer_build = %hello.build, "refused link peer: {reason}");
        return Err(Refusal::Hello(reason));
    }
    let nonce = link::new_nonce();
    let challenge = HelloReply::Challenge {
        nonce: nonce.clone(),
        proof: link::portal_proof(secret, &hello.nonce),
    };
    ls.send(&challenge).await.map_err(|_| Refusal::NoProof)?;
    match ls.recv::<Proof>().await {
        Ok(p) if link::verify_proof(secret, &nonce, hello.role, &p.mac) => Ok(hello),
        _ => Err(Refusal::NoProof),
    }
}

/// What this portal tells a peer it accepted.
#[derive(Clone)]
pub(crate) struct PortalIdentity {
    /// The portal process's random instance id.
    pub(crate) instance: u64,
    /// Its `[portal] id`.
    pub(crate) id: tavern_shared::session::PortalId,
    /// The largest link frame after the handshake.
    pub(crate) max_frame: usize,
    /// The link secret.
    pub(crate) secret: String,
}

impl PortalIdentity {
    fn accepted(&self) -> HelloReply {
        HelloReply::Accepted {
            portal_instance: self.instance,
            portal_pid: std::process::id(),
            output_many: true,
            metrics: true,
            portal_id: self.id,
        }
    }
}

static LINK_IDS: AtomicU64 = AtomicU64::new(1);

/// Accepts link peers (the server, launchers) until the portal stops. An
/// extra portal (`servers` false) links to its server itself and takes
/// launchers only here.
pub(crate) async fn serve(
    mut listener: crate::upgrade::Listener,
    hub: mpsc::Sender<LinkEvent>,
    me: PortalIdentity,
    servers: bool,
) {
    let handshakes = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                warn!("link accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(admitted) = handshakes.clone().try_acquire_owned() else {
            warn!(%addr, "closed a link connection: {MAX_HANDSHAKES} handshakes are under way");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let hub = hub.clone();
        let link_id = LINK_IDS.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(
            peer(stream, hub, me.clone(), servers, link_id, admitted)
                .instrument(info_span!("link", %addr)),
        );
    }
}

/// An extra portal's link to its server (`[link] server`): connects, and
/// connects again whenever the link closes (the server reloads, restarts or
/// was cut off), until the portal stops.
pub(crate) async fn dial(
    addr: std::net::SocketAddr,
    hub: mpsc::Sender<LinkEvent>,
    me: PortalIdentity,
) {
    let mut delay = Duration::from_millis(20);
    let mut last_note: Option<std::time::Instant> = None;
    loop {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                let link_id = LINK_IDS.fetch_add(1, Ordering::Relaxed);
                let linked = with_server(stream, hub.clone(), me.clone(), link_id)
                    .instrument(info_span!("link", %addr))
                    .await;
                if hub.is_closed() {
                    return;
                }
                if linked {
                    delay = Duration::from_millis(20);
                    last_note = None;
                }
            }
            Err(e) => {
                if last_note.is_none_or(|t| t.elapsed() > Duration::from_secs(30)) {
                    warn!(%addr, "cannot reach the server for this portal yet: {e}");
                    last_note = Some(std::time::Instant::now());
                }
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(500));
    }
}

/// The handshake with a server this portal dialed (the server says hello,
/// as a server always does), then the link until it closes. True if the
/// server was linked.
async fn with_server(
    stream: TcpStream,
    hub: mpsc::Sender<LinkEvent>,
    me: PortalIdentity,
    link_id: u64,
) -> bool {
    let mut ls = LinkStream::new(stream, link::PRE_AUTH_MAX_FRAME);
    let hello =
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, authenticate(&mut ls, &me.secret)).await {
            Ok(Ok(hello)) if hello.role == Role::Server => hello,
            Ok(Ok(_)) => {
                warn!("the server address answered as a launcher: not a server");
                return false;
            }
            Ok(Err(refusal)) => {
                warn!("refused the server: {refusal}");
                return false;
            }
            Err(_) => {
                warn!("the server did not finish the handshake within {HANDSHAKE_TIMEOUT:?}");
                return false;
            }
        };
    ls.set_max_frame(me.max_frame);
    linked_server(ls, hub, &me, link_id, &hello).await
}

async fn peer(
    stream: TcpStream,
    hub: mpsc::Sender<LinkEvent>,
    me: PortalIdentity,
    servers: bool,
    link_id: u64,
    admitted: tokio::sync::OwnedSemaphorePermit,
) {
    // Until the peer has proved it knows the secret it may send a few KiB,
    // within a few seconds, and is told nothing of the game.
    let mut ls = LinkStream::new(stream, link::PRE_AUTH_MAX_FRAME);
    let hello = match tokio::time::timeout(HANDSHAKE_TIMEOUT, authenticate(&mut ls, &me.secret))
        .await
    {
        Ok(Ok(hello)) => hello,
        // Garbage, or a frame too big for a hello: dropped without a word.
        Ok(Err(refusal @ Refusal::NoHello(_))) => {
            warn!("dropped a link peer: {refusal}");
            return;
        }
        Ok(Err(refusal)) => {
            warn!("refused a link peer: {refusal}");
            let _ = ls
                .send(&HelloReply::Refused {
                    reason: refusal.to_string(),
                })
                .await;
            return;
        }
        Err(_) => {
            warn!(
                "dropped a link peer that did not finish the handshake within {HANDSHAKE_TIMEOUT:?}"
            );
            return;
        }
    };
    drop(admitted);
    ls.set_max_frame(me.max_frame);
    match hello.role {
        Role::Launcher => {
            if ls.send(&me.accepted()).await.is_ok() {
                launcher(ls, hub).await;
            }
        }
        Role::Server if servers => {
            linked_server(ls, hub, &me, link_id, &hello).await;
        }
        Role::Standby if servers => standby(ls, hub, &me, hello.pid).await,
        Role::Server | Role::Standby => {
            warn!("refused a server on an extra portal's launcher link");
            let reason = format!(
                "this is extra portal {}: it links to its server itself ([link] server)",
                me.id
            );
            let _ = ls.send(&HelloReply::Refused { reason }).await;
        }
    }
}

/// A server that proved itself: the handler decides whether it may stay;
/// then its frames flow until the link closes. True if it was linked.
async fn linked_server(
    mut ls: LinkStream<TcpStream>,
    hub: mpsc::Sender<LinkEvent>,
    me: &PortalIdentity,
    link_id: u64,
    hello: &Hello,
) -> bool {
    let (tx, rx) = mpsc::unbounded_channel();
    let (accept_tx, accept_rx) = oneshot::channel();
    let linked = LinkEvent::ServerLinked {
        link_id,
        pid: hello.pid,
        marks: hello.marks,
        tx,
        accept: accept_tx,
    };
    if hub.send(linked).await.is_err() {
        return false;
    }
    if accept_rx.await != Ok(true) {
        let reason = "another server is already linked to this portal".to_string();
        let _ = ls.send(&HelloReply::Refused { reason }).await;
        return false;
    }
    if ls.send(&me.accepted()).await.is_ok() {
        server(ls, rx, hub.clone(), link_id).await;
    }
    let _ = hub.send(LinkEvent::ServerUnlinked { link_id }).await;
    true
}

/// A standby that proved itself: the handler hears it is ready, and its
/// link stays open until the handler gives the word (or drops it, or the
/// standby goes away).
async fn standby(
    mut ls: LinkStream<TcpStream>,
    hub: mpsc::Sender<LinkEvent>,
    me: &PortalIdentity,
    pid: u32,
) {
    if ls.send(&me.accepted()).await.is_err() {
        return;
    }
    let (go_tx, go_rx) = oneshot::channel();
    if hub
        .send(LinkEvent::StandbyReady { pid, go: go_tx })
        .await
        .is_err()
    {
        return;
    }
    // The standby sends nothing more: a read ends only when it goes away.
    tokio::select! {
        go = go_rx => {
            if let Ok(go) = go {
                if let Err(e) = ls.send(&go).await {
                    warn!(pid, "cannot tell the standby server to go on: {e}");
                }
            } else {
                info!(pid, "the standby server is not wanted: its link is closed");
            }
        }
        _ = ls.recv::<Hello>() => info!(pid, "the standby server's link closed"),
    }
}

async fn server(
    ls: LinkStream<TcpStream>,
    mut rx: mpsc::UnboundedReceiver<ToServer>,
    hub: mpsc::Sender<LinkEvent>,
    link_id: u64,
) {
    let (mut sink, mut stream) = ls.into_framed().split();
    let writer = async move {
        while let Some(msg) = rx.recv().await {
            let frame = match link::encode(&msg) {
                Ok(f) => f,
                Err(e) => {
                    error!("cannot encode a link message: {e}");
                    continue;
                }
            };
            // Batch whatever else is waiting into the same flush.
            if sink.feed(frame).await.is_err() {
                return;
            }
            while let Ok(msg) = rx.try_recv() {
                if let Ok(f) = link::encode(&msg)
                    && sink.feed(f).await.is_err()
                {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    };
    let reader = async move {
        while let Some(frame) = stream.next().await {
            let frame = match frame {
                Ok(f) => f,
                Err(e) => {
                    error!("link read failed: {e}");
                    return;
                }
            };
            match link::decode::<ToPortal>(&frame) {
                Ok(msg) => {
                    if hub
                        .send(LinkEvent::ServerFrame { link_id, msg })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                // A newer server may send something this portal does not know: skip it.
                Err(e) => warn!(
                    "skipped an undecodable link frame ({} bytes): {e}",
                    frame.len()
                ),
            }
        }
        debug!("server closed the link");
    };
    tokio::select! {
        _ = writer => {}
        _ = reader => {}
    }
    info!("server link closed");
}

/// Launcher connections open now.
static LAUNCHERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether a launcher is connected (a portal that handed over waits for
/// the one that asked to hear so).
pub(crate) fn launchers_connected() -> bool {
    LAUNCHERS.load(Ordering::Relaxed) > 0
}

async fn launcher(ls: LinkStream<TcpStream>, hub: mpsc::Sender<LinkEvent>) {
    LAUNCHERS.fetch_add(1, Ordering::Relaxed);
    serve_launcher(ls, hub).await;
    LAUNCHERS.fetch_sub(1, Ordering::Relaxed);
}

async fn serve_launcher(mut ls: LinkStream<TcpStream>, hub: mpsc::Sender<LinkEvent>) {
    loop {
        let req: LauncherRequest = match ls.recv().await {
            Ok(r) => r,
            Err(_) => return,
        };
        info!(?req, "launcher request");
        let (reply_tx, reply_rx) = oneshot::channel();
        if hub
            .send(LinkEvent::Launcher {
                req,
                reply: reply_tx,
            })
            .await
            .is_err()
        {
            return;
        }
        let Ok(reply) = reply_rx.await else { return };
        if ls.send(&reply).await.is_err() {
            return;
        }
    }
}
