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

/// The most events applied before their effects go out in one batch.
const MAX_EVENTS_PER_BATCH: usize = 256;

/// How long a starting server keeps trying to reach its portal.
const LINK_CONNECT_PATIENCE: Duration = Duration::from_secs(30);

/// Where the portal's link is: the runtime file of a running portal, else the
/// address the portal that started us gave, else the settings.
pub fn link_address(settings: &Settings) -> SocketAddr {
    if let Some(rt) = tavern_portal::supervisor::RuntimeInfo::read(&settings.runtime_file())
        && tavern_portal::pid_alive(rt.portal_pid)
    {
        return rt.link_address;
    }
    if let Ok(a) = std::env::var("TAVERN_LINK_ADDRESS")
        && let Ok(a) = a.parse()
    {
        return a;
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
    for h in db::load_help(db).await? {
        world
            .help
            .insert(h.key.clone(), crate::world::HelpEntry::from_model(h));
    }
    world.flows = crate::flows::runtime::load(db).await?;
    let first = db::reserve_ids(db, crate::create::ID_BLOCK).await?;
    world.add_free_ids(first..first + crate::create::ID_BLOCK);
    info!(
        objects = world.len(),
        accounts = world.accounts.len(),
        took_ms = t0.elapsed().as_millis() as u64,
        "world loaded"
    );
    Ok(world)
}

/// Objects whose typeclass the game no longer registers behave as their
/// kind's default: say so once, at start.
fn warn_unknown_typeclasses(world: &World, game: &Game) {
    let mut unknown: std::collections::BTreeMap<&str, usize> = Default::default();
    for o in world.objects() {
        if game.typeclasses.get(&o.typeclass).is_none() {
            *unknown.entry(o.typeclass.as_str()).or_default() += 1;
        }
    }
    for (name, count) in unknown {
        warn!(
            typeclass = name,
            objects = count,
            "unknown typeclass: these objects behave as the default of their kind"
        );
    }
}

pub async fn run(settings: Settings, game: Game) -> anyhow::Result<()> {
    let settings = Arc::new(settings);
    let url = settings.database_url();
    let db = db::connect(&url, settings.database.max_connections)
        .await
        .with_context(|| format!("cannot open the database at {}", redact_url(&url)))?;
    let world = load_world(&db).await?;

    let (ev_tx, mut ev_rx) = mpsc::channel::<ServerEvent>(64 * 1024);
    let mut link = Some(
        open_link(&settings, ev_tx.clone(), 1, Some(LINK_CONNECT_PATIENCE))
            .await?
            .start(),
    );
    let mut links = 1u64;
    let mut relink: Option<tokio::task::JoinHandle<anyhow::Result<PortalLink>>> = None;

    warn_unknown_typeclasses(&world, &game);
    let mut server = Server::new(
        settings.clone(),
        world,
        db.clone(),
        Arc::new(game),
        ev_tx.clone(),
    );
    server.started();

    let mode = loop {
        // The next flow timeout, if any.
        let timer = server
            .next_flow_deadline()
            .map(|d| Duration::from_millis(d.saturating_sub(server.flow_now()).max(0) as u64));
        tokio::select! {
            _ = async { tokio::time::sleep(timer.expect("guarded")).await }, if timer.is_some() => {
                for frame in server.handle(ServerEvent::Tick) {
                    if let Some(l) = &link {
                        let _ = l.out.send(frame);
                    }
                }
            }
            ev = ev_rx.recv() => {
                let Some(mut ev) = ev else {
                    bail!("event channel closed");
                };
                // Every event already waiting is applied, then one batch goes
                // out: under load, a frame carries many players' answers.
                let mut applied = 0;
                let mut closed_link = None;
                loop {
                    if let ServerEvent::LinkClosed { link: closed } = ev {
                        closed_link = Some(closed);
                        break;
                    }
                    server.apply(ev);
                    applied += 1;
                    if applied >= MAX_EVENTS_PER_BATCH || server.ready_to_stop().is_some() {
                        break;
                    }
                    match ev_rx.try_recv() {
                        Ok(next) => ev = next,
                        Err(_) => break,
                    }
                }
                if applied > 0 {
                    for frame in server.take_batch() {
                        if let Some(l) = &link {
                            let _ = l.out.send(frame);
                        }
                    }
                }
                if let Some(closed) = closed_link {
                    if link.as_ref().is_some_and(|l| l.id == closed) {
                        // The portal is gone. Keep the world, and wait for a portal:
                        // a new one adopts this server rather than starting another.
                        error!("the portal link closed: saving the world and waiting for a portal");
                        link = None;
                        server.flush_world().await;
                        links += 1;
                        let (settings, ev_tx) = (settings.clone(), ev_tx.clone());
                        relink = Some(tokio::spawn(async move {
                            open_link(&settings, ev_tx, links, None).await
                        }));
                    }
                    continue;
                }
                if let Some(mode) = server.ready_to_stop() {
                    break mode;
                }
            }
            linked = async { relink.as_mut().expect("guarded").await }, if relink.is_some() => {
                relink = None;
                match linked {
                    Ok(Ok(l)) => link = Some(l.start()),
                    Ok(Err(e)) => bail!("cannot link to a portal again: {e:#}"),
                    Err(e) => bail!("the relink task failed: {e}"),
                }
            }
        }
    };

    let batch = server.final_batch(mode);
    server.flush_world().await;
    db.close().await.ok();
    drop(server);
    if let Some(l) = link {
        let _ = l.out.send(batch);
        let _ = l.out.send(ToPortal::Stopped { mode });
        drop(l.out);
        let _ = tokio::time::timeout(Duration::from_secs(10), l.writer).await;
    }
    info!(?mode, "server stopped");
    if mode == StopMode::Shutdown {
        info!("shutdown complete");
    }
    Ok(())
}

/// A live link to a portal.
struct PortalLink {
    id: u64,
    out: mpsc::UnboundedSender<ToPortal>,
    writer: tokio::task::JoinHandle<()>,
    /// Lets the reader deliver frames. Nothing from a new portal may reach the
    /// executor before the link is installed, or the answers would be lost.
    go: Option<tokio::sync::oneshot::Sender<()>>,
}

impl PortalLink {
    /// Installs the link: from now on its frames reach the executor.
    fn start(mut self) -> Self {
        if let Some(go) = self.go.take() {
            let _ = go.send(());
        }
        self
    }
}

/// Connects to the portal (trying for `patience`, or until one answers when
/// None), shakes hands, and starts the reader and writer of link number `id`.
async fn open_link(
    settings: &Settings,
    events: mpsc::Sender<ServerEvent>,
    id: u64,
    patience: Option<Duration>,
) -> anyhow::Result<PortalLink> {
    let deadline = patience.map(|p| Instant::now() + p);
    let mut delay = Duration::from_millis(20);
    let mut last_note = Instant::now();
    let (ls, output_many) = loop {
        // Asked afresh each time: a restarted portal may listen somewhere else.
        let addr = link_address(settings);
        let attempt = async {
            let stream = TcpStream::connect(addr).await?;
            let _ = stream.set_nodelay(true);
            let mut ls = LinkStream::new(stream, settings.link.max_frame_bytes);
            let welcome = ls.handshake(Role::Server, settings.link.secret()).await?;
            info!(
                %addr,
                portal_pid = welcome.portal_pid,
                instance = format!("{:016x}", welcome.portal_instance),
                "linked to the portal"
            );
            anyhow::Ok((ls, welcome.output_many))
        };
        match attempt.await {
            Ok(ls) => break ls,
            Err(e) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(e)
                        .with_context(|| format!("no portal answers on the link at {addr}"));
                }
                if last_note.elapsed() > Duration::from_secs(30) {
                    warn!(%addr, "still waiting for a portal: {e}");
                    last_note = Instant::now();
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_millis(500));
            }
        }
    };
    let (mut sink, mut stream) = ls.into_framed().split();
    let (go, wait) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        if wait.await.is_err() {
            return;
        }
        while let Some(frame) = stream.next().await {
            let Ok(frame) = frame else { break };
            match link::decode::<ToServer>(&frame) {
                Ok(msg) => {
                    if events.send(ServerEvent::Link(msg)).await.is_err() {
                        return;
                    }
                }
                Err(e) => warn!("skipped an undecodable link frame: {e}"),
            }
        }
        let _ = events.send(ServerEvent::LinkClosed { link: id }).await;
    });
    let (out, mut out_rx) = mpsc::unbounded_channel::<ToPortal>();
    let writer = tokio::spawn(async move {
        // An older portal reads no OutputMany: it gets one Output per session.
        let adapt = |msg: ToPortal| {
            if output_many {
                msg
            } else {
                msg.without_output_many()
            }
        };
        while let Some(msg) = out_rx.recv().await {
            let mut ok = send_frame(&mut sink, &adapt(msg)).await;
            while ok && let Ok(msg) = out_rx.try_recv() {
                ok = send_frame(&mut sink, &adapt(msg)).await;
            }
            if !ok || sink.flush().await.is_err() {
                error!("cannot write to the portal link");
                return;
            }
        }
        let _ = sink.close().await;
    });
    Ok(PortalLink {
        id,
        out,
        writer,
        go: Some(go),
    })
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
