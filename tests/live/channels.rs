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

/// A channel bridged to a real IRC server (ngircd on loopback): lines go
/// both ways, markup and control characters from IRC arrive inert, nothing
/// echoes back, and the bridge comes back after `tavern reload` and after
/// the IRC server itself restarts.
#[tokio::test(flavor = "multi_thread")]
async fn a_channel_bridged_to_irc_carries_lines_both_ways_through_reloads_and_irc_restarts() {
    use tavern_tests::irc::{IrcServer, irc_user};
    let Some(mut ircd) = IrcServer::start(None).await else {
        eprintln!("skipped: ngircd is not installed (apt-get install ngircd)");
        return;
    };
    let port = ircd.port;
    let mut bob = irc_user(port, "bob", "#tavern").await;
    let extra = format!(
        "[[channels.irc]]\nchannel = \"pub\"\nserver = \"127.0.0.1:{port}\"\n\
         irc_channel = \"#tavern\"\nnick = \"tavbot\"\n"
    );
    let game = LiveGame::new("channels-irc", &extra).start();
    bob.expect(":tavbot!").await;
    bob.expect("JOIN").await;
    let mut anna = game.login("Anna", "anna-pass").await;
    let mut bert = game.login("Bert", "bert-pass").await;

    anna.send("pub hello irc").await;
    bob.expect("PRIVMSG #tavern :<Anna> hello irc").await;
    anna.send("pub :waves").await;
    bob.expect("PRIVMSG #tavern :* Anna waves").await;

    bob.send("PRIVMSG #tavern :hi from \u{2}irc\u{2}").await;
    bert.expect("[Public] bob@irc: hi from irc").await;
    anna.expect("[Public] bob@irc: hi from irc").await;
    bob.send("PRIVMSG #tavern :\u{1}ACTION grins\u{1}").await;
    anna.expect("[Public] bob@irc grins").await;
    // Markup from IRC is shown as typed, never obeyed.
    bob.send("PRIVMSG #tavern :|rred|n and \u{1b}[5mblink")
        .await;
    anna.expect("bob@irc: |rred|n and [5mblink").await;
    assert!(!String::from_utf8_lossy(&anna.all_raw).contains("\u{1b}[5m"));

    // IRC's lines are in the channel's history, and none went back to IRC.
    anna.send("channel/history pub").await;
    let history = anna.expect("bob@irc grins").await;
    assert!(history.contains("bob@irc: hi from irc"), "{history}");
    anna.send("pub marker one").await;
    let seen = bob.expect("<Anna> marker one").await;
    assert!(
        !seen.contains("bob@irc"),
        "a line from IRC echoed back: {seen}"
    );

    // A reload restarts the bridge with the server.
    game.tavern_ok(&["reload"]);
    bob.expect("QUIT").await;
    bob.expect(":tavbot!").await;
    bob.expect("JOIN").await;
    anna.send("pub after the reload").await;
    bob.expect("<Anna> after the reload").await;

    // The IRC server goes away and comes back: the bridge reconnects.
    ircd.stop();
    assert!(bob.expect_closed().await.len() < 100_000);
    let ircd = IrcServer::start(Some(port)).await.expect("ngircd again");
    let mut bob = irc_user(port, "bob", "#tavern").await;
    bob.expect(":tavbot!").await;
    bob.expect("JOIN").await;
    anna.send("pub after the irc restart").await;
    bob.expect("<Anna> after the irc restart").await;
    bob.send("PRIVMSG #tavern :still here").await;
    bert.expect("[Public] bob@irc: still here").await;

    // irc2chan shows the bridge and how it is doing, to a Developer only.
    anna.send("irc2chan").await;
    anna.expect_any(&["not available", "Command 'irc2chan'"])
        .await;
    game.tavern_ok(&["account", "create", "Root", "root-pass", "--superuser"]);
    let mut root = game.connect().await;
    root.send("connect Root root-pass").await;
    root.send("irc2chan").await;
    let shown = root.expect("#tavern").await;
    assert!(shown.contains("irc") && shown.contains("Public"), "{shown}");
    root.send("irc2chan/list foo").await;
    root.expect("Nothing was changed.").await;
    drop(ircd);
}
