//! The tokio task around one telnet connection: socket bytes through the
//! sans-IO [`TelnetProtocol`], events to the PortalSessionHandler; messages
//! back, rendered for this client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tavern_shared::SessId;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tracing::{Instrument, debug, debug_span};

use crate::fanout::Outgoing;
use crate::outbox::OutboxReceiver;
use crate::session::{SessionEvent, SessionOut, announce};
use crate::stats::PortalStats;
use tavern_protocol::telnet::protocol::{ProtoEvent, TelnetProtocol};

/// Bytes read from a client at a time. A plain connection reads into its
/// thread's scratch buffer of this size once the socket is readable, so an
/// idle connection holds no read buffer (a 1 KiB buffer each was 10 MiB of
/// the portal's 87 with 10,000 players); a TLS connection decrypts into a
/// buffer of its own of [`TLS_READ_BUFFER`].
const READ_BUFFER: usize = 8 * 1024;
/// The read buffer each TLS connection keeps.
const TLS_READ_BUFFER: usize = 1024;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; READ_BUFFER]);
}

/// How a connection's bytes arrive: wait until some can be read, then read
/// them at once (into a buffer the caller lends).
pub(crate) trait Transport: AsyncWrite + Unpin {
    /// Waits until bytes (or the end of the stream) can be read.
    fn ready(&mut self) -> impl std::future::Future<Output = std::io::Result<()>> + Send;
    /// Reads what has arrived into `buf`: `Ok(0)` at the end of the stream,
    /// `WouldBlock` when nothing had after all.
    fn read_now(&mut self, buf: &mut [u8]) -> std::io::Result<usize>;
    /// Whether the connection can be carried to another process as a plain
    /// socket (not when its encryption state lives here: TLS).
    fn can_hand_over(&self) -> bool {
        false
    }
    /// The plain socket, to carry to another process.
    fn into_std(self) -> Option<std::net::TcpStream>
    where
        Self: Sized,
    {
        None
    }
}

impl Transport for tokio::net::TcpStream {
    fn ready(&mut self) -> impl std::future::Future<Output = std::io::Result<()>> + Send {
        self.readable()
    }
    fn read_now(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // A read that did not fill the buffer took all there was (the
        // socket's events are edge-triggered): the readiness is cleared
        // with it, as tokio's own `poll_read` does, so the next wait is for
        // new bytes and not one more read that finds none (`try_read` alone
        // keeps it until a read says `WouldBlock`: two system calls a line).
        let len = buf.len();
        let mut short = 0;
        let read = self.try_io(tokio::io::Interest::READABLE, || match self.try_read(buf) {
            Ok(n) if n > 0 && n < len => {
                short = n;
                Err(std::io::ErrorKind::WouldBlock.into())
            }
            other => other,
        });
        match read {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && short > 0 => Ok(short),
            other => other,
        }
    }
    fn can_hand_over(&self) -> bool {
        true
    }
    fn into_std(self) -> Option<std::net::TcpStream> {
        tokio::net::TcpStream::into_std(self).ok()
    }
}

/// A stream read through a buffer of its own (TLS: bytes are decrypted
/// into it), for [`Transport`].
pub(crate) struct Buffered<S> {
    inner: S,
    buf: Box<[u8]>,
    /// The part of `buf` not taken yet.
    start: usize,
    end: usize,
    /// The stream ended (or failed) on the last read.
    ended: bool,
}

impl<S> Buffered<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self {
            inner,
            buf: vec![0; TLS_READ_BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            ended: false,
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Transport for Buffered<S> {
    async fn ready(&mut self) -> std::io::Result<()> {
        if self.start < self.end || self.ended {
            return Ok(());
        }
        let n = self.inner.read(&mut self.buf).await;
        self.start = 0;
        self.end = *n.as_ref().unwrap_or(&0);
        self.ended = self.end == 0;
        n.map(|_| ())
    }
    fn read_now(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.start == self.end {
            return if self.ended {
                Ok(0)
            } else {
                Err(std::io::ErrorKind::WouldBlock.into())
            };
        }
        let n = (self.end - self.start).min(buf.len());
        buf[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Buffered<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// What one read gave.
enum Read {
    /// Nothing after all (a spurious wake-up).
    Nothing,
    /// The end of the stream, or an error.
    Ended,
    /// The client opened with another protocol: what to answer.
    WrongProtocol(String),
    /// Protocol events and the bytes to answer with.
    Got(Vec<ProtoEvent>, Vec<u8>),
}

/// How long one write may block on a client that does not read before it is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub(crate) struct TelnetParams {
    pub max_line: usize,
    pub max_queued_output: usize,
    pub protocol: &'static str,
    pub stats: Arc<PortalStats>,
    /// How often to send a NOP to an idle connection; None: never.
    pub keepalive: Option<Duration>,
}

/// How a connection's task begins.
pub(crate) enum Begin {
    /// A new connection: it is announced to the handler, and negotiation starts.
    Fresh,
    /// A connection carried over from the previous portal process (`tavern
    /// upgrade-portal`): its protocol as it was, the bytes to send first, and
    /// the output queue the handler already holds the other end of.
    Resumed {
        /// The protocol state.
        proto: Box<TelnetProtocol>,
        /// Sent before anything else (MCCP2's marker when it was on).
        first: Vec<u8>,
        /// Its output.
        out_rx: OutboxReceiver<SessionOut>,
    },
}

/// Serves one connection until either side closes it.
pub(crate) async fn serve<S>(
    stream: S,
    addr: SocketAddr,
    sessid: SessId,
    hub: mpsc::Sender<SessionEvent>,
    params: TelnetParams,
    begin: Begin,
) where
    S: Transport,
{
    // At debug level, as is everything logged inside it: at the default
    // level the span is never entered (entering it on every poll of every
    // connection cost the portal 6 % of its time).
    let span = debug_span!("session", sessid, %addr);
    run(stream, addr, sessid, hub, params, begin)
        .instrument(span)
        .await
}

/// Why a connection's loop ended.
enum End {
    /// It closes, for this reason (logged).
    Close(&'static str),
    /// It goes on in a new portal process.
    HandOver,
}

/// The connection's task. Its future holds room for the largest await in
/// it, and an idle portal holds one per player: the awaits taken once
/// (announcing, handing over, closing) and the one per line typed
/// (`pass_on`, with the event it sends) are boxed, so what stays is the room
/// waiting needs (about 590 bytes less a connection).
async fn run<S: Transport>(
    mut stream: S,
    addr: SocketAddr,
    sessid: SessId,
    hub: mpsc::Sender<SessionEvent>,
    params: TelnetParams,
    begin: Begin,
) {
    let fresh = matches!(begin, Begin::Fresh);
    let (mut proto, mut out_rx, start) = match begin {
        Begin::Fresh => {
            let mut proto = TelnetProtocol::new(params.max_line);
            let flags = proto.flags.clone();
            let Some(out_rx) = Box::pin(announce(
                &hub,
                sessid,
                addr,
                params.protocol,
                flags,
                params.max_queued_output,
            ))
            .await
            else {
                return;
            };
            let start = proto.start();
            (proto, out_rx, start)
        }
        Begin::Resumed {
            proto,
            first,
            out_rx,
        } => (*proto, out_rx, first),
    };
    let stats = params.stats.clone();
    let mssp = move || stats.mssp_fields();
    // A NOP this often keeps idle connections (and the NAT boxes on their way) alive.
    let period = params
        .keepalive
        .unwrap_or(Duration::from_secs(86_400 * 365));
    let mut keepalive = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut end = End::Close("closed by client");
    // A carried-over connection is past its first bytes.
    let mut first_read = fresh;
    if write(&mut stream, &start).await.is_ok() {
        end = loop {
            tokio::select! {
                r = stream.ready() => {
                    if r.is_err() {
                        break End::Close("closed by client");
                    }
                    // Read and parse at once, in the thread's scratch buffer.
                    let read = SCRATCH.with_borrow_mut(|buf| {
                        let n = match stream.read_now(buf) {
                            Ok(0) => return Read::Ended,
                            Ok(n) => n,
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Read::Nothing,
                            Err(_) => return Read::Ended,
                        };
                        if std::mem::take(&mut first_read)
                            && let Some(why) = wrong_protocol(&buf[..n], params.protocol)
                        {
                            return Read::WrongProtocol(why);
                        }
                        let (events, reply) = proto.receive(&buf[..n], &mssp);
                        Read::Got(events, reply)
                    });
                    let (events, reply) = match read {
                        Read::Nothing => continue,
                        Read::Ended => break End::Close("closed by client"),
                        Read::WrongProtocol(why) => {
                            let _ = write(&mut stream, why.as_bytes()).await;
                            break End::Close("wrong protocol");
                        }
                        Read::Got(events, reply) => (events, reply),
                    };
                    if !reply.is_empty() && write(&mut stream, &reply).await.is_err() {
                        break End::Close("write failed");
                    }
                    if !Box::pin(pass_on(events, &mut stream, &mut proto, sessid, &hub)).await {
                        break End::Close("portal stopping");
                    }
                }
                out = out_rx.recv() => match out {
                    Some(SessionOut::Msgs(first)) => {
                        // Whatever else is waiting goes out in the same write.
                        let mut batches = vec![first];
                        let mut bytes = Vec::new();
                        let mut close = None;
                        let mut hand_over = false;
                        while let Some(next) = out_rx.try_recv() {
                            match next {
                                SessionOut::Msgs(more) => batches.push(more),
                                SessionOut::Close(why) => {
                                    close = Some(why);
                                    break;
                                }
                                SessionOut::HandOver => {
                                    hand_over = true;
                                    break;
                                }
                                // Later messages render by the new choices;
                                // these were sent before the change.
                                SessionOut::Choices(c) => {
                                    bytes.extend(render(&mut proto, &batches));
                                    batches.clear();
                                    proto.choices = c;
                                }
                            }
                        }
                        bytes.extend(render(&mut proto, &batches));
                        if let Some(why) = close.clone().flatten() {
                            bytes.extend(proto.render(&[tavern_shared::Msg::text(why)]));
                        }
                        if write(&mut stream, &bytes).await.is_err() {
                            break End::Close("write failed");
                        }
                        if close.is_some() {
                            break End::Close("closed by server");
                        }
                        if hand_over {
                            break End::HandOver;
                        }
                    }
                    Some(SessionOut::Close(why)) => {
                        if let Some(why) = why {
                            let bytes = proto.render(&[tavern_shared::Msg::text(why)]);
                            let _ = write(&mut stream, &bytes).await;
                        }
                        break End::Close("closed by server");
                    }
                    Some(SessionOut::Choices(c)) => proto.choices = c,
                    Some(SessionOut::HandOver) => break End::HandOver,
                    None => break End::Close("dropped by portal"),
                },
                _ = keepalive.tick(), if params.keepalive.is_some() => {
                    let nop = proto.nop();
                    if write(&mut stream, &nop).await.is_err() {
                        break End::Close("keepalive failed");
                    }
                }
            }
        };
    }
    let reason = match end {
        End::Close(reason) => reason,
        End::HandOver if stream.can_hand_over() => {
            // Everything sent so far is written; the compressed stream ends;
            // what the client sends next waits in the socket for the new process.
            let (last, telnet) = proto.suspend();
            if Box::pin(write(&mut stream, &last)).await.is_ok()
                && Box::pin(stream.flush()).await.is_ok()
                && let Some(stream) = stream.into_std()
            {
                debug!("handed over");
                let conn = Box::new(crate::upgrade::HandedConnection {
                    stream,
                    addr,
                    telnet,
                });
                let _ = Box::pin(hub.send(SessionEvent::HandedOver { sessid, conn })).await;
                return;
            }
            let _ = Box::pin(hub.send(SessionEvent::Closed { sessid })).await;
            return;
        }
        End::HandOver => {
            // TLS: its keys stay in this process; the player connects again.
            let bytes = proto.render(&[tavern_shared::Msg::text(crate::session::RECONNECT_MSG)]);
            let _ = write(&mut stream, &bytes).await;
            "portal upgrade"
        }
    };
    let _ = Box::pin(stream.shutdown()).await;
    debug!(reason, "disconnected");
    let _ = Box::pin(hub.send(SessionEvent::Closed { sessid })).await;
}

/// Wire bytes of batches the hub handed over: each rendered for this
/// client's look, or copied from a connection of the same look that
/// rendered it first (a line heard by many), then compressed for this
/// connection alone.
fn render(proto: &mut TelnetProtocol, batches: &[Arc<Outgoing>]) -> Vec<u8> {
    if batches.is_empty() {
        return Vec::new();
    }
    // Only a line heard by many asks how this connection renders.
    let look = batches.iter().any(|b| b.shared()).then(|| proto.look());
    let mut plain = Vec::new();
    for b in batches {
        b.render_into(look.as_ref(), &mut plain, |msgs| proto.render_plain(msgs));
    }
    proto.wire_owned(plain)
}

/// What to answer a client that opened with another protocol, if it did: an
/// HTTP request (a browser pointed at the telnet port) or a TLS hello.
fn wrong_protocol(first: &[u8], protocol: &str) -> Option<String> {
    const METHODS: [&[u8]; 7] = [
        b"GET ",
        b"POST ",
        b"HEAD ",
        b"PUT ",
        b"DELETE ",
        b"OPTIONS ",
        b"CONNECT ",
    ];
    if METHODS.iter().any(|m| first.starts_with(m)) {
        let body = "This is the telnet port of a MUD: connect with a MUD or telnet client, \
                    or use the webclient on the game's web port.\r\n";
        return Some(format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
    }
    // A TLS record header: handshake (0x16), version 3.x.
    if protocol == "telnet" && first.len() >= 2 && first[0] == 0x16 && first[1] == 0x03 {
        tracing::debug!("a TLS hello on the plain telnet port");
        return Some(String::new());
    }
    None
}

/// Passes protocol events on; false when the portal is gone.
async fn pass_on<S: AsyncWrite + Unpin>(
    events: Vec<ProtoEvent>,
    stream: &mut S,
    proto: &mut TelnetProtocol,
    sessid: SessId,
    hub: &mpsc::Sender<SessionEvent>,
) -> bool {
    let mut flags_changed = false;
    for ev in events {
        match ev {
            ProtoEvent::Input(msg) => {
                if hub.send(SessionEvent::Input { sessid, msg }).await.is_err() {
                    return false;
                }
            }
            ProtoEvent::FlagsChanged => flags_changed = true,
            ProtoEvent::LineTooLong => {
                let text = format!(
                    "Your input was longer than {} bytes and was dropped.",
                    proto.max_line()
                );
                let bytes = proto.render(&[tavern_shared::Msg::text(text)]);
                let _ = write(stream, &bytes).await;
            }
        }
    }
    if flags_changed {
        let flags = proto.flags.clone();
        if hub
            .send(SessionEvent::Flags { sessid, flags })
            .await
            .is_err()
        {
            return false;
        }
    }
    true
}

async fn write<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> std::io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(bytes)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "client stopped reading",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::Transport;
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    /// Whether the connection says it can be read, asked once without waiting.
    fn ready_at_once(stream: &mut TcpStream) -> bool {
        let ready = std::pin::pin!(Transport::ready(stream));
        matches!(
            ready.poll(&mut Context::from_waker(Waker::noop())),
            Poll::Ready(_)
        )
    }

    #[tokio::test]
    async fn a_read_that_takes_all_there_was_waits_for_new_bytes_and_misses_none() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 64];

        // A short read took everything: the next wait is for new bytes.
        client.write_all(b"look").await.unwrap();
        Transport::ready(&mut conn).await.unwrap();
        assert_eq!(conn.read_now(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"look");
        assert!(!ready_at_once(&mut conn), "nothing more came");

        // What comes next is read whole.
        client.write_all(b" at me\r\n").await.unwrap();
        Transport::ready(&mut conn).await.unwrap();
        assert_eq!(conn.read_now(&mut buf).unwrap(), 8);
        assert_eq!(&buf[..8], b" at me\r\n");

        // A read that fills the buffer may have left more: it stays readable.
        client.write_all(&[b'x'; 100]).await.unwrap();
        let mut got = 0;
        while got < 100 {
            Transport::ready(&mut conn).await.unwrap();
            match conn.read_now(&mut buf) {
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
            if got == 64 {
                assert!(ready_at_once(&mut conn), "the rest is still there");
            }
        }
        assert_eq!(got, 100);
        assert!(!ready_at_once(&mut conn));

        // The end of the stream.
        drop(client);
        Transport::ready(&mut conn).await.unwrap();
        assert_eq!(conn.read_now(&mut buf).unwrap(), 0);
    }
}
