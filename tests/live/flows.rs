//! Flows over telnet, through `tavern reload` and through a kill -9 of the
//! server: a flow written by a builder as a TOML file in the game's flows
//! directory is started in the game, no message of it is ever shown twice,
//! and its timeout keeps its original deadline.

use tavern_tests::{Client, LiveGame, kill, wait_for};

const DRILL: &str = r#"
name = "drill"

[[states.START]]
action = "send"
text = "Drill begins for [[owner.key]]."
[[states.START]]
action = "next"
state = "wait"

[[states.wait]]
action = "send"
text = "Say ready within 6 seconds."
[[states.wait]]
action = "on_command"
command = "ready"
next = "done"
[[states.wait]]
action = "timeout"
after = "6"
next = "late"

[[states.late]]
action = "send"
text = "Too slow!"
[[states.late]]
action = "end"

[[states.done]]
action = "send"
text = "Well done."
[[states.done]]
action = "end"
"#;

/// A game whose flows directory holds the drill, and a builder in it.
async fn game_with_drill(name: &str) -> (LiveGame, Client) {
    let game = LiveGame::new(name, "[game]\nflows_dir = \"flows\"\n");
    std::fs::create_dir_all(game.dir.join("flows")).unwrap();
    std::fs::write(game.dir.join("flows/drill.toml"), DRILL).unwrap();
    let game = game.start();
    game.tavern_ok(&["account", "create", "Boss", "boss-pass", "--superuser"]);
    let mut c = game.connect().await;
    c.expect("connect <username>").await;
    c.send("connect Boss boss-pass").await;
    c.expect("You become Boss.").await;
    (game, c)
}

/// The deadline `flows/show` reports for a flow's timeout (shown as
/// `fires in 5s (2026-12-05 14:03:22.125 UTC)`), in ms since the epoch.
async fn deadline(c: &mut Client, flow: &str) -> i64 {
    c.send(&format!("flows/show {flow}")).await;
    let shown = c.expect("queued, fires in ").await;
    assert!(shown.contains(&format!("Flow {flow}")), "{shown}");
    let rest = c.expect(" UTC)").await;
    let text = rest
        .trim_end_matches(" UTC)")
        .rsplit_once('(')
        .map(|(_, t)| t.to_string())
        .unwrap_or_else(|| panic!("a deadline: {rest}"));
    chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.3f")
        .unwrap_or_else(|e| panic!("a deadline: {text}: {e}"))
        .and_utc()
        .timestamp_millis()
}

fn now_ms() -> i64 {
    tavern_shared::session::now_millis() as i64
}

/// How often `needle` is in everything the client received.
fn times(c: &Client, needle: &str) -> usize {
    String::from_utf8_lossy(&c.all_raw).matches(needle).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flow_goes_on_through_a_reload_with_its_deadline_and_without_repeats() {
    let (game, mut c) = game_with_drill("flows-reload").await;
    c.send("flows/start drill = d1").await;
    c.expect("Drill begins for Boss.").await;
    c.expect("Say ready within 6 seconds.").await;
    let before = deadline(&mut c, "d1").await;

    game.tavern_ok(&["reload"]);
    c.expect("... Server restarted.").await;
    assert_eq!(
        deadline(&mut c, "d1").await,
        before,
        "the reload did not move the deadline"
    );

    c.expect("Too slow!").await;
    assert!(now_ms() >= before, "the timeout fired before its deadline");
    c.send("flows/show d1").await;
    c.expect("No flow called 'd1' is running.").await;
    for line in ["Drill begins", "Say ready", "Too slow!"] {
        assert_eq!(
            times(&c, line),
            1,
            "'{line}' shown {} times",
            times(&c, line)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flow_survives_a_kill_9_of_the_server_without_repeating_itself() {
    let (game, mut c) = game_with_drill("flows-kill").await;
    c.send("flows/start drill = d2").await;
    c.expect("Say ready within 6 seconds.").await;
    let before = deadline(&mut c, "d2").await;

    let pid = game.server_pid().expect("a server runs");
    kill(pid, libc::SIGKILL);
    wait_for("the portal to restart the server", || {
        game.server_pid().is_some_and(|p| p != pid)
    })
    .await;
    // The flow is where it was: same state, same deadline; nothing said again.
    assert_eq!(deadline(&mut c, "d2").await, before);
    c.send("ready").await;
    c.expect("Well done.").await;
    c.send("flows/show d2").await;
    c.expect("No flow called 'd2' is running.").await;
    for line in ["Drill begins", "Say ready", "Well done."] {
        assert_eq!(
            times(&c, line),
            1,
            "'{line}' shown {} times",
            times(&c, line)
        );
    }

    // A timeout that falls due while the server is down fires when it is back.
    c.send("flows/start drill = d3").await;
    c.expect("Say ready within 6 seconds.").await;
    let due = deadline(&mut c, "d3").await;
    let pid = game.server_pid().unwrap();
    kill(pid, libc::SIGKILL);
    wait_for("the portal to restart the server", || {
        game.server_pid().is_some_and(|p| p != pid)
    })
    .await;
    c.expect("Too slow!").await;
    assert!(now_ms() >= due);
    assert_eq!(times(&c, "Too slow!"), 1);
}
