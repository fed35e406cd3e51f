//! The write-behind under load: game code changing 100,000 attributes a
//! second, and how far the database falls behind.
//!
//! Run: `cargo bench -p tavern-server --bench writes` (PostgreSQL too when
//! it answers at 127.0.0.1:5432 as `postgres`; a database is made and
//! dropped for the run).
//!
//! In process, the real pieces of a server: the world loaded from the
//! database, the [`Driver`] running the game's timers as the server
//! process's loop does, and the [`Persister`] on its own thread writing to a
//! real SQLite file (or PostgreSQL). The game code is a ticker function that
//! adds one to an attribute of its target, in two shapes of 100,000 changes
//! a second:
//! - *spread*: 100,000 objects, each changed once a second (a regeneration
//!   tick over a big world: every change a different row);
//! - *hot*: 1,000 objects, each changed a hundred times a second (a fight:
//!   the same rows over and over, merged before they are written).
//!
//! Figures: the changes made, the game thread's time per change (firing the
//! timers and handing the changes over), the persister's lag (handed over,
//! not yet durable: the largest number of batches and the oldest's age,
//! sampled every 50 ms — what `/metrics` reports as
//! `tavern_persister_lag` and `tavern_persister_lag_seconds`), commits and
//! rows, the time to write what was left when the game stops, and a check
//! that the database holds every object's last value.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database};
use serde_json::json;
use tavern_server::create::CreateError;
use tavern_server::runtime::driver::{Driver, Wake, wall_clock};
use tavern_server::runtime::server::ServerEvent;
use tavern_server::store::{self, persister::Persister};
use tavern_server::timers::TimerCall;
use tavern_server::{Game, Kind, NewObject, ObjId, Server, Settings};
use tavern_shared::link::{StartMode, ToServer};

/// How long each shape runs.
const RUN: Duration = Duration::from_secs(10);

/// Changes made by the game code, counted as it makes them.
static CHANGES: AtomicU64 = AtomicU64::new(0);

/// The game code: one more on the target's `n`.
fn churn(server: &mut Server, call: &TimerCall<'_>) {
    let Some(me) = call.target else { return };
    server.world.update(me, |o| {
        let n = o.attr::<u64>("n").unwrap_or(0);
        o.set_attr("n", n + 1);
    });
    CHANGES.fetch_add(1, Ordering::Relaxed);
}

struct Shape {
    name: &'static str,
    objects: usize,
    every: Duration,
}

struct Figures {
    changes: u64,
    game_us_per_change: f64,
    max_lag_batches: u64,
    max_lag_secs: f64,
    commits: u64,
    rows_written: f64,
    drain_ms: f64,
    verified: usize,
}

async fn run_shape(url: &str, shape: &Shape) -> Figures {
    let settings = Arc::new(Settings::defaults());
    let db = store::connect(url, 2)
        .await
        .expect("cannot open the database");
    let world = store::load_world(&db).await.expect("cannot load the world");
    let game = Arc::new(Game::new().timer_fn("churn", churn));
    let clock = wall_clock();
    let mut server = Server::new(settings.clone(), world, db.clone(), game, clock());
    server.started();
    let mut d = Driver::new(
        server,
        Persister::start(url, settings.commit_interval()),
        clock,
    );
    // A portal links (with nobody on it): the game's clock starts.
    d.apply(ServerEvent::Link(ToServer::Sync {
        portal_instance: 1,
        portal_id: 0,
        start_mode: StartMode::Cold,
        sessions: Vec::new(),
    }));
    // The objects, with the attributes a game's thing has, then their
    // tickers; written before the clock starts.
    let room = d.server().world.start_room;
    let mut ids: Vec<ObjId> = Vec::with_capacity(shape.objects);
    while ids.len() < shape.objects {
        let i = ids.len();
        let s = d.server_mut();
        match s.create_object(
            NewObject::new(Kind::Thing, format!("{} {i}", shape.name)).location(room),
        ) {
            Ok(id) => {
                s.world.update(id, |o| {
                    o.set_attr("weight", 3);
                    o.set_attr("value", i);
                    o.set_attr("n", 0);
                });
                ids.push(id);
            }
            // Ids come from the database in blocks, fetched in the background.
            Err(CreateError::OutOfIds) => {
                d.transmit();
                if let Wake::Event(ev) = d.wake().await {
                    d.apply(ev);
                }
            }
            Err(e) => panic!("cannot create an object: {e}"),
        }
    }
    for &id in &ids {
        d.server_mut()
            .ticker_add(shape.every, Some(id), "churn", json!(null))
            .expect("cannot add a ticker");
    }
    d.transmit();
    let _ = d.flush().await;
    let written_before = d.metrics();

    CHANGES.store(0, Ordering::Relaxed);
    let start = Instant::now();
    let mut game_time = Duration::ZERO;
    let mut max_lag_batches = 0;
    let mut max_lag_secs: f64 = 0.0;
    let mut sample = tokio::time::interval(Duration::from_millis(50));
    while start.elapsed() < RUN {
        tokio::select! {
            _ = sample.tick() => {
                let m = d.metrics();
                max_lag_batches = max_lag_batches.max(m.persister_lag);
                max_lag_secs = max_lag_secs.max(m.persister_lag_seconds);
            }
            wake = d.wake() => {
                let t0 = Instant::now();
                match wake {
                    Wake::Timeout => d.timeout(),
                    Wake::Event(ev) => d.apply(ev),
                    Wake::Committed => {}
                    Wake::Closed => panic!("the persister stopped"),
                }
                d.transmit();
                let _ = d.ready();
                game_time += t0.elapsed();
            }
        }
    }
    let changes = CHANGES.load(Ordering::Relaxed);
    // Stop the game code, then time writing what is left.
    for &id in &ids {
        d.server_mut().ticker_remove(shape.every, Some(id), "churn");
    }
    let t0 = Instant::now();
    d.transmit();
    let _ = d.flush().await;
    let drain_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let m = d.metrics();
    let commits = m.commits_total - written_before.commits_total;
    let rows_written = m.commit_rows.sum - written_before.commit_rows.sum;

    // What the database holds is what the game has.
    let stored = store::load_world(&db)
        .await
        .expect("cannot load the world back");
    let mut verified = 0;
    for &id in &ids {
        let want = d.server().world.get(id).and_then(|o| o.attr::<u64>("n"));
        let got = stored.get(id).and_then(|o| o.attr::<u64>("n"));
        assert_eq!(
            got, want,
            "object #{id}: the database has {got:?}, the game {want:?}"
        );
        verified += 1;
    }
    Figures {
        changes,
        game_us_per_change: game_time.as_secs_f64() * 1e6 / changes.max(1) as f64,
        max_lag_batches,
        max_lag_secs,
        commits,
        rows_written,
        drain_ms,
        verified,
    }
}

fn report(backend: &str, shape: &Shape, f: &Figures) {
    let secs = RUN.as_secs_f64();
    println!(
        "{backend:10} {:6} {:>9.0} changes/s  game {:.2} µs/change  lag max {} batches, {:.0} ms  \
         {:.1} commits/s, {:.0} rows/commit  left at stop written in {:.0} ms  {} objects checked",
        shape.name,
        f.changes as f64 / secs,
        f.game_us_per_change,
        f.max_lag_batches,
        f.max_lag_secs * 1000.0,
        f.commits as f64 / secs,
        f.rows_written / f.commits.max(1) as f64,
        f.drain_ms,
        f.verified,
    );
}

const SHAPES: [Shape; 2] = [
    Shape {
        name: "spread",
        objects: 100_000,
        every: Duration::from_secs(1),
    },
    Shape {
        name: "hot",
        objects: 1_000,
        every: Duration::from_millis(10),
    },
];

async fn postgres_database(name: &str) -> Option<String> {
    let admin = Database::connect("postgres://postgres@127.0.0.1:5432/test")
        .await
        .ok()?;
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
        .await;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .ok()?;
    Some(format!("postgres://postgres@127.0.0.1:5432/{name}"))
}

async fn drop_postgres_database(name: &str) {
    if let Ok(admin) = Database::connect("postgres://postgres@127.0.0.1:5432/test").await {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot start a runtime");
    let dir = std::env::temp_dir().join(format!("tavern-bench-writes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("cannot make a directory for the databases");
    // `WRITES_ONLY=sqlite` (or `postgres`, `spread`, `hot`): only what matches.
    let only = std::env::var("WRITES_ONLY").unwrap_or_default();
    let wanted =
        |backend: &str, shape: &Shape| only.is_empty() || only == backend || only == shape.name;
    rt.block_on(async {
        for shape in SHAPES.iter().filter(|s| wanted("sqlite", s)) {
            let file = dir.join(format!("{}.db3", shape.name));
            let url = format!("sqlite://{}?mode=rwc", file.display());
            let f = run_shape(&url, shape).await;
            report("SQLite", shape, &f);
        }
        for shape in SHAPES.iter().filter(|s| wanted("postgres", s)) {
            let name = format!("tavern_bench_writes_{}_{}", shape.name, std::process::id());
            match postgres_database(&name).await {
                Some(url) => {
                    let f = run_shape(&url, shape).await;
                    report("PostgreSQL", shape, &f);
                    drop_postgres_database(&name).await;
                }
                None => println!(
                    "PostgreSQL {}: skipped (no server at 127.0.0.1:5432)",
                    shape.name
                ),
            }
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
