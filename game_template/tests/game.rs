//! The game played in process: real commands, real hooks, a real SQLite file,
//! no sockets. `cargo test` runs these in a second or two.

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
