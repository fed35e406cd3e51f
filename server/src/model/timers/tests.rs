use serde_json::json;

use super::*;

#[test]
fn the_clock_fires_in_deadline_order_and_rearming_moves_an_entry() {
    let mut c = Clock::default();
    c.set(Due::Script(1), Some(300));
    c.set(Due::Delay(2), Some(100));
    c.set(Due::Flow("f".into()), Some(200));
    c.set(Due::Script(1), Some(50));
    assert_eq!(c.len(), 3);
    assert_eq!(c.next(), Some(50));
    assert_eq!(c.pop_due(49), None);
    assert_eq!(c.pop_due(250), Some((50, Due::Script(1))));
    assert_eq!(c.pop_due(250), Some((100, Due::Delay(2))));
    assert_eq!(c.pop_due(250), Some((200, Due::Flow("f".into()))));
    assert_eq!(c.pop_due(250), None);
    c.set(Due::Ticks(10), Some(5));
    c.set(Due::Ticks(10), None);
    assert!(c.is_empty());
    assert_eq!(c.when(&Due::Ticks(10)), None);
}

#[test]
fn a_schedule_keeps_its_phase_and_counts_repeats() {
    let mut s = Schedule::every(1000, 3);
    s.start(10_000, true);
    assert_eq!(s.next_at, Some(11_000));
    // Fired a little late: the next deadline keeps the phase.
    assert!(s.fired(11_040));
    assert_eq!(s.next_at, Some(12_000));
    assert!(s.fired(12_000));
    assert_eq!(s.repeats_left(), Some(1));
    assert!(!s.fired(13_000));
    assert_eq!(s.state(), TimerState::Stopped);
    assert!(s.exhausted());
    // Started again with none left, it stays stopped.
    s.start(20_000, false);
    assert_eq!(s.state(), TimerState::Stopped);
}

#[test]
fn without_a_start_delay_the_first_firing_is_at_once() {
    let mut s = Schedule::every(500, 0);
    s.start(1_000, false);
    assert_eq!(s.next_at, Some(1_000));
    assert!(s.fired(1_000));
    assert_eq!(s.next_at, Some(1_500));
    assert_eq!(s.repeats_left(), None);
}

#[test]
fn a_late_firing_is_not_made_up_for_the_missed_ones() {
    let mut s = Schedule::every(1000, 0);
    s.start(0, true);
    // Due at 1000, fired at 4500: once, and the next is 5000 (in phase).
    assert!(s.fired(4_500));
    assert_eq!(s.next_at, Some(5_000));
    assert_eq!(s.done, 1);
    // Exactly on a later deadline: the next one after it.
    assert!(s.fired(6_000));
    assert_eq!(s.next_at, Some(7_000));
}

#[test]
fn pausing_keeps_the_time_left_and_unpausing_resumes_it() {
    let mut s = Schedule::every(10_000, 0);
    s.start(0, true);
    assert!(s.pause(3_000));
    assert_eq!(s.state(), TimerState::Paused);
    assert_eq!(s.paused_left, Some(7_000));
    assert!(!s.pause(4_000), "pausing twice changes nothing");
    assert!(s.unpause(50_000));
    assert_eq!(s.next_at, Some(57_000));
    assert!(!s.unpause(60_000));
    // A deadline already passed when paused leaves nothing to wait for.
    s.next_at = Some(100);
    s.pause(200);
    assert_eq!(s.paused_left, Some(0));
}

#[test]
fn force_repeat_counts_and_restarts_the_countdown() {
    let mut s = Schedule::every(1_000, 2);
    s.start(0, true);
    assert!(s.forced(400));
    assert_eq!(s.next_at, Some(1_400));
    assert!(!s.forced(500), "the second of two repeats was the last");
    assert_eq!(s.state(), TimerState::Stopped);
    // Forced while paused: it stays paused, with a whole interval left.
    let mut p = Schedule::every(1_000, 0);
    p.start(0, true);
    p.pause(100);
    assert!(p.forced(200));
    assert_eq!(p.state(), TimerState::Paused);
    assert_eq!(p.paused_left, Some(1_000));
}

#[test]
fn missed_while_down_fires_once_or_skips_as_asked() {
    // Down from 1500 to 9200; deadlines every 1000 from 2000.
    let mut once = Schedule::every(1_000, 0);
    once.start(1_000, true);
    assert!(once.resume(9_200), "Once: fire now");
    assert!(once.fired(9_200));
    assert_eq!(once.next_at, Some(10_000), "then on in phase");
    assert_eq!(once.done, 1, "one firing for the whole downtime");

    let mut skip = Schedule::every(1_000, 0);
    skip.missed = Missed::Skip;
    skip.start(1_000, true);
    assert!(!skip.resume(9_200));
    assert_eq!(skip.next_at, Some(10_000));
    assert_eq!(skip.done, 0);

    // A one-shot delay that is skipped is used up.
    let mut shot = Schedule::once(500);
    shot.missed = Missed::Skip;
    shot.start(0, true);
    assert!(!shot.resume(9_000));
    assert_eq!(shot.state(), TimerState::Stopped);
    assert!(shot.exhausted());

    // A deadline still to come is not missed.
    let mut later = Schedule::every(1_000, 0);
    later.start(9_000, true);
    assert!(!later.resume(9_200));
    assert_eq!(later.next_at, Some(10_000));
}

fn script(key: &str, on: Attached, every: i64) -> ScriptData {
    let mut schedule = Schedule::every(every, 0);
    schedule.start(0, true);
    ScriptData {
        id: 0,
        key: key.into(),
        typeclass: "t".into(),
        desc: String::new(),
        on,
        schedule,
        persistent: true,
        attrs: Default::default(),
        created_at: 0,
    }
}

#[test]
fn scripts_are_found_by_object_account_and_key_and_go_with_their_object() {
    let mut t = Timers::default();
    let a = t.add_script(script("Weather", Attached::Object(7), 100));
    let b = t.add_script(script("regen", Attached::Account(3), 100));
    let c = t.add_script(script("weather", Attached::Global, 0));
    assert_ne!(a, b);
    assert_eq!(t.scripts_on(Attached::Object(7)), vec![a]);
    assert_eq!(t.scripts_on(Attached::Account(3)), vec![b]);
    assert_eq!(t.scripts_on(Attached::Global), vec![c]);
    assert_eq!(t.scripts_keyed("WEATHER"), vec![a, c]);
    assert_eq!(
        t.clock.len(),
        2,
        "a script without an interval is not armed"
    );
    let gone = t.forget_object(7);
    assert_eq!(gone.len(), 1);
    assert!(t.script(a).is_none());
    assert_eq!(t.scripts_keyed("weather"), vec![c]);
    assert_eq!(t.clock.len(), 1);
}

#[test]
fn changes_write_persistent_rows_and_delete_removed_ones() {
    let mut t = Timers::default();
    let a = t.add_script(script("a", Attached::Global, 100));
    let mut temp = script("temp", Attached::Global, 100);
    temp.persistent = false;
    t.add_script(temp);
    let before = t.change_count();
    let (write, gone) = t.take_changes();
    assert_eq!(
        write.len(),
        2,
        "the script and the next id; the non-persistent script is not written"
    );
    assert!(write.contains(&TimerRecord::NextId {
        next: 1 + super::ID_BLOCK
    }));
    assert!(gone.is_empty());
    t.update_script(a, |s| s.attrs.insert("n".into(), json!(1)));
    assert!(t.change_count() > before);
    t.remove_script(a);
    let (write, gone) = t.take_changes();
    assert!(
        write.is_empty(),
        "a row removed after a change is only deleted"
    );
    // A new script after a reload does not take a deleted one's id.
    let mut back = Timers::default();
    back.insert_loaded(TimerRecord::NextId { next: 3 });
    assert_eq!(back.add_script(script("b", Attached::Global, 0)), 3);
    assert_eq!(gone, vec!["script:1".to_string()]);
}

/// The next id is stored once a block of ids, and a restart from what
/// was stored never hands out an id given before.
#[test]
fn timer_ids_are_reserved_in_blocks_and_never_given_twice() {
    let mut t = Timers::default();
    let delay = |persistent| DelayData {
        id: 0,
        callback: "tick".into(),
        args: json!(null),
        schedule: Schedule::once(10),
        persistent,
        created_at: 0,
    };
    let mut stored = None;
    let mut writes_of_next = 0;
    let mut given = Vec::new();
    for i in 0..(2 * super::ID_BLOCK + 10) {
        given.push(t.add_delay(delay(i % 3 == 0)));
        let (write, _) = t.take_changes();
        for w in write {
            if let TimerRecord::NextId { next } = w {
                writes_of_next += 1;
                stored = Some(next);
            }
        }
    }
    assert_eq!(writes_of_next, 3, "once for each block begun");
    let stored = stored.expect("stored");
    assert!(given.iter().all(|&id| id < stored));
    // A restart with only what was stored: new ids are new.
    let mut back = Timers::default();
    back.insert_loaded(TimerRecord::NextId { next: stored });
    let fresh = back.add_delay(delay(true));
    assert!(!given.contains(&fresh) && fresh >= stored);
    let (write, _) = back.take_changes();
    assert!(
        write.contains(&TimerRecord::NextId {
            next: fresh + super::ID_BLOCK
        }),
        "the restart takes a block of its own: {write:?}"
    );
}

#[test]
fn tickers_of_one_interval_share_one_deadline() {
    let mut t = Timers::default();
    for target in 1..=100 {
        let sub = TickerSub {
            interval: 5_000,
            target: Some(target),
            hook: "regen".into(),
            args: json!(null),
        };
        assert!(t.add_ticker(sub, 12_345));
    }
    t.add_ticker(
        TickerSub {
            interval: 5_000,
            target: Some(1),
            hook: "regen".into(),
            args: json!({"again": true}),
        },
        12_345,
    );
    assert_eq!(
        t.ticker_count(),
        100,
        "the same subscription replaces its arguments"
    );
    assert_eq!(t.clock.len(), 1, "one deadline for a hundred subscribers");
    assert_eq!(
        t.clock.next(),
        Some(15_000),
        "ticks fall on multiples of the interval"
    );
    t.ticked(5_000, 15_002);
    assert_eq!(t.clock.next(), Some(20_000));
    t.forget_object(1);
    assert_eq!(t.ticker_count(), 99);
    for target in 2..=100 {
        assert!(t.remove_ticker(5_000, Some(target), "regen"));
    }
    assert!(!t.remove_ticker(5_000, Some(2), "regen"));
    assert!(
        t.clock.is_empty(),
        "the last subscriber gone, the group goes"
    );
    let (_, gone) = t.take_changes();
    assert!(gone.contains(&"ticks:5000".to_string()));
}

#[test]
fn records_round_trip_and_reload_into_the_same_timers() {
    let mut t = Timers::default();
    let id = t.add_script(script("w", Attached::Object(4), 1_000));
    t.add_ticker(
        TickerSub {
            interval: 60_000,
            target: None,
            hook: "weather".into(),
            args: json!([1, 2]),
        },
        1_000,
    );
    let (rows, _) = t.take_changes();
    let text: Vec<String> = rows
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    let mut back = Timers::default();
    // Rows come back in any order.
    for s in text.iter().rev() {
        back.insert_loaded(serde_json::from_str(s).unwrap());
    }
    assert_eq!(back.script(id), t.script(id));
    assert_eq!(back.clock.next(), t.clock.next());
    assert_eq!(back.ticker_count(), 1);
    assert_eq!(back.tick_group(60_000), t.tick_group(60_000));
    // New ids continue after the loaded ones.
    let next = back.add_script(script("x", Attached::Global, 0));
    assert!(next > id);
}

#[test]
fn a_tick_group_loaded_without_subscribers_goes_at_its_first_tick() {
    let mut t = Timers::default();
    t.insert_loaded(TimerRecord::Ticks {
        interval: 1_000,
        next_at: 5_000,
    });
    assert_eq!(t.clock.len(), 1);
    t.ticked(1_000, 5_000);
    assert!(t.clock.is_empty());
    assert!(t.tick_group(1_000).is_none());
    let (_, gone) = t.take_changes();
    assert_eq!(gone, vec!["ticks:1000".to_string()]);
}
