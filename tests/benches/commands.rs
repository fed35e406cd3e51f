//! A player's command, in process (`TestGame`: the real server with the
//! template game on SQLite, no sockets): from the line handed to the server
//! until everything it caused is done and its output collected. 1,000
//! players are logged in, each in two rooms of its own as the load tool's
//! bots are (with the template's tutorial running), so the figures are what
//! one command costs the server when it is busy with many.
//!
//! Run: `cargo bench -p tavern-tests --bench commands`

use divan::{Bencher, black_box};
use tavern_server::SessId;
use tavern_server::testing::TestGame;

fn main() {
    divan::main();
}

const PLAYERS: usize = 1_000;

struct World {
    t: TestGame,
    players: Vec<SessId>,
}

fn world(gmcp: bool) -> World {
    let mut t = TestGame::new(game::game());
    let mut players = Vec::with_capacity(PLAYERS);
    for i in 0..PLAYERS {
        let s = t.player(&format!("P{i}"));
        t.grant(s, "Developer");
        t.cmd(s, &format!("dig/teleport Room-{i}-a"));
        t.cmd(s, &format!("dig Room-{i}-b = east;e, west;w"));
        // The tutorial's first step waits for a look: past it, looks are looks.
        t.cmd(s, "look");
        if gmcp {
            t.enable_oob(s);
        }
        players.push(s);
    }
    for &s in &players {
        t.heard(s);
        t.oob(s);
    }
    World { t, players }
}

fn each(b: Bencher<'_, '_>, gmcp: bool, line: impl Fn(usize) -> &'static str) {
    let mut w = world(gmcp);
    let mut i = 0usize;
    b.bench_local(|| {
        i += 1;
        let s = w.players[(i * 7) % PLAYERS];
        black_box(w.t.cmd(s, line(i)));
        if gmcp {
            black_box(w.t.oob(s));
        }
    });
}

#[divan::bench(args = [false, true])]
fn look(b: Bencher<'_, '_>, gmcp: bool) {
    each(b, gmcp, |_| "look");
}

/// East and back: each player moves every other time it is picked.
#[divan::bench(args = [false, true])]
fn walk(b: Bencher<'_, '_>, gmcp: bool) {
    each(b, gmcp, |i| {
        if (i * 7 / PLAYERS).is_multiple_of(2) {
            "east"
        } else {
            "west"
        }
    });
}

#[divan::bench(args = [false, true])]
fn say(b: Bencher<'_, '_>, gmcp: bool) {
    each(b, gmcp, |_| "say Hello there, how are you?");
}

#[divan::bench]
fn help(b: Bencher<'_, '_>) {
    each(b, false, |_| "help");
}

/// Evennia's `echo` input function (what the load tool marks answers with).
#[divan::bench]
fn echo(b: Bencher<'_, '_>) {
    let mut w = world(true);
    let mut i = 0usize;
    b.bench_local(|| {
        i += 1;
        let s = w.players[(i * 7) % PLAYERS];
        w.t.send_oob(s, "echo", serde_json::json!("ltm1-2-3"));
        black_box(w.t.heard(s));
    });
}
