//! The dispatch rules, on plain instances (no server).

use serde_json::{Value, json};

use super::*;
use crate::model::flows::def::{Action, FlowDef, Op};
use crate::model::flows::vars::{Found, Scope};

struct NoWorld;

impl Scope for NoWorld {
    fn field(&self, obj: ObjId, name: &str) -> Option<Found> {
        match (obj, name) {
            (7, "key") => Some(Found::Data(json!("Anna"))),
            (7, "hp") => Some(Found::Data(json!(3))),
            _ => None,
        }
    }
    fn owner(&self) -> Option<ObjId> {
        Some(7)
    }
    fn global(&self, name: &str) -> Option<Value> {
        (name == "motd").then(|| json!("Welcome"))
    }
}

fn start(def: &FlowDef) -> (FlowInstance, Vec<Effect>) {
    let mut f = FlowInstance::new(def, "t", Owner::Object(7), Map::new(), 1_000);
    let fx = f.run(def, 1_000, &NoWorld);
    (f, fx)
}

fn sends(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Send { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn cmd(f: &mut FlowInstance, def: &FlowDef, line: &str, now: i64) -> Vec<Effect> {
    let mut fx = Vec::new();
    f.deliver(&Trigger::Command(line.into()), &mut fx);
    fx.extend(f.run(def, now, &NoWorld));
    fx
}

fn states(f: &FlowInstance) -> Vec<(String, Vec<String>)> {
    let mut v: Vec<_> = f
        .states
        .iter()
        .map(|s| (s.state.clone(), s.path.clone()))
        .collect();
    v.sort();
    v
}

#[test]
fn next_is_serial_and_leaving_a_state_cancels_its_listeners() {
    let def = FlowDef::new("d")
        .state(
            "START",
            [Action::send("one"), Action::next("b"), Action::send("two")],
        )
        .state(
            "b",
            [
                Action::send("three"),
                Action::on_command("go", "c"),
                Action::on_command("stay", "b"),
            ],
        )
        .state("c", [Action::send("four")]);
    let (mut f, fx) = start(&def);
    // The rest of START runs before b is entered.
    assert_eq!(sends(&fx), ["one", "two", "three"]);
    assert_eq!(f.listeners.len(), 2);
    let fx = cmd(&mut f, &def, "GO", 2_000);
    assert_eq!(sends(&fx), ["four"]);
    assert!(
        f.listeners.is_empty(),
        "b's listeners are cancelled: {:?}",
        f.listeners
    );
    assert!(sends(&cmd(&mut f, &def, "stay", 3_000)).is_empty());
}

#[test]
fn a_stalled_listener_does_not_fire_twice_and_a_kept_one_queues_and_replays() {
    let def = FlowDef::new("d")
        .state(
            "START",
            [
                Action::on_event_kept("bell", "rang", 2),
                Action::on_command("wait", "waiting"),
            ],
        )
        .state(
            "rang",
            [
                Action::set("rings", "[[state.data]]"),
                Action::next("START"),
            ],
        )
        .state(
            "waiting",
            [Action::send("waiting"), Action::on_command("back", "START")],
        );
    let (mut f, _) = start(&def);
    let mut fx = Vec::new();
    // Two events at once: the first fires and stalls the listener; the second queues.
    f.deliver(&Trigger::Event("bell".into(), json!(1)), &mut fx);
    assert_eq!(f.listener("START:0").unwrap().status, Status::Stalled);
    f.deliver(&Trigger::Event("bell".into(), json!(2)), &mut fx);
    assert_eq!(f.listener("START:0").unwrap().queue.len(), 1);
    f.run(&def, 2_000, &NoWorld);
    // rang → START again: the kept listener is active, replays the queued 2.
    f.run(&def, 2_000, &NoWorld);
    assert_eq!(f.vars.get("rings"), Some(&json!(2)));

    // Muted while another state is current: queues, at most 2, dropping the oldest.
    cmd(&mut f, &def, "wait", 3_000);
    assert_eq!(f.listener("START:0").unwrap().status, Status::Muted);
    let mut fx = Vec::new();
    for n in 3..=5 {
        f.deliver(&Trigger::Event("bell".into(), json!(n)), &mut fx);
    }
    assert_eq!(
        fx,
        vec![Effect::Queueing {
            listener: "START:0".into()
        }]
    );
    let queued: Vec<Value> = f
        .listener("START:0")
        .unwrap()
        .queue
        .iter()
        .map(|e| e["data"].clone())
        .collect();
    assert_eq!(queued, [json!(4), json!(5)]);
    // Back in START: 4, then 5, in order.
    cmd(&mut f, &def, "back", 4_000);
    f.run(&def, 4_000, &NoWorld);
    assert_eq!(f.vars.get("rings"), Some(&json!(5)));
    assert!(f.listener("START:0").unwrap().queue.is_empty());
}

#[test]
fn a_cancelled_listener_hears_nothing() {
    let def = FlowDef::new("d")
        .state(
            "START",
            [Action::on_event("x", "b"), Action::on_command("skip", "b")],
        )
        .state("b", [Action::send("in b")]);
    let (mut f, _) = start(&def);
    cmd(&mut f, &def, "skip", 2_000);
    let mut fx = Vec::new();
    assert!(
        !f.deliver(&Trigger::Event("x".into(), json!(null)), &mut fx)
            .matched
    );
    assert!(fx.is_empty() && f.pending.is_empty());
}

#[test]
fn split_runs_paths_in_parallel_and_join_ends_them() {
    let def = FlowDef::new("d")
        .state(
            "START",
            [Action::split("hint", "side"), Action::next("main")],
        )
        .state("main", [Action::on_command("done", "joined")])
        .state("hint", [Action::on_command("ring", "rung")])
        .state(
            "rung",
            [
                Action::send("nice ring"),
                Action::on_command("ring", "rung"),
            ],
        )
        .state("joined", [Action::join(&["side"]), Action::send("joined")]);
    let (mut f, _) = start(&def);
    assert_eq!(
        states(&f),
        [
            ("hint".to_string(), vec!["side".to_string()]),
            ("main".to_string(), vec![])
        ]
    );
    // The branch's listener and the main path's both work.
    assert_eq!(sends(&cmd(&mut f, &def, "ring", 2_000)), ["nice ring"]);
    assert_eq!(sends(&cmd(&mut f, &def, "done", 3_000)), ["joined"]);
    assert_eq!(states(&f), [("joined".to_string(), vec![])]);
    assert!(f.listeners.is_empty());
    assert!(
        sends(&cmd(&mut f, &def, "ring", 4_000)).is_empty(),
        "the side path is over"
    );
}

#[test]
fn entering_a_state_from_before_the_split_ends_the_branches() {
    let def = FlowDef::new("d")
        .state("START", [Action::next("lobby")])
        .state(
            "lobby",
            [
                Action::split("side", "extra"),
                Action::on_command("again", "lobby"),
            ],
        )
        .state("side", [Action::on_command("poke", "side")]);
    let (mut f, _) = start(&def);
    assert_eq!(f.states.len(), 2);
    let before = f.branches.len();
    cmd(&mut f, &def, "again", 2_000);
    // lobby was entered before the split: the old branch ended, lobby split a new one.
    assert_eq!(f.branches.len(), before);
    assert_eq!(f.states.len(), 2);
    assert_eq!(f.listeners.iter().filter(|l| l.id == "side:0").count(), 1);
}

#[test]
fn join_cancels_listeners_whose_path_contains_or_is_contained_in_it() {
    let def = FlowDef::new("d").state("START", [Action::on_command("x", "START")]);
    let mut f = FlowInstance::new(&def, "t", Owner::Game, Map::new(), 0);
    let l = |id: &str, path: &[&str]| Listener {
        id: id.into(),
        state: "START".into(),
        path: path.iter().map(|s| s.to_string()).collect(),
        entry: 1,
        action: Action::on_command("x", "START"),
        status: Status::Active,
        queue: VecDeque::new(),
        deadline: None,
    };
    f.listeners = vec![
        l("root", &[]),
        l("a", &["a"]),
        l("ab", &["a", "b"]),
        l("c", &["c"]),
    ];
    f.join(&["a".to_string()], &[]);
    let left: Vec<&str> = f.listeners.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(left, ["c"], "root ⊆ [a], [a] and [a,b] ⊇ [a]; [c] neither");
}

#[test]
fn a_restarted_flow_keeps_its_dates_and_does_not_repeat_done_actions() {
    let def = FlowDef::new("d")
        .state(
            "START",
            [
                Action::send("hello"),
                Action::timeout("10", "late"),
                Action::on_command("hi", "late"),
            ],
        )
        .state("late", [Action::send("too late")]);
    let (f, fx) = start(&def);
    assert_eq!(sends(&fx), ["hello"]);
    assert_eq!(f.next_deadline(), Some(11_000), "entered at 1 000 + 10 s");
    // Saved and loaded (a reload or a crash), then run again at 5 000.
    let mut f: FlowInstance = serde_json::from_value(serde_json::to_value(&f).unwrap()).unwrap();
    assert!(
        sends(&f.run(&def, 5_000, &NoWorld)).is_empty(),
        "hello is not said twice"
    );
    assert_eq!(f.next_deadline(), Some(11_000));
    let mut fx = Vec::new();
    f.deliver(&Trigger::Time(10_999), &mut fx);
    assert!(f.pending.is_empty());
    f.deliver(&Trigger::Time(11_000), &mut fx);
    assert_eq!(sends(&f.run(&def, 11_000, &NoWorld)), ["too late"]);
}

#[test]
fn a_timeout_already_past_when_armed_fires_at_once() {
    let def = FlowDef::new("d")
        .state(
            "START",
            [Action::call("slow", json!(null)), Action::timeout("1", "b")],
        )
        .state("b", [Action::send("b")]);
    let mut f = FlowInstance::new(&def, "t", Owner::Game, Map::new(), 0);
    let fx = f.run(&def, 0, &NoWorld);
    assert!(matches!(fx.last(), Some(Effect::Call { date: 0, .. })));
    // The call took 5 s: the timeout (date 0 + 1 s) is past when armed.
    assert_eq!(sends(&f.run(&def, 5_000, &NoWorld)), ["b"]);
}

#[test]
fn variables_resolve_in_the_documented_order_and_set_writes_through() {
    let def = FlowDef::new("d")
        .arg("who", ArgType::Object)
        .arg("n", ArgType::Number)
        .state(
            "START",
            [
                Action::send("[[who.key]] [[n]] [[hp]] [[owner.hp]] [[motd]] [[nope]]"),
                Action::set("quest.step", 2),
                Action::set("who.hp", 9),
                Action::send("step [[quest.step]]"),
            ],
        );
    let mut args = Map::new();
    args.insert("who".into(), json!("#7"));
    args.insert("n".into(), json!(4));
    let mut f = FlowInstance::new(&def, "t", Owner::Object(7), args, 0);
    let fx = f.run(&def, 0, &NoWorld);
    assert_eq!(sends(&fx), ["Anna 4 3 3 Welcome ", "step 2"]);
    assert!(fx.contains(&Effect::Warn("[[nope]] has no value".into())));
    assert!(fx.contains(&Effect::SetAttr {
        obj: 7,
        attr: "hp".into(),
        value: json!(9)
    }));
    // A flow variable shadows the owner's attribute of the same name.
    f.vars.insert("hp".into(), json!(100));
    assert_eq!(f.lookup(&def, "hp", &NoWorld), Some(json!(100)));
}

#[test]
fn on_change_checks_on_entry_and_after_changes() {
    let def = FlowDef::new("d")
        .state("START", [Action::on_change("score", Op::Ge, 3, "won")])
        .state("won", [Action::send("won")]);
    let (mut f, _) = start(&def);
    assert_eq!(f.states[0].state, "START");
    // A look that would do nothing says so, and changes nothing.
    f.vars.insert("score".into(), json!(2));
    assert!(!f.changes_would_act(&def, &NoWorld));
    assert_eq!(f.states[0].state, "START");
    f.vars.insert("score".into(), json!(3));
    assert!(f.changes_would_act(&def, &NoWorld), "its condition holds");
    assert_eq!(f.states[0].state, "START", "it only looked");
    let mut fx = Vec::new();
    f.check_changes(&def, &NoWorld, &mut fx);
    assert_eq!(sends(&f.run(&def, 0, &NoWorld)), ["won"]);
    // Already true on entry: goes at once.
    let mut g = FlowInstance::new(&def, "g", Owner::Game, Map::new(), 0);
    g.vars.insert("score".into(), json!(5));
    assert_eq!(sends(&g.run(&def, 0, &NoWorld)), ["won"]);
    // A condition against a value it lacks would warn: that is acting too.
    let lacks = FlowDef::new("d")
        .state(
            "START",
            [Action::on_change("score", Op::Ge, "[[nope]]", "won")],
        )
        .state("won", [Action::send("won")]);
    let (h, _) = start(&lacks);
    assert!(h.changes_would_act(&lacks, &NoWorld));
}

#[test]
fn definitions_load_from_toml_and_json_and_are_checked() {
    let toml = r#"
name = "bell"
[args]
who = "object"
[[states.START]]
action = "send"
text = "Hello [[who.key]]"
[[states.START]]
action = "timeout"
after = "0:30"
next = "end"
[[states.end]]
action = "end"
"#;
    let def = FlowDef::from_toml(toml).unwrap();
    assert_eq!(def.states["START"][1], Action::timeout("0:30", "end"));
    let json = serde_json::to_string(&def).unwrap();
    assert_eq!(FlowDef::from_json(&json).unwrap(), def);
    let bad = toml.replace("next = \"end\"", "next = \"nowhere\"");
    assert!(
        FlowDef::from_toml(&bad)
            .unwrap_err()
            .to_string()
            .contains("nowhere")
    );
    assert!(
        FlowDef::from_toml("name = \"x\"\n[states]\n")
            .unwrap_err()
            .to_string()
            .contains("START")
    );
    let bad = toml.replace("\"0:30\"", "\"soon\"");
    assert!(FlowDef::from_toml(&bad).is_err());
    assert!(FlowDef::from_toml(&toml.replace("action = \"end\"", "action = \"explode\"")).is_err());
}

#[test]
fn states_that_only_lead_to_each_other_do_not_hang_the_server() {
    let def = FlowDef::new("d")
        .state("START", [Action::next("a")])
        .state("a", [Action::set("n", 1), Action::next("START")]);
    let mut f = FlowInstance::new(&def, "t", Owner::Game, Map::new(), 0);
    let fx = f.run(&def, 0, &NoWorld);
    assert!(
        matches!(fx.last(), Some(Effect::Warn(w)) if w.contains("loop")),
        "{fx:?}"
    );
    assert_eq!(f.entries, MAX_ENTRIES_PER_RUN as u64);
    assert!(!f.pending.is_empty(), "the rest waits");
}

#[test]
fn a_waiting_flow_keeps_only_the_room_it_uses_and_is_saved_as_before() {
    let def = FlowDef::new("t")
        .state(
            "START",
            [
                Action::set("game", "Tavern"),
                Action::set("quest.step", 1),
                Action::next("look"),
            ],
        )
        .state("look", [Action::on_command("l|look", "START")]);
    let (mut f, _) = start(&def);
    f.refs.insert("tavern".into(), vec![2]);
    f.compact();
    // One state, one listener, one path's history, two variables, one
    // reference: no spare places (a vector's first push makes four).
    assert_eq!((f.states.len(), f.states.capacity()), (1, 1));
    assert_eq!((f.listeners.len(), f.listeners.capacity()), (1, 1));
    assert_eq!(f.pending.capacity(), 0);
    let tight = |pairs: Vec<(String, Value)>| pairs.len() == pairs.capacity();
    let tight_u64 = |pairs: Vec<(String, u64)>| pairs.len() == pairs.capacity();
    assert!(tight(f.vars.clone().into_tuple_vec()));
    let h = f.history.get("").unwrap();
    assert_eq!(h.entered, 2);
    assert!(h.entered_within("START", 1) && !h.entered_within("look", 1));
    assert!(h.entered_within("look", 2));
    assert!(tight_u64(h.first.clone().into_tuple_vec()));
    // Nested variables are objects, as before.
    assert_eq!(f.vars.get("quest"), Some(&json!({"step": 1})));

    // Saved as JSON objects, exactly as when these were maps; what an earlier
    // server saved loads the same.
    let saved = serde_json::to_value(&f).unwrap();
    assert_eq!(
        saved["vars"],
        json!({"game": "Tavern", "quest": {"step": 1}})
    );
    assert_eq!(saved["refs"], json!({"tavern": [2]}));
    assert_eq!(
        saved["history"],
        json!({"": {"entered": 2, "first": {"START": 0, "look": 1}}})
    );
    let mut older = saved.clone();
    older["vars"] = json!({"quest": {"step": 1}, "game": "Tavern"});
    // An earlier build saved every state entered, in order.
    older["history"] = json!({"": ["START", "look"]});
    let back: FlowInstance = serde_json::from_value(older).unwrap();
    assert_eq!(back, f, "keys in any order are sorted again");
    // And it goes on as before.
    let fx = cmd(&mut f, &def, "look", 2_000);
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(f.history.get("").map(|h| h.entered), Some(4));

    // A flow that loops keeps no more than its states: ten thousand turns
    // of the loop, and its history is what it was after the first.
    for t in 0..10_000 {
        let fx = cmd(&mut f, &def, "look", 3_000 + t);
        assert!(fx.is_empty(), "{fx:?}");
    }
    let h = f.history.get("").unwrap();
    assert_eq!(h.entered, 20_004);
    assert_eq!(h.first.len(), 2);
    assert_eq!(
        serde_json::to_value(&f.history).unwrap(),
        json!({"": {"entered": 20_004, "first": {"START": 0, "look": 1}}}),
        "only the count grew"
    );

    // Empty, they are empty objects too.
    let (fresh, _) = start(&FlowDef::new("e").state("START", [Action::End]));
    let saved = serde_json::to_value(&fresh).unwrap();
    assert_eq!(saved["vars"], json!({}));
    assert_eq!(saved["refs"], json!({}));
    let back: FlowInstance = serde_json::from_value(saved).unwrap();
    assert_eq!(back, fresh);
}
