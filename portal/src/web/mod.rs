//! The portal's HTTP port: the webclient page at `/`, the websocket at `/ws`,
//! and the metrics at `/metrics` when they are on.

pub(crate) mod admin;
mod metrics;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures::{SinkExt, StreamExt};
use tavern_shared::SessId;
use tavern_shared::session::ProtocolFlags;
use tokio::sync::mpsc;
use tracing::{Instrument, debug, debug_span, warn};

use crate::session::{SessionEvent, SessionOut, announce};
use tavern_protocol::telnet::gmcp;
use tavern_protocol::web::wire::{self, Frame, WireFormat};

/// The webclient page.
pub(crate) const WEBCLIENT_HTML: &str = include_str!("../../webclient/index.html");

#[derive(Clone)]
pub(crate) struct WebState {
    pub hub: mpsc::Sender<SessionEvent>,
    pub next_sessid: Arc<AtomicU64>,
    pub max_line: usize,
    pub max_queued_output: usize,
    pub gate: Arc<crate::gate::ConnectionGate>,
    pub header_timeout: std::time::Duration,
    /// The figures and the scrape token, when `[metrics] enabled`.
    pub metrics: Option<(Arc<crate::stats::PortalStats>, String)>,
    /// The game's webclient plugins: (file name, source), in name order.
    pub plugins: Arc<Vec<(String, String)>>,
    /// The admin site (`/admin`), when `[portal] web_admin` is on.
    pub admin: Arc<admin::AdminSite>,
    /// Whether the admin site is served.
    pub admin_on: bool,
}

/// The most plugin source served, in bytes.
const MAX_PLUGINS: u64 = 1024 * 1024;

/// Reads the game's webclient plugins (`*.js` in `dir`, in name order, at
/// most 64 files and 1 MiB).
pub(crate) fn load_plugins(dir: &std::path::Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "js") && p.is_file())
        .collect();
    files.sort();
    let mut out = Vec::new();
    let mut total = 0;
    for f in files.into_iter().take(64) {
        let Some(name) = f.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        total += std::fs::metadata(&f).map_or(u64::MAX, |m| m.len());
        if total > MAX_PLUGINS {
            warn!(file = %f.display(), "webclient plugins past 1 MiB are not served");
            break;
        }
        match std::fs::read_to_string(&f) {
            Ok(src) => out.push((name, src)),
            Err(e) => warn!(file = %f.display(), "cannot read a webclient plugin: {e}"),
        }
    }
    out
}

/// The admission of one TCP connection: the HTTP connection holds it, and a
/// websocket made on it takes it over, for as long as the session lasts.
#[derive(Clone)]
struct ConnectionPermit(Arc<std::sync::Mutex<Option<crate::gate::Permit>>>);

impl ConnectionPermit {
    fn take(&self) -> Option<crate::gate::Permit> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Serves the webclient page and the websocket: every connection passes the
/// per-address gate first, and must send its request head within
/// `[portal] header_timeout_secs` (a client that dawdles would otherwise hold
/// its place for good).
pub(crate) async fn serve(mut listener: crate::upgrade::Listener, state: WebState) {
    let gate = state.gate.clone();
    let header_timeout = state.header_timeout;
    let mut app = Router::new()
        .route("/", get(index))
        .route("/ws", get(websocket))
        .route("/metrics", get(scrape))
        .route("/plugins.js", get(plugins))
        .route("/plugins/{name}", get(plugin));
    if state.admin_on {
        use axum::routing::post;
        app = app
            .route("/admin", get(admin::overview))
            .route("/admin/", get(admin::overview))
            .route("/admin/login", post(admin::login))
            .route("/admin/logout", post(admin::logout))
            .route("/admin/do", post(admin::act))
            .route("/admin/accounts", get(admin::accounts))
            .route("/admin/objects", get(admin::objects))
            .route("/admin/object/{id}", get(admin::object))
            .route("/admin/scripts", get(admin::scripts))
            .route("/admin/logs", get(admin::logs))
            .route("/admin/metrics", get(admin::metrics));
    }
    let app = app
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state);
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                warn!("web accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(permit) = gate.admit(addr.ip(), std::time::Instant::now()) else {
            warn!(%addr, "refused an HTTP connection: too many from that address");
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let slot = ConnectionPermit(Arc::new(std::sync::Mutex::new(Some(permit))));
        let svc = app
            .clone()
            .layer(axum::Extension(ConnectInfo(addr)))
            .layer(axum::Extension(slot.clone()));
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(
                    hyper_util::rt::TokioIo::new(stream),
                    hyper_util::service::TowerToHyperService::new(svc),
                )
                .with_upgrades();
            if let Err(e) = conn.await {
                debug!(%addr, "HTTP connection ended: {e}");
            }
            // A websocket took the permit over; otherwise it goes now.
            drop(slot);
        });
    }
}

/// Answers a connection over its address's limit, then closes it.
async fn refuse(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    let body = crate::gate::TOO_MANY_MSG;
    let text = format!(
        "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.write_all(text.as_bytes()),
    )
    .await;
    let _ = stream.shutdown().await;
}

async fn index() -> Html<&'static str> {
    Html(WEBCLIENT_HTML)
}

/// Loads each plugin as a script of its own (an error in one, even a
/// syntax error, stops only it), in order.
async fn plugins(State(state): State<WebState>) -> Response {
    let names: Vec<&str> = state.plugins.iter().map(|(n, _)| n.as_str()).collect();
    let loader = format!(
        "for (const n of {}) {{ const s = document.createElement(\"script\"); \
         s.src = \"/plugins/\" + encodeURIComponent(n); s.async = false; document.body.appendChild(s); }}\n",
        serde_json::to_string(&names).unwrap_or_else(|_| "[]".into())
    );
    javascript(loader)
}

async fn plugin(
    State(state): State<WebState>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Response {
    match state.plugins.iter().find(|(n, _)| *n == name) {
        Some((_, src)) => javascript(src.clone()),
        None => (axum::http::StatusCode::NOT_FOUND, "no such plugin\n").into_response(),
    }
}

fn javascript(body: String) -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn scrape(State(state): State<WebState>, headers: axum::http::HeaderMap) -> Response {
    match &state.metrics {
        Some((stats, token)) => metrics::scrape(stats, token, &headers),
        None => (
            axum::http::StatusCode::NOT_FOUND,
            "The metrics are off ([metrics] enabled).\n",
        )
            .into_response(),
    }
}

async fn websocket(
    ws: WebSocketUpgrade,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    axum::Extension(slot): axum::Extension<ConnectionPermit>,
    State(state): State<WebState>,
) -> Response {
    // The connection's place at the gate goes with the session.
    let Some(permit) = slot.take() else {
        return (
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            crate::gate::TOO_MANY_MSG,
        )
            .into_response();
    };
    let ws = ws
        .protocols(wire::PROTOCOLS)
        .max_message_size(state.max_line)
        .max_frame_size(state.max_line);
    let format = WireFormat::for_protocol(ws.selected_protocol().and_then(|p| p.to_str().ok()));
    let sessid = state.next_sessid.fetch_add(1, Ordering::Relaxed);
    ws.on_upgrade(move |socket| {
        async move {
            // Held for as long as the session lasts.
            let _permit = permit;
            session(socket, addr, sessid, format, state).await
        }
        .instrument(debug_span!("session", sessid, %addr, proto = format.name()))
    })
    .into_response()
}

/// One websocket connection, for as long as it lasts.
async fn session(
    socket: WebSocket,
    addr: SocketAddr,
    sessid: SessId,
    format: WireFormat,
    state: WebState,
) {
    let mut flags = ProtocolFlags {
        client_name: Some(format!("webclient ({})", format.name())),
        truecolor: true,
        options: vec!["websocket".into()],
        ..ProtocolFlags::new()
    };
    let hub = state.hub;
    let Some(mut out_rx) = announce(
        &hub,
        sessid,
        addr,
        "websocket",
        flags.clone(),
        state.max_queued_output,
    )
    .await
    else {
        return;
    };
    let (mut sink, mut stream) = socket.split();
    // What the player chose with `option` (no colour, say).
    let mut choices = tavern_shared::session::ClientChoices::default();
    loop {
        tokio::select! {
            frame = stream.next() => {
                let msgs = match frame {
                    Some(Ok(Message::Text(t))) => format.decode_text(t.as_str()),
                    Some(Ok(Message::Binary(b))) => format.decode_binary(&b),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Err(e)) => {
                        // Oversized or malformed frames end up here: a clean close.
                        debug!("websocket error: {e}");
                        break;
                    }
                };
                let mut flags_changed = false;
                for msg in msgs {
                    let msg = if msg.cmd == "text" {
                        msg
                    } else {
                        match gmcp::portal_input(msg, &mut flags) {
                            gmcp::PortalInput::Forward(msg) => msg,
                            gmcp::PortalInput::Handled { flags_changed: f, reply } => {
                                flags_changed |= f;
                                if let Some(frame) = reply.and_then(|r| format.encode(&r, choices.color_mode(&flags)))
                                    && sink.send(to_message(frame)).await.is_err()
                                {
                                    break;
                                }
                                continue;
                            }
                        }
                    };
                    if hub.send(SessionEvent::Input { sessid, msg }).await.is_err() {
                        return;
                    }
                }
                if flags_changed {
                    let flags = flags.clone();
                    if hub.send(SessionEvent::Flags { sessid, flags }).await.is_err() {
                        return;
                    }
                }
            }
            out = out_rx.recv() => match out {
                Some(SessionOut::Msgs(msgs)) => {
                    let mut failed = false;
                    let color = choices.color_mode(&flags);
                    for m in msgs.iter() {
                        if let Some(f) = format.encode(m, color) {
                            failed |= sink.feed(to_message(f)).await.is_err();
                        }
                    }
                    if failed || sink.flush().await.is_err() {
                        break;
                    }
                }
                Some(out @ (SessionOut::Close(_) | SessionOut::HandOver)) => {
                    // A websocket is not carried to a new portal: the
                    // webclient reconnects and resumes by itself.
                    let why = match out {
                        SessionOut::Close(why) => why,
                        _ => Some(crate::session::RECONNECT_MSG.to_string()),
                    };
                    if let Some(why) = why
                        && let Some(f) = format.encode(&tavern_shared::Msg::text(why), choices.color_mode(&flags))
                    {
                        let _ = sink.send(to_message(f)).await;
                    }
                    let _ = sink.send(Message::Close(None)).await;
                    break;
                }
                Some(SessionOut::Choices(c)) => choices = c,
                None => break,
            },
        }
    }
    debug!("disconnected");
    let _ = hub.send(SessionEvent::Closed { sessid }).await;
}

fn to_message(f: Frame) -> Message {
    match f {
        Frame::Text(t) => Message::Text(t.into()),
        Frame::Binary(b) => Message::Binary(b.into()),
    }
}
