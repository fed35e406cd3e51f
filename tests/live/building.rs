//! A builder's session over real telnet: digging and naming, a prototype
//! from a TOML file and one saved in game, both spawning again after
//! `tavern reload`; and a ban that turns a name away.

use tavern_tests::LiveGame;

#[tokio::test(flavor = "multi_thread")]
async fn a_builder_builds_spawns_from_files_and_saved_prototypes_through_a_reload() {
    let game = LiveGame::new(
        "building-live",
        "[game]\nprototypes_dir = \"protos\"\nbatch_dir = \"zones\"\n",
    );
    std::fs::create_dir_all(game.dir.join("protos")).unwrap();
    std::fs::create_dir_all(game.dir.join("zones")).unwrap();
    std::fs::write(
        game.dir.join("zones/mine.ev"),
        "# The old mine, off the workshop.\n\
         dig/teleport Old Mine;mine = mine;m, back;b\n#\n\
         desc here = Timbers groan\noverhead.\n#\n\
         spawn oil lamp\n#\n\
         back\n",
    )
    .unwrap();
    std::fs::write(
        game.dir.join("protos/lamps.toml"),
        "[[prototype]]\nprototype_key = \"oil lamp\"\nkey = \"oil lamp\"\n\
         desc = \"It holds $randint(1, 3) hours of oil.\"\n",
    )
    .unwrap();
    let game = game.start();
    game.tavern_ok(&["account", "create", "Root", "root-pass", "--superuser"]);
    let mut root = game.connect().await;
    root.send("connect Root root-pass").await;
    root.expect("You become Root.").await;

    root.send("tunnel/tel north = Workshop;ws").await;
    root.expect("Created room Workshop").await;
    root.send("spawn oil lamp").await;
    root.expect("Spawned oil lamp(#").await;
    root.send("look oil lamp").await;
    root.expect("hours of oil.").await;
    root.send("spawn/save { prototype_key = \"anvil\", key = \"anvil\", desc = \"Heavy.\" }")
        .await;
    root.expect("Prototype 'anvil' saved.").await;
    // A zone from a batch file, with a lamp from the TOML prototype.
    root.send("batchcommands mine").await;
    root.expect("Batch 'mine' done").await;
    root.send("name oil lamp = brass lamp;lamp").await;
    root.expect("Object's name changed to 'brass lamp' (aliases: lamp).")
        .await;

    game.tavern_ok(&["reload"]);
    root.expect("Server restarted.").await;
    root.send("look").await;
    let here = root.expect("brass lamp").await;
    assert!(here.contains("Workshop"), "{here}");
    root.send("spawn anvil").await;
    root.expect("Spawned anvil(#").await;
    root.send("mine").await;
    root.expect("Timbers groan overhead.").await;
    root.send("look oil lamp").await;
    root.expect("hours of oil.").await;
    root.send("back").await;
    root.expect("You see: brass lamp and anvil").await;
    root.send("spawn/list").await;
    let list = root.expect("anvil").await;
    assert!(
        list.contains("lamps.toml") || root.text.contains("lamps.toml"),
        "{list}"
    );
    root.send("find anv").await;
    root.expect("1 match").await;

    root.send("ban Spammer : adverts").await;
    root.expect("[Y]/N").await;
    root.send("y").await;
    root.expect("Ban #1 added").await;
    let mut spammer = game.connect().await;
    spammer.send("create Spammer secret123").await;
    spammer
        .expect("You have been banned and cannot continue from here. Reason: adverts")
        .await;
}

/// `tavern backup` while players type; the backup restored into another
/// game starts, and every account logs in there.
#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_while_players_type_restores_to_a_game_that_holds_every_account() {
    let game = LiveGame::new("backup-live", "").start();
    let mut players = Vec::new();
    for i in 0..24 {
        players.push(game.login(&format!("Typist{i:02}"), "typist-pass").await);
    }
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let lines = Arc::new(AtomicUsize::new(0));
    let mut typing = Vec::new();
    for mut p in players {
        let (stop, lines) = (stop.clone(), lines.clone());
        typing.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                p.send(&format!("say line {n}")).await;
                p.expect(&format!("line {n}\"")).await;
                lines.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
            n
        }));
    }
    tavern_tests::wait_for("the players to be typing", || {
        lines.load(Ordering::Relaxed) >= 48
    })
    .await;
    let file = game.dir.join("backup.db3");
    let out = game.tavern_ok(&["backup", file.to_str().unwrap()]);
    assert!(out.contains("Backed up"), "{out}");
    stop.store(true, Ordering::Relaxed);
    let mut said = 0;
    for t in typing {
        said += t.await.expect("a typist");
    }
    assert!(
        said > 24,
        "the players were typing during the backup ({said} lines)"
    );
    assert!(
        game.tavern(&["restore", file.to_str().unwrap()])
            .status
            .code()
            == Some(1),
        "refused while running"
    );

    let other = LiveGame::new("backup-restored", "");
    let restored =
        tavern_tests::run_tavern_ok(&other.settings, &["restore", file.to_str().unwrap()]);
    assert!(restored.contains("Restored"), "{restored}");
    let other = other.start();
    for i in [0, 11, 23] {
        let mut c = other.connect().await;
        c.expect("connect <username> <password>").await;
        c.send(&format!("connect Typist{i:02} typist-pass")).await;
        c.expect(&format!("You become Typist{i:02}.")).await;
    }
}

/// A world file merged back, both ways: `worldexport` in game; `tavern world
/// import --merge` (a dry run while the game runs, refused for real until it
/// is stopped, then merged); and `worldimport` in game, through a real
/// reload. Each time the file's rows come back and newer objects stay.
#[tokio::test(flavor = "multi_thread")]
async fn a_world_export_merges_back_from_the_launcher_and_in_game() {
    let mut game = LiveGame::new("merge-live", "").start();
    game.tavern_ok(&["account", "create", "Root", "root-pass", "--superuser"]);
    let mut root = game.connect().await;
    root.send("connect Root root-pass").await;
    root.expect("You become Root.").await;
    root.send("create/drop quill").await;
    root.expect("quill(#").await;
    root.send("worldexport before").await;
    root.expect("Exported exports/before.jsonl").await;
    root.send("name quill = feather").await;
    root.expect("Object's name changed to 'feather'").await;
    root.send("create/drop inkpot").await;
    root.expect("inkpot(#").await;

    let file = game.data_dir().join("exports/before.jsonl");
    let file = file.to_str().unwrap();
    let dry = game.tavern_ok(&["world", "import", file, "--merge", "--dry-run"]);
    assert!(
        dry.contains("would merge") && dry.contains("replaced"),
        "{dry}"
    );
    let refused = game.tavern(&["world", "import", file, "--merge"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("the game is running"),
        "{refused:?}"
    );
    game.tavern_ok(&["stop"]);
    assert!(game.wait_portal_exit(std::time::Duration::from_secs(60)));
    let merged = game.tavern_ok(&["world", "import", file, "--merge"]);
    assert!(merged.contains("Merged"), "{merged}");
    game.spawn_portal();
    let mut root = game.connect().await;
    root.send("connect Root root-pass").await;
    root.expect("You become Root.").await;
    root.send("look").await;
    root.send("say seen").await;
    let here = root.expect("You say, \"seen\"").await;
    assert!(
        here.contains("quill") && here.contains("inkpot") && !here.contains("feather"),
        "{here}"
    );

    // In game: the same file, through a reload; nobody is dropped.
    root.send("name quill = plume").await;
    root.expect("Object's name changed to 'plume'").await;
    root.send("worldimport before").await;
    root.expect("yes/[no]").await;
    root.send("yes").await;
    root.expect("Reloading to merge it").await;
    root.expect("Server restarted.").await;
    root.send("look").await;
    root.send("say seen again").await;
    let here = root.expect("You say, \"seen again\"").await;
    assert!(here.contains("quill") && !here.contains("plume"), "{here}");
    root.send("worldimport").await;
    root.expect("before.jsonl merged (asked by Root)").await;
}
