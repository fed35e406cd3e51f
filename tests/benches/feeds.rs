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

fn main() {
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
