//! A builder's session over real telnet: digging and naming, a prototype
//! from a TOML file and one saved in game, both spawning again after
//! `tavern reload`; and a ban that turns a name away.

use tavern_tests::LiveGame;

#[tokio::test(flavor = "multi_thread")]
async fn a_builder_builds_spawns_from_files_and_saved_prototypes_through_a_reload() {
    let game = LiveGame::new("building-live", "[game]\nprototypes_dir = \"protos\"\n");
    std::fs::create_dir_all(game.dir.join("protos")).unwrap();
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
