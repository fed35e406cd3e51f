//! What armed timers cost: 100,000 of them (scripts, tickers and delays).
//!
//! Run: `cargo bench -p tavern-tests --bench timers`
//!
//! In process (`TestGame`: the real server on SQLite, release build):
//! - arming: game-thread time per timer made, and the server's memory per
//!   armed timer (resident set before and after, this process);
//! - asking for the next deadline with all of them armed (the driver asks
//!   after every event);
//! - firing: 10,000 scripts falling due at once, game-thread time per
//!   firing, and the time until their new counts are committed.
//!
//! As processes (the template game, real telnet): the server's CPU while
//! nobody types, over 10 s, with no scripts and with 100,000 scripts a
//! builder attached (`scripts here = weather, 3600`), and its resident memory.

use std::time::{Duration, Instant};

use serde_json::json;
use tavern_server::testing::TestGame;
use tavern_server::timers::{NewScript, Script, TimerId};
use tavern_server::{Game, Kind, NewObject, Server};
use tavern_tests::LiveGame;

struct Beat;

impl Script for Beat {
    fn name(&self) -> &str {
        "beat"
    }
    fn at_repeat(&self, server: &mut Server, id: TimerId) {
        let n = server.script_attr::<u64>(id, "n").unwrap_or(0);
        server.script_set_attr(id, "n", n + 1);
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system) of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 (utime, stime), counted from the state (field 3).
    f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
}

fn in_process() {
    let mut game = Game::new().script(Beat).timer_fn("noop", |_, _| {});
    for hook in 0..8 {
        game = game.timer_fn(&format!("noop{hook}"), |_, _| {});
    }
    let mut t = TestGame::new(game);
    let me = std::process::id();
    let hour = Duration::from_secs(3_600);
    let objs: Vec<_> = t.with_server(|s| {
        let room = s.world.start_room;
        (0..1_000)
            .map(|i| {
                s.create_object(NewObject::new(Kind::Thing, format!("thing{i}")).location(room))
                    .unwrap()
            })
            .collect()
    });
    let rss0 = rss_kib(me);
    let mut game_thread = Duration::ZERO;
    // 40,000 scripts, 40,000 ticker subscriptions (1,000 objects x 8 hooks
    // x 5 intervals), 20,000 persistent delays.
    for chunk in 0..40 {
        t.with_server(|s| {
            let t0 = Instant::now();
            for i in 0..1_000 {
                let on = objs[(chunk * 1_000 + i) % objs.len()];
                s.script_add(NewScript::of(&Beat).on(on).every(hour))
                    .unwrap();
            }
            game_thread += t0.elapsed();
        });
    }
    // Eight hooks on each object for each of five intervals.
    for interval in [60u64, 120, 300, 600, 900] {
        for hook in 0..8 {
            t.with_server(|s| {
                let t0 = Instant::now();
                for &o in &objs {
                    s.ticker_add(
                        Duration::from_secs(interval),
                        Some(o),
                        &format!("noop{hook}"),
                        json!(null),
                    )
                    .unwrap();
                }
                game_thread += t0.elapsed();
            });
        }
    }
    for _ in 0..20 {
        t.with_server(|s| {
            let t0 = Instant::now();
            for i in 0..1_000 {
                s.delay(hour, "noop", json!({ "i": i }), true).unwrap();
            }
            game_thread += t0.elapsed();
        });
    }
    let armed = t.server().world.timers.clock.len();
    let timers = t.server().world.timers.script_count()
        + t.server().world.timers.ticker_count()
        + t.server().world.timers.delays().count();
    let rss1 = rss_kib(me);
    println!("timers made: {timers} (deadlines on the clock: {armed})");
    println!(
        "arming: {:.2} us per timer on the game thread",
        game_thread.as_secs_f64() * 1e6 / timers as f64
    );
    println!(
        "memory: {:.0} bytes per timer ({} MiB for all)",
        (rss1.saturating_sub(rss0)) as f64 * 1024.0 / timers as f64,
        (rss1.saturating_sub(rss0)) / 1024
    );
    let t0 = Instant::now();
    let mut x = 0;
    for _ in 0..1_000_000 {
        x ^= t.server().poll_timeout().unwrap_or(0);
    }
    std::hint::black_box(x);
    println!(
        "next deadline: {:.0} ns per call",
        t0.elapsed().as_secs_f64() * 1e9 / 1e6
    );

    // 10,000 scripts that fall due together.
    t.with_server(|s| {
        for i in 0..10_000 {
            let on = objs[i % objs.len()];
            s.script_add(NewScript::of(&Beat).on(on).every(Duration::from_secs(2)))
                .unwrap();
        }
    });
    let mut fired = Duration::ZERO;
    let t0 = Instant::now();
    t.with_server(|s| {
        let now = s.now() + 2_500;
        let f0 = Instant::now();
        s.handle_timeout(now);
        fired = f0.elapsed();
    });
    let committed = t0.elapsed();
    println!(
        "firing 10,000 due scripts: {:.2} us per firing on the game thread; all committed after {:.0} ms",
        fired.as_secs_f64() * 1e6 / 10_000.0,
        committed.as_secs_f64() * 1e3
    );
}

async fn idle_cpu(game: &LiveGame, label: &str) {
    let pid = game.server_pid().expect("a server runs");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let c0 = cpu_ticks(pid);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let used = (cpu_ticks(pid) - c0) as f64 / 100.0;
    println!(
        "{label}: server CPU while idle {:.2} % of a core, resident {} MiB",
        used / t0.elapsed().as_secs_f64() * 100.0,
        rss_kib(pid) / 1024
    );
}

async fn as_processes() {
    let game = LiveGame::new("bench-timers", "").start();
    game.tavern_ok(&["account", "create", "Boss", "boss-pass", "--superuser"]);
    let mut c = game.login("Boss", "boss-pass").await;
    idle_cpu(&game, "no scripts").await;
    let n = 100_000;
    let t0 = Instant::now();
    for round in 0..(n / 200) {
        for _ in 0..200 {
            c.send("scripts here = weather, 3600").await;
        }
        // Wait for this round's last answer before sending more.
        for _ in 0..200 {
            c.expect("attached to").await;
        }
        if round % 100 == 0 {
            eprintln!("{} scripts...", (round + 1) * 200);
        }
    }
    println!(
        "{n} scripts attached by command in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    idle_cpu(&game, "100,000 scripts").await;
}

fn main() {
    in_process();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(as_processes());
}
