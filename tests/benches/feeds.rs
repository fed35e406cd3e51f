//! What the live-data feeds cost the server: the same commands with 1,000
//! logged-in players in one room, their clients speaking GMCP or not. In
//! process (`TestGame`: the real server, no sockets), release build.
//!
//! Run: `cargo bench -p tavern-tests --bench feeds`
//!
//! Per command: the median time from the line handed to the server until
//! everything it caused is done (its output collected), over many repetitions.
//! `rest` changes the player's hit points (one `Char.Vitals` update for its
//! own sessions); `say` reaches all 1,000 (with GMCP also as
//! `Comm.Channel.Text`); `look` changes nothing.

use std::time::{Duration, Instant};

use tavern_server::Game;
use tavern_server::testing::TestGame;

const PLAYERS: usize = 1_000;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn run(gmcp: bool) -> Vec<(&'static str, Duration)> {
    let game = Game::new().command(game::commands::Rest);
    let mut t = TestGame::new(game);
    let mut players = Vec::with_capacity(PLAYERS);
    for i in 0..PLAYERS {
        let s = t.player(&format!("P{i}"));
        let me = t.puppet(s).unwrap();
        t.with_server(|srv| {
            srv.world.update(me, |o| {
                o.set_attr("hp", 20);
                o.set_attr("maxhp", 20);
            })
        });
        if gmcp {
            t.enable_oob(s);
        }
        players.push((s, me));
    }
    for &(s, _) in &players {
        t.heard(s);
        t.oob(s);
    }
    let mut out = Vec::new();
    let mut look = Vec::new();
    for i in 0..300 {
        let (s, _) = players[(i * 7) % PLAYERS];
        let t0 = Instant::now();
        t.cmd(s, "look");
        look.push(t0.elapsed());
    }
    out.push(("look", median(look)));
    let mut rest = Vec::new();
    for i in 0..300 {
        let (s, me) = players[(i * 13) % PLAYERS];
        t.with_server(|srv| srv.world.update(me, |o| o.set_attr("hp", 5)));
        let t0 = Instant::now();
        t.cmd(s, "rest");
        rest.push(t0.elapsed());
    }
    out.push(("rest", median(rest)));
    let mut say = Vec::new();
    for i in 0..60 {
        let (s, _) = players[(i * 11) % PLAYERS];
        let t0 = Instant::now();
        t.cmd(s, "say hello");
        say.push(t0.elapsed());
        for &(p, _) in &players {
            t.heard(p);
            t.oob(p);
        }
    }
    out.push(("say (1,000 hear it)", median(say)));
    out
}

/// The template game's regeneration ticker changing all 1,000 characters in
/// the Common Room (with its brass bell) at once: the game-thread time of
/// one tick, from the clock reaching it until every session's feeds are
/// sent — what every player in the room waits through.
fn crowded_tick() -> Duration {
    let mut t = TestGame::new(game::game());
    let mut players = Vec::with_capacity(PLAYERS);
    for i in 0..PLAYERS {
        let s = t.player(&format!("P{i}"));
        t.enable_oob(s);
        players.push(s);
    }
    t.with_server(|srv| {
        let common = srv.world.tagged("tavern", Some("world_id"))[0];
        for s in &players {
            let me = srv.sessions.get(*s).and_then(|x| x.puppet()).unwrap();
            srv.world.move_to(me, Some(common));
            srv.world.update(me, |o| o.set_attr("hp", 1));
        }
    });
    for &s in &players {
        t.heard(s);
        t.oob(s);
    }
    let mut ticks = Vec::new();
    for _ in 0..7 {
        let t0 = Instant::now();
        t.advance(Duration::from_secs(10));
        ticks.push(t0.elapsed());
        for &s in &players {
            t.oob(s);
        }
    }
    median(ticks)
}

fn main() {
    let tick = crowded_tick();
    println!(
        "a regeneration tick changing {PLAYERS} characters in one room (template game, GMCP): {:.1} ms",
        tick.as_secs_f64() * 1e3
    );
    if std::env::var_os("FEEDS_TICK_ONLY").is_some() {
        return;
    }
    let plain = run(false);
    let gmcp = run(true);
    println!("{PLAYERS} players in one room; median per command (in process, release)");
    println!(
        "{:<22} {:>12} {:>12} {:>8}",
        "command", "no GMCP", "GMCP", "ratio"
    );
    for ((name, a), (_, b)) in plain.iter().zip(&gmcp) {
        println!(
            "{name:<22} {:>10.1}µs {:>10.1}µs {:>7.2}x",
            a.as_secs_f64() * 1e6,
            b.as_secs_f64() * 1e6,
            b.as_secs_f64() / a.as_secs_f64()
        );
    }
}
