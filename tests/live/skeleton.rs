//! The walking skeleton, end to end: real `tavern` processes on free ports,
//! real telnet connections.

use std::time::Duration;

use tavern_tests::{Client, LiveGame, kill, pid_alive, wait_for};

#[tokio::test(flavor = "multi_thread")]
async fn two_players_create_accounts_log_in_and_hear_each_other() {
    let game = LiveGame::new("say", "").start();
    let mut anna = game.connect().await;
    let screen = anna.expect("look will re-show this screen.").await;
    assert!(screen.contains("connect <username> <password>"), "{screen}");
    assert!(screen.contains("create <username> <password>"), "{screen}");

    anna.send("create \"Anna Bell\" s3cret").await;
    let created = anna.expect("Welcome!").await;
    assert!(
        created.contains("A new account 'Anna Bell' was created."),
        "{created}"
    );
    anna.expect("connect \"Anna Bell\" <your password>").await;
    anna.send("connect \"Anna Bell\" s3cret").await;
    anna.expect("You become Anna Bell.").await;
    anna.expect("Limbo").await;

    let mut bob = game.login("Bob", "hunter22").await;
    let room = bob.expect("Characters:").await;
    assert!(room.contains("Limbo"), "{room}");
    bob.expect("Anna Bell").await;
    anna.expect("Bob has entered the game.").await;

    anna.send("say Hello, Bob!").await;
    anna.expect("You say, \"Hello, Bob!\"").await;
    bob.expect("Anna Bell says, \"Hello, Bob!\"").await;
    bob.send("\"Hi Anna").await;
    bob.expect("You say, \"Hi Anna\"").await;
    anna.expect("Bob says, \"Hi Anna\"").await;

    bob.send("who").await;
    let who = bob.expect("unique accounts logged in.").await;
    assert!(who.contains("Anna Bell") && who.contains("Bob"), "{who}");
    assert!(who.contains("2 unique accounts"), "{who}");

    bob.send("dance wildly").await;
    bob.expect("Command 'dance' is not available. Type \"help\" for help.")
        .await;
    bob.send("help").await;
    let help = bob.expect("to read about one.").await;
    for cmd in ["look", "say", "who", "quit", "note"] {
        assert!(help.contains(cmd), "help lists {cmd}: {help}");
    }
    assert!(
        !help.contains("reload"),
        "players are not shown superuser commands: {help}"
    );

    bob.send("quit").await;
    let bye = bob.expect_closed().await;
    assert!(
        bye.contains("Quitting. Hope to see you again, soon."),
        "{bye}"
    );
    anna.expect("Bob has left the game.").await;
    anna.send("look").await;
    let look = anna.expect("Limbo").await + &anna.expect("\n").await;
    anna.read_for(Duration::from_millis(200)).await;
    assert!(
        !anna.text.contains("Bob"),
        "Bob left the room: {look}{}",
        anna.text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_credentials_duplicates_and_odd_names_are_answered_clearly() {
    let game = LiveGame::new("creds", "").start();
    let mut c = game.connect().await;
    c.expect("connect <username>").await;

    c.send("create Carol pass123").await;
    c.expect("A new account 'Carol' was created.").await;
    for dup in ["create Carol other12", "create cAROL other12"] {
        c.send(dup).await;
        c.expect("Sorry, there is already an account with the name")
            .await;
    }
    c.send("connect Carol wrongpass").await;
    c.expect("Username and/or password is incorrect.").await;
    c.send("connect Nobody pass123").await;
    c.expect("Username and/or password is incorrect.").await;
    c.send("connect").await;
    c.expect("Usage (without <>): connect <name> <password>")
        .await;
    c.send("connect Carol").await;
    c.expect("Password: ").await;
    c.send("wrongpass").await;
    c.expect("Username and/or password is incorrect.").await;
    c.send("create").await;
    c.expect("Usage (without <>): create <name> <password>")
        .await;
    c.send("create \"Two  Spaces\" pass123").await;
    c.expect("two in a row").await;
    c.send("create 9lives pass123").await;
    c.expect("must start with a letter").await;
    c.send("create Dave x").await;
    c.expect("at least 3 characters").await;
    c.send("create Admin pass123").await;
    c.expect("reserved").await;
    c.send("say hi").await;
    c.expect("Command 'say' is not available.").await;

    // Names with spaces, in either quotes, and login is case-insensitive.
    c.send("create 'Mary Ann' pass123").await;
    c.expect("A new account 'Mary Ann' was created.").await;
    c.send("connect \"mary ann\" pass123").await;
    c.expect("You become Mary Ann.").await;
}

/// Types `say tick N` every 20 ms while `disrupt` runs, then checks that every
/// line was answered exactly once, in order, on the same connection.
async fn type_through(game: &LiveGame, disrupt: impl FnOnce() + Send + 'static) -> String {
    let mut c = game.login("Typist", "pw12345").await;
    c.send("note kept across").await;
    c.expect("Noted: kept across").await;
    let mut transcript = String::new();

    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut sent = 0usize;
    let mut disruption = None;
    let mut disrupt = Some(disrupt);
    let mut after = 0;
    loop {
        tick.tick().await;
        c.send(&format!("say tick {sent}")).await;
        sent += 1;
        c.read_for(Duration::from_millis(1)).await;
        if sent == 10 {
            let d = disrupt.take().unwrap();
            disruption = Some(tokio::task::spawn_blocking(d));
        }
        if disruption.as_ref().is_some_and(|d| d.is_finished()) {
            after += 1;
        }
        // Keep typing until well after the disruption is over.
        if after >= 25 || sent >= 2000 {
            break;
        }
    }
    disruption.unwrap().await.unwrap();
    for n in 0..sent {
        transcript.push_str(&c.expect(&format!("You say, \"tick {n}\"")).await);
    }
    c.send("note").await;
    transcript.push_str(&c.expect("Your note: kept across").await);
    c.send("look").await;
    c.expect("Limbo").await;
    assert!(!c.is_closed(), "the connection was kept");
    for n in 0..sent {
        let said = format!("You say, \"tick {n}\"\n");
        assert_eq!(
            transcript.matches(&said).count(),
            1,
            "tick {n} answered once"
        );
    }
    transcript
}

#[tokio::test(flavor = "multi_thread")]
async fn typing_through_a_reload_loses_nothing() {
    let game = LiveGame::new("reload", "").start();
    let first_server = game.server_pid();
    let settings = game.settings.clone();
    let transcript = type_through(&game, move || {
        let text = tavern_tests::run_tavern_ok(&settings, &["reload"]);
        assert!(text.contains("1 sessions kept"), "{text}");
    })
    .await;
    assert_eq!(
        transcript.matches("Server restart initiated ...").count(),
        1,
        "{transcript}"
    );
    assert_eq!(
        transcript.matches("... Server restarted.").count(),
        1,
        "{transcript}"
    );
    assert!(
        transcript.find("Server restart initiated").unwrap()
            < transcript.find("... Server restarted.").unwrap()
    );
    assert_ne!(game.server_pid(), first_server, "a new server process runs");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_loads_the_next_server_beside_the_old_one_and_keeps_what_changed() {
    let game = LiveGame::new("standby", "").start();
    game.tavern_ok(&["account", "create", "Root", "root-pass", "--superuser"]);
    let mut root = game.connect().await;
    root.send("connect Root root-pass").await;
    root.expect("You become Root.").await;
    root.send("create/drop brass bell").await;
    root.expect("You create a new thing: brass bell").await;
    let old = game.server_pid().unwrap();
    // The order, while the builder goes on building: each line is answered
    // once, by the old server or by the next.
    let settings = game.settings.clone();
    let order = std::thread::spawn(move || tavern_tests::run_tavern_ok(&settings, &["reload"]));
    root.send("create/drop tin whistle").await;
    root.expect("You create a new thing: tin whistle").await;
    root.send("desc brass bell = Green with age.").await;
    root.expect("brass bell").await;
    let said = order.join().expect("the launcher");
    assert!(said.contains("1 sessions kept"), "{said}");
    root.expect("... Server restarted.").await;
    assert_ne!(game.server_pid(), Some(old));
    root.send("look").await;
    let seen = root.expect("tin whistle").await;
    assert!(seen.contains("brass bell"), "{seen}");
    root.send("look brass bell").await;
    root.expect("Green with age.").await;
    let logs = game.all_logs();
    for step in [
        "marked for a reload",
        "the standby server has loaded the world: stopping the old one",
        "standby: read again what the old server wrote since its mark",
    ] {
        assert!(logs.contains(step), "{step}:\n{logs}");
    }

    // Switched off, the old server stops first and the next one loads after.
    let plain = LiveGame::new("nostandby", "[portal]\nreload_standby = false\n").start();
    let mut p = plain.login("Plain", "pass123").await;
    plain.tavern_ok(&["reload"]);
    p.expect("... Server restarted.").await;
    p.send("say still here").await;
    p.expect("You say, \"still here\"").await;
    assert!(!plain.all_logs().contains("marked for a reload"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_onto_a_build_that_cannot_start_leaves_the_old_server_serving() {
    use std::os::unix::fs::PermissionsExt;
    let game = LiveGame::new("badbuild", "").with_binary_copy().start();
    let mut c = game.login("Steady", "pass123").await;
    let old = game.server_pid().unwrap();
    // A build that cannot start a server, put where a rebuild puts it.
    let tmp = game.bin.with_extension("new");
    std::fs::write(&tmp, "#!/bin/sh\nexit 3\n").unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&tmp, &game.bin).unwrap();
    let out = tavern_tests::run_tavern(&game.settings, &["reload"]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("The reload was given up") && said.contains("goes on serving"),
        "{said}"
    );
    assert_eq!(game.server_pid(), Some(old), "the same server");
    c.send("say still here").await;
    let heard = c.expect("You say, \"still here\"").await;
    assert!(!heard.contains("restart initiated"), "{heard}");
    // Asked in game, the one who asked hears what happens and why.
    game.tavern_ok(&["account", "create", "Root", "root-pass", "--superuser"]);
    let mut root = game.connect().await;
    root.send("connect Root root-pass").await;
    root.expect("You become Root.").await;
    root.send("reload").await;
    root.expect("The new server is loading the world beside this one")
        .await;
    let why = root.expect("This server goes on").await;
    assert!(
        why.contains("The reload was given up: the new server exited"),
        "{why}"
    );
    // The build mended: the next reload goes through.
    game.replace_binary();
    tavern_tests::run_tavern_ok(&game.settings, &["reload"]);
    c.expect("... Server restarted.").await;
    assert_ne!(game.server_pid(), Some(old));
    c.send("say back").await;
    c.expect("You say, \"back\"").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn typing_through_a_server_crash_loses_nothing() {
    let game = LiveGame::new("crash", "").start();
    let pid = game.server_pid().expect("a server runs");
    let transcript = type_through(&game, move || kill(pid, libc::SIGKILL)).await;
    assert!(
        transcript.contains("The game server stopped unexpectedly."),
        "{transcript}"
    );
    assert_eq!(
        transcript.matches("... Server restarted.").count(),
        1,
        "{transcript}"
    );
    let new = game.server_pid().unwrap();
    assert_ne!(new, pid);
    assert!(pid_alive(new));
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_made_while_the_server_is_away_are_greeted_and_served() {
    // A slow restart after a crash leaves a window with no server at all.
    let game = LiveGame::new("away", "[portal]\nrestart_backoff_initial_ms = 1500\n").start();
    let mut early = game.connect().await;
    early.expect("connect <username>").await;
    let pid = game.server_pid().unwrap();
    kill(pid, libc::SIGKILL);
    wait_for("the portal to notice the crash", || {
        game.server_pid().is_none_or(|p| p != pid)
    })
    .await;
    let mut late = game.connect().await;
    // The portal greets it at once with the screen the last server gave it.
    late.expect("connect <username>").await;
    late.send("create Latecomer pass123").await;
    early.send("create Early pass123").await;
    late.expect("A new account 'Latecomer' was created.").await;
    early.expect("A new account 'Early' was created.").await;
    late.send("connect Latecomer pass123").await;
    late.expect("You become Latecomer.").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_launcher_reports_status_and_creates_superusers() {
    let game = LiveGame::new("launcher", "").start();
    let mut player = game.login("Pleb", "pass123").await;

    let out = game.tavern_ok(&["account", "create", "Root", "rootpass", "--superuser"]);
    assert!(
        out.contains("Account 'Root' created") && out.contains("superuser"),
        "{out}"
    );
    let status = game.tavern_ok(&["status"]);
    let server_pid = game.server_pid().unwrap();
    assert!(
        status.contains(&format!("pid {}", game.portal_pid().unwrap())),
        "{status}"
    );
    assert!(
        status.contains(&format!("Running (pid {server_pid}")),
        "{status}"
    );
    assert!(status.contains("Sessions: 1 (1 logged in)"), "{status}");

    // Only superusers have the system commands.
    player.send("reload").await;
    player.expect("Command 'reload' is not available.").await;

    let mut root = game.connect().await;
    root.expect("connect <username>").await;
    root.send("connect Root rootpass").await;
    root.expect("You become Root.").await;
    root.send("reset").await;
    root.expect("Server restart initiated ...").await;
    player.expect("Server restart initiated ...").await;
    root.expect("... Server restarted.").await;
    root.send("say still here").await;
    player.expect("Root says, \"still here\"").await;
    assert_ne!(game.server_pid(), Some(server_pid));

    // A typo stops nothing; a bare shutdown asks, and "no" keeps the game.
    root.send("shutdown/hlep").await;
    root.expect("shutdown: unknown switch /hlep. Its switches: /now. Nothing was done.")
        .await;
    root.send("reset/help").await;
    root.expect("reset: unknown switch /help. reset takes no switches. Nothing was done.")
        .await;
    root.send("shutdown").await;
    root.expect("Shut down yes/[no]?").await;
    root.send("no").await;
    root.expect("Shutdown aborted.").await;
    root.send("say still up").await;
    player.expect("Root says, \"still up\"").await;
    root.send("shutdown").await;
    root.expect("Shut down yes/[no]?").await;
    root.send("yes").await;
    let last = player.expect_closed().await;
    assert!(last.contains("The server is shutting down."), "{last}");
    root.expect_closed().await;
    let mut game = game;
    assert!(
        game.wait_portal_exit(Duration::from_secs(20)),
        "the portal exits"
    );
    wait_for("the server to exit", || !pid_alive(server_pid)).await;
    assert!(!game.data_dir().join("portal.json").exists());
    let out = game.tavern(&["status"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("not running"));
}

#[tokio::test(flavor = "multi_thread")]
async fn tavern_stop_stops_everything_and_says_it_succeeded() {
    let mut game = LiveGame::new("stop", "").start();
    let mut c = game.login("Leaving", "pass123").await;
    let server = game.server_pid().unwrap();
    let out = game.tavern(&["stop"]);
    assert!(
        out.status.success(),
        "a stop that worked exits 0: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("stopped"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("error"));
    let last = c.expect_closed().await;
    assert!(last.contains("The server is shutting down."), "{last}");
    assert!(game.wait_portal_exit(Duration::from_secs(20)));
    wait_for("the server to exit", || !pid_alive(server)).await;
    // A second stop: nothing runs, and it says so (a failure).
    let again = game.tavern(&["stop"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not running"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_portal_and_server_cleanly() {
    let mut game = LiveGame::new("sigterm", "").start();
    let mut c = game.login("Sleepy", "pass123").await;
    let server = game.server_pid().unwrap();
    kill(game.portal_pid().unwrap(), libc::SIGTERM);
    let last = c.expect_closed().await;
    assert!(last.contains("The server is shutting down."), "{last}");
    assert!(game.wait_portal_exit(Duration::from_secs(20)));
    wait_for("the server to exit", || !pid_alive(server)).await;
    // Started again, the world and the account are still there.
    game.spawn_portal();
    let mut c = game.connect().await;
    c.expect("connect <username>").await;
    c.send("connect Sleepy pass123").await;
    c.expect("You become Sleepy.").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_login_replaces_the_first_in_multisession_mode_0() {
    let game = LiveGame::new("mode0", "").start();
    let mut first = game.login("Twice", "pass123").await;
    let mut second = game.connect().await;
    second.expect("connect <username>").await;
    second.send("connect Twice pass123").await;
    second.expect("You become Twice.").await;
    let last = first.expect_closed().await;
    assert!(
        last.contains("Logged in from elsewhere. Disconnecting."),
        "{last}"
    );
    second.send("who").await;
    second.expect("1 unique account logged in.").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn passwords_never_reach_the_logs() {
    let game = LiveGame::new("pwlog", "").start();
    let secret = "Zebra-Quartz-9917";
    let mut c = game.connect().await;
    c.expect("connect <username>").await;
    c.send(&format!("create Vault {secret}")).await;
    c.expect("was created").await;
    c.send("connect Vault wrong-Zebra-Quartz").await;
    c.expect("incorrect").await;
    c.send(&format!("connect Vault {secret}")).await;
    c.expect("You become Vault.").await;
    game.tavern_ok(&["account", "create", "Cli", "Opal-Lantern-4471"]);
    game.tavern_ok(&["reload"]);
    c.send("look").await;
    c.expect("Limbo").await;
    let logs = game.all_logs();
    assert!(
        logs.contains("logged in"),
        "debug logs were written: {} bytes",
        logs.len()
    );
    for pw in [secret, "wrong-Zebra-Quartz", "Opal-Lantern-4471"] {
        assert!(!logs.contains(pw), "a password reached the logs");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn overlong_lines_are_refused_and_the_session_goes_on() {
    let game = LiveGame::new("longline", "").start();
    let mut c = game.login("Wordy", "pass123").await;
    let long = "x".repeat(20_000);
    c.send(&format!("say {long}")).await;
    c.expect("longer than 8192 bytes and was dropped").await;
    c.send("say short").await;
    c.expect("You say, \"short\"").await;
    // Control characters and raw escapes typed by a player never reach another screen.
    let mut other: Client = game.login("Listener", "pass123").await;
    c.send("say \u{1b}[2Jboo\u{7}").await;
    let heard = other.expect("Wordy says,").await + &other.expect("\n").await;
    assert!(
        !heard.contains('\u{1b}') && !heard.contains('\u{7}'),
        "{heard:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reload_runs_the_binary_now_on_disk() {
    let game = LiveGame::new("rebuild", "").with_binary_copy().start();
    let mut c = game.login("Builder", "pass123").await;
    let old = game.server_pid().unwrap();
    let exe = |pid: u32| std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert_eq!(exe(old), game.bin);
    // What `cargo build` does: a new file takes the old one's name.
    game.replace_binary();
    assert!(
        exe(old).to_string_lossy().ends_with(" (deleted)"),
        "the running server's binary is gone from disk"
    );
    game.tavern_ok(&["reload"]);
    c.expect("... Server restarted.").await;
    let new = game.server_pid().unwrap();
    assert_ne!(new, old);
    assert_eq!(exe(new), game.bin, "the new server runs the new file");
    c.send("say rebuilt").await;
    c.expect("You say, \"rebuilt\"").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_link_refuses_other_versions_and_garbage_clearly() {
    use tavern_shared::link::{Hello, HelloReply, LINK_PROTOCOL_VERSION, LinkStream, Role};
    let game = LiveGame::new("linkver", "").start();
    let mut c = game.login("Steady", "pass123").await;
    let addr: std::net::SocketAddr = game.runtime().unwrap()["link_address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut ls = LinkStream::new(stream, 1 << 20);
    let mut hello = Hello::new(Role::Server);
    hello.version = LINK_PROTOCOL_VERSION + 1;
    ls.send(&hello).await.unwrap();
    match ls.recv::<HelloReply>().await.unwrap() {
        HelloReply::Refused { reason } => assert!(reason.contains("version mismatch"), "{reason}"),
        other => panic!("a newer peer was accepted: {other:?}"),
    }
    wait_for("the refusal in the portal's log", || {
        game.all_logs().contains("refused link peer")
    })
    .await;

    // An HTTP request on the link port: dropped, logged, nothing else disturbed.
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(tavern_tests::PATIENCE, raw.read(&mut buf))
        .await
        .expect("the portal closes the connection")
        .unwrap_or(0);
    assert_eq!(n, 0, "nothing is answered to garbage");
    c.send("say still fine").await;
    c.expect("You say, \"still fine\"").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_portal_leaves_the_server_running_and_the_next_portal_adopts_it() {
    let mut game = LiveGame::new("portalkill", "").start();
    let mut c = game.login("Survivor", "pass123").await;
    c.send("say before").await;
    c.expect("You say, \"before\"").await;
    let server = game.server_pid().unwrap();
    kill(game.portal_pid().unwrap(), libc::SIGKILL);
    c.expect_closed().await;
    assert!(game.wait_portal_exit(Duration::from_secs(20)));
    // The server keeps the world and waits; a new portal takes it over rather than starting another.
    assert!(pid_alive(server), "the server outlives its portal");
    game.spawn_portal();
    let mut again = game.connect().await;
    again.expect("connect <username>").await;
    again.send("connect Survivor pass123").await;
    again.expect("You become Survivor.").await;
    again.send("say after").await;
    again.expect("You say, \"after\"").await;
    assert_eq!(
        game.server_pid(),
        Some(server),
        "the same server process, adopted"
    );
    again.send("who").await;
    again.expect("1 unique account logged in.").await;
    // And the adopted server still reloads like any other.
    game.tavern_ok(&["reload"]);
    again.expect("... Server restarted.").await;
    assert_ne!(game.server_pid(), Some(server));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_acknowledged_account_survives_kill_9_of_both_processes_at_once() {
    let mut game = LiveGame::new("durable", "").start();
    let mut c = game.connect().await;
    c.expect("connect <username>").await;
    c.send("create Durable pass123").await;
    c.expect("A new account 'Durable' was created.").await;
    // The moment the player is told, both processes die.
    let (portal, server) = (game.portal_pid().unwrap(), game.server_pid().unwrap());
    kill(server, libc::SIGKILL);
    kill(portal, libc::SIGKILL);
    assert!(game.wait_portal_exit(Duration::from_secs(20)));
    wait_for("the server to die", || !pid_alive(server)).await;
    game.spawn_portal();
    let mut again = game.connect().await;
    again.expect("connect <username>").await;
    again.send("connect Durable pass123").await;
    again.expect("You become Durable.").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_players_typing_through_a_server_crash_lose_nothing() {
    let game = LiveGame::new("crash100", "").start();
    let mut players = Vec::new();
    for i in 0..100 {
        players.push(game.login(&format!("Crowd{i}"), "pass123").await);
    }
    let server = game.server_pid().unwrap();
    // Every player types a numbered line every 50 ms; the server is killed partway through.
    let rounds = 30;
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (i, mut p) in players.into_iter().enumerate() {
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            for n in 0..rounds {
                tick.tick().await;
                p.send(&format!("note {i}-{n}")).await;
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let mut seen = String::new();
            for n in 0..rounds {
                seen.push_str(&p.expect(&format!("Noted: {i}-{n}\n")).await);
            }
            assert!(!p.is_closed());
            for n in 0..rounds {
                assert_eq!(
                    seen.matches(&format!("Noted: {i}-{n}\n")).count(),
                    1,
                    "{i}-{n} answered once"
                );
            }
        }));
    }
    // Kill the server partway through: once every player has sent a third of its lines.
    wait_for("the first lines", || {
        sent.load(std::sync::atomic::Ordering::Relaxed) >= 100 * rounds / 3
    })
    .await;
    kill(server, libc::SIGKILL);
    for t in tasks {
        t.await.unwrap();
    }
    assert_ne!(game.server_pid(), Some(server));
}

/// A raw link peer: sends a hello (with `nonce`), returns the portal's first reply.
async fn raw_hello(
    addr: std::net::SocketAddr,
    role: tavern_shared::link::Role,
) -> (
    tavern_shared::link::LinkStream<tokio::net::TcpStream>,
    tavern_shared::link::HelloReply,
) {
    use tavern_shared::link::{Hello, HelloReply, LinkStream};
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut ls = LinkStream::new(stream, 1 << 20);
    ls.send(&Hello::new(role)).await.unwrap();
    let reply: HelloReply = ls.recv().await.unwrap();
    (ls, reply)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_link_is_always_authenticated_both_ways_and_the_secret_never_sent() {
    use std::os::unix::fs::PermissionsExt;
    use tavern_shared::link::{HelloReply, LauncherRequest, LinkError, LinkStream, Proof, Role};
    // No secret in the settings: the portal makes one, private to the game's user.
    let game = LiveGame::new("secret", "").start();
    let mut c = game.login("Keyholder", "pass123").await;
    c.send("say in").await;
    c.expect("You say, \"in\"").await;
    assert!(game.tavern_ok(&["status"]).contains("Running"));
    let file = game.data_dir().join("link.secret");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the secret is readable by the game's user only"
    );
    let secret = std::fs::read_to_string(&file).unwrap();
    let data_mode = std::fs::metadata(game.data_dir())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(data_mode & 0o777, 0o700, "the data directory is private");
    for f in ["tavern.db3", "portal.json"] {
        let m = std::fs::metadata(game.data_dir().join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(m & 0o077, 0, "{f} is private: {:o}", m & 0o777);
    }

    let addr: std::net::SocketAddr = game.runtime().unwrap()["link_address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // A local process without the secret cannot order a reload, nor be the server.
    for role in [Role::Launcher, Role::Server] {
        let (mut ls, reply) = raw_hello(addr, role).await;
        let HelloReply::Challenge { .. } = reply else {
            panic!("a peer is challenged before anything else: {reply:?}")
        };
        ls.send(&Proof { mac: vec![0; 64] }).await.unwrap();
        match ls.recv::<HelloReply>().await {
            Ok(HelloReply::Refused { reason }) => {
                assert!(reason.contains("does not know the link secret"), "{reason}")
            }
            other => panic!("a wrong proof got {other:?}"),
        }
        // Whatever it sends next is not read.
        let _ = ls
            .send(&LauncherRequest::Stop {
                mode: tavern_shared::link::StopMode::Shutdown,
            })
            .await;
    }
    // A wrong secret: the peer sees the portal cannot prove it knows *that*
    // secret, and proves nothing itself.
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut wrong = LinkStream::new(stream, 1 << 20);
    match wrong.handshake(Role::Server, "open-sesame").await {
        Err(LinkError::Handshake(why)) => {
            assert!(
                why.contains("does not know this game's link secret"),
                "{why}"
            )
        }
        other => panic!("a wrong secret got {other:?}"),
    }
    // Before its proof a peer may send only a few KiB: a huge frame ends it.
    let mut big = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut header = (64u32 << 20).to_be_bytes().to_vec();
    header.extend(vec![0u8; 64 * 1024]);
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = big.write_all(&header).await;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(tavern_tests::PATIENCE, big.read(&mut buf))
        .await
        .expect("the portal closes an oversized hello at once");
    assert!(matches!(n, Ok(0) | Err(_)), "closed, not answered: {n:?}");
    // The game is untouched: the real launcher and players go on.
    assert!(game.tavern_ok(&["status"]).contains("Running"));
    c.send("say still in").await;
    c.expect("You say, \"still in\"").await;
    wait_for("the refusals in the log", || {
        game.all_logs().contains("does not know the link secret")
    })
    .await;
    assert!(
        !game.all_logs().contains(secret.trim()),
        "the secret never reaches a log"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_in_the_settings_is_used_by_every_process() {
    use tavern_shared::link::{LinkError, LinkStream, Role};
    let secret = "sesame-street-42";
    let game = LiveGame::new("setsecret", &format!("[link]\nsecret = \"{secret}\"\n")).start();
    let mut c = game.login("Keyholder", "pass123").await;
    c.send("say in").await;
    c.expect("You say, \"in\"").await;
    assert!(game.tavern_ok(&["status"]).contains("Running"));
    assert!(!game.data_dir().join("link.secret").exists());
    let addr: std::net::SocketAddr = game.runtime().unwrap()["link_address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut ok = LinkStream::new(stream, 1 << 20);
    assert!(ok.handshake(Role::Launcher, secret).await.is_ok());
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut wrong = LinkStream::new(stream, 1 << 20);
    assert!(matches!(
        wrong.handshake(Role::Launcher, "sesame").await,
        Err(LinkError::Handshake(_))
    ));
    assert!(
        !game.all_logs().contains(secret),
        "the secret never reaches a log"
    );
}
