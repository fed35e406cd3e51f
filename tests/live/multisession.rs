//! Several sessions on one account, over real telnet with GMCP and MSDP, in
//! multisession modes 1, 2 and 3: each session's live data is its own
//! puppet's, commands relay between the account's sessions, account events
//! reach the account's windows only, session variables and names survive a
//! reload, every GMCP session gets a fresh snapshot after it, and a burst of
//! changes is one update.

use tavern_tests::{Client, LiveGame};

const PW: &str = "sesame-pass";

fn settings(mode: u8) -> String {
    let puppets = if mode < 2 { 1 } else { 3 };
    format!(
        "[server]\nmultisession_mode = {mode}\nmax_nr_characters = 3\n\
         max_nr_simultaneous_puppets = {puppets}\nauto_puppet_on_login = false\n"
    )
}

/// A telnet client that speaks GMCP and MSDP, logged in (out of character).
async fn window(game: &LiveGame, name: &str) -> Client {
    let mut c = game.connect().await;
    c.accept_oob().await;
    c.expect("connect <username> <password>").await;
    c.send(&format!("connect {name} {PW}")).await;
    c.expect("You are out-of-character (OOC).").await;
    c
}

/// Waits for a GMCP package whose JSON payload has `key` = `value`.
async fn expect_gmcp(
    c: &mut Client,
    package: &str,
    key: &str,
    value: serde_json::Value,
) -> serde_json::Value {
    let payload = c
        .expect_oob("gmcp", package, |p| {
            serde_json::from_str::<serde_json::Value>(p).is_ok_and(|v| v[key] == value)
        })
        .await;
    serde_json::from_str(&payload).unwrap()
}

/// The `hp` values of the `Char.Vitals` a client has received and not consumed.
fn hps(c: &Client) -> Vec<serde_json::Value> {
    c.oob_named("gmcp", "Char.Vitals")
        .iter()
        .filter_map(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .map(|v| v["hp"].clone())
        .collect()
}

/// Everything sent to `c` before now has arrived: it answers a later command.
async fn sync(c: &mut Client, marker: &str) {
    c.send(&format!("note {marker}")).await;
    c.expect(&format!("Noted: {marker}")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mode_3_three_windows_two_characters_live_data_relay_events_and_reload() {
    let game = LiveGame::new("ms-mode3", &settings(3)).start();
    game.tavern_ok(&["account", "create", "Anna", PW, "--superuser"]);
    game.tavern_ok(&["account", "create", "Bert", PW]);
    let mut bert = window(&game, "Bert").await;
    bert.send("ic Bert").await;
    bert.expect("You become Bert.").await;

    // Window 1 plays Anna; window 2 shares Anna; window 3 plays Nell.
    let mut w1 = window(&game, "Anna").await;
    w1.send("charcreate Nell").await;
    w1.expect("Created new character Nell").await;
    w1.send("ic Anna").await;
    w1.expect("You become Anna.").await;
    expect_gmcp(&mut w1, "Char.Name", "name", "Anna".into()).await;
    let mut w2 = window(&game, "Anna").await;
    w2.send("ic Anna").await;
    w2.expect("You become Anna.").await;
    let mut w3 = window(&game, "Anna").await;
    w3.send("ic Nell").await;
    w3.expect("You become Nell.").await;
    // Nell is an adventurer (the template's characters): 20 hit points.
    expect_gmcp(&mut w3, "Char.Vitals", "hp", 20.into()).await;
    expect_gmcp(&mut w3, "Room.Info", "name", "Limbo".into()).await;

    // Anna's vitals reach both of Anna's windows, never Nell's.
    w1.send("set me/maxhp = 20").await;
    w1.send("set me/hp = 12").await;
    expect_gmcp(&mut w1, "Char.Vitals", "hp", 12.into()).await;
    expect_gmcp(&mut w2, "Char.Vitals", "hp", 12.into()).await;
    sync(&mut w3, "w3-after-set").await;
    assert!(
        !hps(&w3).contains(&12.into()),
        "Nell's window got Anna's vitals: {:?}",
        w3.oob
    );

    // MSDP: Nell's window asks for HEALTH and gets Nell's, again on a change.
    w3.send_msdp("REPORT", &["HEALTH"]).await;
    w3.expect_oob("msdp", "HEALTH", |v| v == "20").await;
    w3.send("set me/hp = 7").await;
    w3.expect_oob("msdp", "HEALTH", |v| v == "7").await;
    sync(&mut w1, "w1-after-msdp").await;
    assert!(
        w1.oob_named("msdp", "HEALTH").is_empty(),
        "window 1 asked for no MSDP"
    );

    // A command typed in window 1 runs in Nell's window.
    w1.send("sessions").await;
    let table = w1.expect("Nell").await;
    assert!(table.contains("Anna-2"), "{table}");
    w1.send("@Nell say psst").await;
    w3.expect("You say, \"psst\"").await;
    w1.expect("Nell says, \"psst\"").await;

    // An account event reaches the account's three windows, not Bert's.
    w2.send("signal regroup").await;
    for w in [&mut w1, &mut w2, &mut w3] {
        w.expect("[signal from Anna-2] regroup").await;
    }
    bert.send("look").await;
    let seen = bert.expect("Limbo").await;
    assert!(!seen.contains("regroup"), "{seen}");

    // Names and variables survive a reload; every window gets a fresh snapshot.
    w2.send("sessions/name scout").await;
    w2.expect("is now called 'scout'").await;
    w1.send("note keep the map").await;
    w1.expect("Noted: keep the map").await;
    for w in [&mut w1, &mut w2, &mut w3] {
        w.oob.clear();
    }
    game.tavern_ok(&["reload"]);
    for (w, hp) in [(&mut w1, 12), (&mut w2, 12), (&mut w3, 7)] {
        w.expect("... Server restarted.").await;
        expect_gmcp(w, "Char.Vitals", "hp", hp.into()).await;
        expect_gmcp(w, "Room.Info", "name", "Limbo".into()).await;
    }
    w1.send("note").await;
    w1.expect("Your note: keep the map").await;
    w1.send("@scout say still here").await;
    w2.expect("You say, \"still here\"").await;

    // Resting heals 8 points one at a time: one Char.Vitals, not eight.
    sync(&mut w1, "before-rest").await;
    w1.oob.clear();
    w1.send("rest").await;
    w1.expect("recover 8 hit point(s)").await;
    sync(&mut w1, "after-rest").await;
    assert_eq!(hps(&w1), vec![serde_json::json!(20)], "{:?}", w1.oob);
}

#[tokio::test(flavor = "multi_thread")]
async fn mode_1_two_windows_share_one_character_and_its_data() {
    let game = LiveGame::new("ms-mode1", &settings(1)).start();
    game.tavern_ok(&["account", "create", "Anna", PW, "--superuser"]);
    let mut w1 = window(&game, "Anna").await;
    w1.send("ic Anna").await;
    w1.expect("You become Anna.").await;
    let mut w2 = window(&game, "Anna").await;
    w2.send("ic Anna").await;
    w2.expect("You become Anna.").await;
    w2.send("set me/hp = 3").await;
    expect_gmcp(&mut w1, "Char.Vitals", "hp", 3.into()).await;
    expect_gmcp(&mut w2, "Char.Vitals", "hp", 3.into()).await;
    w1.send("@all say together").await;
    w1.expect("You say, \"together\"").await;
    w2.expect("You say, \"together\"").await;
    // Each window has its own name although both play Anna.
    w1.send("sessions").await;
    let table = w1.expect("Anna-2").await;
    assert!(table.contains("Anna "), "{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn mode_2_each_window_gets_its_own_characters_data() {
    let game = LiveGame::new("ms-mode2", &settings(2)).start();
    game.tavern_ok(&["account", "create", "Anna", PW, "--superuser"]);
    let mut w1 = window(&game, "Anna").await;
    w1.send("charcreate Nell").await;
    w1.expect("Created new character Nell").await;
    w1.send("ic Nell").await;
    expect_gmcp(&mut w1, "Char.Vitals", "hp", 20.into()).await;
    let mut w2 = window(&game, "Anna").await;
    w2.send("ic Anna").await;
    w2.expect("You become Anna.").await;
    expect_gmcp(&mut w2, "Char.Name", "name", "Anna".into()).await;
    w1.send("set me/hp = 11").await;
    expect_gmcp(&mut w1, "Char.Vitals", "hp", 11.into()).await;
    sync(&mut w2, "w2").await;
    // Anna's window shows Anna's own vitals (her creation hook gave her
    // 20), never Nell's 11.
    assert!(
        hps(&w2).iter().all(|hp| *hp == serde_json::json!(20)),
        "Anna's window got Nell's vitals: {:?}",
        w2.oob
    );
    // Taking over Nell from window 2 moves Nell's data there.
    w2.send("ic Nell").await;
    expect_gmcp(&mut w2, "Char.Vitals", "hp", 11.into()).await;
    w1.expect("is now acted from another of your sessions")
        .await;
}
