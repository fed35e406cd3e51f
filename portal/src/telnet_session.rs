//! The tokio task around one telnet connection: socket bytes in, the telnet
//! state machine, events to the PortalSessionHandler; messages out, rendered
//! for this client.

use std::net::SocketAddr;
use std::time::Duration;

use tavern_shared::session::{ProtocolFlags, SessionSync, now_millis};
use tavern_shared::text::{ColorMode, clean_input, render};
use tavern_shared::{Msg, SessId};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tracing::{Instrument, debug, info_span};

use crate::handler::HubEvent;
use crate::session::SessionOut;
use crate::telnet::{self, Opt, Telnet, TelnetEvent};

/// How long one write may block on a client that does not read before it is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest subnegotiation accepted.
const MAX_SUBNEG: usize = 64 * 1024;

pub struct TelnetParams {
    pub max_line: usize,
    pub max_queued_output: usize,
    pub protocol: &'static str,
}

/// Serves one connection until either side closes it.
pub async fn serve<S>(
    stream: S,
    addr: SocketAddr,
    sessid: SessId,
    hub: mpsc::Sender<HubEvent>,
    params: TelnetParams,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let span = info_span!("session", sessid, %addr);
    run(stream, addr, sessid, hub, params)
        .instrument(span)
        .await
}

async fn run<S>(
    mut stream: S,
    addr: SocketAddr,
    sessid: SessId,
    hub: mpsc::Sender<HubEvent>,
    params: TelnetParams,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (out_tx, mut out_rx) = mpsc::channel(params.max_queued_output);
    let now = now_millis();
    let sync = SessionSync {
        sessid,
        address: addr.to_string(),
        protocol: params.protocol.into(),
        conn_time: now,
        cmd_last: now,
        cmd_last_visible: now,
        flags: ProtocolFlags::new(),
        ..Default::default()
    };
    let mut flags = sync.flags.clone();
    if hub
        .send(HubEvent::Connected { sync, out: out_tx })
        .await
        .is_err()
    {
        return;
    }
    debug!("connected");
    let mut telnet = Telnet::new(
        params.max_line,
        MAX_SUBNEG,
        &[Opt::SGA, Opt::ECHO],
        &[Opt::NAWS],
    );
    let mut buf = vec![0u8; 8192];
    let mut reason = "closed by client";
    if write(&mut stream, &telnet.start()).await.is_ok() {
        reason = loop {
            tokio::select! {
                n = stream.read(&mut buf) => {
                    let n = match n {
                        Ok(0) | Err(_) => break "closed by client",
                        Ok(n) => n,
                    };
                    let fed = telnet.feed(&buf[..n]);
                    if !fed.reply.is_empty() && write(&mut stream, &fed.reply).await.is_err() {
                        break "write failed";
                    }
                    if !handle_events(fed.events, &mut stream, sessid, &hub, &mut flags, &params).await {
                        break "portal stopping";
                    }
                }
                out = out_rx.recv() => match out {
                    Some(SessionOut::Msgs(msgs)) => {
                        let bytes = render_msgs(&msgs, &flags, &mut telnet);
                        if write(&mut stream, &bytes).await.is_err() {
                            break "write failed";
                        }
                    }
                    Some(SessionOut::Close(why)) => {
                        if let Some(why) = why {
                            let mut bytes = Vec::new();
                            telnet::encode_text(render(&why, color_mode(&flags)).as_bytes(), &mut bytes);
                            bytes.extend_from_slice(b"\r\n");
                            let _ = write(&mut stream, &bytes).await;
                        }
                        break "closed by server";
                    }
                    None => break "dropped by portal",
                },
            }
        };
    }
    let _ = stream.shutdown().await;
    debug!(reason, "disconnected");
    let _ = hub.send(HubEvent::Closed { sessid }).await;
}

/// Passes telnet events on; false when the portal is gone.
async fn handle_events<S: AsyncWrite + Unpin>(
    events: Vec<TelnetEvent>,
    stream: &mut S,
    sessid: SessId,
    hub: &mpsc::Sender<HubEvent>,
    flags: &mut ProtocolFlags,
    params: &TelnetParams,
) -> bool {
    for ev in events {
        match ev {
            TelnetEvent::Line(bytes) => {
                let line = clean_input(&String::from_utf8_lossy(&bytes));
                let msg = Msg::text(line);
                if hub.send(HubEvent::Input { sessid, msg }).await.is_err() {
                    return false;
                }
            }
            TelnetEvent::LineTooLong => {
                let text = format!(
                    "Your input was longer than {} bytes and was dropped.\r\n",
                    params.max_line
                );
                let _ = write(stream, text.as_bytes()).await;
            }
            TelnetEvent::WindowSize { width, height } => {
                flags.screen_width = Some(width);
                flags.screen_height = Some(height);
                let flags = flags.clone();
                if hub.send(HubEvent::Flags { sessid, flags }).await.is_err() {
                    return false;
                }
            }
            TelnetEvent::Enabled(_, opt) | TelnetEvent::Disabled(_, opt) => {
                debug!(opt, "option changed");
            }
            TelnetEvent::SubnegTooLong(opt) => debug!(opt, "subnegotiation too long, dropped"),
            TelnetEvent::Subneg(..) => {}
        }
    }
    true
}

/// The richest colour the client said it shows.
fn color_mode(flags: &ProtocolFlags) -> ColorMode {
    if flags.nocolor || flags.screenreader {
        ColorMode::Plain
    } else if flags.truecolor {
        ColorMode::TrueColor
    } else if flags.xterm256 {
        ColorMode::Xterm256
    } else if flags.ansi {
        ColorMode::Ansi
    } else {
        ColorMode::Plain
    }
}

/// Turns output messages into wire bytes for this client.
fn render_msgs(msgs: &[Msg], flags: &ProtocolFlags, telnet: &mut Telnet) -> Vec<u8> {
    let mut out = Vec::new();
    for msg in msgs {
        match msg.cmd.as_str() {
            "text" | "prompt" => {
                let text = msg.first_str().unwrap_or_default();
                telnet::encode_text(render(text, color_mode(flags)).as_bytes(), &mut out);
                if msg.cmd == "text" {
                    out.extend_from_slice(b"\r\n");
                }
                // `options: {echo: false}` hides what the player types next (passwords).
                if let Some(echo) = msg
                    .kwargs
                    .get("options")
                    .and_then(|o| o.get("echo"))
                    .and_then(|e| e.as_bool())
                {
                    out.extend(telnet.set_local(Opt::ECHO, !echo));
                }
            }
            // Out-of-band messages reach telnet clients through GMCP/MSDP once negotiated.
            _ => {}
        }
    }
    out
}

async fn write<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> std::io::Result<()> {
    match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(bytes)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "client stopped reading",
        )),
    }
}
