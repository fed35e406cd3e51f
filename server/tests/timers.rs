//! Scripts, tickers and delays (issue 20), played through `TestGame`: the
//! real server on a real SQLite file, reloaded from it, with the test's
//! clock moved on by hand.

use std::time::Duration;

use serde_json::json;
use tavern_server::testing::TestGame;
use tavern_server::timers::{GameTimeOfDay, Missed, NewScript, Script, TimerId, TimerState};
use tavern_server::{Game, Kind, NewObject, Server};

/// Says "Chime N" to the object it is on; counts its starts and stops.
struct Chime;

impl Script for Chime {
    fn name(&self) -> &str {
        "chime"
    }
    fn interval(&self) -> Option<Duration> {
        Some(Duration::from_secs(10))
    }
    fn at_start(&self, server: &mut Server, id: TimerId) {
        let n = server.script_attr::<u32>(id, "starts").unwrap_or(0);
        server.script_set_attr(id, "starts", n + 1);
    }
    fn at_repeat(&self, server: &mut Server, id: TimerId) {
        let done = server.script(id).map(|s| s.schedule.done).unwrap_or(0);
        if let Some(obj) = server.script_obj(id) {
            server.msg_obj(obj, &format!("Chime {done}"));
        }
    }
    fn at_stop(&self, server: &mut Server, id: TimerId) {
        if let Some(obj) = server.script_obj(id) {
            server.msg_obj(obj, "The chimes stop.");
        }
    }
    fn is_valid(&self, server: &Server, id: TimerId) -> bool {
        server.script_attr::<bool>(id, "broken") != Some(true)
    }
}

/// A global script with no timer of its own.
struct Ledger;

impl Script for Ledger {
    fn name(&self) -> &str {
        "ledger"
    }
}

fn game() -> Game {
    Game::new()
        .script(Chime)
        .script(Ledger)
        .global_script(NewScript::of(&Ledger).key("ledger").attr("entries", 0))
        .timer_fn("regen", |server, call| {
            let Some(obj) = call.target else { return };
            server.world.update(obj, |o| {
                let hp = o.attr::<i64>("hp").unwrap_or(0);
                o.set_attr("hp", hp + 1);
            });
        })
        .timer_fn("say_to", |server, call| {
            let who = call.args["who"].as_i64().unwrap_or(0);
            let text = call.args["text"].as_str().unwrap_or("").to_string();
            server.msg_obj(who, &text);
        })
}

fn chime_on(t: &mut TestGame, sessid: tavern_server::SessId, spec: NewScript) -> TimerId {
    let me = t.puppet(sessid).expect("a character");
    t.with_server(|s| s.script_add(spec.on(me)))
        .expect("the script is made")
}

#[test]
fn a_script_repeats_its_count_then_stops_and_is_deleted() {
    let mut t = TestGame::new(game());
    let p = t.player("Ann");
    let id = chime_on(&mut t, p, NewScript::of(&Chime).repeats(3));
    assert_eq!(t.server().script_attr::<u32>(id, "starts"), Some(1));
    t.advance(Duration::from_secs(5));
    assert_eq!(t.heard(p), "", "nothing before the first interval");
    t.advance(Duration::from_secs(5));
    assert_eq!(t.heard(p), "Chime 1");
    t.advance(Duration::from_secs(10));
    assert_eq!(t.heard(p), "Chime 2");
    t.advance(Duration::from_secs(10));
    assert_eq!(t.heard(p), "Chime 3\nThe chimes stop.");
    assert!(t.server().script(id).is_none(), "used up, it is deleted");
    t.advance(Duration::from_secs(60));
    assert_eq!(t.heard(p), "");
}

#[test]
fn without_a_start_delay_the_first_repeat_comes_at_once() {
    let mut t = TestGame::new(game());
    let p = t.player("Ann");
    chime_on(&mut t, p, NewScript::of(&Chime).start_delay(false));
    assert_eq!(t.heard(p), "Chime 1");
}

#[test]
fn a_reload_keeps_the_next_fire_time_and_the_count_and_fires_once() {
    let mut t = TestGame::new(game());
    let p = t.player("Ann");
    let id = chime_on(&mut t, p, NewScript::of(&Chime).repeats(5));
    t.advance(Duration::from_secs(10));
    assert_eq!(t.heard(p), "Chime 1");
    t.advance(Duration::from_secs(4));
    let before = t.server().script(id).expect("the script").schedule.clone();
    t.reload();
    let after = t
        .server()
        .script(id)
        .expect("the script survives")
        .schedule
        .clone();
    assert_eq!(after, before, "same deadline, same count");
    assert_eq!(
        t.server().script_attr::<u32>(id, "starts"),
        Some(2),
        "at_start ran again"
    );
    t.advance(Duration::from_secs(6));
    let heard = t.heard(p);
    assert!(heard.ends_with("Chime 2"), "{heard}");
    assert_eq!(heard.matches("Chime").count(), 1, "{heard}");
}

#[test]
fn a_repeat_missed_while_down_fires_once_or_is_skipped_as_asked() {
    let mut t = TestGame::new(game());
    let p = t.player("Ann");
    let once = chime_on(&mut t, p, NewScript::of(&Chime).key("once"));
    let skip = chime_on(
        &mut t,
        p,
        NewScript::of(&Chime).key("skip").missed(Missed::Skip),
    );
    let next = t.server().script(once).unwrap().schedule.next_at.unwrap();
    // Down for 65 s: six deadlines pass.
    t.reload_after(Duration::from_secs(65));
    let heard = t.heard(p);
    assert_eq!(heard.matches("Chime 1").count(), 1, "{heard}");
    assert!(
        !heard.contains("Chime 2"),
        "one firing for the whole outage: {heard}"
    );
    let once_s = t.server().script(once).unwrap().schedule.clone();
    assert_eq!(once_s.done, 1);
    assert_eq!(
        once_s.next_at,
        Some(next + 60_000),
        "on in the original phase"
    );
    let skip_s = t.server().script(skip).unwrap().schedule.clone();
    assert_eq!(skip_s.done, 0, "skipped");
    assert_eq!(skip_s.next_at, Some(next + 60_000));
}

#[test]
fn pause_keeps_the_time_left_through_a_reload_and_unpause_resumes_it() {
    let mut t = TestGame::new(game());
    let p = t.player("Ann");
    let id = chime_on(&mut t, p, NewScript::of(&Chime));
    t.advance(Duration::from_secs(3));
    assert!(t.with_server(|s| s.script_pause(id)));
    let left = t.server().script(id).unwrap().schedule.paused_left.unwrap();
    assert!((6_900..=7_000).contains(&left), "{left}");
    t.reload_after(Duration::from_secs(100));
    assert_eq!(
        t.server().script(id).unwrap().schedule.state(),
        TimerState::Paused
    );
    assert_eq!(
        t.heard(p).matches("Chime").count(),
        0,
        "a paused script does not fire"
    );
    assert!(t.with_server(|s| s.script_unpause(id)));
    t.advance(Duration::from_millis(6_500));
    assert_eq!(t.heard(p), "");
    t.advance(Duration::from_millis(600));
    assert_eq!(t.heard(p), "Chime 1");
}

#[test]
fn an_invalid_script_stops_and_a_destroyed_object_takes_its_scripts_along() {
    let mut t = TestGame::new(game());
    let p = t.player("Ann");
    let id = chime_on(&mut t, p, NewScript::of(&Chime));
    t.with_server(|s| s.script_set_attr(id, "broken", true));
    t.advance(Duration::from_secs(10));
    assert_eq!(t.heard(p), "The chimes stop.");
    assert!(t.server().script(id).is_none());

    let lamp = t.with_server(|s| {
        let room = s.world.start_room;
        s.create_object(NewObject::new(Kind::Thing, "lamp").location(room))
            .expect("a lamp")
    });
    let on_lamp = t
        .with_server(|s| s.script_add(NewScript::of(&Chime).on(lamp)))
        .unwrap();
    t.with_server(|s| s.ticker_add(Duration::from_secs(1), Some(lamp), "regen", json!(null)))
        .unwrap();
    t.with_server(|s| s.destroy_object(lamp)).unwrap();
    assert!(t.server().script(on_lamp).is_none());
    assert_eq!(t.server().world.timers.ticker_count(), 0);
    t.reload();
    assert!(
        t.server().script(on_lamp).is_none(),
        "gone from the database too"
    );
    assert_eq!(t.server().world.timers.ticker_count(), 0);
}

#[test]
fn tickers_of_one_interval_share_a_deadline_and_survive_a_reload() {
    let mut t = TestGame::new(game());
    let room = t.server().world.start_room;
    let mobs: Vec<_> = (0..20)
        .map(|i| {
            t.with_server(|s| {
                s.create_object(
                    NewObject::new(Kind::Thing, format!("mob{i}"))
                        .location(room)
                        .attr("hp", 0),
                )
                .unwrap()
            })
        })
        .collect();
    for &m in &mobs {
        t.with_server(|s| s.ticker_add(Duration::from_secs(2), Some(m), "regen", json!(null)))
            .unwrap();
    }
    assert_eq!(
        t.server().world.timers.clock.len(),
        1,
        "one deadline for twenty"
    );
    let hp = |t: &TestGame, m| t.server().world.get(m).unwrap().attr::<i64>("hp").unwrap();
    t.advance(Duration::from_secs(2));
    assert!(mobs.iter().all(|&m| hp(&t, m) == 1));
    t.reload();
    assert_eq!(t.server().world.timers.ticker_count(), 20);
    t.advance(Duration::from_secs(2));
    assert!(mobs.iter().all(|&m| hp(&t, m) == 2));
    assert!(t.with_server(|s| s.ticker_remove(Duration::from_secs(2), Some(mobs[0]), "regen")));
    t.advance(Duration::from_secs(2));
    assert_eq!(hp(&t, mobs[0]), 2);
    assert_eq!(hp(&t, mobs[1]), 3);
    // An unknown function is refused at once, not when it would tick.
    let err = t.with_server(|s| s.ticker_add(Duration::from_secs(1), None, "nope", json!(null)));
    assert!(err.is_err());
}

#[test]
fn a_persistent_delay_runs_once_after_a_reload_and_a_passing_one_is_lost() {
    let mut t = TestGame::new(game());
    let p = t.player("Ann");
    let me = t.puppet(p).unwrap();
    t.with_server(|s| {
        s.delay(
            Duration::from_secs(30),
            "say_to",
            json!({"who": me, "text": "The torch gutters out."}),
            true,
        )
        .unwrap();
        s.delay(
            Duration::from_secs(30),
            "say_to",
            json!({"who": me, "text": "A passing thought."}),
            false,
        )
        .unwrap();
    });
    t.advance(Duration::from_secs(10));
    t.reload_after(Duration::from_secs(40));
    let heard = t.heard(p);
    assert_eq!(
        heard.matches("The torch gutters out.").count(),
        1,
        "{heard}"
    );
    assert!(!heard.contains("A passing thought."), "{heard}");
    t.reload();
    t.advance(Duration::from_secs(60));
    assert!(!t.heard(p).contains("torch"), "it ran once");
    assert_eq!(t.server().world.timers.delays().count(), 0);
}

#[test]
fn a_global_script_is_made_once_and_again_only_if_deleted() {
    let mut t = TestGame::new(game());
    let id = t
        .server()
        .global_script("ledger")
        .expect("made at the first start");
    t.with_server(|s| s.script_set_attr(id, "entries", 7));
    t.reload();
    assert_eq!(t.server().global_script("ledger"), Some(id));
    assert_eq!(t.server().script_attr::<i64>(id, "entries"), Some(7));
    assert_eq!(t.server().world.timers.script_count(), 1);
    t.with_server(|s| s.script_delete(id));
    t.reload();
    let again = t.server().global_script("ledger").expect("made again");
    assert_ne!(again, id);
    assert_eq!(t.server().script_attr::<i64>(again, "entries"), Some(0));
}

#[test]
fn a_scheduled_game_time_runs_when_the_game_clock_says_and_every_game_day() {
    let mut t = TestGame::with_settings(game(), |s| s.time.factor = 24.0);
    let p = t.player("Ann");
    let me = t.puppet(p).unwrap();
    let start = t.server().game_time_ms();
    // One real hour is one game day.
    t.with_server(|s| {
        s.schedule(
            GameTimeOfDay { hour: 6, minute: 0 },
            true,
            "say_to",
            json!({"who": me, "text": "Dawn breaks."}),
        )
    })
    .unwrap();
    let into_day = start.rem_euclid(86_400_000);
    let to_dawn_game = (6 * 3_600_000 - into_day).rem_euclid(86_400_000);
    let to_dawn_real = to_dawn_game / 24;
    t.advance(Duration::from_millis(
        (to_dawn_real as u64).saturating_sub(2_000),
    ));
    assert_eq!(t.heard(p), "", "not before dawn");
    t.advance(Duration::from_millis(2_100));
    assert_eq!(t.heard(p), "Dawn breaks.");
    let game_hour = t.server().game_datetime().format("%H").to_string();
    assert_eq!(game_hour, "06");
    t.advance(Duration::from_secs(3_600));
    assert_eq!(t.heard(p), "Dawn breaks.", "the next game day");
}

#[test]
fn builders_list_and_drive_scripts_and_a_bare_or_mistyped_command_changes_nothing() {
    let mut t = TestGame::new(game());
    let b = t.player("Bld");
    t.grant(b, "Builder");
    let id = chime_on(&mut t, b, NewScript::of(&Chime).repeats(4));
    let list = t.cmd(b, "scripts");
    assert!(
        list.contains("chime") && list.contains("0/4") && list.contains("ledger"),
        "{list}"
    );
    assert!(t.cmd(b, "scripts #1234567").contains("Could not find"));
    assert!(t.cmd(b, "scripts 999").contains("There is no script 999."));
    // Bare and mistyped switches: usage, nothing destroyed.
    assert!(t.cmd(b, "scripts/delete").contains("Nothing was done."));
    assert!(t.cmd(b, "scripts/delte chime").contains("unknown switch"));
    assert!(t.server().script(id).is_some());
    // The key matches only this script; its id always does.
    assert!(t.cmd(b, "scripts/pause chime").contains("paused"));
    assert!(t.cmd(b, "scripts").contains("PAUSED"));
    assert!(
        t.cmd(b, &format!("scripts/pause {id}"))
            .contains("paused already")
    );
    assert!(
        t.cmd(b, &format!("scripts/unpause {id}"))
            .contains("unpaused")
    );
    assert!(t.cmd(b, &format!("scripts/stop {id}")).contains("stopped"));
    assert!(t.cmd(b, &format!("scripts/start {id}")).contains("started"));
    let heard = t.cmd(b, &format!("scripts/repeat {id}"));
    assert!(
        heard.contains("Chime 1") && heard.contains("repeated"),
        "{heard}"
    );
    // Attaching: an unknown kind is refused with the kinds there are;
    // markup in what is typed comes back plain.
    let refused = t.cmd(b, "scripts here = |rfire");
    assert!(
        refused.contains("'|rfire'") && refused.contains("chime, ledger"),
        "{refused}"
    );
    assert!(t.cmd(b, "scripts here = chime").contains("attached to"));
    assert_eq!(t.server().world.timers.script_count(), 3);
    // Two scripts keyed chime now: a switch needs the id.
    assert!(
        t.cmd(b, "scripts/delete chime")
            .contains("Several scripts match")
    );
    assert_eq!(t.server().world.timers.script_count(), 3);
    assert!(
        t.cmd(b, &format!("scripts/delete {id}"))
            .contains("deleted")
    );
    assert!(t.server().script(id).is_none());
    // Players cannot.
    let p = t.player("Ann");
    assert!(!t.cmd(p, "scripts").contains("chime"));
}

#[test]
fn tasks_tickers_and_time_show_what_waits_and_refuse_bad_ids() {
    let mut t = TestGame::new(game());
    let d = t.player("Dev");
    t.grant(d, "Developer");
    let me = t.puppet(d).unwrap();
    let id = t
        .with_server(|s| {
            s.delay(
                Duration::from_secs(90),
                "say_to",
                json!({"who": me, "text": "Later."}),
                true,
            )
        })
        .unwrap();
    let list = t.cmd(d, "tasks");
    assert!(list.contains("say_to") && list.contains("1m 2"), "{list}");
    assert!(t.cmd(d, "tasks/cancel").contains("Nothing was done."));
    assert!(
        t.cmd(d, "tasks/cancel 4242")
            .contains("There is no task 4242")
    );
    assert!(t.cmd(d, &format!("tasks/pause {id}")).contains("paused"));
    assert!(t.cmd(d, "tasks").contains("PAUSED"));
    let ran = t.cmd(d, &format!("tasks/call {id}"));
    assert!(
        ran.contains("Later.") && ran.contains("still waits"),
        "{ran}"
    );
    assert!(
        t.cmd(d, &format!("tasks/do_task {id}"))
            .contains("it is done")
    );
    assert_eq!(t.cmd(d, "tasks"), "No tasks are waiting.");

    t.with_server(|s| s.ticker_add(Duration::from_secs(5), Some(me), "regen", json!(null)))
        .unwrap();
    let tickers = t.cmd(d, "tickers");
    assert!(tickers.contains("5s") && tickers.contains("1"), "{tickers}");
    assert!(t.cmd(d, "tickers 5").contains("regen"));
    assert!(t.cmd(d, "tickers me").contains("every 5s"));
    assert!(t.cmd(d, "tickers 7").contains("No tickers every 7s."));
    let time = t.cmd(d, "time");
    assert!(
        time.contains("Current uptime") && time.contains("Game time"),
        "{time}"
    );
    assert!(time.contains("tickers every 5s"), "{time}");
    let p = t.player("Ann");
    let time = t.cmd(p, "time");
    assert!(
        time.contains("Game time") && !time.contains("Clock"),
        "{time}"
    );
}

#[test]
fn a_builder_attaches_a_script_with_its_own_interval_and_bad_numbers_are_refused() {
    let mut t = TestGame::new(game());
    let b = t.player("Bld");
    t.grant(b, "Builder");
    for bad in [
        "scripts me = chime, soon",
        "scripts me = chime, 0",
        "scripts me = chime, 2, -1",
        "scripts me = chime, 2, 3, 4",
        "scripts = chime",
        "scripts me =",
    ] {
        let said = t.cmd(b, bad);
        assert!(said.contains("Nothing was done."), "{bad}: {said}");
    }
    assert_eq!(t.server().world.timers.script_count(), 1, "only the ledger");
    let said = t.cmd(b, "scripts me = chime, 2, 2");
    assert!(said.contains("attached to"), "{said}");
    let id = t.server().world.timers.scripts_keyed("chime")[0];
    let shown = t.cmd(b, &format!("scripts {id}"));
    assert!(
        shown.contains("next repeat at") && shown.contains("0/2"),
        "{shown}"
    );
    t.advance(Duration::from_secs(2));
    t.advance(Duration::from_secs(2));
    let heard = t.heard(b);
    assert_eq!(heard, "Chime 1\nChime 2\nThe chimes stop.");
}
