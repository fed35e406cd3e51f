//! The builder and admin commands added for issue 22, as builders type
//! them: messages, locks, what is saved (through a reload), and bare or
//! wrong arguments that change nothing.

use tavern_server::Game;
use tavern_server::testing::TestGame;

fn builder(t: &mut TestGame, name: &str) -> tavern_server::SessId {
    let s = t.player(name);
    t.grant(s, "Builder");
    s
}

#[test]
fn name_link_unlink_and_sethome_change_what_they_say_and_it_is_saved() {
    let mut t = TestGame::new(Game::new());
    let bld = builder(&mut t, "Bld");
    let player = t.player("Pat");
    assert!(t.cmd(player, "name here = Mine").contains("not available"));
    t.cmd(bld, "create/drop box");
    assert_eq!(
        t.cmd(bld, "name"),
        "Usage: name <obj> = <newname>[;alias;alias;...]"
    );
    assert_eq!(
        t.cmd(bld, "name box"),
        "Usage: name <obj> = <newname>[;alias;alias;...]"
    );
    assert_eq!(
        t.cmd(bld, "name box ="),
        "No name was given; nothing was changed."
    );
    assert_eq!(
        t.cmd(bld, "name box = crate;cr;wooden crate"),
        "Object's name changed to 'crate' (aliases: cr, wooden crate)."
    );
    t.reload();
    assert!(t.cmd(bld, "look cr").contains("crate"));

    t.cmd(bld, "dig Kitchen = kitchen;k, out;o");
    assert!(t.cmd(bld, "link kitchen").contains("is an exit to Kitchen"));
    assert!(
        t.cmd(bld, "link kitchen = crate")
            .contains("Link created kitchen")
    );
    assert!(t.cmd(bld, "link crate = here").contains("is not an exit"));
    assert!(
        t.cmd(bld, "link kitchen = kitchen")
            .contains("cannot lead to itself")
    );
    assert!(
        t.cmd(bld, "link/bogus kitchen = here")
            .contains("unknown switch")
    );
    assert!(t.cmd(bld, "unlink").starts_with("Usage"));
    assert!(
        t.cmd(bld, "unlink kitchen")
            .contains("no longer links anywhere")
    );
    assert!(
        t.cmd(bld, "unlink kitchen")
            .contains("does not link anywhere")
    );
    assert!(t.cmd(bld, "link kitchen = #2").contains("Link created"));

    assert!(t.cmd(bld, "sethome crate").contains("Its home location is"));
    assert!(
        t.cmd(bld, "sethome crate = crate")
            .contains("cannot be its own home")
    );
    assert!(
        t.cmd(bld, "sethome crate = kitchen")
            .contains("An exit cannot be a home")
    );
    let set = t.cmd(bld, "sethome crate = here");
    assert!(set.starts_with("Home location of crate"), "{set}");
    // A player's own character is not the builder's to rename.
    let pat = t.puppet(player).unwrap();
    assert!(
        t.cmd(bld, &format!("name #{pat} = Fool"))
            .contains("You don't have permission")
    );
}

#[test]
fn tunnel_digs_with_a_way_back_and_copy_cpattr_mvattr_wipe_work_on_attributes() {
    let mut t = TestGame::new(Game::new());
    let bld = builder(&mut t, "Bld");
    assert!(t.cmd(bld, "tunnel").starts_with("Usage"));
    assert!(
        t.cmd(bld, "tunnel sideways")
            .contains("can only understand the following directions")
    );
    let dug = t.cmd(bld, "tunnel/tel n = Hall;h");
    assert!(dug.contains("Created room Hall"), "{dug}");
    assert!(dug.contains("Created Exit from Limbo"), "{dug}");
    let here = t.cmd(bld, "look");
    assert!(here.starts_with("Hall"), "{here}");
    assert!(here.contains("south"), "{here}");
    assert!(t.cmd(bld, "s").contains("Limbo"));
    assert!(t.cmd(bld, "tunnel/oneway up").contains("Some place"));
    let long = "x".repeat(81);
    assert!(
        t.cmd(bld, &format!("tunnel e = {long}"))
            .contains("at most 80")
    );
    assert!(t.cmd(bld, &format!("dig {long}")).contains("at most 80"));

    t.cmd(bld, "create/drop chest");
    t.cmd(bld, "set chest/gold = 12");
    t.cmd(bld, "set chest/lid = \"open\"");
    let copied = t.cmd(bld, "copy chest");
    assert!(copied.starts_with("Copied chest"), "{copied}");
    assert!(copied.contains("chest_copy"), "{copied}");
    assert!(t.cmd(bld, "examine chest_copy").contains("gold"));
    assert!(t.cmd(bld, "copy chest = trunk;tr").contains("trunk"));
    assert!(t.cmd(bld, "copy").starts_with("Usage"));

    assert!(t.cmd(bld, "cpattr chest/gold").starts_with("Usage"));
    assert!(
        t.cmd(bld, "cpattr chest/none = trunk")
            .contains("has no attribute 'none'")
    );
    let cp = t.cmd(bld, "cpattr chest/gold = trunk/coins, chest_copy");
    assert!(cp.contains("Copied chest"), "{cp}");
    assert!(cp.contains("trunk") && cp.contains(".coins"), "{cp}");
    let mv = t.cmd(bld, "mvattr chest/lid = trunk");
    assert!(mv.starts_with("Moved chest"), "{mv}");
    assert!(!t.cmd(bld, "examine chest").contains("lid"));
    assert!(t.cmd(bld, "examine trunk").contains("lid"));
    t.reload();
    assert!(t.cmd(bld, "examine trunk").contains("coins"));

    assert!(t.cmd(bld, "wipe").starts_with("Usage"));
    assert_eq!(
        t.cmd(bld, "wipe trunk/nothing"),
        format!(
            "{} has none of those attributes; nothing was wiped.",
            name_of(&t, "trunk")
        )
    );
    assert!(
        t.cmd(bld, "wipe trunk/coins")
            .contains("Wiped attributes coins")
    );
    assert!(t.cmd(bld, "wipe trunk").contains("yes/[no]"));
    assert_eq!(t.cmd(bld, "no"), "Nothing was wiped.");
    assert!(t.cmd(bld, "examine trunk").contains("lid"));
    t.cmd(bld, "wipe trunk");
    assert!(t.cmd(bld, "yes").contains("Wiped all attributes"));
    assert!(!t.cmd(bld, "examine trunk").contains("lid"));
}

fn name_of(t: &TestGame, key: &str) -> String {
    let w = &t.server().world;
    let id = w.named(key)[0];
    w.get(id).unwrap().display_with_id()
}

#[test]
fn find_and_objects_use_the_indexes() {
    let mut t = TestGame::new(Game::new());
    let bld = builder(&mut t, "Bld");
    for n in ["red apple", "green apple", "applesauce", "pear"] {
        t.cmd(bld, &format!("create/drop {n}"));
    }
    let found = t.cmd(bld, "find apple");
    assert!(found.starts_with("3 matches:"), "{found}");
    assert!(found.contains("red apple") && found.contains("applesauce"));
    assert!(!found.contains("pear"));
    assert!(t.cmd(bld, "find/exact apple").contains("No matches found"));
    assert!(t.cmd(bld, "find/room apple").contains("No matches"));
    let with_loc = t.cmd(bld, "find/loc pear");
    assert!(with_loc.contains("Limbo(#"), "{with_loc}");
    let id = t.server().world.named("pear")[0];
    assert!(t.cmd(bld, &format!("find #{id}")).contains("pear"));
    assert!(
        t.cmd(bld, &format!("find apple = {}-{}", id, id + 10))
            .contains("No matches")
    );
    assert!(t.cmd(bld, "find apple = x-y").contains("The range is"));
    assert!(t.cmd(bld, "find *Bld").contains("Bld"));
    assert!(t.cmd(bld, "find").starts_with("Usage"));
    let stats = t.cmd(bld, "objects 3");
    assert!(stats.contains("Objects in the game:"), "{stats}");
    assert!(stats.contains("thing") && stats.contains("room"), "{stats}");
    assert!(stats.contains("pear"), "the newest are listed: {stats}");
    assert!(t.cmd(bld, "objects lots").starts_with("Usage"));
}

#[test]
fn tag_search_names_fifty_and_counts_the_rest() {
    let mut t = TestGame::new(Game::new());
    let bld = builder(&mut t, "Bld");
    for n in 0..60 {
        t.cmd(bld, &format!("create/drop pebble{n}"));
        t.cmd(bld, &format!("tag pebble{n} = heap:piles"));
    }
    let found = t.cmd(bld, "tag/search heap:piles");
    assert!(
        found.starts_with("Found 60 object(s) with tag 'heap:piles': "),
        "{found}"
    );
    assert!(found.ends_with(", and 10 more"), "{found}");
    assert_eq!(found.matches("pebble").count(), 50, "{found}");
    let few = t.cmd(bld, "tag/search nothing-has-this");
    assert_eq!(few, "No objects found with tag 'nothing-has-this'.");
}

#[test]
fn emit_force_wall_userpassword_and_accounts_respect_ranks() {
    let mut t = TestGame::new(Game::new());
    let bld = builder(&mut t, "Bld");
    let pat = t.player("Pat");
    let adm = t.player("Adm");
    t.grant(adm, "Admin");
    t.heard(pat);
    assert!(t.cmd(pat, "emit hi").contains("not available"));
    let limbo = t.server().world.start_room;
    assert_eq!(
        t.cmd(bld, "emit The lights flicker."),
        format!("The lights flicker.\nEmitted to Limbo(#{limbo}).")
    );
    assert_eq!(t.heard(pat), "The lights flicker.");
    assert!(t.cmd(bld, "emit").starts_with("Usage"));
    assert!(t.cmd(bld, "remit hi").starts_with("Usage"));
    assert!(t.cmd(bld, "pemit here = hi").contains("is not a character"));
    assert!(t.cmd(bld, "pemit pat = psst").starts_with("Emitted to Pat"));
    assert_eq!(t.heard(pat), "psst");

    assert!(
        t.cmd(bld, "force pat = say hi")
            .contains("You don't have permission")
    );
    assert!(
        t.cmd(adm, "force bld = say I was forced")
            .starts_with("You have forced Bld")
    );
    assert!(t.heard(pat).contains("Bld says, \"I was forced\""));
    assert!(t.cmd(bld, "force adm = say no").contains("permission"));
    assert!(t.cmd(adm, "force pat =").contains("Nothing was done"));

    assert!(t.cmd(bld, "wall hi").contains("not available"));
    t.cmd(adm, "wall Reboot soon |/SYSTEM: fake");
    let heard = t.heard(pat);
    assert_eq!(heard, "Adm shouts \"Reboot soon  SYSTEM: fake\"");

    assert!(t.cmd(adm, "userpassword pat = x").contains("at least"));
    assert!(
        t.cmd(adm, "userpassword nobody = longenough")
            .contains("Could not find")
    );
    assert_eq!(
        t.cmd(adm, "userpassword pat = newsecret1"),
        "Pat - new password set."
    );
    assert_eq!(t.heard(pat), "Adm has changed your password.");
    let root = t.player("Root");
    t.with_server(|s| {
        let a = s.world.account_named("Root").unwrap();
        s.world.update_account(a, |a| a.is_superuser = true);
    });
    let _ = root;
    assert!(
        t.cmd(adm, "userpassword root = hijacked1")
            .contains("outrank")
    );
    let list = t.cmd(adm, "accounts");
    assert!(list.contains("Accounts: 4 in all"), "{list}");
    assert!(list.contains("Pat") && list.contains("yes"), "{list}");
    assert!(t.cmd(adm, "accounts 0").starts_with("Usage"));
}

#[test]
fn bans_keep_names_and_addresses_out_and_are_saved() {
    let mut t = TestGame::new(Game::new());
    let dev = t.player("Dev");
    t.grant(dev, "Developer");
    let adm = t.player("Adm");
    t.grant(adm, "Admin");
    assert!(t.cmd(adm, "ban troll").contains("not available"));
    assert_eq!(t.cmd(dev, "ban"), "No one is banned.");
    assert!(t.cmd(dev, "ban dev").contains("cannot ban yourself"));
    assert!(t.cmd(dev, "ban *").contains("would ban everyone"));
    assert!(t.cmd(dev, "ban two words").starts_with("Usage"));
    assert!(t.cmd(dev, "ban Troll : spamming").contains("[Y]/N"));
    assert_eq!(t.cmd(dev, "n"), "Nothing was banned.");
    t.cmd(dev, "ban Troll : spamming");
    assert!(t.cmd(dev, "y").starts_with("Ban #1 added"));
    t.reload();
    assert!(t.cmd(dev, "ban").contains("troll"), "the ban was saved");
    let troll = t.connect();
    assert_eq!(
        t.cmd(troll, "create Troll secret123"),
        "You have been banned and cannot continue from here. Reason: spamming"
    );
    // Lifted, the name is free again.
    assert!(t.cmd(dev, "unban 1").contains("Lift ban #1"));
    assert_eq!(t.cmd(dev, "yes"), "Ban #1 (troll) lifted.");
    assert!(
        t.cmd(troll, "create Troll secret123")
            .contains("was created")
    );
    assert!(t.cmd(dev, "unban 9").contains("There is no ban #9"));
    assert!(t.cmd(dev, "unban x").starts_with("Usage"));
    // An address pattern turns new connections away.
    let ip = t.server().sessions.get(troll).unwrap().ip().to_string();
    let pattern = format!("{}*", &ip[..ip.len() - 1]);
    t.cmd(dev, &format!("ban {pattern}"));
    t.cmd(dev, "y");
    let again = t.connect();
    assert_eq!(
        t.disconnected(again),
        Some(Some("You have been banned and cannot continue from here."))
    );
}

const PROTOS: &str = r#"
[[prototype]]
prototype_key = "monster"
prototype_desc = "Anything with teeth"
prototype_tags = ["mobs"]
desc = "Something with teeth."
attrs = { hostile = true }

[[prototype]]
prototype_key = "goblin"
prototype_parent = "monster"
prototype_tags = ["mobs"]
key = "goblin"
aliases = ["gob"]
attrs = { hp = "$randint(3, 7)", colour = "$choice(green, grey)" }
tags = ["goblinoid:race"]

[[prototype]]
prototype_key = "loop_a"
prototype_parent = "loop_b"

[[prototype]]
prototype_key = "loop_b"
prototype_parent = "loop_a"
"#;

#[test]
fn spawn_makes_objects_from_files_code_and_saved_prototypes() {
    let dir = std::env::temp_dir().join(format!("tavern-protos-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mobs.toml"), PROTOS).unwrap();
    std::fs::write(dir.join("broken.toml"), "[[prototype]]\nkey = 3").unwrap();
    let code = tavern_server::model::prototypes::Prototype::parse_one(
        r#"{ prototype_key = "lamp", key = "brass lamp", prototype_locks = "spawn:perm(Admin)" }"#,
    )
    .unwrap();
    let d = dir.clone();
    let mut t = TestGame::with_settings(Game::new().prototype(code), move |s| {
        s.game.prototypes_dir = d;
    });
    let bld = builder(&mut t, "Bld");
    assert!(t.cmd(bld, "spawn").starts_with("Usage"));
    let list = t.cmd(bld, "spawn/list");
    assert!(
        list.contains("goblin") && list.contains("mobs.toml"),
        "{list}"
    );
    assert!(
        !list.contains("lamp"),
        "a Builder may not spawn the lamp: {list}"
    );
    assert!(t.cmd(bld, "spawn/list mobs").contains("monster"));
    let made = t.cmd(bld, "spawn goblin");
    assert!(made.starts_with("Spawned goblin(#"), "{made}");
    let gob = t.server().world.named("goblin")[0];
    let o = t.server().world.get(gob).unwrap().clone();
    let hp: i64 = o.attr("hp").unwrap();
    assert!((3..=7).contains(&hp), "{hp}");
    assert!(["green", "grey"].contains(&o.attr::<String>("colour").unwrap().as_str()));
    assert_eq!(o.attr::<bool>("hostile"), Some(true), "inherited");
    assert_eq!(o.desc, "Something with teeth.");
    assert!(o.has_tag("goblinoid", Some("race")) && o.has_tag("goblin", Some("from_prototype")));
    assert!(t.cmd(bld, "spawn/show goblin").contains("inherits monster"));
    assert!(
        t.cmd(bld, "spawn loop_a")
            .contains("makes a cycle (loop_a -> loop_b -> loop_a)")
    );
    assert!(
        t.cmd(bld, "spawn nosuch")
            .contains("there is no prototype 'nosuch'")
    );
    assert!(
        t.cmd(bld, "spawn lamp")
            .contains("You may not spawn 'lamp'")
    );
    // Written in place, and saved.
    assert!(
        t.cmd(bld, r#"spawn { prototype_key = "pebble", key = "pebble" }"#)
            .starts_with("Spawned pebble")
    );
    assert!(
        t.cmd(
            bld,
            r#"spawn/save { prototype_key = "rock", prototype_parent = "nothing" }"#
        )
        .contains("'nothing' does not exist")
    );
    assert!(
        t.cmd(
            bld,
            r#"spawn/save { prototype_key = "rock", typeclass = "nosuch" }"#
        )
        .contains("typeclass 'nosuch' does not exist")
    );
    assert!(
        t.cmd(
            bld,
            r#"spawn/save { prototype_key = "rock", home = "here" }"#
        )
        .contains("home must be an object's #id")
    );
    assert!(
        t.cmd(bld, r#"spawn/save { prototype_key = "goblin" }"#)
            .contains("defined in the game's mobs.toml")
    );
    assert_eq!(
        t.cmd(bld, r#"spawn/save { prototype_key = "rock", prototype_parent = "monster", key = "rock", desc = "Grey." }"#),
        "Prototype 'rock' saved."
    );
    t.reload();
    let rock = t.cmd(bld, "spawn/noloc rock");
    assert!(rock.starts_with("Spawned rock"), "{rock}");
    assert!(t.cmd(bld, "inventory").contains("rock"));
    // Update: the objects nobody changed by hand take the new prototype.
    t.cmd(bld, "spawn rock");
    let rocks: Vec<_> = t.server().world.named("rock").to_vec();
    assert_eq!(rocks.len(), 2);
    t.cmd(bld, &format!("desc #{} = Carved by hand.", rocks[0]));
    t.cmd(bld, r#"spawn/save { prototype_key = "rock", prototype_parent = "monster", key = "rock", desc = "Granite." }"#);
    assert_eq!(t.cmd(bld, "y"), "Prototype 'rock' saved.");
    assert!(t.cmd(bld, "spawn/update rock").contains("2 object(s)"));
    let done = t.cmd(bld, "yes");
    assert!(
        done.starts_with("1 object(s) were updated. Skipped, changed by hand since: rock(#"),
        "{done}"
    );
    assert_eq!(t.server().world.get(rocks[1]).unwrap().desc, "Granite.");
    assert_eq!(
        t.server().world.get(rocks[0]).unwrap().desc,
        "Carved by hand."
    );
    // Deleting: only what builders saved.
    assert!(
        t.cmd(bld, "spawn/delete goblin")
            .contains("cannot be deleted here")
    );
    t.cmd(bld, "spawn/delete rock");
    assert_eq!(t.cmd(bld, "yes"), "Prototype 'rock' deleted.");
    t.reload();
    assert!(
        t.cmd(bld, "spawn rock")
            .contains("there is no prototype 'rock'")
    );
    assert!(t.cmd(bld, "spawn/bogus rock").contains("unknown switch"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_batch_file_builds_a_zone_stops_at_the_first_refusal_and_can_be_stepped_through() {
    let dir = std::env::temp_dir().join(format!("tavern-batchdir-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("zones")).unwrap();
    std::fs::write(
        dir.join("zones/cave.ev"),
        "# The cave zone\n\
         tunnel/tel down = Cave;cv\n\
         #\n\
         desc here =\n  Dark and damp.\n\n  Water drips.\n\
         # a thing\n\
         create/drop stalagmite\n\
         #\n\
         up\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("broken.ev"),
        "create/drop first\n#\nname nosuchthing = x\n#\ncreate/drop never\n",
    )
    .unwrap();
    let d = dir.clone();
    let mut t = TestGame::with_settings(Game::new(), move |s| s.game.batch_dir = d);
    let dev = t.player("Dev");
    t.grant(dev, "Developer");
    let bld = builder(&mut t, "Bld");
    assert!(
        t.cmd(bld, "batchcommands zones/cave")
            .contains("not available")
    );
    assert!(t.cmd(dev, "batchcommands").starts_with("Usage"));
    assert!(
        t.cmd(dev, "batchcommands ../etc/passwd")
            .contains("is not a batch file")
    );
    assert!(
        t.cmd(dev, "batchcommands /etc/passwd")
            .contains("is not a batch file")
    );
    let out = t.cmd(dev, "batchcommands zones/cave");
    assert!(
        out.contains("Batch 'zones/cave' done: 4 commands ran."),
        "{out}"
    );
    assert!(
        t.cmd(dev, "look").starts_with("Limbo"),
        "the last command took Dev back up"
    );
    let cave = t.cmd(dev, "look down");
    assert!(cave.contains("Cave") || cave.contains("down"), "{cave}");
    let cave_id = t.server().world.named("Cave")[0];
    assert_eq!(
        t.server().world.get(cave_id).unwrap().desc,
        "Dark and damp.|/Water drips."
    );
    let seen = t.cmd(dev, "down");
    assert!(seen.contains("Dark and damp.\nWater drips."), "{seen}");
    t.cmd(dev, "up");
    t.reload();
    assert!(
        !t.server().world.named("stalagmite").is_empty(),
        "what the batch made was saved"
    );

    let out = t.cmd(dev, "batchcommands broken");
    assert!(
        out.contains(
            "stopped at broken line 3: 'name nosuchthing = x' was refused. 1 of 3 commands ran"
        ),
        "{out}"
    );
    assert!(t.server().world.named("never").is_empty());

    // Stepping through.
    let first = t.cmd(dev, "batchcommands/interactive broken");
    assert!(
        first.contains("broken:1 (1/3) create/drop first"),
        "{first}"
    );
    assert!(t.cmd(dev, "n").contains("(2/3) name nosuchthing = x"));
    assert!(t.cmd(dev, "n").contains("That was refused (line 3)"));
    assert!(
        t.cmd(dev, "look").contains("Limbo"),
        "other commands work meanwhile"
    );
    assert!(t.cmd(dev, "s").contains("(3/3) create/drop never"));
    assert!(t.cmd(dev, "b").contains("(2/3)"));
    t.reload();
    assert!(
        t.cmd(dev, "q")
            .contains("Stopped stepping through 'broken' at command 2")
    );
    assert!(
        t.cmd(dev, "n").contains("not available"),
        "no batch is open"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cmdsets_and_about_tell_what_is_merged_and_what_runs() {
    let mut t = TestGame::new(Game::new());
    let bld = builder(&mut t, "Bld");
    let pat = t.player("Pat");
    let sets = t.cmd(bld, "cmdsets");
    assert!(
        sets.contains("DefaultCharacter") && sets.contains("DefaultAccount"),
        "{sets}"
    );
    assert!(sets.contains("The merge gives you"), "{sets}");
    assert!(t.cmd(pat, "cmdsets").contains("not available"));
    assert!(t.cmd(bld, "cmdsets foo").starts_with("Usage"));
    let about = t.cmd(pat, "about");
    assert!(about.contains("runs on Tavern"), "{about}");
}

#[test]
fn an_account_is_deleted_with_its_characters_after_asking_and_only_by_a_developer() {
    let mut t = TestGame::new(Game::new());
    let dev = t.player("Dev");
    t.grant(dev, "Developer");
    let adm = t.player("Adm");
    t.grant(adm, "Admin");
    let pat = t.player("Pat");
    t.cmd(pat, "pub hello");
    assert!(
        t.cmd(adm, "accounts/delete pat")
            .contains("Only Developers")
    );
    assert!(t.cmd(dev, "accounts/delete").starts_with("Usage"));
    assert!(
        t.cmd(dev, "accounts/delete dev")
            .contains("cannot delete your own")
    );
    assert!(
        t.cmd(dev, "accounts/delete nobody")
            .contains("Could not find")
    );
    assert!(t.cmd(dev, "accounts/delete pat").contains("yes/[no]"));
    assert_eq!(t.cmd(dev, "no"), "Nothing was deleted.");
    t.cmd(dev, "accounts/delete pat");
    assert!(
        t.cmd(dev, "yes")
            .ends_with("Account Pat deleted (and Pat).")
    );
    assert_eq!(
        t.disconnected(pat),
        Some(Some("Your account has been deleted."))
    );
    t.reload();
    assert!(
        t.server().world.account_named("Pat").is_none(),
        "gone from the database"
    );
    assert!(
        t.server().world.named("Pat").is_empty(),
        "its character too"
    );
    // The name is free again.
    let again = t.connect();
    assert!(
        t.cmd(again, "create Pat newsecret1")
            .contains("was created")
    );
}

#[test]
fn worldexport_writes_the_world_file_from_the_running_game() {
    let mut t = TestGame::new(Game::new());
    let dev = t.player("Dev");
    t.grant(dev, "Developer");
    let adm = t.player("Adm");
    t.grant(adm, "Admin");
    assert!(t.cmd(adm, "worldexport").contains("not available"));
    assert!(
        t.cmd(dev, "worldexport ../x")
            .contains("Nothing was written")
    );
    t.cmd(dev, "create/drop lantern");
    let out = t.cmd(dev, "worldexport backup_1");
    assert!(out.contains("Exported exports/backup_1.jsonl"), "{out}");
    let path = t
        .server()
        .settings
        .game
        .data_dir
        .join("exports/backup_1.jsonl");
    let text = std::fs::read_to_string(&path).expect("the file");
    assert!(text.contains("\"passwords\":false"), "{text}");
    assert!(text.contains("\"key\":\"lantern\""));
    assert!(!text.contains("$argon2"));
    // An export is never written over.
    t.cmd(dev, "create/drop ladle");
    let again = t.cmd(dev, "worldexport backup_1");
    assert!(again.contains("already exists"), "{again}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

/// A world as a builder would write it, run by the game itself at its
/// first start.
const HALL: &str = "\
# A hall off the start room, with a gong in it.
dig/teleport Great Hall = hall;h, out;o
#
tag here = hall:world_id
#
desc here = Banners, and a long table.
#
create/drop brass gong;gong
";

#[test]
fn a_first_start_batch_builds_the_world_once_as_the_game_s_own_builder() {
    let mut t = TestGame::new(Game::new().first_start_batch("hall.ev", HALL));
    let pat = t.player("Pat");
    let there = t.cmd(pat, "hall");
    assert!(
        there.contains("Great Hall") && there.contains("Banners, and a long table."),
        "{there}"
    );
    assert!(t.cmd(pat, "look").contains("brass gong"));
    let count = |t: &mut TestGame| {
        t.with_server(|s| {
            assert!(
                s.world.objects().all(|o| o.key != "Builder"),
                "the builder is gone after the run"
            );
            assert_eq!(
                s.world.tagged("hall", Some("world_id")).len(),
                1,
                "the batch may set world ids"
            );
            s.world.objects().filter(|o| o.key == "Great Hall").count()
        })
    };
    assert_eq!(count(&mut t), 1);
    // Once: not after a reload, nor a cold restart.
    t.reload();
    assert_eq!(count(&mut t), 1);
    t.reset();
    assert_eq!(count(&mut t), 1);
    // Builders still cannot forge a world id.
    t.grant(pat, "Builder");
    let forged = t.cmd(pat, "tag here = yard:world_id");
    assert!(forged.contains("not added or removed with tag"), "{forged}");
}

#[test]
fn a_first_start_batch_that_is_refused_stops_there_and_is_not_run_again() {
    let batch = "dig Yard = yard\n#\ndestroy the-moon\n#\ndig Never = never\n";
    let mut t = TestGame::new(Game::new().first_start_batch("bad.ev", batch));
    let rooms = |t: &mut TestGame, name: &str| {
        t.with_server(|s| s.world.objects().filter(|o| o.key == name).count())
    };
    assert_eq!(rooms(&mut t, "Yard"), 1);
    assert_eq!(rooms(&mut t, "Never"), 0, "it stopped at the refusal");
    t.reset();
    assert_eq!(rooms(&mut t, "Yard"), 1, "and is not run again");
}

#[test]
fn worldimport_merges_an_export_back_into_the_game_through_a_reload() {
    let mut t = TestGame::new(Game::new());
    let root = t.player("Root");
    let account = t.server().sessions.get(root).and_then(|s| s.account());
    t.with_server(|s| {
        s.world
            .update_account(account.unwrap(), |a| a.is_superuser = true)
    });
    let dev = t.player("Dev");
    t.grant(dev, "Developer");
    assert!(t.cmd(dev, "worldimport anything").contains("not available"));
    t.cmd(root, "create/drop quill");
    assert!(t.cmd(root, "worldexport before").contains("Exported"));
    t.cmd(root, "name quill = feather");
    t.cmd(root, "create/drop inkpot");

    let bare = t.cmd(root, "worldimport");
    assert!(
        bare.contains("Usage: worldimport")
            && bare.contains("No world file was merged in game yet."),
        "{bare}"
    );
    for (line, says) in [
        ("worldimport ../etc/passwd", "A name is letters"),
        ("worldimport nothere", "There is no exports/nothere.jsonl"),
        ("worldimport/bogus before", "bogus"),
    ] {
        let out = t.cmd(root, line);
        assert!(out.contains(says), "{line}: {out}");
    }
    let dry = t.cmd(root, "worldimport/dryrun before");
    assert!(
        dry.contains("would merge") && dry.contains("replaced") && !dry.contains("yes/[no]"),
        "{dry}"
    );
    assert!(
        t.cmd(root, "look").contains("feather"),
        "a dry run changes nothing"
    );
    assert!(t.cmd(root, "worldimport before").contains("yes/[no]"));
    assert_eq!(t.cmd(root, "no"), "Nothing was merged.");
    assert!(t.cmd(root, "worldimport before.jsonl").contains("yes/[no]"));
    assert!(t.cmd(root, "yes").contains("Reloading to merge it"));
    // The portal reloads the server; the new one merges, then loads.
    t.reload();
    let here = t.cmd(root, "look");
    assert!(
        here.contains("quill") && here.contains("inkpot") && !here.contains("feather"),
        "the file's rows replaced the game's, and what it lacks stays: {here}"
    );
    let last = t.cmd(root, "worldimport");
    assert!(
        last.contains("before.jsonl merged (asked by Root)"),
        "{last}"
    );
    // Not again at the next start.
    t.cmd(root, "name quill = plume");
    t.reload();
    assert!(t.cmd(root, "look").contains("plume"));
}
