//! The server process: load the world, link to the portal, run the executor
//! until the portal says stop, then flush and hand every session back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use tavern_shared::Settings;
use tavern_shared::link::{self, LinkStream, Role, StopMode, ToPortal, ToServer};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::Game;
use crate::db;
use crate::executor::{Server, ServerEvent};
use crate::world::{Account, Object, World};

/// How long a starting server keeps trying to reach its portal.
const LINK_CONNECT_PATIENCE: Duration = Duration::from_secs(30);

/// Where the portal's link is: the address the portal gave us, else the runtime
/// file of a running portal, else the settings.
pub fn link_address(settings: &Settings) -> SocketAddr {
    if let Ok(a) = std::env::var("TAVERN_LINK_ADDRESS")
        && let Ok(a) = a.parse()
    {
        return a;
    }
    if let Some(rt) = tavern_portal::supervisor::RuntimeInfo::read(&settings.runtime_file()) {
        return rt.link_address;
    }
    settings.link.address
}

/// Loads the world from the database.
pub async fn load_world(db: &sea_orm::DatabaseConnection) -> anyhow::Result<World> {
    let t0 = Instant::now();
    let start_room = db::ensure_start_room(db).await?;
    let mut world = World::new(start_room);
    for m in db::load_objects(db).await? {
        world.insert_loaded(Object::from_model(m));
    }
    for a in db::load_accounts(db).await? {
        world.accounts.insert(a.id, Account::from_model(&a));
    }
    info!(
        objects = world.len(),
        accounts = world.accounts.len(),
        took_ms = t0.elapsed().as_millis() as u64,
        "world loaded"
    );
    Ok(world)
}

pub async fn run(settings: Settings, game: Game) -> anyhow::Result<()> {
    let settings = Arc::new(settings);
    let url = settings.database_url();
    let db = db::connect(&url, settings.database.max_connections)
        .await
        .with_context(|| format!("cannot open the database at {}", redact_url(&url)))?;
    let world = load_world(&db).await?;

    let addr = link_address(&settings);
    let stream = connect_link(addr).await?;
    let mut ls = LinkStream::new(stream, settings.link.max_frame_bytes);
    let (instance, portal_pid) = ls
        .handshake(Role::Server)
        .await
        .with_context(|| format!("link handshake with the portal at {addr}"))?;
    info!(%addr, portal_pid, instance = format!("{instance:016x}"), "linked to the portal");

    let (mut sink, mut stream) = ls.into_framed().split();
    let (ev_tx, mut ev_rx) = mpsc::channel::<ServerEvent>(64 * 1024);
    let reader_tx = ev_tx.clone();
    tokio::spawn(async move {
        while let Some(frame) = stream.next().await {
            let Ok(frame) = frame else { break };
            match link::decode::<ToServer>(&frame) {
                Ok(msg) => {
                    if reader_tx.send(ServerEvent::Link(msg)).await.is_err() {
                        return;
                    }
                }
                Err(e) => warn!("skipped an undecodable link frame: {e}"),
            }
        }
        let _ = reader_tx.send(ServerEvent::LinkClosed).await;
    });
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<ToPortal>();
    let writer = tokio::spawn(async move {
        while let Some(msg) = out_rx.recv().await {
            let mut ok = send_frame(&mut sink, &msg).await;
            while ok && let Ok(msg) = out_rx.try_recv() {
                ok = send_frame(&mut sink, &msg).await;
            }
            if !ok || sink.flush().await.is_err() {
                error!("cannot write to the portal link");
                return;
            }
        }
        let _ = sink.close().await;
    });

    let connect_screen = game.connect_screen_text(&settings);
    let mut server = Server::new(
        settings.clone(),
        world,
        db.clone(),
        Arc::new(game.commands),
        connect_screen,
        ev_tx,
    );

    let mode = loop {
        let Some(ev) = ev_rx.recv().await else {
            bail!("event channel closed");
        };
        if matches!(ev, ServerEvent::LinkClosed) {
            // The portal is gone: keep what we have and stop; a new portal starts a new server.
            error!("the portal link closed: saving the world and exiting");
            server.flush_world().await;
            return Ok(());
        }
        for frame in server.handle(ev) {
            let _ = out_tx.send(frame);
        }
        if let Some(mode) = server.ready_to_stop() {
            break mode;
        }
    };

    let batch = server.final_batch(mode);
    server.flush_world().await;
    db.close().await.ok();
    let _ = out_tx.send(batch);
    let _ = out_tx.send(ToPortal::Stopped { mode });
    drop(out_tx);
    drop(server);
    let _ = tokio::time::timeout(Duration::from_secs(10), writer).await;
    info!(?mode, "server stopped");
    if mode == StopMode::Shutdown {
        info!("shutdown complete");
    }
    Ok(())
}

async fn send_frame<S>(sink: &mut S, msg: &ToPortal) -> bool
where
    S: futures::Sink<bytes::Bytes> + Unpin,
{
    match link::encode(msg) {
        Ok(f) => sink.feed(f).await.is_ok(),
        Err(e) => {
            error!("cannot encode a link message: {e}");
            true
        }
    }
}

async fn connect_link(addr: SocketAddr) -> anyhow::Result<TcpStream> {
    let deadline = Instant::now() + LINK_CONNECT_PATIENCE;
    let mut delay = Duration::from_millis(20);
    loop {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) if Instant::now() < deadline => {
                tracing::debug!("portal link at {addr} not reachable yet: {e}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_millis(500));
            }
            Err(e) => {
                return Err(e).with_context(|| format!("no portal answers on the link at {addr}"));
            }
        }
    }
}

/// A database URL fit for a log line: without its password.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_never_reach_a_log_line() {
        assert_eq!(
            super::redact_url("postgres://tavern:hunter2@db:5432/game"),
            "postgres://tavern:***@db:5432/game"
        );
        assert_eq!(
            super::redact_url("sqlite:///data/tavern.db3?mode=rwc"),
            "sqlite:///data/tavern.db3?mode=rwc"
        );
    }
}
