//! Several portals, one game: extra portals (`tavern portal`, `[portal] id`
//! above 0) link to the running server of the main portal; their players
//! play in the same world. A portal that dies drops only its own players;
//! one cut off from the server comes back and goes on, running nothing twice;
//! a reload keeps every portal's players. Real processes, real telnet.

use std::time::Duration;

use tavern_tests::irc::free_port;
use tavern_tests::proxy::LinkProxy;
use tavern_tests::{Client, LiveGame};

const PW: &str = "many-doors-77";

fn settings(portals: u16, grace: u64) -> String {
    format!(
        "[link]\nportals = \"127.0.0.1:{portals}\"\nportal_grace_secs = {grace}\n\
         [server]\nmultisession_mode = 1\n"
    )
}

/// Creates (if needed) and logs in `name` on a connection.
async fn login(mut c: Client, name: &str) -> Client {
    c.expect("connect <username> <password>").await;
    c.send(&format!("create {name} {PW}")).await;
    c.expect_any(&["was created", "already an account"]).await;
    c.send(&format!("connect {name} {PW}")).await;
    c.expect(&format!("You become {name}.")).await;
    c
}

/// Everything sent to `c` before now has arrived; returns it.
async fn settle(c: &mut Client, marker: &str) -> String {
    c.send(&format!("note {marker}")).await;
    c.expect(&format!("Noted: {marker}")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn players_on_three_portals_play_one_game_and_a_dead_portal_drops_only_its_own() {
    let portals = free_port();
    let game = LiveGame::new("portals", &settings(portals, 2)).start();
    let server = format!("127.0.0.1:{portals}");
    let one = game.spawn_extra_portal(1, &server);
    let mut two = game.spawn_extra_portal(2, &server);

    let mut alice = game.login("Alice", PW).await;
    let mut bob = login(one.connect().await, "Bob").await;
    let mut carol = login(two.connect().await, "Carol").await;

    // One world: what Bob says through portal 1 reaches the main portal and portal 2.
    bob.send("say hello from the east door").await;
    bob.expect("You say, \"hello from the east door\"").await;
    alice.expect("Bob says, \"hello from the east door\"").await;
    carol.expect("Bob says, \"hello from the east door\"").await;
    carol.send("who").await;
    let who = carol.expect("logged in.").await;
    for name in ["Alice", "Bob", "Carol"] {
        assert!(who.contains(name), "{name} in who:\n{who}");
    }
    assert!(who.contains("3 unique accounts"), "{who}");

    // One account, a session through each of two portals (multisession mode 1: one puppet).
    let mut alice_east = login(two.connect().await, "Alice").await;
    alice_east.send("say two doors, one Alice").await;
    alice_east.expect("You say, \"two doors, one Alice\"").await;
    alice.expect("You say, \"two doors, one Alice\"").await;
    bob.expect("Alice says, \"two doors, one Alice\"").await;

    // The launcher sees every portal through the main one.
    let status = game.tavern_ok(&["status"]);
    assert!(status.contains("portal 0 (main"), "{status}");
    assert!(status.contains("portal 1 (extra"), "{status}");
    assert!(
        status.contains("portal 2 (extra") && status.contains("2 sessions (2 logged in)"),
        "{status}"
    );
    let extra_status = tavern_tests::run_tavern_ok(&one.settings, &["status"]);
    assert!(
        extra_status.contains("This is extra portal 1"),
        "{extra_status}"
    );
    // An extra portal does not reload the game; its refusal says where to.
    let refused = tavern_tests::run_tavern(&one.settings, &["reload"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("through its main portal"),
        "{refused:?}"
    );

    // A reload keeps every portal's players; what they type meanwhile is answered once.
    let settings_file = game.settings.clone();
    let reload = tokio::task::spawn_blocking(move || {
        tavern_tests::run_tavern_ok(&settings_file, &["reload"])
    });
    bob.expect("Server restart initiated").await;
    bob.send("say through the reload").await;
    carol.send("say me too").await;
    let text = reload.await.unwrap();
    assert!(text.contains("Reload"), "{text}");
    bob.expect("You say, \"through the reload\"").await;
    carol.expect("You say, \"me too\"").await;
    let heard = settle(&mut alice, "after-reload").await;
    assert_eq!(
        heard.matches("Bob says, \"through the reload\"").count(),
        1,
        "{heard}"
    );
    assert_eq!(
        heard.matches("Carol says, \"me too\"").count(),
        1,
        "{heard}"
    );

    // Portal 2 dies. The others play on at once; its players leave after the grace.
    two.kill9();
    bob.send("say still here").await;
    bob.expect("You say, \"still here\"").await;
    alice.expect("Bob says, \"still here\"").await;
    alice.expect("Carol has left the game.").await;
    alice.send("who").await;
    let who = alice.expect("logged in.").await;
    assert!(!who.contains("Carol"), "{who}");
    assert!(who.contains("Alice") && who.contains("Bob"), "{who}");
    assert!(!alice.is_closed() && !bob.is_closed());
    // Alice's session through the dead portal is gone; her main one is not.
    alice.send("say one door left").await;
    alice.expect("You say, \"one door left\"").await;

    let logs = game.all_logs() + &one.stderr();
    assert!(!logs.contains("panicked"), "{logs}");
    drop(alice_east);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_portal_cut_off_from_the_server_comes_back_and_runs_nothing_twice() {
    let portals = free_port();
    let game = LiveGame::new("portal-cut", &settings(portals, 60)).start();
    let proxy = LinkProxy::start(format!("127.0.0.1:{portals}").parse().unwrap()).await;
    let one = game.spawn_extra_portal(1, &proxy.address());
    let mut alice = game.login("Alice", PW).await;
    let mut bob = login(one.connect().await, "Bob").await;
    settle(&mut bob, "ready").await;

    // The server runs Bob's line, but its answer is lost on the way back;
    // then the link is cut.
    proxy.lose_replies(true);
    bob.send("say only once").await;
    alice.expect("Bob says, \"only once\"").await;
    proxy.cut();
    proxy.lose_replies(false);
    bob.expect("The connection to the game server was lost")
        .await;
    bob.send("say after the cut").await;

    // The portal links again by itself: the line it had no answer for is
    // not run again, the one typed meanwhile is, once; Bob never left.
    bob.expect("You say, \"after the cut\"").await;
    let heard = alice.expect("Bob says, \"after the cut\"").await;
    assert!(!heard.contains("only once"), "run twice:\n{heard}");
    assert!(!heard.contains("has left the game"), "{heard}");
    let heard = settle(&mut alice, "later").await;
    assert!(
        !heard.contains("only once") && !heard.contains("has entered"),
        "{heard}"
    );
    bob.send("look").await;
    bob.expect("Alice").await;

    // Cut again, this time for good: the server keeps Bob for the grace,
    // and the status says the link is lost.
    drop(proxy);
    let deadline = std::time::Instant::now() + tavern_tests::PATIENCE;
    loop {
        let status = game.tavern_ok(&["status"]);
        if status.contains("portal 1 (extra") && status.contains("link lost") {
            assert!(
                status.contains("1 sessions (1 logged in)"),
                "kept: {status}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!game.all_logs().contains("panicked"));
}
