//! The server process: load the world, link to the portal, drive the
//! server core ([`tavern_server::runtime::Driver`]) with what the portal
//! sends until it says stop, then write everything and hand every session back.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use tavern_server::Game;
use tavern_server::model::world::World;
use tavern_server::runtime::driver::{Driver, Wake, wall_clock};
use tavern_server::runtime::portals::admit;
use tavern_server::runtime::{Server, ServerEvent};
use tavern_server::store::{self, persister::Persister};
use tavern_shared::link::{self, LinkStream, Role, StopMode, ToPortal, ToServer, Welcome};
use tavern_shared::session::PortalId;
use tavern_shared::{RuntimeInfo, Settings};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::extra_portals;

/// The most events applied before their effects go out in one transmit.
const MAX_EVENTS_PER_BATCH: usize = 256;

/// How long a starting server keeps trying to reach its portal.
const LINK_CONNECT_PATIENCE: Duration = Duration::from_secs(30);

/// Where the portal's link is: the runtime file of a running portal, else the
/// address the portal that started us gave, else the settings.
pub(crate) fn link_address(settings: &Settings) -> SocketAddr {
    if let Some(rt) = RuntimeInfo::read(&settings.runtime_file())
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

/// Objects whose typeclass the game no longer registers behave as their
/// kind's default: say so once, at start.
fn warn_unknown_typeclasses(world: &World, game: &Game) {
    // By the typeclass index (names in lowercase, as the registry finds
    // them): a big world is not walked.
    for (name, count) in world.typeclass_counts() {
        if game.typeclasses.get(&name).is_some() {
            continue;
        }
        warn!(
            typeclass = %name,
            objects = count,
            "unknown typeclass: these objects behave as the default of their kind"
        );
    }
}

/// Runs the server process until the portal says stop.
pub(crate) async fn run(settings: Settings, game: Game) -> anyhow::Result<()> {
    let settings = Arc::new(settings);
    let url = settings.database_url();
    let db = store::connect(&url, settings.database.max_connections)
        .await
        .with_context(|| format!("cannot open the database at {}", store::redact_url(&url)))?;
    let world = if crate::standby::is_standby() {
        crate::standby::load(&settings, &db).await?
    } else {
        // A world file merge asked for in game (`worldimport`) goes in first.
        store::world_file::apply_pending_import(&db)
            .await
            .context("cannot read the server's settings from the database")?;
        store::load_world(&db).await?
    };
    warn_unknown_typeclasses(&world, &game);

    let clock = wall_clock();
    let mut server = Server::new(settings.clone(), world, db.clone(), Arc::new(game), clock());
    server.started();
    let mut driver = Driver::new(
        server,
        Persister::start(&url, settings.commit_interval()),
        clock,
    );
    driver.transmit();

    // What portal links report: their end, or a main portal's hand-over.
    let (closed_tx, mut closed) = mpsc::unbounded_channel::<LinkNews>();
    // What the main portal's sessions were sent while it hands over to a
    // new process (`tavern upgrade-portal`): the new one gets it.
    let mut detached: BTreeMap<PortalId, Detached> = BTreeMap::new();
    let mut links: BTreeMap<PortalId, PortalLink> = BTreeMap::new();
    let main = open_link(
        &settings,
        driver.sender(),
        closed_tx.clone(),
        Some(LINK_CONNECT_PATIENCE),
    )
    .await?;
    install(&mut driver, &mut links, &mut detached, main);
    let mut relink: Option<tokio::task::JoinHandle<anyhow::Result<PortalLink>>> = None;

    // Extra portals (`[link] portals`) link to us.
    let (new_tx, mut new_links) = mpsc::channel::<PortalLink>(4);
    let extra = match settings.portals_address() {
        Some(addr) => {
            let listener = extra_portals::listen(addr).await?;
            Some(tokio::spawn(extra_portals::accept(
                listener,
                settings.clone(),
                driver.sender(),
                closed_tx.clone(),
                new_tx,
            )))
        }
        None => None,
    };

    // The server's figures go to the portal every few seconds, when the
    // metrics endpoint is on.
    let started = Instant::now();
    let every = Duration::from_secs(settings.metrics.interval_secs.max(1));
    let mut figures_due = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mode = loop {
        tokio::select! {
            _ = figures_due.tick(), if settings.metrics.enabled => {
                let mut figures = driver.metrics();
                figures.pid = std::process::id();
                figures.uptime_secs = started.elapsed().as_secs();
                figures.rss_bytes = tavern_shared::metrics::rss_bytes().unwrap_or(0);
                for l in links.values().filter(|l| l.metrics) {
                    let _ = l.out.send(ToPortal::Metrics(Box::new(figures.clone())));
                }
                continue;
            }
            wake = driver.wake() => match wake {
                Wake::Event(ev) => {
                    // Every event already waiting is applied, then one transmit
                    // goes out: under load, a frame carries many players' answers.
                    driver.apply(ev);
                    let mut applied = 1;
                    while applied < MAX_EVENTS_PER_BATCH && driver.server().ready_to_stop().is_none() {
                        // Answers whose commit has landed go out now, not after this batch.
                        if applied % 8 == 0 && driver.frames_ready() {
                            break;
                        }
                        let Some(ev) = driver.try_event() else { break };
                        driver.apply(ev);
                        applied += 1;
                    }
                }
                Wake::Timeout => driver.timeout(),
                // Held frames may be ready, or the store stopped or started taking writes.
                Wake::Committed => {}
                Wake::Closed => bail!("the persister stopped"),
            },
            Some(news) = closed.recv() => {
                let (portal, serial) = match news {
                    LinkNews::Closed(portal, serial) => (portal, serial),
                    LinkNews::Mark(portal, serial) => {
                        let Some(l) = links.get(&portal).filter(|l| l.serial == serial) else {
                            continue;
                        };
                        // Everything so far durable, then every object
                        // written from here on noted for the standby.
                        let out = l.out.clone();
                        driver.transmit();
                        let frames = driver.flush().await;
                        send(&links, &mut detached, frames);
                        driver.server_mut().world.start_marking();
                        driver.server_mut().marked_for_reload();
                        let _ = out.send(ToPortal::Marked);
                        info!("marked for a reload: a standby server loads the world while this one serves");
                        driver.transmit();
                        send(&links, &mut detached, driver.ready());
                        continue;
                    }
                    LinkNews::Detach(portal, serial) => {
                        if links.get(&portal).is_none_or(|l| l.serial != serial) {
                            continue;
                        }
                        // Everything the portal is owed goes first, then the
                        // word that nothing more comes; the rest waits here
                        // for the process it hands over to.
                        driver.transmit();
                        let frames = driver.flush().await;
                        send(&links, &mut detached, frames);
                        if let Some(l) = links.remove(&portal) {
                            let _ = l.out.send(ToPortal::Detached);
                        }
                        info!(portal, "a portal is handing over to a new process: keeping what its sessions are sent");
                        detached.insert(portal, Detached::default());
                        driver.apply(ServerEvent::PortalLost { portal });
                        if portal == 0 {
                            // The main portal's successor is dialled, as it was.
                            let (settings, events, closed_tx) =
                                (settings.clone(), driver.sender(), closed_tx.clone());
                            relink = Some(tokio::spawn(async move {
                                open_link(&settings, events, closed_tx, None).await
                            }));
                        }
                        continue;
                    }
                };
                if links.get(&portal).is_none_or(|l| l.serial != serial) {
                    continue;
                }
                links.remove(&portal);
                driver.apply(ServerEvent::PortalLost { portal });
                if portal == 0 {
                    // The main portal is gone. Keep the world, and wait for a
                    // portal: a new one adopts this server rather than starting another.
                    error!("the portal link closed: saving the world and waiting for a portal");
                    driver.transmit();
                    drop(driver.flush().await);
                    let (settings, events, closed_tx) =
                        (settings.clone(), driver.sender(), closed_tx.clone());
                    relink = Some(tokio::spawn(async move {
                        open_link(&settings, events, closed_tx, None).await
                    }));
                } else {
                    warn!(portal, "an extra portal's link closed");
                }
            }
            Some(l) = new_links.recv() => {
                if links.contains_key(&l.id) {
                    error!(
                        portal = l.id,
                        address = %l.address,
                        "refused a portal: one with the same [portal] id is linked (each portal needs its own id)"
                    );
                    continue;
                }
                install(&mut driver, &mut links, &mut detached, l);
            }
            linked = async { relink.as_mut().expect("guarded").await }, if relink.is_some() => {
                relink = None;
                match linked {
                    Ok(Ok(l)) => install(&mut driver, &mut links, &mut detached, l),
                    Ok(Err(e)) => bail!("cannot link to a portal again: {e:#}"),
                    Err(e) => bail!("the relink task failed: {e}"),
                }
            }
        }
        driver.transmit();
        send(&links, &mut detached, driver.ready());
        if let Some(mode) = driver.server().ready_to_stop() {
            break mode;
        }
    };

    if let Some(task) = extra {
        task.abort();
    }
    let frames = driver.finish(mode).await;
    // What a standby must read again: only the main portal's link hears it.
    let mut changed = driver.server_mut().world.take_marked();
    if let Some(ids) = &changed {
        // A list too long for a frame: the standby loads everything again.
        if ids.len().saturating_mul(10) > settings.link.max_frame_bytes / 2 {
            info!(
                objects = ids.len(),
                "too many objects written since the mark to list: the standby loads the whole world"
            );
            changed = None;
        } else {
            info!(
                objects = ids.len(),
                "objects written since the mark, for the standby"
            );
        }
    }
    // Everything is written: the process exits next, and freeing a big
    // world object by object would keep the players waiting for seconds.
    driver.server_mut().world.forget_objects();
    drop(driver);
    db.close().await.ok();
    send(&links, &mut detached, frames);
    let mut writers = Vec::new();
    for (portal, l) in links {
        let changed = if portal == 0 { changed.take() } else { None };
        let _ = l.out.send(ToPortal::Stopped { mode, changed });
        drop(l.out);
        writers.push(l.writer);
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), futures::future::join_all(writers)).await;
    info!(?mode, "server stopped");
    if mode == StopMode::Shutdown {
        info!("shutdown complete");
    }
    Ok(())
}

/// What a portal link reports to the process loop.
pub(crate) enum LinkNews {
    /// The link of this portal (id, serial) closed.
    Closed(PortalId, u64),
    /// A portal asks to hand over to a new process ([`ToServer::Detach`]).
    Detach(PortalId, u64),
    /// The main portal readies a reload with a standby ([`ToServer::Mark`]).
    Mark(PortalId, u64),
}

/// What the main portal's sessions are sent while it hands over.
#[derive(Default)]
struct Detached {
    frames: Vec<ToPortal>,
    /// Too much came: the rest was dropped (said once).
    overflowed: bool,
}

/// The most frames kept for a portal handing over (a few seconds of a busy game).
const MAX_DETACHED_FRAMES: usize = 100_000;

/// Sends frames to the linked portals, each the part that is its; the main
/// portal's part is kept while it hands over.
fn send(
    links: &BTreeMap<PortalId, PortalLink>,
    detached: &mut BTreeMap<PortalId, Detached>,
    frames: Vec<ToPortal>,
) {
    if frames.is_empty() {
        return;
    }
    let mut targets: Vec<PortalId> = links.keys().copied().collect();
    targets.extend(detached.keys().filter(|p| !links.contains_key(p)));
    targets.sort_unstable();
    for frame in frames {
        for (portal, part) in frame.split_by_portal(&targets) {
            if let Some(l) = links.get(&portal) {
                let _ = l.out.send(part);
            } else if let Some(kept) = detached.get_mut(&portal) {
                if kept.frames.len() < MAX_DETACHED_FRAMES {
                    kept.frames.push(part);
                } else if !std::mem::replace(&mut kept.overflowed, true) {
                    error!("too much output for the portal handing over: the rest is dropped");
                }
            }
        }
    }
}

/// Puts a portal's link in service: the game hears it linked, then its
/// messages flow. A portal that handed over to this new process first gets
/// what its sessions were sent meanwhile.
fn install(
    driver: &mut Driver,
    links: &mut BTreeMap<PortalId, PortalLink>,
    detached: &mut BTreeMap<PortalId, Detached>,
    link: PortalLink,
) {
    driver.apply(ServerEvent::PortalLinked {
        portal: link.id,
        pid: link.pid,
        address: link.address.clone(),
    });
    let link = link.start();
    if let Some(kept) = detached.remove(&link.id) {
        info!(
            portal = link.id,
            frames = kept.frames.len(),
            "the portal's new process linked: sending what its sessions were sent meanwhile"
        );
        for frame in kept.frames {
            let _ = link.out.send(frame);
        }
    }
    links.insert(link.id, link);
}

/// A live link to a portal.
pub(crate) struct PortalLink {
    /// The portal's `[portal] id`.
    id: PortalId,
    /// Tells this link from an earlier one of the same portal.
    serial: u64,
    /// The portal's pid, as it said.
    pid: u32,
    /// Where the link comes from.
    address: String,
    out: mpsc::UnboundedSender<ToPortal>,
    writer: tokio::task::JoinHandle<()>,
    /// Lets the reader deliver frames. Nothing from a new portal may reach the
    /// executor before the link is installed, or the answers would be lost.
    go: Option<tokio::sync::oneshot::Sender<()>>,
    /// The portal reads the server's figures ([`ToPortal::Metrics`]).
    metrics: bool,
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

/// Connects to the main portal (trying for `patience`, or until one
/// answers when None), shakes hands, and starts the link's reader and writer.
async fn open_link(
    settings: &Settings,
    events: mpsc::Sender<ServerEvent>,
    closed: mpsc::UnboundedSender<LinkNews>,
    patience: Option<Duration>,
) -> anyhow::Result<PortalLink> {
    let deadline = patience.map(|p| Instant::now() + p);
    let mut delay = Duration::from_millis(20);
    let mut last_note = Instant::now();
    let (ls, welcome, addr) = loop {
        // Asked afresh each time: a restarted portal may listen somewhere else.
        let addr = link_address(settings);
        let attempt = async {
            let stream = TcpStream::connect(addr).await?;
            let _ = stream.set_nodelay(true);
            let mut ls = LinkStream::new(stream, settings.link.max_frame_bytes);
            let secret = tavern_shared::link::secret::load(settings)?;
            let welcome = ls.handshake(Role::Server, &secret).await?;
            info!(
                %addr,
                portal_pid = welcome.portal_pid,
                instance = format!("{:016x}", welcome.portal_instance),
                "linked to the portal"
            );
            anyhow::Ok((ls, welcome))
        };
        match attempt.await {
            Ok((ls, welcome)) => break (ls, welcome, addr),
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
    if welcome.portal_id != 0 {
        bail!(
            "the portal at {addr} is extra portal {} ([portal] id); the server links to the main portal (id 0)",
            welcome.portal_id
        );
    }
    Ok(start_link(ls, welcome, addr.to_string(), events, closed))
}

/// Starts the reader and writer of a link whose handshake is done. The
/// reader waits for [`PortalLink::start`].
pub(crate) fn start_link(
    ls: LinkStream<TcpStream>,
    welcome: Welcome,
    address: String,
    events: mpsc::Sender<ServerEvent>,
    closed: mpsc::UnboundedSender<LinkNews>,
) -> PortalLink {
    static SERIALS: AtomicU64 = AtomicU64::new(1);
    let serial = SERIALS.fetch_add(1, Ordering::Relaxed);
    let portal = welcome.portal_id;
    let output_many = welcome.output_many;
    let (mut sink, mut stream) = ls.into_framed().split();
    let (go, wait) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        if wait.await.is_ok() {
            while let Some(frame) = stream.next().await {
                let Ok(frame) = frame else { break };
                match link::decode::<ToServer>(&frame) {
                    Ok(msg) => {
                        // A portal speaks for its own sessions only.
                        let Some(msg) = admit(portal, msg) else {
                            warn!(
                                portal,
                                "ignored a link message about another portal's session"
                            );
                            continue;
                        };
                        // A hand-over is the process loop's business.
                        if msg == ToServer::Detach {
                            let _ = closed.send(LinkNews::Detach(portal, serial));
                            continue;
                        }
                        if msg == ToServer::Mark {
                            let _ = closed.send(LinkNews::Mark(portal, serial));
                            continue;
                        }
                        if events.send(ServerEvent::Link(msg)).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => warn!("skipped an undecodable link frame: {e}"),
                }
            }
        }
        let _ = closed.send(LinkNews::Closed(portal, serial));
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
                error!(portal, "cannot write to the portal link");
                return;
            }
        }
        let _ = sink.close().await;
    });
    PortalLink {
        id: portal,
        serial,
        pid: welcome.portal_pid,
        address,
        out,
        writer,
        go: Some(go),
        metrics: welcome.metrics,
    }
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
