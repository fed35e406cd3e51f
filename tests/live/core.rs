//! The game core end to end, over real telnet: multisession modes with two
//! sessions on one account, building through a reload, permissions, and the
//! template game's own world.

use tavern_tests::LiveGame;

#[tokio::test(flavor = "multi_thread")]
async fn mode_1_sessions_share_one_puppet_and_both_see_its_output() {
    let game = LiveGame::new("mode1", "[server]\nmultisession_mode = 1\n").start();
    let mut first = game.login("Duo", "pass123").await;
    let mut second = game.connect().await;
    second.expect("connect <username>").await;
    second.send("connect Duo pass123").await;
    second
        .expect("Sharing Duo with another of your sessions.")
        .await;
    first
        .expect("Duo is now shared from another of your sessions.")
        .await;
    second.send("say one voice").await;
    second.expect("You say, \"one voice\"").await;
    first.expect("You say, \"one voice\"").await;
    first.send("sessions").await;
    let table = first.expect("Your current session(s):").await;
    // Two rows: this one (*, and > as the one typed in last) and "Duo-2".
    let table = table + &first.expect("Duo-2").await;
    assert!(table.contains("*>"), "{table}");
    assert!(table.matches("telnet").count() >= 1, "{table}");
    // Quitting one leaves the other playing.
    second.send("quit").await;
    second.expect_closed().await;
    first.send("look").await;
    first.expect("Limbo").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mode_2_gives_each_session_its_own_puppet_and_taking_one_over_moves_it() {
    let game = LiveGame::new(
        "mode2",
        "[server]\nmultisession_mode = 2\nmax_nr_simultaneous_puppets = 2\nmax_nr_characters = 2\n",
    )
    .start();
    let mut first = game.login("Ada", "pass123").await;
    let mut second = game.connect().await;
    second.expect("connect <username>").await;
    second.send("connect Ada pass123").await;
    second
        .expect("Taking over Ada from another of your sessions.")
        .await;
    first
        .expect("Ada is now acted from another of your sessions.")
        .await;
    first.expect("You are out-of-character (OOC).").await;
    first.send("charcreate Byron").await;
    first.expect("Created new character Byron.").await;
    first.send("charcreate Cleo").await;
    first
        .expect("You may only have a maximum of 2 character(s).")
        .await;
    first.send("ic Byron").await;
    first.expect("You become Byron.").await;
    second.expect("Byron has entered the game.").await;
    second.send("say hello, me").await;
    first.expect("Ada says, \"hello, me\"").await;
    // Each session speaks as its own character.
    first.send("pose waves.").await;
    second.expect("Byron waves.").await;
    // Going out of character takes the character out of the world.
    first.send("ooc").await;
    first.expect("You go OOC as Byron.").await;
    second.expect("Byron has left the game.").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mode_3_lets_sessions_share_a_puppet_as_well_as_play_several() {
    let game = LiveGame::new(
        "mode3",
        "[server]\nmultisession_mode = 3\nmax_nr_simultaneous_puppets = 2\nmax_nr_characters = 2\n",
    )
    .start();
    let mut first = game.login("Eve", "pass123").await;
    let mut second = game.connect().await;
    second.expect("connect <username>").await;
    second.send("connect Eve pass123").await;
    second
        .expect("Sharing Eve with another of your sessions.")
        .await;
    first
        .expect("Eve is now shared from another of your sessions.")
        .await;
    second.send("charcreate Fay").await;
    second.expect("Created new character Fay.").await;
    second.send("ic Fay").await;
    second.expect("You become Fay.").await;
    first.expect("Fay has entered the game.").await;
    second.send("ic Eve").await;
    second
        .expect("Sharing Eve with another of your sessions.")
        .await;
    // Fay is no longer played by anyone: she leaves.
    first.expect("Fay has left the game.").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_builder_builds_reloads_and_finds_everything_and_players_are_refused() {
    let game = LiveGame::new("build", "").start();
    game.tavern_ok(&["account", "create", "Archie", "archpass", "--superuser"]);
    let mut player = game.login("Pip", "pass123").await;
    player.send("dig Attic").await;
    player.expect("Command 'dig' is not available.").await;
    player.send("examine me").await;
    player.expect("Command 'examine' is not available.").await;

    let mut b = game.connect().await;
    b.expect("connect <username>").await;
    b.send("connect Archie archpass").await;
    b.expect("You become Archie.").await;
    b.send("dig Attic;att = up;u, down;d").await;
    b.expect("Created room Attic(#").await;
    b.expect("Created Exit from Attic").await;
    b.send("up").await;
    b.expect("Attic").await;
    player
        .expect("Archie is leaving Limbo, heading for Attic.")
        .await;
    b.send("desc here = Dusty rafters.").await;
    b.expect("The description was set on Attic").await;
    b.send("create trunk;chest").await;
    b.expect("You create a new thing: trunk(#").await;
    b.send("set trunk/contents = [\"hat\", \"map\"]").await;
    b.expect("Created attribute trunk(#").await;
    b.send("drop chest").await;
    b.expect("You drop trunk.").await;
    b.send("tag trunk = antique").await;
    b.expect("Added tag 'antique'").await;
    b.send("lock trunk = get:perm(Admin)").await;
    b.expect("Added lock 'get:perm(Admin)'").await;

    game.tavern_ok(&["reload"]);
    b.expect("... Server restarted.").await;
    b.send("look").await;
    let look = b.expect("Dusty rafters.").await;
    let look = look + &b.expect("trunk").await;
    assert!(look.contains("Exits:") && look.contains("down"), "{look}");
    b.send("examine chest").await;
    let ex = b.expect("Persistent attributes").await + &b.expect("map").await;
    for want in ["antique", "get:perm(Admin)", "Location: Attic"] {
        assert!(ex.contains(want), "{want} in {ex}");
    }
    // The player walks up and may not take the locked trunk.
    player.send("up").await;
    player.expect("Dusty rafters.").await;
    player.send("get trunk").await;
    player.expect("You can't get that.").await;
    b.send("down").await;
    b.expect("Limbo").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_template_world_is_built_once_and_its_bell_counts_across_reloads() {
    let game = LiveGame::new("template", "").start();
    let mut c = game.login("Tess", "pass123").await;
    c.send("tavern").await;
    c.expect("The barkeep nods at you. \"Welcome, Tess.\"")
        .await;
    c.expect("The Common Room").await;
    c.send("ring").await;
    c.expect("It has rung 1 time(s).").await;
    game.tavern_ok(&["reload"]);
    c.expect("... Server restarted.").await;
    c.send("ring").await;
    c.expect("It has rung 2 time(s).").await;
    c.send("get bell").await;
    c.expect("You can't get that.").await;
    // Built once: after two starts there is still one bell and one common room.
    c.send("look").await;
    let look = c.expect("You see:").await;
    assert_eq!(look.matches("brass bell").count(), 1, "{look}");
    c.send("down").await;
    c.expect("The Cellar").await;
}

/// `tavern account create` while the game runs: the running server knows
/// the account at once (`perm *name` works before its first log-in), and
/// the launcher says which database it wrote.
#[tokio::test(flavor = "multi_thread")]
async fn an_account_the_launcher_makes_is_known_to_the_running_game_at_once() {
    let game = LiveGame::new("launcher-account", "");
    game.tavern_ok(&["account", "create", "Root", "rootpass", "--superuser"]);
    let game = game.start();
    let mut root = game.connect().await;
    root.expect("connect <username>").await;
    root.send("connect Root rootpass").await;
    root.expect("You become Root.").await;
    let out = game.tavern_ok(&["account", "create", "bld", "bldpass1"]);
    assert!(out.contains("The running game knows it now."), "{out}");
    let dir = game.data_dir();
    assert!(
        out.contains(&*dir.to_string_lossy()),
        "names its database: {out}"
    );
    root.send("perm *bld = Builder").await;
    root.expect("Permission 'Builder' given to bld").await;
    let mut bld = game.connect().await;
    bld.expect("connect <username>").await;
    bld.send("connect bld bldpass1").await;
    bld.expect("You become bld.").await;
    bld.send("dig Workshop").await;
    bld.expect("Created room Workshop").await;
    // The launcher runs no game code: the game ran the characters'
    // creation hooks (an adventurer's vitals) when it first saw them — at
    // its start for Root, at once for bld.
    for c in [&mut root, &mut bld] {
        c.send("sheet").await;
        c.expect("20 / 20").await;
    }
}

/// A second game on a port another holds fails with the setting to change.
#[test]
fn a_taken_port_names_the_setting_to_change() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let game = LiveGame::new(
        "taken-port",
        &format!("[link]\naddress = \"127.0.0.1:{port}\"\n"),
    );
    let out = game.tavern(&["start"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot listen for the link on 127.0.0.1:{port}"))
            && err.contains("[link] address"),
        "{err}"
    );
}

/// The metrics endpoint, scraped as Prometheus would: refused without the
/// token, and with it the portal's and the server's figures, which follow
/// what players do. Off by default.
#[tokio::test(flavor = "multi_thread")]
async fn the_metrics_endpoint_reports_sessions_commands_and_the_persister() {
    let off = LiveGame::new("metrics-off", "").start();
    let (status, _) = tavern_tests::http_get(off.web_port(), "/metrics", &[]).await;
    assert_eq!(status, 404, "off unless enabled");
    drop(off);

    let game = LiveGame::new(
        "metrics",
        "[metrics]\nenabled = true\ntoken = \"scrape-me\"\ninterval_secs = 1\n",
    )
    .start();
    let (status, _) = tavern_tests::http_get(game.web_port(), "/metrics", &[]).await;
    assert_eq!(status, 401, "no token");
    let (status, _) = tavern_tests::http_get(
        game.web_port(),
        "/metrics",
        &["Authorization: Bearer wrong"],
    )
    .await;
    assert_eq!(status, 401, "a wrong token");

    let mut anna = game.login("Anna", "anna-pass").await;
    for i in 0..5 {
        anna.send(&format!("say counted {i}")).await;
        anna.expect(&format!("counted {i}\"")).await;
    }
    // The server sends its figures every second: wait for ones that count
    // the commands just typed.
    let port = game.web_port();
    let value = |text: &str, name: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
    };
    let mut text = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let (status, body) =
            tavern_tests::http_get(port, "/metrics", &["Authorization: Bearer scrape-me"]).await;
        assert_eq!(status, 200);
        text = body;
        if value(&text, "tavern_server_commands_total ").is_some_and(|n| n >= 5.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        value(&text, "tavern_server_commands_total ").is_some_and(|n| n >= 5.0),
        "{text}"
    );
    assert!(text.contains("protocol=\"telnet\"} 1"), "{text}");
    assert_eq!(
        value(&text, "tavern_portal_server_up "),
        Some(1.0),
        "{text}"
    );
    assert!(
        value(&text, "tavern_persister_commits_total ").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        value(&text, "tavern_server_command_seconds_count ").is_some_and(|n| n >= 5.0),
        "{text}"
    );
    assert!(
        value(&text, "tavern_world_objects ").is_some_and(|n| n >= 8.0),
        "{text}"
    );
    assert!(
        value(&text, "tavern_server_resident_memory_bytes ").is_some_and(|n| n > 1e6),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
}
