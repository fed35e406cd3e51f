//! How long a reload keeps players waiting: from the reload order to the
//! first command answered by the new server, with 1 and with 100 logged-in
//! sessions. Real release processes, real telnet.
//!
//! Run: `cargo bench -p tavern-tests --bench reload`
//!
//! Each round: every session is logged in and idle; the reload is ordered
//! (`tavern reload`, timed from just before it starts); each session sends a
//! command as soon as it sees the "restart initiated" notice, and the wait is
//! the time from the order until that command is answered. Per round we take
//! the median and the maximum over sessions; the figures are the medians of
//! those over the rounds.

use std::time::Instant;

use tavern_tests::{Client, LiveGame};

const ROUNDS: usize = 7;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

async fn round(game: &LiveGame, clients: Vec<Client>, round: usize) -> (Vec<Client>, f64, f64) {
    let settings = game.settings.clone();
    let t0 = Instant::now();
    let order = std::thread::spawn(move || tavern_tests::run_tavern_ok(&settings, &["reload"]));
    // Each client: wait for the notice, send a probe, time its answer.
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            tokio::spawn(async move {
                c.expect("Server restart initiated").await;
                c.send(&format!("say probe {round} {i}")).await;
                let got = c.expect(&format!("You say, \"probe {round} {i}\"")).await;
                let wait = t0.elapsed().as_secs_f64() * 1000.0;
                // The new server greets everyone before it answers what was queued.
                assert!(got.contains("Server restarted."), "{got}");
                (c, wait)
            })
        })
        .collect();
    let mut clients = Vec::new();
    let mut waits = Vec::new();
    for t in tasks {
        let (c, w) = t.await.unwrap();
        clients.push(c);
        waits.push(w);
    }
    order.join().unwrap();
    let max = waits.iter().cloned().fold(0.0, f64::max);
    (clients, median(&mut waits), max)
}

async fn measure(sessions: usize) {
    let game = LiveGame::new(&format!("bench-reload-{sessions}"), "").start();
    let mut clients = Vec::new();
    for i in 0..sessions {
        clients.push(game.login(&format!("Bencher{i}"), "pass123").await);
    }
    let mut medians = Vec::new();
    let mut maxes = Vec::new();
    for r in 0..ROUNDS {
        let (back, m, x) = round(&game, clients, r).await;
        clients = back;
        medians.push(m);
        maxes.push(x);
    }
    println!(
        "reload, {sessions:>3} logged-in sessions: wait until answered p50 {:.0} ms, slowest session {:.0} ms \
         (medians of {ROUNDS} rounds; rounds' p50: {:?})",
        median(&mut medians.clone()),
        median(&mut maxes),
        medians.iter().map(|m| m.round() as u64).collect::<Vec<_>>()
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test` runs bench targets only when asked.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        measure(1).await;
        measure(100).await;
    });
}
