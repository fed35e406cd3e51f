//! Channels over telnet, through `tavern reload` and a kill -9 of the
//! server: subscriptions stay, a line said while the server restarts is
//! not lost, and the history holds every line once.

use tavern_tests::{LiveGame, kill, wait_for};

fn times(c: &tavern_tests::Client, needle: &str) -> usize {
    String::from_utf8_lossy(&c.all_raw).matches(needle).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn channel_lines_survive_reload_and_kill_9_and_none_is_lost_or_doubled() {
    let game = LiveGame::new("channels-live", "").start();
    let mut anna = game.login("Anna", "anna-pass").await;
    let mut bert = game.login("Bert", "bert-pass").await;
    anna.send("pub before the reload").await;
    bert.expect("[Public] Anna: before the reload").await;

    // Said while the server restarts: the portal keeps it and the new server runs it.
    let settings = game.settings.clone();
    let order = std::thread::spawn(move || tavern_tests::run_tavern_ok(&settings, &["reload"]));
    anna.expect("Server restart initiated").await;
    anna.send("pub during the reload").await;
    order.join().expect("the reload order");
    bert.expect("[Public] Anna: during the reload").await;

    bert.send("channel/mute pub").await;
    bert.expect("You mute Public").await;
    let pid = game.server_pid().expect("a server runs");
    kill(pid, libc::SIGKILL);
    wait_for("the portal to restart the server", || {
        game.server_pid().is_some_and(|p| p != pid)
    })
    .await;
    anna.send("pub after the crash").await;
    anna.expect("[Public] Anna: after the crash").await;
    // Bert's mute came through the crash: he hears nothing, until he unmutes.
    bert.send("channel/unmute pub").await;
    bert.expect("You hear Public again.").await;
    assert_eq!(times(&bert, "after the crash"), 0);

    bert.send("channel/history pub").await;
    let history = bert.expect("Anna: after the crash").await;
    for line in ["Anna: before the reload", "Anna: during the reload"] {
        assert_eq!(history.matches(line).count(), 1, "{history}");
    }
    assert_eq!(times(&bert, "[Public] Anna: during the reload"), 1);
}
