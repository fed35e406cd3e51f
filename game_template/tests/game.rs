//! The game played in process: real commands, real hooks, a real SQLite file,
//! no sockets. `cargo test` runs these in a second or two.

use tavern_server::SessId;
use tavern_server::testing::TestGame;

#[test]
fn a_note_is_kept_with_the_connection_through_a_reload() {
    let mut t = TestGame::new(game::game());
    let anna = t.player("Anna");
    assert_eq!(t.cmd(anna, "note"), "You have no note.");
    assert_eq!(t.cmd(anna, "note buy rope"), "Noted: buy rope");
    t.reload();
    assert_eq!(t.cmd(anna, "note"), "Your note: buy rope");
}

#[test]
fn the_barkeep_greets_arrivals_and_the_bell_counts_its_rings() {
    let mut t = TestGame::new(game::game());
    let anna = t.player("Anna");
    let bert = t.player("Bert");
    let arrived = t.cmd(anna, "tavern");
    assert!(arrived.contains("The Common Room"), "{arrived}");
    assert!(
        arrived.contains("The barkeep nods at you. \"Welcome, Anna.\""),
        "{arrived}"
    );
    t.cmd(bert, "tavern");
    assert!(t.heard(anna).contains("Bert arrives"));

    assert_eq!(
        t.cmd(anna, "ring"),
        "You ring the bell. It has rung 1 time(s)."
    );
    assert_eq!(t.heard(bert), "Anna rings the bell: DING!");
    assert!(t.cmd(anna, "get bell").contains("You can't get that."));

    // The count is an attribute in the database: it survives a reload.
    t.reload();
    assert_eq!(
        t.cmd(bert, "ring"),
        "You ring the bell. It has rung 2 time(s)."
    );
}

#[test]
fn resting_heals_with_one_vitals_update_for_the_health_bar() {
    let mut t = TestGame::new(game::game());
    let anna = t.player("Anna");
    t.enable_oob(anna);
    let first = t.oob(anna);
    let vitals = |oob: &[(String, serde_json::Value)]| -> Vec<serde_json::Value> {
        oob.iter()
            .filter(|(name, _)| name == "gmcp:Char.Vitals")
            .map(|(_, v)| v.clone())
            .collect()
    };
    assert_eq!(
        vitals(&first)[0]["hp"],
        20,
        "a new adventurer is unhurt: {first:?}"
    );

    let me = t.puppet(anna).unwrap();
    t.with_server(|s| s.world.update(me, |o| o.set_attr("hp", 5)));
    t.oob(anna);
    assert_eq!(
        t.cmd(anna, "rest"),
        "You rest a while and recover 15 hit point(s)."
    );
    let sent = vitals(&t.oob(anna));
    assert_eq!(sent.len(), 1, "fifteen changes, one update: {sent:?}");
    assert_eq!(sent[0]["hp"], 20);
    assert_eq!(t.cmd(anna, "rest"), "You are not hurt.");
    assert!(vitals(&t.oob(anna)).is_empty());
}

#[test]
fn the_bell_feed_follows_the_rings_of_the_bell_in_the_room() {
    let mut t = TestGame::new(game::game());
    let anna = t.player("Anna");
    t.enable_oob(anna);
    let bell = |oob: Vec<(String, serde_json::Value)>| -> Vec<serde_json::Value> {
        oob.into_iter()
            .filter(|(name, _)| name == "gmcp:Tavern.Bell")
            .map(|(_, v)| v)
            .collect()
    };
    assert!(bell(t.oob(anna)).is_empty(), "no bell in Limbo");
    t.cmd(anna, "tavern");
    assert_eq!(bell(t.oob(anna)), vec![serde_json::json!({"rings": 0})]);
    t.cmd(anna, "ring");
    assert_eq!(bell(t.oob(anna)), vec![serde_json::json!({"rings": 1})]);
}

#[test]
fn a_signal_reaches_every_window_of_the_account_and_no_one_else() {
    let mut t = TestGame::with_settings(game::game(), |s| s.server.multisession_mode = 1);
    let laptop = t.player("Anna");
    let phone = t.connect();
    t.login(phone, "Anna");
    let bert = t.player("Bert");
    t.heard(laptop);
    t.heard(phone);
    t.heard(bert);
    assert_eq!(
        t.cmd(phone, "signal back in five"),
        "[signal from Anna-2] back in five"
    );
    assert_eq!(t.heard(laptop), "[signal from Anna-2] back in five");
    assert_eq!(t.heard(bert), "");
    // Game handlers are code: they are there after a reload.
    t.reload();
    t.heard(phone);
    t.cmd(laptop, "signal still here");
    assert_eq!(t.heard(phone), "[signal from Anna] still here");
}

#[test]
fn the_tutorial_walks_a_newcomer_to_the_tavern_once() {
    use std::time::Duration;
    let mut t = TestGame::with_settings(game::game(), |s| s.game.name = "Hearth".into());
    let anna = t.connect();
    t.cmd(
        anna,
        &format!("create Anna {}", tavern_server::testing::TEST_PASSWORD),
    );
    let greeting = t.login(anna, "Anna");
    assert!(
        greeting.contains("Welcome to Hearth, Anna!"),
        "the game's own name: {greeting}"
    );
    assert!(greeting.contains("type look"), "{greeting}");
    let out = t.cmd(anna, "look");
    assert!(out.ends_with("Walk there."), "{out}");
    t.advance(Duration::from_secs(20));
    assert_eq!(
        t.heard(anna),
        "(Tip: help lists every command you can use.)"
    );
    t.reload();
    t.heard(anna);
    // The reminder comes a minute after the walk began, reload or not.
    t.advance(Duration::from_secs(39));
    assert_eq!(t.heard(anna), "");
    t.advance(Duration::from_secs(1));
    assert_eq!(
        t.heard(anna),
        "Still here? Type tavern to walk to the Common Room."
    );
    // At most three reminders, then quiet.
    for _ in 0..5 {
        t.advance(Duration::from_secs(60));
    }
    let nagged = t.heard(anna);
    assert_eq!(nagged.matches("Still here?").count(), 2, "{nagged}");
    let arrived = t.cmd(anna, "tavern");
    assert!(arrived.contains("You made it."), "{arrived}");
    assert!(!arrived.contains("Welcome to"), "{arrived}");
    // Done for good: logging in again does not start it over.
    let later = t.connect();
    t.login(later, "Anna");
    assert!(!t.heard(later).contains("Welcome to"));
    assert!(
        !t.server()
            .world
            .flows
            .keys()
            .any(|k| k.starts_with("tutorial"))
    );
}

#[test]
fn the_tutorial_leaves_alone_who_walked_off_and_who_is_there_already() {
    use std::time::Duration;
    let mut t = TestGame::new(game::game());
    // Busy elsewhere (a builder who dug a room and went there): no nagging.
    let bld = t.player("Bld");
    t.grant(bld, "Builder");
    t.cmd(bld, "look");
    t.cmd(bld, "dig/teleport Workshop");
    for _ in 0..4 {
        t.advance(Duration::from_secs(60));
    }
    let heard = t.heard(bld);
    assert!(!heard.contains("Still here?"), "{heard}");
    // Already in the Common Room when the walk would begin: told so.
    let cleo = t.player("Cleo");
    t.with_server(|s| {
        let me = s.sessions.get(cleo).and_then(|x| x.puppet()).unwrap();
        let tavern = s.world.tagged("tavern", Some("world_id"))[0];
        s.world.move_to(me, Some(tavern));
    });
    let out = t.cmd(cleo, "look");
    assert!(out.contains("You are in the Common Room already"), "{out}");
    assert!(!out.contains("Walk there."), "{out}");
}

#[test]
fn the_barkeep_keeps_his_evening_going_in_the_common_room() {
    use std::time::Duration;
    let mut t = TestGame::new(game::game());
    let anna = t.player("Anna");
    t.cmd(anna, "tavern");
    t.heard(anna);
    t.advance(Duration::from_secs(90));
    assert_eq!(
        t.heard(anna),
        "The barkeep polishes a glass and holds it up to the light."
    );
    t.advance(Duration::from_secs(90));
    assert_eq!(
        t.heard(anna),
        "The barkeep throws another log on the fire. Sparks fly."
    );
}

#[test]
fn what_a_builder_destroys_stays_destroyed_and_world_ids_cannot_be_forged() {
    // The same, whether the world came from the batch file or from code
    // (which runs at every start, and must not build it again).
    for game in [game::game, game::game_built_from_code] {
        a_builder_destroys(game());
    }
}

fn a_builder_destroys(game: tavern_server::Game) {
    let mut t = TestGame::new(game);
    let bld = t.player("Bld");
    t.grant(bld, "Developer");
    t.cmd(bld, "tavern");
    // The world id cannot be taken off, added or removed by hand.
    let refused = "they are not added or removed with tag.";
    assert!(t.cmd(bld, "tag/del bell = bell:world_id").contains(refused));
    assert!(t.cmd(bld, "tag bell = cellar:world_id").contains(refused));
    assert!(
        t.cmd(bld, "tag/del bell = bell")
            .contains("has no tag 'bell'")
    );
    assert!(t.cmd(bld, "tag bell").contains("'bell:world_id'"));
    t.reload();
    let here = t.cmd(bld, "look");
    let seen = |look: &str| {
        look.lines()
            .find_map(|l| l.strip_prefix("You see: "))
            .map(|l| l.matches("brass bell").count())
            .unwrap_or(0)
    };
    assert_eq!(seen(&here), 1, "one bell: {here}");

    // Destroyed, it stays destroyed through reloads and cold starts.
    let said = t.cmd(bld, "destroy bell");
    assert!(said.contains("it stays destroyed"), "{said}");
    t.reload();
    assert_eq!(seen(&t.cmd(bld, "look")), 0);
    t.reset();
    assert_eq!(seen(&t.cmd(bld, "look")), 0);
    assert!(t.cmd(bld, "ring").contains("not available"));

    // A destroyed room takes its exits along, and the code makes none to it.
    t.cmd(bld, "destroy cellar");
    t.reload();
    assert!(t.cmd(bld, "down").contains("not available"));
    assert!(
        t.cmd(bld, "out").contains("Limbo"),
        "the rest of the world is kept"
    );
}

#[test]
fn adventurers_regenerate_on_a_ticker_and_the_health_bar_follows() {
    let mut t = TestGame::new(game::game());
    let anna = t.player("Anna");
    t.enable_oob(anna);
    let me = t.puppet(anna).unwrap();
    t.with_server(|s| s.world.update(me, |o| o.set_attr("hp", 5)));
    t.oob(anna);
    // The ticks fall on multiples of ten seconds: two of them in 20 s.
    t.advance(std::time::Duration::from_secs(10));
    t.advance(std::time::Duration::from_secs(10));
    let hp = t.server().world.get(me).unwrap().attr::<i64>("hp").unwrap();
    assert_eq!(hp, 7);
    let vitals: Vec<serde_json::Value> = t
        .oob(anna)
        .into_iter()
        .filter(|(n, _)| n == "gmcp:Char.Vitals")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(vitals.last().map(|v| v["hp"].clone()), Some(7.into()));
    // Through a reload the ticker goes on.
    t.reload();
    t.advance(std::time::Duration::from_secs(10));
    let hp = t.server().world.get(me).unwrap().attr::<i64>("hp").unwrap();
    assert_eq!(hp, 8);
}

#[test]
fn the_weather_changes_in_the_common_room_on_a_script() {
    let mut t = TestGame::new(game::game());
    let anna = t.player("Anna");
    t.cmd(anna, "tavern");
    t.heard(anna);
    t.advance(std::time::Duration::from_secs(300));
    let heard = t.heard(anna);
    assert_eq!(heard.matches("Rain begins").count(), 1, "{heard}");
    // One weather script, however often the world is built.
    t.reload();
    t.advance(std::time::Duration::from_secs(300));
    let heard = t.heard(anna);
    assert!(
        heard.contains("The rain stops; wind whistles under the door."),
        "{heard}"
    );
    assert_eq!(heard.matches("wind whistles").count(), 1, "{heard}");
    assert!(!heard.contains("Rain begins"), "{heard}");
}

#[test]
fn a_lit_torch_burns_out_on_time_even_across_a_reload() {
    let mut t = TestGame::new(game::game());
    let anna = t.player("Anna");
    t.cmd(anna, "tavern");
    t.cmd(anna, "down");
    assert!(t.cmd(anna, "light torch").contains("You light the torch"));
    assert_eq!(t.cmd(anna, "light torch"), "The torch is already burning.");
    t.advance(std::time::Duration::from_secs(300));
    t.reload_after(std::time::Duration::from_secs(200));
    assert!(!t.heard(anna).contains("goes out"), "not yet");
    t.advance(std::time::Duration::from_secs(100));
    assert_eq!(t.heard(anna), "The torch sputters and goes out.");
    assert!(t.cmd(anna, "light torch").contains("You light the torch"));
}

#[test]
fn character_creation_is_a_menu_that_survives_a_reload_and_happens_once() {
    let mut t = TestGame::new(game::game());
    let anna = t.player("Anna");
    t.heard(anna);
    let first = t.cmd(anna, "chargen");
    assert!(first.contains("Who were you"), "{first}");
    assert!(first.contains(" 1: soldier"), "{first}");
    // It must be finished: quit is not an option, and commands are not run.
    assert_eq!(t.cmd(anna, "quit"), "Choose an option or try 'help'.");
    assert!(t.cmd(anna, "2").contains("A scholar, then."));
    assert!(t.cmd(anna, "b").contains("Who were you"));
    t.cmd(anna, "1");
    t.reload();
    let again = t.heard(anna);
    assert_eq!(again.matches("A soldier, then.").count(), 1, "{again}");
    let done = t.cmd(anna, "1");
    assert!(
        done.contains("You are a soldier with a short sword."),
        "{done}"
    );
    let inv = t.cmd(anna, "inventory");
    assert!(inv.contains("short sword"), "{inv}");
    let sheet = t.cmd(anna, "sheet");
    assert!(sheet.contains("| Background | soldier"), "{sheet}");
    assert!(sheet.contains("| Health     | 20 / 25"), "{sheet}");
    assert_eq!(t.cmd(anna, "chargen"), "You are a soldier already.");
}

#[test]
fn the_barkeep_sells_from_a_menu_for_gold() {
    let mut t = TestGame::new(game::game());
    let anna = t.player("Anna");
    assert!(
        t.cmd(anna, "buy").contains("not available"),
        "only at the bar"
    );
    t.cmd(anna, "tavern");
    let wares = t.cmd(anna, "buy");
    assert!(wares.contains("You have 20 gold."), "{wares}");
    assert!(wares.contains("| 2 | bowl of stew  | 5 gold |"), "{wares}");
    let bought = t.cmd(anna, "2");
    assert!(
        bought.starts_with("You buy a bowl of stew for 5 gold."),
        "{bought}"
    );
    assert!(bought.contains("You have 15 gold."));
    for _ in 0..3 {
        t.cmd(anna, "2");
    }
    assert!(
        t.cmd(anna, "2")
            .contains("That's 5 gold, friend. You have 0.")
    );
    assert!(t.cmd(anna, "nonsense").contains("Choose an option"));
    assert_eq!(
        t.cmd(anna, "leave"),
        "The barkeep goes back to polishing glasses."
    );
    let inv = t.cmd(anna, "inventory");
    assert_eq!(inv.matches("bowl of stew").count(), 4, "{inv}");
    assert!(t.cmd(anna, "sheet").contains("| Gold       | 0"));
}

#[test]
fn players_describe_themselves_in_the_line_editor() {
    let mut t = TestGame::new(game::game());
    let anna = t.player("Anna");
    let bert = t.player("Bert");
    assert!(
        t.cmd(anna, "setdesc")
            .contains("Line editor: your description")
    );
    t.cmd(anna, "Tall, with ink on her fingers.");
    t.cmd(anna, "She hums when she reads.");
    assert_eq!(t.cmd(anna, ":wq"), "Saved. Exited the editor.");
    let seen = t.cmd(bert, "look anna");
    assert!(
        seen.contains("Tall, with ink on her fingers.\nShe hums when she reads."),
        "{seen}"
    );
}

#[test]
fn builders_spawn_the_template_s_prototypes() {
    let mut t = TestGame::new(game::game());
    let bld = t.player("Bld");
    t.grant(bld, "Builder");
    let list = t.cmd(bld, "spawn/list");
    assert!(list.contains("goblin") && list.contains("torch"), "{list}");
    assert!(t.cmd(bld, "spawn goblin").starts_with("Spawned goblin"));
    let gob = t.server().world.named("goblin")[0];
    let hp: i64 = t.server().world.get(gob).unwrap().attr("hp").unwrap();
    assert!((4..=9).contains(&hp));
    assert!(t.cmd(bld, "spawn/noloc torch").starts_with("Spawned torch"));
    assert!(
        t.cmd(bld, "light torch").contains("torch"),
        "a torch, as the template's Torch"
    );
}

/// What the world is, by world id: kind, typeclass, name, aliases, desc,
/// where it is and leads (by world id, or name), and its scripts.
fn world_by_id(t: &mut TestGame) -> std::collections::BTreeMap<String, String> {
    t.with_server(|s| {
        let name_of = |id: Option<tavern_server::ObjId>| {
            id.and_then(|id| s.world.get(id)).map(|o| {
                o.world_id()
                    .map(str::to_string)
                    .unwrap_or_else(|| o.key.clone())
            })
        };
        s.world
            .objects()
            .filter_map(|o| {
                let id = o.world_id()?.to_string();
                let what = format!(
                    "{:?} {} '{}' {:?} '{}' in {:?} to {:?} scripts {}",
                    o.kind,
                    o.typeclass,
                    o.key,
                    o.aliases,
                    o.desc,
                    name_of(o.location),
                    name_of(o.destination),
                    s.scripts_on(o.id).len()
                );
                Some((id, what))
            })
            .collect()
    })
}

#[test]
fn the_batch_file_and_the_code_build_the_same_world() {
    let mut from_batch = TestGame::new(game::game());
    let mut from_code = TestGame::new(game::game_built_from_code());
    let batch = world_by_id(&mut from_batch);
    for id in [
        "tavern",
        "cellar",
        "bell",
        "torch",
        "limbo-tavern",
        "tavern-limbo",
        "tavern-cellar",
        "cellar-tavern",
    ] {
        assert!(batch.contains_key(id), "{id}: {batch:#?}");
    }
    assert_eq!(batch, world_by_id(&mut from_code));
    // Nothing else was left behind by the batch's builder.
    let count = |t: &mut TestGame| t.with_server(|s| s.world.objects().count());
    assert_eq!(count(&mut from_batch), count(&mut from_code));
    // The barkeep's evening runs in both.
    for t in [&mut from_batch, &mut from_code] {
        assert!(t.with_server(|s| s.world.flows.contains_key("barkeep")));
    }
}

/// What `tavern account create` does: the account and an adventurer written
/// straight to the database, its creation hooks pending; the character's id.
fn made_by_the_launcher(t: &mut TestGame, name: &str, hash: String) -> i64 {
    use tavern_server::store;
    let db = t.server().db.clone();
    let room = t.server().world.start_room;
    t.block_on(async {
        let id = store::reserve_ids(&db, 1).await.unwrap();
        store::create_account(
            &db,
            name,
            hash,
            false,
            "Player",
            Some(store::NewCharacter {
                id,
                room,
                typeclass: "adventurer",
                hooks_pending: true,
            }),
        )
        .await
        .unwrap();
        id
    })
}

/// `tavern account create` writes the account and its character straight
/// to the database, running no game code: the game runs the character's
/// creation hooks when it first sees it (here: at the next start), once.
#[test]
fn a_character_the_launcher_made_gets_its_creation_hooks_once() {
    let mut t = TestGame::new(game::game());
    let character = made_by_the_launcher(&mut t, "Tess", "not-a-hash".into());
    t.reload();
    let hp = |t: &mut TestGame| {
        t.with_server(|s| {
            let o = s.world.get(character).expect("the character is loaded");
            assert!(o.attr::<bool>("_creation_hooks_pending").is_none());
            o.attr::<i64>("hp")
        })
    };
    assert_eq!(hp(&mut t), Some(20), "the adventurer's creation hook ran");
    t.with_server(|s| s.world.update(character, |o| o.set_attr("hp", 7)));
    t.reload();
    assert_eq!(hp(&mut t), Some(7), "and only once");
}

/// The same when the launcher's word that it made an account never reached
/// the game (the server was starting): the character is loaded when its
/// player logs in, its creation hooks run then, and a reload later does
/// not run them again over what the player did (found by a live test:
/// Anna's hit points went back to 20 after `tavern reload`).
#[test]
fn a_character_the_launcher_made_unheard_gets_its_hooks_at_login_not_at_the_next_reload() {
    let mut t = TestGame::new(game::game());
    let security = t.server().settings.security.clone();
    let hash = t
        .block_on(tavern_server::runtime::passwords::hash_password(
            &security,
            "tess-pass-1".into(),
        ))
        .unwrap();
    let character = made_by_the_launcher(&mut t, "Tess", hash);
    let tess = t.connect();
    let told = t.cmd(tess, "connect Tess tess-pass-1");
    assert!(told.contains("You become Tess"), "{told}");
    let hp = |t: &mut TestGame| {
        t.with_server(|s| {
            let o = s.world.get(character).expect("the character is loaded");
            assert!(o.attr::<bool>("_creation_hooks_pending").is_none());
            o.attr::<i64>("hp")
        })
    };
    assert_eq!(hp(&mut t), Some(20), "the creation hook ran at login");
    t.cmd(tess, "look");
    t.with_server(|s| s.world.update(character, |o| o.set_attr("hp", 7)));
    t.reload();
    assert_eq!(hp(&mut t), Some(7), "and not again at the reload");
}

/// `who` becomes a builder and drops a training dummy of `hp` hit points
/// where they stand, as a builder types it.
fn training_dummy(t: &mut TestGame, who: SessId, hp: i64) {
    t.grant(who, "Builder");
    t.cmd(who, "create/drop dummy");
    t.cmd(who, &format!("set dummy/hp = {hp}"));
    t.cmd(who, &format!("set dummy/maxhp = {hp}"));
}

#[test]
fn a_blow_changes_both_fighters_tells_the_room_and_keeps_one_guard() {
    use std::time::Duration;
    let mut t = TestGame::new(game::game());
    let anna = t.player("Anna");
    let bert = t.player("Bert");
    training_dummy(&mut t, anna, 5);
    t.heard(bert);

    let first = t.cmd(anna, "attack dummy");
    assert!(first.contains("You raise your guard."), "{first}");
    assert!(first.contains("You hit dummy for 1."), "{first}");
    assert!(
        first.contains("dummy has 4 of 5 hit points left."),
        "{first}"
    );
    assert_eq!(t.heard(bert), "Anna hits dummy for 1.");
    let second = t.cmd(anna, "hit dummy");
    assert!(second.contains("You hit dummy for 2."), "{second}");
    assert!(!second.contains("raise your guard"), "{second}");
    // Three more than the two left: down, and back up whole.
    let third = t.cmd(anna, "attack dummy");
    assert!(
        third.contains("You knock dummy down! Back up at once, whole again."),
        "{third}"
    );
    assert!(t.heard(bert).contains("Anna knocks dummy down!"));
    let dummy = t.server().world.named("dummy")[0];
    let me = t.puppet(anna).unwrap();
    assert_eq!(
        t.server().world.get(dummy).unwrap().attr::<i64>("hp"),
        Some(5)
    );
    assert_eq!(
        t.server().world.get(me).unwrap().attr::<i64>("blows"),
        Some(3)
    );

    // Another character can be fought, and hears it as the one hit. (Its
    // regeneration ticks on the wall clock: stopped, so that a tick
    // between the blow and the look cannot heal it.)
    let bert_body = t.puppet(bert).unwrap();
    assert!(t.with_server(|s| s.ticker_remove(
        game::timers::REGEN_EVERY,
        Some(bert_body),
        "regen"
    )));
    let hp_of = |t: &TestGame| t.server().world.get(bert_body).unwrap().attr::<i64>("hp");
    let hp = hp_of(&t).unwrap();
    t.cmd(anna, "attack Bert");
    assert_eq!(t.heard(bert), "Anna hits you for 4.");
    assert_eq!(hp_of(&t), Some(hp - 4));

    // Wrong and empty targets change nothing.
    assert_eq!(t.cmd(anna, "attack"), "Usage: attack <target>");
    assert_eq!(t.cmd(anna, "attack   "), "Usage: attack <target>");
    assert_eq!(t.cmd(anna, "attack me"), "You cannot attack yourself.");
    assert!(!t.cmd(anna, "attack nobody-here").contains("hit"));
    t.cmd(anna, "create/drop pebble");
    assert_eq!(t.cmd(anna, "attack pebble"), "pebble cannot be fought.");
    assert_eq!(
        t.server().world.get(me).unwrap().attr::<i64>("blows"),
        Some(4)
    );

    // However many blows, one guard: it drops ten seconds after the last.
    let delays = t.server().world.timers.delay_count();
    t.cmd(anna, "attack dummy");
    assert_eq!(t.server().world.timers.delay_count(), delays);
    t.advance(Duration::from_secs(9));
    assert!(!t.heard(anna).contains("lower your guard"));
    t.advance(Duration::from_secs(2));
    assert_eq!(t.heard(anna), "You lower your guard.");
    assert_eq!(t.server().world.timers.delay_count(), delays - 1);
    assert!(
        t.cmd(anna, "attack dummy")
            .contains("You raise your guard.")
    );
}

/// A guard lasts ten seconds from the last blow, however many came
/// before: each blow arms the same delay again, with its arguments.
#[test]
fn each_blow_puts_the_guard_down_ten_seconds_after_it() {
    use std::time::Duration;
    let mut t = TestGame::new(game::game());
    let anna = t.player("Anna");
    training_dummy(&mut t, anna, 500);
    let delays = t.server().world.timers.delay_count();
    assert!(
        t.cmd(anna, "attack dummy")
            .contains("You raise your guard.")
    );
    for _ in 0..3 {
        t.advance(Duration::from_secs(6));
        assert!(!t.cmd(anna, "attack dummy").contains("raise your guard"));
        assert_eq!(t.server().world.timers.delay_count(), delays + 1);
    }
    t.advance(Duration::from_secs(9));
    assert_eq!(t.heard(anna), "", "down before ten seconds");
    t.advance(Duration::from_secs(2));
    assert_eq!(t.heard(anna), "You lower your guard.");
    assert_eq!(t.server().world.timers.delay_count(), delays);
    // A delay that is gone cannot be armed again; a paused one can, and runs.
    let (ran, paused) = t.with_server(|s| {
        let id = s
            .delay(
                Duration::from_secs(1),
                "guard_down",
                serde_json::json!({"who": 0}),
                false,
            )
            .unwrap();
        s.delay_cancel(id);
        let ran = s.delay_rearm(id, Duration::from_secs(1));
        let me = s.world.named("Anna")[0];
        let paused = s
            .delay(
                Duration::from_secs(1),
                "guard_down",
                serde_json::json!({"who": me}),
                false,
            )
            .unwrap();
        s.delay_pause(paused);
        (ran, s.delay_rearm(paused, Duration::from_secs(3)))
    });
    assert!(!ran, "cancelled: nothing to arm");
    assert!(paused);
    t.advance(Duration::from_secs(2));
    assert_eq!(t.heard(anna), "");
    t.advance(Duration::from_secs(2));
    assert_eq!(t.heard(anna), "You lower your guard.", "with its arguments");
}

#[test]
fn in_a_world_without_the_common_room_the_tutorial_ends_after_look() {
    let mut t = TestGame::new(game::game());
    let dev = t.player("Dev");
    t.grant(dev, "Developer");
    let tavern = t.server().world.tagged("tavern", Some("world_id"))[0];
    let gone = t.cmd(dev, &format!("destroy #{tavern}"));
    assert!(gone.contains("destroyed"), "{gone}");
    let anna = t.player("Anna");
    let out = t.cmd(anna, "look");
    assert!(out.contains("Explore as you like"), "{out}");
    assert!(!out.contains("Walk there."), "{out}");
    let me = t.puppet(anna).unwrap();
    assert_eq!(
        t.server()
            .world
            .get(me)
            .unwrap()
            .attr::<bool>("tutorial_done"),
        Some(true)
    );
    assert!(
        !t.server()
            .world
            .flows
            .contains_key(&format!("tutorial-{me}")),
        "the flow ended instead of waiting for a room that is not there"
    );
}
