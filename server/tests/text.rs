//! The text tools as players meet them: long output paged to their screen
//! (Evennia's EvMore), through a reload; tables fitted to their width.

use tavern_server::Game;
use tavern_server::testing::TestGame;

/// The page a pager footer says is shown, and how many there are.
fn page_of(out: &str) -> Option<(usize, usize)> {
    let at = out.rfind("(Page ")?;
    let rest = &out[at + 6..];
    let (n, rest) = rest.split_once('/')?;
    let (total, _) = rest.split_once(':')?;
    Some((n.parse().ok()?, total.parse().ok()?))
}

#[test]
fn long_output_is_paged_to_the_screen_and_the_place_survives_a_reload() {
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    // Without a height from the client, 45 lines: help fits on one page.
    let whole = t.cmd(anna, "help");
    assert_eq!(page_of(&whole), None, "{whole}");
    for i in 0..25 {
        t.cmd(anna, &format!("pub line {i}"));
    }
    t.cmd(anna, "option screenheight = 10");
    let first = t.cmd(anna, "channel/history pub");
    let (n, pages) = page_of(&first).expect("a footer");
    assert_eq!(n, 1);
    assert!(pages >= 3, "{first}");
    assert!(first.lines().count() <= 10, "{first}");
    assert!(first.contains("next | end | quit"));
    assert_eq!(page_of(&t.cmd(anna, "next")), Some((2, pages)));
    // Enter is next, as in Evennia.
    assert_eq!(page_of(&t.cmd(anna, "")), Some((3, pages)));
    assert_eq!(page_of(&t.cmd(anna, "b")), Some((2, pages)));
    t.reload();
    assert_eq!(page_of(&t.cmd(anna, "next")), Some((3, pages)));
    let end = t.cmd(anna, "end");
    assert_eq!(page_of(&end), Some((pages, pages)));
    assert!(
        end.contains("line 24"),
        "the last page ends the text: {end}"
    );
    assert!(end.contains("back | top | quit"));
    assert_eq!(page_of(&t.cmd(anna, "top")), Some((1, pages)));
    assert_eq!(t.cmd(anna, "q"), "Exited pager.");
    // Closed: next is a command again.
    assert!(t.cmd(anna, "next").contains("not available"));
    // Any other command closes the pager and runs.
    t.cmd(anna, "channel/history pub");
    assert!(t.cmd(anna, "look").contains("Limbo"));
    assert!(t.cmd(anna, "next").contains("not available"));
    // Next on the last page closes it quietly.
    t.cmd(anna, "channel/history pub");
    t.cmd(anna, "end");
    assert_eq!(t.cmd(anna, "next"), "");
    assert!(t.cmd(anna, "next").contains("not available"));
}

#[test]
fn who_is_a_table_fitted_to_the_screen_and_paged_when_long() {
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    for i in 0..30 {
        t.player(&format!("Player{i:02}"));
    }
    t.cmd(anna, "option screenheight = 20");
    t.cmd(anna, "option screenwidth = 30");
    let first = t.cmd(anna, "who");
    assert_eq!(page_of(&first).map(|p| p.0), Some(1), "{first}");
    assert!(first.starts_with(" Account name"), "{first}");
    assert!(
        first.lines().all(|l| l.chars().count() <= 30),
        "fits 30 columns: {first}"
    );
    let last = t.cmd(anna, "end");
    assert!(last.contains("31 unique accounts logged in."), "{last}");
}

#[test]
fn the_line_editor_edits_a_description_through_a_reload() {
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    t.grant(anna, "Builder");
    t.cmd(anna, "create/drop lantern");
    t.cmd(anna, "desc lantern = An old lantern.");
    let opened = t.cmd(anna, "desc/edit lantern");
    assert!(
        opened.contains("Line editor: description of lantern"),
        "{opened}"
    );
    assert!(opened.contains("1 An old lantern."), "{opened}");
    // Every line goes to the editor, commands too.
    assert_eq!(t.cmd(anna, "Its glass is cracked."), "");
    assert_eq!(t.cmd(anna, "look"), "");
    assert_eq!(t.cmd(anna, ":dd 3"), "Deleted line 3.");
    t.reload();
    // The buffer came through the reload; nothing was saved yet.
    assert!(t.cmd(anna, ":").contains("2 Its glass is cracked."));
    t.cmd(anna, ":q");
    assert_eq!(t.cmd(anna, "no"), "Quit without saving.");
    assert!(!t.cmd(anna, "look lantern").contains("cracked"));
    t.cmd(anna, "desc/edit lantern");
    t.cmd(anna, "A brass handle.");
    assert_eq!(t.cmd(anna, ":wq"), "Saved. Exited the editor.");
    let looked = t.cmd(anna, "look lantern");
    assert!(
        looked.contains("An old lantern.\nA brass handle."),
        "{looked}"
    );
    // Bad arguments change nothing.
    assert!(t.cmd(anna, "desc/edit nosuch").contains("Could not find"));
    assert!(t.cmd(anna, "desc/bogus lantern").contains("unknown switch"));
    assert!(t.cmd(anna, "look").contains("Limbo"), "no editor is open");
}

#[test]
fn game_code_opens_the_editor_with_its_own_save() {
    let game = Game::new().editor_save("note", |server, _sessid, data, text| {
        let Some(obj) = data.as_i64().and_then(|id| server.world.get(id)) else {
            return Err("The note is gone.".into());
        };
        let id = obj.id;
        server.world.update(id, |o| o.set_attr("note", text));
        Ok(format!("Note saved ({} lines).", text.lines().count()))
    });
    let mut t = TestGame::new(game);
    let anna = t.player("Anna");
    let me = t.puppet(anna).unwrap();
    t.with_server(|s| {
        s.edit(
            anna,
            "your note",
            "",
            tavern_server::runtime::editor::EditTarget::Custom("note".into(), me.into()),
        )
    });
    assert!(t.heard(anna).contains("the buffer is empty"));
    t.cmd(anna, "first");
    t.cmd(anna, "second");
    assert_eq!(t.cmd(anna, ":w"), "Note saved (2 lines).");
    assert_eq!(t.cmd(anna, ":q"), "Exited the editor.");
    let note: Option<String> = t.server().world.get(me).and_then(|o| o.attr("note"));
    assert_eq!(note.as_deref(), Some("first\nsecond"));
}

#[test]
fn say_get_and_drop_are_rendered_for_each_reader_and_players_cannot_call_functions() {
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    let bert = t.player("Bert");
    t.grant(anna, "Builder");
    t.heard(bert);
    assert_eq!(
        t.cmd(anna, "say I have $5 and $You() \\$x"),
        "You say, \"I have $5 and $You() \\$x\""
    );
    assert_eq!(t.heard(bert), "Anna says, \"I have $5 and $You() \\$x\"");
    t.cmd(anna, "create/drop $conj(ball)");
    t.heard(bert);
    assert_eq!(t.cmd(anna, "get $conj(ball)"), "You pick up $conj(ball).");
    assert_eq!(t.heard(bert), "Anna picks up $conj(ball).");
    assert_eq!(t.cmd(anna, "drop $conj(ball)"), "You drop $conj(ball).");
    assert_eq!(t.heard(bert), "Anna drops $conj(ball).");
}

#[test]
fn game_code_tells_a_room_with_inline_functions_and_its_own() {
    let game = Game::new().inline_func("loud", |_, args| {
        Ok(args.first().map(|a| a.to_uppercase()).unwrap_or_default())
    });
    let mut t = TestGame::new(game);
    let anna = t.player("Anna");
    let bert = t.player("Bert");
    let carl = t.player("Carl");
    let (a, b) = (t.puppet(anna).unwrap(), t.puppet(bert).unwrap());
    for s in [anna, bert, carl] {
        t.heard(s);
    }
    t.with_server(|s| {
        let room = s.world.get(a).and_then(|o| o.location).unwrap();
        s.msg_contents(
            room,
            "$You() $conj(bow) to $you(target): $loud(hello)!",
            Some(a),
            &[("target", b)],
            &[],
        );
    });
    assert_eq!(t.heard(anna), "You bow to Bert: HELLO!");
    assert_eq!(t.heard(bert), "Anna bows to you: HELLO!");
    assert_eq!(t.heard(carl), "Anna bows to Bert: HELLO!");
}

#[test]
fn help_topics_have_subtopics() {
    let game = Game::new().help_topic(
        "combat",
        "Rules",
        "How fighting works.\n\n# subtopics\n\n## damage\nWeapons do damage.\n\n## armour\nArmour takes it.",
    );
    let mut t = TestGame::new(game);
    let anna = t.player("Anna");
    let main = t.cmd(anna, "help combat");
    assert!(main.contains("How fighting works."), "{main}");
    assert!(!main.contains("Weapons do damage"), "{main}");
    assert!(
        main.contains("Subtopics: combat/damage, combat/armour"),
        "{main}"
    );
    let sub = t.cmd(anna, "help combat/damage");
    assert!(sub.starts_with("Help for combat/damage (Rules)"), "{sub}");
    assert!(
        sub.contains("Weapons do damage.") && !sub.contains("Armour"),
        "{sub}"
    );
    assert!(t.cmd(anna, "help combat/arm").contains("Armour takes it."));
    assert_eq!(
        t.cmd(anna, "help combat/magic"),
        "combat has no subtopic 'magic'. Its subtopics: combat/damage, combat/armour."
    );
    assert_eq!(t.cmd(anna, "help look/x"), "look has no subtopics.");
    assert!(t.cmd(anna, "help nosuch/x").contains("No help found"));
}

/// Sounds and music from game code (Mudlet's `Client.Media`): sent as GMCP
/// to clients that take it, never to one that said it does not.
#[test]
fn game_code_plays_and_stops_media_on_clients_that_take_it() {
    use tavern_server::media::Media;
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    t.enable_oob(anna);
    t.supports(anna, &["Char 1", "Client.Media 1"]);
    let bert = t.player("Bert");
    t.enable_oob(bert);
    t.supports(bert, &["Char 1"]);
    t.oob(anna);
    t.oob(bert);
    t.with_server(|s| {
        for who in [anna, bert] {
            s.media_default_url(who, "https://example.org/sounds/");
            s.media_play(
                who,
                &Media::sound("bell.ogg")
                    .volume(250)
                    .loops(-5)
                    .key("bell")
                    .url("javascript:alert(1)"),
            );
            s.media_stop(who, Some("bell"));
        }
    });
    let got = t.oob(anna);
    assert_eq!(
        got,
        vec![
            (
                "gmcp:Client.Media.Default".to_string(),
                serde_json::json!({"url": "https://example.org/sounds/"})
            ),
            (
                "gmcp:Client.Media.Play".to_string(),
                serde_json::json!({"name": "bell.ogg", "type": "sound", "volume": 100, "loops": -1, "key": "bell"})
            ),
            (
                "gmcp:Client.Media.Stop".to_string(),
                serde_json::json!({"name": "bell"})
            ),
        ]
    );
    assert!(
        t.oob(bert).is_empty(),
        "Bert's client does not take Client.Media"
    );
}
