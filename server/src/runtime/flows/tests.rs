//! Flows in a real in-process server: commands, events, timers, game code,
//! the builder command, and reloads that neither repeat a message nor move
//! a deadline.

use std::time::Duration;

use serde_json::{Map, json};

use crate::Game;
use crate::model::flows::engine::Owner;
use crate::model::flows::{Action, ArgType, FlowDef, Op};
use crate::testing::TestGame;

fn tutorial() -> FlowDef {
    FlowDef::new("tutorial")
        .state(
            "START",
            [
                Action::send("Welcome, [[owner.key]]!"),
                Action::next("look"),
            ],
        )
        .state(
            "look",
            [
                Action::send("Type 'look'."),
                Action::on_command("l|look", "wait"),
            ],
        )
        .state(
            "wait",
            [
                Action::send("Good. Now wait."),
                Action::timeout("30", "late"),
                Action::on_command("go", "done"),
            ],
        )
        .state("late", [Action::send("Time is up."), Action::next("done")])
        .state("done", [Action::send("Done: [[score]]."), Action::End])
}

/// Waits for a choice from the owner's client (`Tavern.Choice`), says it,
/// and then listens for nothing.
fn choice() -> FlowDef {
    FlowDef::new("choice")
        .state(
            "START",
            [Action::OnOob {
                package: "Tavern.Choice".into(),
                next: "chosen".into(),
                keep: false,
                max_queue: 10,
            }],
        )
        .state("chosen", [Action::send("You chose [[state.data]].")])
}

fn start_for(t: &mut TestGame, sessid: u64, def: &str) -> String {
    let me = t.puppet(sessid).unwrap();
    t.with_server(|s| s.start_flow(def, Some("tut"), Owner::Object(me), Map::new()))
        .unwrap()
}

#[test]
fn a_flow_talks_waits_for_commands_and_ends() {
    let mut t = TestGame::new(Game::new().flow(tutorial()).flow_global("score", json!(7)));
    let anna = t.player("Anna");
    start_for(&mut t, anna, "tutorial");
    assert_eq!(t.heard(anna), "Welcome, Anna!\nType 'look'.");
    // The command runs as usual, and the flow hears it.
    let out = t.cmd(anna, "look");
    assert!(out.starts_with("Limbo"), "{out}");
    assert!(out.ends_with("Good. Now wait."), "{out}");
    // A word only the flow knows is not "not available".
    assert_eq!(t.cmd(anna, "go"), "Done: 7.");
    assert!(t.server().world.flows.is_empty(), "an ended flow is gone");
}

#[test]
fn a_reload_neither_repeats_a_message_nor_moves_a_deadline() {
    let mut t = TestGame::new(Game::new().flow(tutorial()));
    let anna = t.player("Anna");
    start_for(&mut t, anna, "tutorial");
    t.cmd(anna, "look");
    let deadline = t.server().world.flows["tut"].next_deadline().unwrap();
    t.advance(Duration::from_secs(20));
    t.reload();
    assert_eq!(
        t.heard(anna),
        " Server restart initiated ...\n ... Server restarted."
    );
    assert_eq!(
        t.server().world.flows["tut"].next_deadline(),
        Some(deadline)
    );
    // 29 s after the state was entered: not yet; at 30 s: the timeout fires.
    t.advance(Duration::from_secs(9));
    assert_eq!(t.heard(anna), "");
    t.advance(Duration::from_secs(1));
    assert_eq!(t.heard(anna), "Time is up.\nDone: .");
}

#[test]
fn events_paths_and_game_code_work_together() {
    let def = FlowDef::new("watch")
        .state(
            "START",
            [
                Action::split("bells", "counting"),
                Action::on_event("alarm", "alarmed"),
            ],
        )
        .state("bells", [Action::on_event_kept("bell", "rang", 5)])
        .state(
            "rang",
            [
                Action::call("count", json!({"by": 1})),
                Action::next("bells"),
            ],
        )
        .state(
            "alarmed",
            [
                Action::join(&["counting"]),
                Action::send_room("Alarm! [[rings]] rings."),
            ],
        );
    let game = Game::new().flow(def).flow_action("count", |ctx, payload| {
        let n = ctx.var("rings").and_then(|v| v.as_i64()).unwrap_or(0);
        ctx.set("rings", json!(n + payload["by"].as_i64().unwrap_or(0)));
        ctx.log("counted");
        Ok(())
    });
    let mut t = TestGame::new(game);
    let anna = t.player("Anna");
    let room = t.server().world.start_room;
    t.with_server(|s| s.start_flow("watch", Some("w"), Owner::Object(room), Map::new()))
        .unwrap();
    for _ in 0..3 {
        t.with_server(|s| s.flow_event("bell", json!(null)));
    }
    assert_eq!(
        t.server().world.flows["w"].vars.get("rings"),
        Some(&json!(3))
    );
    t.with_server(|s| s.flow_event("alarm", json!(null)));
    assert_eq!(t.heard(anna), "Alarm! 3 rings.");
    // The counting path was joined: bells are not counted any more.
    t.with_server(|s| s.flow_event("bell", json!(null)));
    assert_eq!(
        t.server().world.flows["w"].vars.get("rings"),
        Some(&json!(3))
    );
}

#[test]
fn on_change_follows_the_owners_attributes_and_set_writes_them() {
    let def = FlowDef::new("hp")
        .state("START", [Action::on_change("owner.hp", Op::Le, 5, "hurt")])
        .state(
            "hurt",
            [
                Action::send("You feel weak."),
                Action::set("owner.weak", true),
            ],
        );
    let mut t = TestGame::new(Game::new().flow(def));
    let anna = t.player("Anna");
    let me = t.puppet(anna).unwrap();
    t.with_server(|s| s.world.update(me, |o| o.set_attr("hp", 10)));
    start_for(&mut t, anna, "hp");
    t.with_server(|s| s.world.update(me, |o| o.set_attr("hp", 8)));
    assert_eq!(t.heard(anna), "");
    t.with_server(|s| s.world.update(me, |o| o.set_attr("hp", 4)));
    assert_eq!(t.heard(anna), "You feel weak.");
    assert_eq!(
        t.server().world.get(me).unwrap().attr::<bool>("weak"),
        Some(true)
    );
}

/// `hp`: "You feel weak." once the owner's `hp` is 5 or less.
fn weak_at_five() -> FlowDef {
    FlowDef::new("hp")
        .state("START", [Action::on_change("owner.hp", Op::Le, 5, "hurt")])
        .state("hurt", [Action::send("You feel weak.")])
}

/// A change of attributes alone through `World::set_attr` wakes only the
/// flows whose conditions read one of them: a fighter's blow counter does
/// not make the tutorial look at where its owner is again.
#[test]
fn on_change_passes_over_attributes_its_conditions_do_not_read() {
    let mut t = TestGame::new(Game::new().flow(weak_at_five()));
    let anna = t.player("Anna");
    let me = t.puppet(anna).unwrap();
    t.with_server(|s| s.world.set_attr(me, "hp", 10));
    let name = start_for(&mut t, anna, "hp");
    let index = &t.server().flows.index;
    assert!(index.reads_any(&name, me, &[("hp".into(), false)]));
    assert!(!index.reads_any(&name, me, &[("blows".into(), false)]));
    assert!(
        !index.reads_any(&name, me, &[("hp".into(), true)]),
        "conditions read no ndb attributes"
    );
    assert!(!index.reads_any(&name, me + 1, &[("hp".into(), false)]));
    t.with_server(|s| {
        s.world.set_attr(me, "blows", 1);
        s.world.set_ndb(me, "hp", json!(1));
    });
    assert_eq!(t.heard(anna), "");
    t.with_server(|s| s.world.set_attr(me, "hp", 4));
    assert_eq!(t.heard(anna), "You feel weak.");
}

/// Many players' commands make one batch: an object touched by an early
/// event and touched again by a later one is news to the listeners again
/// (they once looked only at objects the batch had not touched yet, and
/// missed the second change).
#[test]
fn on_change_sees_an_object_touched_again_later_in_the_same_batch() {
    use crate::runtime::server::{Server, ServerEvent};
    let mut t = TestGame::new(Game::new().flow(weak_at_five()));
    let anna = t.player("Anna");
    let me = t.puppet(anna).unwrap();
    t.with_server(|s| s.world.update(me, |o| o.set_attr("hp", 10)));
    start_for(&mut t, anna, "hp");
    t.with_server(|s| {
        let now = s.now();
        for hp in [8, 4] {
            let set: Box<dyn FnOnce(&mut Server) + Send> = Box::new(move |s: &mut Server| {
                s.world.update(me, |o| o.set_attr("hp", hp));
            });
            s.handle(ServerEvent::Outside(set), now);
        }
    });
    assert_eq!(t.heard(anna), "You feel weak.");
}

#[test]
fn builders_list_show_start_and_stop_flows() {
    let mut t = TestGame::new(Game::new().flow(tutorial()));
    let anna = t.player("Anna");
    assert!(
        t.cmd(anna, "flows").contains("not available"),
        "players may not"
    );
    t.grant(anna, "Builder");
    assert_eq!(t.cmd(anna, "flows"), "No flows are running.");
    assert!(t.cmd(anna, "flows/defs").contains("tutorial"));
    let out = t.cmd(anna, "flows/start tutorial = mine");
    assert!(out.contains("Started the flow 'mine' (tutorial)."), "{out}");
    assert!(out.contains("Welcome, Anna!"), "{out}");
    assert!(t.cmd(anna, "flows").contains("mine (tutorial) of Anna"));
    let shown = t.cmd(anna, "flows/show mine");
    assert!(
        shown.contains("state look in path main, entered 0s ago (20"),
        "{shown}"
    );
    assert!(
        shown.contains(" UTC)"),
        "times as people read them: {shown}"
    );
    assert!(
        shown.contains("listener look:1 (on_command) active"),
        "{shown}"
    );
    assert!(
        t.cmd(anna, "flows/start tutorial = mine")
            .contains("is running")
    );
    assert!(
        t.cmd(anna, "flows/start nothing")
            .contains("no flow definition")
    );
    assert_eq!(t.cmd(anna, "flows/stop mine"), "Stopped the flow 'mine'.");
    assert_eq!(
        t.cmd(anna, "flows/stop mine"),
        "No flow called 'mine' is running."
    );
}

#[test]
fn a_command_listener_can_keep_the_line_for_itself() {
    let def = FlowDef::new("menu")
        .state(
            "START",
            [
                Action::send("Pick 1 or 2."),
                Action::OnCommand {
                    command: "[12]".into(),
                    next: "picked".into(),
                    keep: false,
                    max_queue: 10,
                    consume: true,
                },
            ],
        )
        .state(
            "picked",
            [Action::send("You picked [[state.line]]."), Action::End],
        );
    let mut t = TestGame::new(Game::new().flow(def));
    let anna = t.player("Anna");
    start_for(&mut t, anna, "menu");
    t.heard(anna);
    assert_eq!(t.cmd(anna, "2"), "You picked 2.");
}

#[test]
fn a_flow_launches_another_waits_for_its_end_and_moves_its_owner() {
    let parent = FlowDef::new("parent")
        .state(
            "START",
            [
                Action::Launch {
                    flow: "child".into(),
                    name: Some("kid".into()),
                    args: [("word".to_string(), json!("[[owner.key]]"))]
                        .into_iter()
                        .collect(),
                    owner: "owner".into(),
                },
                Action::OnFlowEnd {
                    flow: "kid".into(),
                    next: "after".into(),
                },
            ],
        )
        .state(
            "after",
            [
                Action::Move {
                    what: "owner".into(),
                    to: "garden".into(),
                },
                Action::send("Moved, after the child."),
            ],
        );
    let child = FlowDef::new("child")
        .arg("word", ArgType::String)
        .state(
            "START",
            [
                Action::send("Child says [[word]]."),
                Action::on_command("bye", "end"),
            ],
        )
        .state("end", [Action::End]);
    let mut t = TestGame::new(Game::new().flow(parent).flow(child));
    let anna = t.player("Anna");
    let garden = t
        .with_server(|s| {
            s.create_object(
                crate::NewObject::new(crate::Kind::Room, "Garden")
                    .tag("garden", Some(crate::runtime::create::WORLD_ID)),
            )
        })
        .unwrap();
    start_for(&mut t, anna, "parent");
    assert_eq!(t.heard(anna), "Child says Anna.");
    let out = t.cmd(anna, "bye");
    assert!(out.contains("Moved, after the child."), "{out}");
    let me = t.puppet(anna).unwrap();
    assert_eq!(t.server().world.get(me).unwrap().location, Some(garden));
}

#[test]
fn a_flow_hears_out_of_band_input_from_its_owners_client() {
    let mut t = TestGame::new(Game::new().flow(choice()));
    let anna = t.player("Anna");
    let bert = t.player("Bert");
    start_for(&mut t, anna, "choice");
    t.heard(anna);
    // Bert's client is not the owner's: nothing happens.
    t.send_oob(bert, "tavern_choice", json!("right"));
    assert_eq!(t.heard(anna), "");
    t.send_oob(anna, "tavern_choice", json!("left"));
    assert_eq!(t.heard(anna), "You chose left.");
}

/// A definition's mistake (a value that is not there) is logged once, not
/// once a flow and a step: a thousand players' tutorials would flood the log.
#[test]
fn a_flow_definition_s_warning_is_logged_once() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);
    impl Write for Lines {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let echo = FlowDef::new("echo").state("START", [Action::on_command("ping", "pong")]);
    let echo = echo.state(
        "pong",
        [
            Action::send("Pong [[missing.value]]"),
            Action::next("START"),
        ],
    );
    tracing::subscriber::with_default(subscriber, || {
        let mut t = TestGame::new(Game::new().flow(echo));
        let (anna, bob) = (t.player("Anna"), t.player("Bob"));
        start_for(&mut t, anna, "echo");
        let bob_me = t.puppet(bob).unwrap();
        t.with_server(|s| s.start_flow("echo", Some("b"), Owner::Object(bob_me), Map::new()))
            .unwrap();
        for _ in 0..3 {
            t.cmd(anna, "ping");
            t.cmd(bob, "ping");
        }
    });
    let log = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        log.matches("[[missing.value]] has no value").count(),
        1,
        "{log}"
    );
    assert!(log.contains("logged once for this definition"), "{log}");
}

/// What each owner's flows may hear is counted as they move, so a line
/// none of them listens for is passed over at a glance: the counts always
/// equal a recount over the world's flows, and a flow that listens is
/// still heard.
#[test]
fn what_an_owners_flows_may_hear_is_counted_as_they_move() {
    use super::Hearing;
    use crate::model::world::IdMap;
    fn recount(t: &TestGame) -> IdMap<Owner, Hearing> {
        let mut sums: IdMap<Owner, Hearing> = IdMap::default();
        for inst in t.server().world.flows.values() {
            let h = Hearing::of(inst);
            if h != Hearing::default() {
                let sum = sums.entry(inst.owner).or_default();
                sum.commands += h.commands;
                sum.oob += h.oob;
            }
        }
        sums
    }
    let counted = |t: &TestGame| t.server().flows.index.hearing.clone();
    let mut t = TestGame::new(
        Game::new()
            .flow(tutorial())
            .flow(choice())
            .flow_global("score", json!(7)),
    );
    let anna = t.player("Anna");
    let bert = t.player("Bert");
    let (a, b) = (t.puppet(anna).unwrap(), t.puppet(bert).unwrap());
    assert!(counted(&t).is_empty());
    start_for(&mut t, anna, "tutorial");
    let me = Owner::Object(b);
    t.with_server(|s| s.start_flow("choice", Some("pick"), me, Map::new()))
        .unwrap();
    let anna_hears = |t: &TestGame| counted(t).get(&Owner::Object(a)).copied();
    let bert_hears = |t: &TestGame| counted(t).get(&Owner::Object(b)).copied();
    assert_eq!(
        anna_hears(&t),
        Some(Hearing {
            commands: 1,
            oob: 0
        })
    );
    assert_eq!(
        bert_hears(&t),
        Some(Hearing {
            commands: 0,
            oob: 1
        })
    );
    assert_eq!(counted(&t), recount(&t));
    // Bert's lines reach no flow; his choice ends his flow's listening.
    assert!(t.cmd(bert, "look").starts_with("Limbo"));
    t.send_oob(bert, "tavern_choice", json!("left"));
    assert_eq!(t.heard(bert), "You chose left.");
    assert_eq!(bert_hears(&t), None, "it listens for nothing now");
    assert!(
        t.server().world.flows.contains_key("pick"),
        "yet it is there"
    );
    assert_eq!(counted(&t), recount(&t));
    // Anna's tutorial listens for each step's word, then ends.
    assert!(t.cmd(anna, "look").ends_with("Good. Now wait."));
    assert_eq!(
        anna_hears(&t),
        Some(Hearing {
            commands: 1,
            oob: 0
        })
    );
    assert_eq!(counted(&t), recount(&t));
    assert_eq!(t.cmd(anna, "go"), "Done: 7.");
    assert_eq!(anna_hears(&t), None);
    assert_eq!(counted(&t), recount(&t));
    // A reload indexes the flows again from the world: the same counts.
    let before = counted(&t);
    t.with_server(|s| s.index_flows());
    assert_eq!(counted(&t), before);
}
