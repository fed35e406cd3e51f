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

use crate::session::{SessionEvent, SessionOut, announce};
use crate::stats::PortalStats;
use tavern_protocol::telnet::protocol::{ProtoEvent, TelnetProtocol};

/// Bytes read from a client at a time. Players type short lines; a long
/// paste takes more reads, and lines still reach `max_line_length` (the
/// line buffer grows as needed). Every connection has one, all the time:
/// with 10,000 connections, 8 KiB of these would be 80 MiB.
const READ_BUFFER: usize = 1024;

/// How long one write may block on a client that does not read before it is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct TelnetParams {
    pub max_line: usize,
    pub max_queued_output: usize,
    pub protocol: &'static str,
    pub stats: Arc<PortalStats>,
    /// How often to send a NOP to an idle connection; None: never.
    pub keepalive: Option<Duration>,
}

/// Serves one connection until either side closes it.
pub(crate) async fn serve<S>(
    stream: S,
    addr: SocketAddr,
    sessid: SessId,
    hub: mpsc::Sender<SessionEvent>,
    params: TelnetParams,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // At debug level, as is everything logged inside it: at the default
    // level the span is never entered (entering it on every poll of every
    // connection cost the portal 6 % of its time).
    let span = debug_span!("session", sessid, %addr);
    run(stream, addr, sessid, hub, params)
        .instrument(span)
        .await
}

async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    addr: SocketAddr,
    sessid: SessId,
    hub: mpsc::Sender<SessionEvent>,
    params: TelnetParams,
) {
    let mut proto = TelnetProtocol::new(params.max_line);
    let flags = proto.flags.clone();
    let Some(mut out_rx) = announce(
        &hub,
        sessid,
        addr,
        params.protocol,
        flags,
        params.max_queued_output,
    )
    .await
    else {
        return;
    };
    let stats = params.stats.clone();
    let mssp = move || stats.mssp_fields();
    let mut buf = vec![0u8; READ_BUFFER];
    // A NOP this often keeps idle connections (and the NAT boxes on their way) alive.
    let period = params
        .keepalive
        .unwrap_or(Duration::from_secs(86_400 * 365));
    let mut keepalive = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut reason = "closed by client";
    let mut first_read = true;
    let start = proto.start();
    if write(&mut stream, &start).await.is_ok() {
        reason = loop {
            tokio::select! {
                n = stream.read(&mut buf) => {
                    let n = match n {
                        Ok(0) | Err(_) => break "closed by client",
                        Ok(n) => n,
                    };
                    if first_read {
                        first_read = false;
                        if let Some(why) = wrong_protocol(&buf[..n], params.protocol) {
                            let _ = write(&mut stream, why.as_bytes()).await;
                            break "wrong protocol";
                        }
                    }
                    let (events, reply) = proto.receive(&buf[..n], &mssp);
                    if !reply.is_empty() && write(&mut stream, &reply).await.is_err() {
                        break "write failed";
                    }
                    if !pass_on(events, &mut stream, &mut proto, sessid, &hub).await {
                        break "portal stopping";
                    }
                }
                out = out_rx.recv() => match out {
                    Some(SessionOut::Msgs(first)) => {
                        // Whatever else is waiting goes out in the same write.
                        let mut batches = vec![first];
                        let mut bytes = Vec::new();
                        let mut close = None;
                        while let Ok(next) = out_rx.try_recv() {
                            match next {
                                SessionOut::Msgs(more) => batches.push(more),
                                SessionOut::Close(why) => {
                                    close = Some(why);
                                    break;
                                }
                                // Later messages render by the new choices;
                                // these were sent before the change.
                                SessionOut::Choices(c) => {
                                    bytes.extend(proto.render(batches.iter().flat_map(|b| b.iter())));
                                    batches.clear();
                                    proto.choices = c;
                                }
                            }
                        }
                        let why = close.clone().flatten().map(tavern_shared::Msg::text);
                        bytes.extend(proto.render(batches.iter().flat_map(|b| b.iter()).chain(why.as_ref())));
                        if write(&mut stream, &bytes).await.is_err() {
                            break "write failed";
                        }
                        if close.is_some() {
                            break "closed by server";
                        }
                    }
                    Some(SessionOut::Close(why)) => {
                        if let Some(why) = why {
                            let bytes = proto.render(&[tavern_shared::Msg::text(why)]);
                            let _ = write(&mut stream, &bytes).await;
                        }
                        break "closed by server";
                    }
                    Some(SessionOut::Choices(c)) => proto.choices = c,
                    None => break "dropped by portal",
                },
                _ = keepalive.tick(), if params.keepalive.is_some() => {
                    let nop = proto.nop();
                    if write(&mut stream, &nop).await.is_err() {
                        break "keepalive failed";
                    }
                }
            }
        };
    }
    let _ = stream.shutdown().await;
    debug!(reason, "disconnected");
    let _ = hub.send(SessionEvent::Closed { sessid }).await;
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
