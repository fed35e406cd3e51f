//! What a newcomer from Evennia tripped over (issue 18), played through
//! `TestGame`: the real server on a real SQLite file, players typing.

use tavern_server::testing::TestGame;
use tavern_server::{Game, Kind, NewObject, Typeclass};

fn game_with_a_statue() -> TestGame {
    TestGame::new(Game::new().on_start(|server| {
        let limbo = server.world.start_room;
        server
            .ensure_object(
                "statue",
                NewObject::new(Kind::Thing, "statue")
                    .location(limbo)
                    .locks("get:false()"),
            )
            .expect("the statue");
    }))
}

#[test]
fn an_unknown_switch_changes_nothing_and_a_read_only_command_says_it_ignored_it() {
    let mut t = TestGame::new(Game::new());
    let bld = t.player("Bld");
    t.grant(bld, "Developer");
    assert_eq!(
        t.cmd(bld, "desc/all here = gone"),
        "desc: unknown switch /all. Its switches: /edit. Nothing was done."
    );
    assert!(!t.cmd(bld, "look").contains("gone"));
    assert_eq!(
        t.cmd(bld, "tag/dle here = x"),
        "tag: unknown switch /dle. Its switches: /del, /search. Nothing was done."
    );
    // A unique prefix stands for the switch.
    t.cmd(bld, "tag here = marked");
    assert!(t.cmd(bld, "tag/s marked").contains("Found 1 object(s)"));
    assert!(t.cmd(bld, "tag/d here = marked").contains("Removed tag"));
    // Read-only commands run, and say what they ignored.
    let look = t.cmd(bld, "look/fancy");
    assert!(
        look.starts_with("Extra switch \"/fancy\" ignored."),
        "{look}"
    );
    assert!(look.contains("Limbo"), "{look}");
    // The switch is shown as typed, never as markup.
    // (Shown plain here: markup would have lost its "|r".)
    let red = t.cmd(bld, "look/|rred");
    assert!(red.contains("\"/|rred\""), "{red}");
    assert_eq!(t.cmd(bld, "look |rred|n x"), "Could not find '|rred|n x'.");
    // Stopping the game asks first; a typo stops nothing.
    assert!(t.cmd(bld, "reload/help").contains("Nothing was done."));
    assert!(t.cmd(bld, "shutdown/hlep").contains("Its switches: /now."));
    assert!(t.cmd(bld, "shutdown").contains("Shut down yes/[no]?"));
    assert_eq!(t.cmd(bld, "n"), "Shutdown aborted.");
    assert!(t.cmd(bld, "look").contains("Limbo"), "still running");
}

#[test]
fn a_bare_or_partial_building_command_destroys_nothing() {
    let mut t = TestGame::new(Game::new());
    let bld = t.player("Bld");
    t.grant(bld, "Builder");
    t.cmd(bld, "desc A quiet grey place.");
    let usage = "Usage: desc [<obj> =] <description>, or desc/edit [<obj>]";
    assert_eq!(t.cmd(bld, "desc"), usage);
    assert_eq!(t.cmd(bld, "desc   "), usage);
    assert!(t.cmd(bld, "look").contains("A quiet grey place."));
    // `desc = text` describes the room; `desc obj =` clears, and says so.
    assert!(t.cmd(bld, "desc = Grey.").contains("set on Limbo"));
    t.cmd(bld, "create box");
    t.cmd(bld, "desc box = A box.");
    assert!(t.cmd(bld, "desc box =").contains("The description of box"));
    assert!(!t.cmd(bld, "look box").contains("A box."));
    for bare in [
        "destroy",
        "alias",
        "lock",
        "tag",
        "typeclass",
        "set",
        "teleport",
        "dig",
        "open",
        "create",
        "alias/delete",
        "lock/del",
        "tag/del",
        "destroy ,",
    ] {
        let said = t.cmd(bld, bare);
        assert!(
            said.starts_with("Usage") || said.contains("permission"),
            "{bare}: {said}"
        );
    }
    assert!(
        t.cmd(bld, "inventory").contains("box"),
        "nothing was destroyed"
    );
    // `alias box =` clears its aliases, as in Evennia.
    t.cmd(bld, "alias box = crate, chest");
    assert!(t.cmd(bld, "look crate").contains("box"));
    assert!(
        t.cmd(bld, "alias box =")
            .starts_with("Cleared aliases from box")
    );
    assert!(t.cmd(bld, "alias box").contains("No aliases exist"));
}

#[test]
fn quell_makes_a_superuser_play_by_the_rules_until_unquell() {
    let mut t = game_with_a_statue();
    let root = t.player("Root");
    t.with_server(|s| {
        let a = s.world.accounts.keys().copied().max().unwrap();
        s.world.update_account(a, |a| a.is_superuser = true);
    });
    assert!(t.cmd(root, "get statue").contains("You pick up statue"));
    t.cmd(root, "drop statue");
    let q = t.cmd(root, "quell");
    assert!(
        q.starts_with("Quelling to current puppet's permissions (Root)"),
        "{q}"
    );
    assert!(t.cmd(root, "quell").contains("Already quelling"));
    assert!(t.cmd(root, "get statue").contains("You can't get that."));
    assert!(
        t.cmd(root, "dig Hall").contains("not available"),
        "no Builder now"
    );
    // Kept across a reload.
    t.reload();
    assert!(t.cmd(root, "get statue").contains("You can't get that."));
    assert_eq!(
        t.cmd(root, "unquell"),
        "Account (superuser) permissions unquelled."
    );
    assert!(t.cmd(root, "get statue").contains("You pick up statue"));
    assert!(t.cmd(root, "unquell").contains("were not quelled"));
}

#[test]
fn quell_never_raises_an_account_above_its_own_level() {
    let mut t = TestGame::new(Game::new());
    let p = t.player("Pia");
    // The character holds Builder, the account only Player: quelled, the
    // character's permissions count only up to the account's.
    let me = t.puppet(p).unwrap();
    t.with_server(|s| {
        s.world.update(me, |o| o.permissions.push("Builder".into()));
    });
    assert!(
        t.cmd(p, "dig Hall").contains("Created room"),
        "unquelled: account + character"
    );
    t.cmd(p, "quell");
    assert!(t.cmd(p, "dig Attic").contains("not available"));
}

/// A character who may be sitting (and then refuses to walk, saying why),
/// or stuck (and refuses without a word).
struct Sitter;

impl Typeclass for Sitter {
    fn name(&self) -> &str {
        "sitter"
    }
    fn kind(&self) -> Kind {
        Kind::Character
    }
    fn at_pre_move(
        &self,
        server: &mut tavern_server::Server,
        obj: tavern_server::ObjId,
        _to: Option<tavern_server::ObjId>,
    ) -> bool {
        let o = server.world.get(obj).expect("the mover");
        let (sitting, stuck) = (o.attr::<bool>("sitting"), o.attr::<bool>("stuck"));
        if sitting == Some(true) {
            server.msg_obj(obj, "You have to stand up first.");
            return false;
        }
        stuck != Some(true)
    }
}

impl Sitter {
    fn stand(&self, server: &mut tavern_server::Server, obj: tavern_server::ObjId) -> bool {
        let mut was = false;
        server
            .world
            .update(obj, |o| was = o.del_attr("sitting").is_some());
        was
    }
}

#[test]
fn game_code_reaches_its_own_typeclass_and_a_refused_move_says_only_why() {
    let mut t = TestGame::new(Game::new().typeclass(Sitter).on_start(|server| {
        let limbo = server.world.start_room;
        let hall = server
            .ensure_object("hall", NewObject::new(Kind::Room, "Hall"))
            .unwrap();
        server
            .ensure_object(
                "to-hall",
                NewObject::new(Kind::Exit, "hall")
                    .location(limbo)
                    .destination(hall),
            )
            .unwrap();
    }));
    let p = t.player("Pia");
    let me = t.puppet(p).unwrap();
    t.with_server(|s| {
        s.world.update(me, |o| {
            o.typeclass = "sitter".into();
            o.set_attr("sitting", true);
        })
    });
    assert_eq!(t.cmd(p, "hall"), "You have to stand up first.");
    t.with_server(|s| s.world.update(me, |o| o.set_attr("stuck", true)));
    t.with_server(|s| {
        assert!(s.is_a(me, &Sitter));
        assert_eq!(s.objects_of(&Sitter), &[me]);
        assert_eq!(s.world.name_of(me), "Pia");
        assert_eq!(s.world.name_of(999_999), "");
        let found = tavern_server::world::Search::new(Some(me))
            .location()
            .typeclass(Sitter.name())
            .all(&s.world, "p");
        assert_eq!(found, vec![me], "only the sitter, by its typeclass");
        let sitter = s.typeclass_as::<Sitter>(me).expect("a Sitter");
        assert!(sitter.stand(s, me), "it was sitting");
        assert!(!sitter.stand(s, me), "the attribute is gone");
        assert!(s.typeclass_as::<Sitter>(s.world.start_room).is_none());
    });
    assert_eq!(
        t.cmd(p, "hall"),
        "You cannot go that way.",
        "a silent refusal"
    );
    t.with_server(|s| {
        s.world.update(me, |o| {
            o.del_attr("stuck");
        })
    });
    assert!(t.cmd(p, "hall").contains("Hall"));
}

#[test]
fn help_lists_a_category_and_shows_what_was_typed_as_typed() {
    let mut t = TestGame::new(Game::new());
    let bld = t.player("Bld");
    t.grant(bld, "Builder");
    let building = t.cmd(bld, "help building");
    assert!(building.starts_with("Help category Building"), "{building}");
    for cmd in ["dig", "desc", "tag", "destroy"] {
        assert!(
            building.contains(&format!("\n {cmd} ")),
            "{cmd}: {building}"
        );
    }
    assert!(!building.contains("  say  "), "only the category");
    // A command named like a category still wins.
    assert!(t.cmd(bld, "help dig").starts_with("Help for dig"));
    assert_eq!(t.cmd(bld, "help |rzz"), "No help found for '|rzz'.");
}

#[test]
fn option_sets_client_choices_for_the_session_and_saves_them_for_the_account() {
    let mut t = TestGame::new(Game::new());
    let p = t.player("Pia");
    let choices = |t: &TestGame, s| t.server().sessions.get(s).unwrap().sync.choices.clone();
    assert!(t.cmd(p, "option").contains("Your choices:  none"));
    assert_eq!(
        t.cmd(p, "option NOCOLOR=True"),
        "Option NOCOLOR set for this connection."
    );
    assert_eq!(choices(&t, p).nocolor, Some(true));
    assert_eq!(
        t.cmd(p, "option screenreader = on"),
        "Option SCREENREADER set for this connection."
    );
    assert!(t.cmd(p, "option").contains("Colours:       none"));
    assert!(
        t.cmd(p, "option screenwidth = 5")
            .contains("a number from 10 to 1000")
    );
    assert!(
        t.cmd(p, "option nocolor = maybe")
            .contains("takes on or off")
    );
    assert!(
        t.cmd(p, "option |rbogus = 1")
            .starts_with("No option '|RBOGUS'")
    );
    assert!(t.cmd(p, "option nocolor").starts_with("Usage"));
    assert!(t.server().client_flags(p).screenreader);
    // Not saved: a new connection starts from its client's report.
    let q = t.connect();
    t.login(q, "Pia");
    assert!(choices(&t, q).is_empty());
    // Saved: every new connection of the account starts with it. (In
    // multisession mode 0 each new log-in ends the last connection.)
    let saved = t.cmd(q, "option/save nocolor = on");
    assert!(saved.contains("Saved for every connection"), "{saved}");
    let r = t.connect();
    t.login(r, "Pia");
    assert_eq!(choices(&t, r).nocolor, Some(true));
    assert_eq!(choices(&t, r).screenreader, None);
    t.reload();
    assert_eq!(choices(&t, r).nocolor, Some(true), "kept through a reload");
    assert!(
        t.cmd(r, "option/clear")
            .contains("back to what your client reports")
    );
    let s = t.connect();
    t.login(s, "Pia");
    assert!(choices(&t, s).is_empty(), "cleared, saved ones too");
}

#[test]
fn what_a_builder_typed_is_echoed_as_typed_never_as_markup() {
    let mut t = TestGame::new(Game::new());
    let bld = t.player("Bld");
    t.grant(bld, "Builder");
    // (TestGame shows text plain: markup would have lost its "|r".)
    assert_eq!(
        t.cmd(bld, "tag here = |rred"),
        "Added tag '|rred' to Limbo(#1)."
    );
    assert!(t.cmd(bld, "tag/search |rred").contains("with tag '|rred'"));
    assert!(
        t.cmd(bld, "typeclass here = |gx")
            .contains("No typeclass named '|gx'")
    );
    assert!(t.cmd(bld, "lock here/|bx").contains("no '|bx' lock"));
}

/// A webclient whose connection dropped comes back without the password:
/// with the single-use token it was given, within the window, unless the
/// session ended on purpose.
#[test]
fn a_dropped_webclient_resumes_once_with_its_token_and_never_after_quit() {
    use tavern_server::testing::TEST_PASSWORD;
    let mut t = TestGame::new(Game::new());
    let web = t.connect_by("websocket");
    t.cmd(web, &format!("create Wendy {TEST_PASSWORD}"));
    t.login(web, "Wendy");
    let token = |t: &mut TestGame, s| {
        t.oob(s)
            .into_iter()
            .find(|(n, _)| n == "gmcp:Tavern.Resume")
            .and_then(|(_, v)| v["token"].as_str().map(str::to_string))
            .expect("a resume token")
    };
    let first = token(&mut t, web);
    assert_eq!(first.len(), 64);
    let me = t.puppet(web);
    // Telnet sessions are given none.
    let tel = t.connect();
    t.cmd(tel, &format!("create Telly {TEST_PASSWORD}"));
    t.login(tel, "Telly");
    assert!(t.oob(tel).iter().all(|(n, _)| n != "gmcp:Tavern.Resume"));

    // The connection drops; the page reconnects and resumes.
    t.disconnect(web);
    let again = t.connect_by("websocket");
    t.send_oob(again, "resume", serde_json::json!(first));
    assert!(t.heard(again).contains("You become Wendy."));
    assert_eq!(t.puppet(again), me, "the same character");
    let second = token(&mut t, again);
    assert_ne!(second, first, "a new token each time");
    // The old token was used up; a made-up one is refused.
    for bad in [first.clone(), "0".repeat(64)] {
        let other = t.connect_by("websocket");
        t.send_oob(other, "resume", serde_json::json!(bad));
        assert!(t.heard(other).contains("cannot be resumed"));
        assert!(t.puppet(other).is_none());
    }
    // Too late: the window has passed.
    t.disconnect(again);
    t.advance(std::time::Duration::from_secs(6 * 60));
    let late = t.connect_by("websocket");
    t.send_oob(late, "resume", serde_json::json!(second));
    assert!(t.heard(late).contains("cannot be resumed"));
    // After quit: nothing to resume.
    t.login(late, "Wendy");
    let third = token(&mut t, late);
    t.cmd(late, "quit");
    let after = t.connect_by("websocket");
    t.send_oob(after, "resume", serde_json::json!(third));
    assert!(t.heard(after).contains("cannot be resumed"));
}

/// Tab completion (the webclient asks `complete`): commands the player may
/// use by the first word, names of what is around by the last.
#[test]
fn completion_offers_usable_commands_and_names_nearby() {
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    let bld = t.player("Bld");
    t.grant(bld, "Builder");
    t.cmd(bld, "create/drop wooden lantern;lantern;lamp");
    t.cmd(bld, "dig Library = library;lib, out");
    t.oob(anna);
    let words = |t: &mut TestGame, line: &str| {
        t.send_oob(anna, "complete", serde_json::json!(line));
        let got = t.oob(anna);
        let (_, v) = got
            .into_iter()
            .find(|(n, _)| n == "gmcp:Tavern.Completions")
            .expect("an answer");
        assert_eq!(v["line"], serde_json::json!(line));
        v["words"].clone()
    };
    let w = words(&mut t, "lo");
    assert!(
        w.as_array().unwrap().contains(&serde_json::json!("look")),
        "{w}"
    );
    // A builder's command is not offered to a player.
    assert!(
        !words(&mut t, "di")
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("dig"))
    );
    assert_eq!(
        words(&mut t, "look la"),
        serde_json::json!(["lamp", "lantern"])
    );
    assert_eq!(
        words(&mut t, "go li"),
        serde_json::json!(["lib", "library"])
    );
    assert_eq!(words(&mut t, "look zz"), serde_json::json!([]));
}

/// A thing that counts the servers it saw start and reload in attributes.
struct Lantern;

impl Typeclass for Lantern {
    fn name(&self) -> &str {
        "lantern"
    }
    fn kind(&self) -> Kind {
        Kind::Thing
    }
    fn at_server_start(&self, server: &mut tavern_server::Server, obj: tavern_server::ObjId) {
        server.world.update(obj, |o| {
            let n = o.attr::<i64>("starts").unwrap_or(0);
            o.set_attr("starts", n + 1);
        });
    }
    fn at_server_reload(&self, server: &mut tavern_server::Server, obj: tavern_server::ObjId) {
        server.world.update(obj, |o| {
            let n = o.attr::<i64>("reloads").unwrap_or(0);
            o.set_attr("reloads", n + 1);
        });
    }
}

#[test]
fn start_and_reload_hooks_reach_every_object_of_a_typeclass_and_only_of_its_kind() {
    let mut t = TestGame::new(Game::new().typeclass(Lantern));
    let p = t.player("Pia");
    let (lanterns, odd) = t.with_server(|s| {
        let limbo = s.world.start_room;
        let lanterns: Vec<_> = (0..5)
            .map(|i| {
                s.create_object(
                    NewObject::new(Kind::Thing, format!("lantern {i}"))
                        .typeclass("lantern")
                        .location(limbo),
                )
                .unwrap()
            })
            .collect();
        // A room stored with the lantern's name: rooms fall back to the
        // default room, whose hooks do nothing.
        let odd = s
            .create_object(NewObject::new(Kind::Room, "Odd room"))
            .unwrap();
        s.world.update(odd, |o| o.typeclass = "LANTERN".into());
        assert_eq!(s.world.get(odd).unwrap().kind, Kind::Room);
        (lanterns, odd)
    });
    t.reload();
    t.reload();
    t.with_server(|s| {
        for &l in &lanterns {
            let o = s.world.get(l).unwrap();
            assert_eq!(o.attr::<i64>("reloads"), Some(2), "{}", o.key);
            assert_eq!(o.attr::<i64>("starts"), Some(2), "{}", o.key);
        }
        let o = s.world.get(odd).unwrap();
        assert_eq!(o.attr::<i64>("reloads"), None);
        assert_eq!(o.attr::<i64>("starts"), None);
    });
    assert!(t.cmd(p, "look").contains("lantern 4"));
}
