//! Scripts over telnet, through `tavern reload` and a kill -9 of the
//! server: a script a builder attaches keeps its schedule (the next repeat
//! stays in phase, the count goes on), and no repeat's message is ever shown
//! twice or lost.

use tavern_tests::{Client, LiveGame, kill, wait_for};

/// The next repeat (ms since the epoch) and the repeats done, as
/// `scripts <id>` shows them: `next repeat at 2026-12-05 14:03:22.125 UTC, repeats 2/6`.
async fn schedule(c: &mut Client, id: &str) -> (i64, u32) {
    c.send(&format!("scripts {id}")).await;
    c.expect("next repeat at ").await;
    let rest = c.expect("/6").await;
    let (time, count) = rest
        .trim_end_matches("/6")
        .split_once(" UTC, repeats ")
        .unwrap_or_else(|| panic!("a schedule: {rest}"));
    let at = chrono::NaiveDateTime::parse_from_str(time.trim(), "%Y-%m-%d %H:%M:%S%.3f")
        .unwrap_or_else(|e| panic!("a time: {time}: {e}"))
        .and_utc()
        .timestamp_millis();
    (at, count.trim().parse().expect("a count"))
}

/// The schedule is the same one: the next repeat is in the original phase,
/// and the count went on by as many repeats as deadlines passed.
fn same_schedule(before: (i64, u32), after: (i64, u32)) {
    let moved = after.0 - before.0;
    assert!(
        moved >= 0 && moved % 2_000 == 0,
        "{before:?} then {after:?}: out of phase"
    );
    assert_eq!(
        i64::from(after.1 - before.1),
        moved / 2_000,
        "{before:?} then {after:?}: the count and the deadline disagree"
    );
}

fn times(c: &Client, needle: &str) -> usize {
    String::from_utf8_lossy(&c.all_raw).matches(needle).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_script_keeps_its_schedule_through_reload_and_kill_9_and_says_each_repeat_once() {
    let game = LiveGame::new("timers-live", "").start();
    game.tavern_ok(&["account", "create", "Boss", "boss-pass", "--superuser"]);
    let mut c = game.login("Boss", "boss-pass").await;
    c.send("tavern").await;
    c.expect("The Common Room").await;
    c.send("scripts here = weather, 2, 6").await;
    let said = c.expect("attached to").await;
    let id = said
        .rsplit("Script ")
        .next()
        .and_then(|s| s.split_whitespace().next())
        .expect("the new script's id")
        .to_string();
    c.expect("Rain begins to drum on the shutters.").await;
    let before = schedule(&mut c, &id).await;

    game.tavern_ok(&["reload"]);
    c.expect("... Server restarted.").await;
    let after_reload = schedule(&mut c, &id).await;
    same_schedule(before, after_reload);

    let pid = game.server_pid().expect("a server runs");
    kill(pid, libc::SIGKILL);
    wait_for("the portal to restart the server", || {
        game.server_pid().is_some_and(|p| p != pid)
    })
    .await;
    let after_kill = schedule(&mut c, &id).await;
    same_schedule(after_reload, after_kill);

    // The sixth and last repeat (the second wind), then the script is gone:
    // it was deleted in the event that said the last line.
    while times(&c, "wind whistles under the door") < 2 {
        c.expect("wind whistles under the door").await;
    }
    c.send(&format!("scripts {id}")).await;
    c.expect(&format!("There is no script {id}.")).await;
    for (line, n) in [
        ("Rain begins to drum", 2),
        ("wind whistles under the door", 2),
        ("fog presses at the windows", 1),
        ("Moonlight falls across the floor", 1),
    ] {
        assert_eq!(
            times(&c, line),
            n,
            "'{line}' shown {} times",
            times(&c, line)
        );
    }
}
