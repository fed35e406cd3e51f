//! The feeds against a real in-process server: what each session is sent,
//! when, and only for its own puppet.

use serde_json::{Value, json};
use tavern_shared::link::{PortalOp, StartMode, ToPortal, ToServer};

use crate::model::world::ObjId;
use crate::testing::harness::{LinkHarness, harness_with, oob_for, texts_for};
use crate::{CmdCtx, Command, Game};

/// `hurt <n>`: takes n hit points, one at a time (a burst of n changes).
struct Hurt;

impl Command for Hurt {
    fn key(&self) -> &str {
        "hurt"
    }
    fn help(&self) -> &str {
        "hurt <n>"
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let n: i64 = ctx.args.parse().unwrap_or(1);
        let me = ctx.caller().unwrap();
        for _ in 0..n {
            ctx.server.world.update(me, |o| {
                let hp = o.attr::<i64>("hp").unwrap_or(0);
                o.set_attr("hp", hp - 1);
            });
        }
        ctx.msg("Ouch.");
    }
}

fn game() -> Game {
    Game::new().command(Hurt)
}

/// The payloads of one GMCP package among a session's messages.
fn gmcp(frames: &[ToPortal], sessid: u64, package: &str) -> Vec<Value> {
    oob_for(frames, sessid)
        .into_iter()
        .filter(|(p, name, _)| p == "gmcp" && name == package)
        .map(|(_, _, v)| v)
        .collect()
}

fn msdp(frames: &[ToPortal], sessid: u64) -> Vec<(String, Value)> {
    oob_for(frames, sessid)
        .into_iter()
        .filter(|(p, _, _)| p == "msdp")
        .map(|(_, n, v)| (n, v))
        .collect()
}

/// A character with vitals, logged in on a GMCP session.
async fn player(
    h: &mut LinkHarness,
    sessid: u64,
    name: &str,
    supports: &[&str],
) -> (ObjId, Vec<ToPortal>) {
    let (a, c) = h.account(name, &[]).await;
    h.server.world.update(c, |o| {
        o.set_attr("hp", 20);
        o.set_attr("maxhp", 20);
        o.set_attr("level", 3);
    });
    h.connect_gmcp(sessid, supports);
    let frames = h.login_only(sessid, a);
    (c, frames)
}

#[tokio::test]
async fn a_login_gets_a_full_snapshot_of_its_own_character() {
    let mut h = harness_with(game(), |_| {}).await;
    let (_, frames) = player(&mut h, 1, "Anna", &[]).await;
    assert_eq!(
        gmcp(&frames, 1, "Char.Vitals"),
        vec![json!({"hp": 20, "maxhp": 20})]
    );
    assert_eq!(
        gmcp(&frames, 1, "Char.Base"),
        vec![json!({"name": "Anna", "level": 3})]
    );
    assert_eq!(
        gmcp(&frames, 1, "Char.Name"),
        vec![json!({"name": "Anna", "fullname": "Anna"})]
    );
    assert_eq!(gmcp(&frames, 1, "Char.Status"), vec![json!({"level": 3})]);
    assert_eq!(gmcp(&frames, 1, "Char.StatusVars")[0]["level"], "Level");
    let room = &gmcp(&frames, 1, "Room.Info")[0];
    assert_eq!(room["num"], json!(h.server.world.start_room));
    assert_eq!(room["name"], "Limbo");
    assert_eq!(gmcp(&frames, 1, "Group.Members"), vec![json!([])]);
    assert_eq!(
        h.server.last_oob(1, "Char.Vitals"),
        Some(json!({"hp": 20, "maxhp": 20}))
    );
}

#[tokio::test]
async fn a_burst_of_changes_is_one_update_and_only_for_the_owner() {
    let mut h = harness_with(game(), |_| {}).await;
    player(&mut h, 1, "Anna", &[]).await;
    player(&mut h, 2, "Bert", &[]).await;
    let frames = h.input(1, "hurt 5");
    assert_eq!(
        gmcp(&frames, 1, "Char.Vitals"),
        vec![json!({"hp": 15, "maxhp": 20})]
    );
    assert!(
        gmcp(&frames, 2, "Char.Vitals").is_empty(),
        "Bert got Anna's vitals"
    );
    // Nothing changed: nothing sent.
    let frames = h.input(1, "look");
    assert!(
        oob_for(&frames, 1)
            .iter()
            .all(|(_, n, _)| n != "Char.Vitals")
    );
}

#[tokio::test]
async fn char_status_sends_only_what_changed_after_the_first_time() {
    let mut h = harness_with(game(), |_| {}).await;
    let (anna, _) = player(&mut h, 1, "Anna", &[]).await;
    h.server.world.update(anna, |o| {
        o.set_attr("gold", 7);
    });
    let frames = h.input(1, "look");
    assert_eq!(gmcp(&frames, 1, "Char.Status"), vec![json!({"gold": 7})]);
    assert_eq!(
        h.server.last_oob(1, "Char.Status"),
        Some(json!({"level": 3, "gold": 7}))
    );
}

#[tokio::test]
async fn core_supports_limits_the_packages() {
    let mut h = harness_with(game(), |_| {}).await;
    let (_, frames) = player(&mut h, 1, "Anna", &["Char 1", "Room.Info 1"]).await;
    assert_eq!(gmcp(&frames, 1, "Char.Vitals").len(), 1);
    assert_eq!(gmcp(&frames, 1, "Room.Info").len(), 1);
    assert!(gmcp(&frames, 1, "Group.Members").is_empty());
    let frames = h.input(1, "say hi");
    assert!(gmcp(&frames, 1, "Comm.Channel.Text").is_empty());
}

#[tokio::test]
async fn say_is_channel_text_for_everyone_in_the_room() {
    let mut h = harness_with(game(), |_| {}).await;
    player(&mut h, 1, "Anna", &[]).await;
    player(&mut h, 2, "Bert", &[]).await;
    let frames = h.input(1, "say hello");
    let want = json!({"channel": "say", "talker": "Anna", "text": "hello"});
    assert_eq!(gmcp(&frames, 1, "Comm.Channel.Text"), vec![want.clone()]);
    assert_eq!(gmcp(&frames, 2, "Comm.Channel.Text"), vec![want]);
}

#[tokio::test]
async fn what_a_room_hears_is_one_op_for_all_its_listeners() {
    let mut h = harness_with(game(), |_| {}).await;
    for (k, name) in ["Anna", "Bert", "Cleo", "Dora"].iter().enumerate() {
        player(&mut h, k as u64 + 1, name, &[]).await;
    }
    let frames = h.input(1, "say hello");
    let many: Vec<(Vec<u64>, Vec<String>)> = frames
        .iter()
        .flat_map(|f| match f {
            ToPortal::Batch { ops, .. } => ops.clone(),
            _ => Vec::new(),
        })
        .filter_map(|op| match op {
            PortalOp::OutputMany { sessids, msgs } => {
                Some((sessids, msgs.into_iter().map(|m| m.cmd).collect()))
            }
            _ => None,
        })
        .collect();
    // The line for the three who hear it, and their channel text.
    assert_eq!(
        many,
        vec![
            (vec![2, 3, 4], vec!["text".to_string()]),
            (vec![1, 2, 3, 4], vec!["Comm.Channel.Text".to_string()]),
        ]
    );
    for s in 2..=4 {
        let heard = texts_for(&frames, s);
        assert!(
            heard.len() == 1 && heard[0].starts_with("Anna says, \"hello"),
            "{heard:?}"
        );
    }
}

#[tokio::test]
async fn room_info_follows_the_character_and_its_exits() {
    let mut h = harness_with(game(), |_| {}).await;
    let (anna, _) = player(&mut h, 1, "Anna", &[]).await;
    let limbo = h.server.world.start_room;
    let garden = h
        .server
        .create_object(crate::NewObject::new(crate::Kind::Room, "Garden").attr("area", "Town"))
        .unwrap();
    let exit = h
        .server
        .create_object(
            crate::NewObject::new(crate::Kind::Exit, "garden")
                .location(limbo)
                .destination(garden),
        )
        .unwrap();
    // Neither an exit to nowhere nor things are exits of Room.Info.
    for new in [
        crate::NewObject::new(crate::Kind::Exit, "nowhere").location(limbo),
        crate::NewObject::new(crate::Kind::Thing, "rock").location(limbo),
    ] {
        h.server.create_object(new).unwrap();
    }
    let frames = h.input(1, "look");
    let info = gmcp(&frames, 1, "Room.Info");
    assert_eq!(info.len(), 1, "a new exit changes Room.Info");
    assert_eq!(info[0]["exits"], json!({"garden": garden}));
    // An exit that stops leading somewhere leaves the list.
    h.server.world.update(exit, |o| o.destination = None);
    let frames = h.input(1, "look");
    assert_eq!(gmcp(&frames, 1, "Room.Info")[0]["exits"], json!({}));
    h.server
        .world
        .update(exit, |o| o.destination = Some(garden));
    let frames = h.input(1, "look");
    assert_eq!(
        gmcp(&frames, 1, "Room.Info")[0]["exits"],
        json!({"garden": garden})
    );
    let frames = h.input(1, "garden");
    let info = gmcp(&frames, 1, "Room.Info");
    assert_eq!(info[0]["name"], "Garden");
    assert_eq!(info[0]["area"], "Town");
    assert_eq!(h.server.world.get(anna).unwrap().location, Some(garden));
}

/// Anna (session 1, leading) and Bert (session 2) in the group Wolves.
async fn wolves() -> (LinkHarness, ObjId, ObjId) {
    let mut h = harness_with(game(), |_| {}).await;
    let (anna, _) = player(&mut h, 1, "Anna", &[]).await;
    let (bert, _) = player(&mut h, 2, "Bert", &[]).await;
    for (c, lead) in [(anna, true), (bert, false)] {
        h.server.world.update(c, |o| {
            o.set_attr("group", "Wolves");
            o.set_attr("group_leader", lead);
        });
    }
    (h, anna, bert)
}

#[tokio::test]
async fn group_members_see_each_other_and_a_leaver() {
    let (mut h, anna, bert) = wolves().await;
    let frames = h.input(1, "look");
    let members = &gmcp(&frames, 2, "Group.Members")[0];
    assert_eq!(members[0]["name"], "Anna", "the leader first");
    assert_eq!(members[1]["info"]["hp"], 20);
    assert_eq!(
        gmcp(&frames, 2, "Group.Info")[0],
        json!({"groupname": "Wolves", "leader": "Anna", "count": 2})
    );
    // Anna is hurt: Bert's party widget shows it.
    let frames = h.input(1, "hurt 3");
    assert_eq!(gmcp(&frames, 2, "Group.Members")[0][0]["info"]["hp"], 17);
    // Changed as attributes alone: the group's packages say they show these.
    h.server.world.set_attr(anna, "hp", 9);
    let frames = h.input(1, "look");
    assert_eq!(gmcp(&frames, 2, "Group.Members")[0][0]["info"]["hp"], 9);
    h.server.world.set_attr(anna, "group_leader", false);
    h.server.world.set_attr(bert, "group_leader", true);
    let frames = h.input(1, "look");
    assert_eq!(gmcp(&frames, 2, "Group.Members")[0][0]["name"], "Bert");
    // One no package shows changes nothing.
    h.server.world.set_attr(anna, "blows", 3);
    let frames = h.input(1, "look");
    assert!(oob_for(&frames, 2).is_empty(), "{:?}", oob_for(&frames, 2));
    // Anna walks away: both see that the other is no longer here.
    let garden = h
        .server
        .create_object(crate::NewObject::new(
            crate::model::world::Kind::Room,
            "Garden",
        ))
        .unwrap();
    h.server.world.move_to(anna, Some(garden));
    let frames = h.input(1, "look");
    // (Bert leads now: he is listed first.)
    assert_eq!(gmcp(&frames, 1, "Group.Members")[0][0]["info"]["here"], 0);
    assert_eq!(gmcp(&frames, 2, "Group.Members")[0][1]["info"]["here"], 0);
    assert!(gmcp(&frames, 1, "Group.Info").is_empty(), "no news there");
    // Anna leaves: Bert is told, though she is no longer in his group.
    h.server.world.set_attr(anna, "group", "");
    let frames = h.input(1, "look");
    assert_eq!(gmcp(&frames, 2, "Group.Info")[0]["count"], 1);
}

#[tokio::test]
async fn msdp_reports_a_variable_again_when_it_changes() {
    let mut h = harness_with(game(), |_| {}).await;
    player(&mut h, 1, "Anna", &[]).await;
    let report = tavern_shared::Msg::new("msdp_report")
        .arg(json!("HEALTH"))
        .arg(json!("ROOM_NAME"));
    let frames = h.input_msg(1, report);
    assert_eq!(
        msdp(&frames, 1),
        vec![
            ("HEALTH".into(), json!(20)),
            ("ROOM_NAME".into(), json!("Limbo"))
        ]
    );
    let frames = h.input(1, "hurt 2");
    assert_eq!(msdp(&frames, 1), vec![("HEALTH".into(), json!(18))]);
    let frames = h.input(1, "look");
    assert!(
        msdp(&frames, 1).is_empty(),
        "unchanged values are not sent again"
    );
    let unreport = tavern_shared::Msg::new("msdp_unreport").arg(json!("HEALTH"));
    h.input_msg(1, unreport);
    let frames = h.input(1, "hurt 1");
    assert!(msdp(&frames, 1).is_empty());
}

#[tokio::test]
async fn after_a_reload_every_session_gets_a_fresh_snapshot() {
    let mut h = harness_with(game(), |_| {}).await;
    player(&mut h, 1, "Anna", &[]).await;
    let sync = h.server.sessions.get(1).unwrap().sync.clone();
    let frames = h.link(ToServer::Sync {
        portal_instance: 7,
        portal_id: 0,
        start_mode: StartMode::Reload,
        sessions: vec![sync],
    });
    assert_eq!(
        gmcp(&frames, 1, "Char.Vitals"),
        vec![json!({"hp": 20, "maxhp": 20})]
    );
    assert_eq!(gmcp(&frames, 1, "Room.Info").len(), 1);
}

/// A package that counts how often it is asked for a snapshot.
struct Counting {
    package: &'static str,
    follows: bool,
    asked: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl super::Feed for Counting {
    fn package(&self) -> &str {
        self.package
    }
    fn snapshot(&self, server: &crate::Server, puppet: ObjId) -> Option<Value> {
        self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let o = server.world.get(puppet)?;
        Some(json!({"hp": o.attr::<i64>("hp"), "at": o.location}))
    }
    fn follows_location(&self) -> bool {
        self.follows
    }
}

#[tokio::test]
async fn a_move_is_looked_at_only_by_packages_that_follow_the_location() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (still, moving) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let g = game()
        .feed(Counting {
            package: "Test.Still",
            follows: false,
            asked: still.clone(),
        })
        .feed(Counting {
            package: "Test.Where",
            follows: true,
            asked: moving.clone(),
        });
    let mut h = harness_with(g, |_| {}).await;
    let (anna, _) = player(&mut h, 1, "Anna", &[]).await;
    let limbo = h.server.world.start_room;
    let garden = h
        .server
        .create_object(crate::NewObject::new(crate::Kind::Room, "Garden"))
        .unwrap();
    h.server
        .create_object(
            crate::NewObject::new(crate::Kind::Exit, "garden")
                .location(limbo)
                .destination(garden),
        )
        .unwrap();
    h.input(1, "look");
    let (s0, m0) = (still.load(Ordering::SeqCst), moving.load(Ordering::SeqCst));
    // Walking only moves Anna: the package that shows nothing of where she is is not asked.
    let frames = h.input(1, "garden");
    assert_eq!(h.server.world.get(anna).unwrap().location, Some(garden));
    assert_eq!(still.load(Ordering::SeqCst), s0, "asked about a move");
    assert!(moving.load(Ordering::SeqCst) > m0);
    assert_eq!(gmcp(&frames, 1, "Test.Where")[0]["at"], json!(garden));
    assert!(gmcp(&frames, 1, "Test.Still").is_empty());
    // A change of her attributes is looked at by both.
    let frames = h.input(1, "hurt 2");
    assert!(still.load(Ordering::SeqCst) > s0);
    assert_eq!(gmcp(&frames, 1, "Test.Still")[0]["hp"], json!(18));
    // Moving and changing in one command: both again.
    let s1 = still.load(Ordering::SeqCst);
    h.server.world.update(anna, |o| o.set_attr("hp", 5));
    let frames = h.input(1, "look");
    assert!(still.load(Ordering::SeqCst) > s1);
    assert_eq!(gmcp(&frames, 1, "Test.Still")[0]["hp"], json!(5));
}

#[tokio::test]
async fn a_game_feed_is_sent_and_replaces_a_builtin_of_its_name() {
    struct Vitals;
    impl super::Feed for Vitals {
        fn package(&self) -> &str {
            "Char.Vitals"
        }
        fn snapshot(&self, server: &crate::Server, puppet: ObjId) -> Option<Value> {
            let hp = server.world.get(puppet)?.attr::<i64>("hp")?;
            Some(json!({"hp": hp.to_string(), "string": format!("H:{hp}")}))
        }
    }
    let mut h = harness_with(game().feed(Vitals), |_| {}).await;
    let (_, frames) = player(&mut h, 1, "Anna", &[]).await;
    assert_eq!(
        gmcp(&frames, 1, "Char.Vitals"),
        vec![json!({"hp": "20", "string": "H:20"})]
    );
}

#[test]
fn supports_matches_modules_and_their_packages() {
    use super::supported;
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(supported(&[], "Room.Info"));
    assert!(supported(&s(&["Char 1"]), "Char.Vitals"));
    assert!(supported(&s(&["char 1"]), "Char.Vitals"));
    assert!(!supported(&s(&["Char 1"]), "Charm.Info"));
    assert!(supported(&s(&["Comm.Channel 1"]), "Comm.Channel.Text"));
    assert!(!supported(&s(&["Comm.Channel 1"]), "Comm.Tell"));
    assert!(supported(&s(&["Room.Info 1"]), "Room.Info"));
}

#[tokio::test]
async fn gmcp_clients_are_told_goodbye_before_a_shutdown_not_a_reload() {
    use tavern_shared::link::StopMode;
    let mut h = harness_with(game(), |_| {}).await;
    player(&mut h, 1, "Anna", &[]).await;
    h.connect(2); // a plain telnet client: no GMCP
    let frames = h.link(ToServer::Stop {
        mode: StopMode::Reload,
    });
    assert!(gmcp(&frames, 1, "Core.Goodbye").is_empty());
    let mut h = harness_with(game(), |_| {}).await;
    player(&mut h, 1, "Anna", &[]).await;
    h.connect(2);
    let frames = h.link(ToServer::Stop {
        mode: StopMode::Shutdown,
    });
    assert_eq!(
        gmcp(&frames, 1, "Core.Goodbye"),
        vec![json!(crate::runtime::server::SHUTDOWN_GOODBYE)]
    );
    assert!(oob_for(&frames, 2).is_empty());
}

/// A feed that notes every change it is asked about, and for whom.
struct Asked(std::sync::Arc<std::sync::Mutex<Vec<(ObjId, ObjId)>>>);

impl crate::feeds::Feed for Asked {
    fn package(&self) -> &str {
        "Test.Asked"
    }
    fn snapshot(&self, _: &crate::Server, _: ObjId) -> Option<Value> {
        Some(json!({}))
    }
    fn watches(&self, _: &crate::Server, puppet: ObjId, changed: ObjId) -> bool {
        self.0.lock().unwrap().push((puppet, changed));
        false
    }
}

/// In a batch of changes all over the world, a feed is asked, for each
/// puppet, about the changes near it only: the work of a batch of many
/// players' commands grows with what each can see, not with the batch.
#[tokio::test]
async fn a_feed_is_asked_about_the_changes_near_each_puppet_only() {
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut h = harness_with(game().feed(Asked(asked.clone())), |_| {}).await;
    let (anna, _) = player(&mut h, 1, "Anna", &["Test"]).await;
    let (bert, _) = player(&mut h, 2, "Bert", &["Test"]).await;
    // Bert in a room of his own, with a ball; a cup in Anna's room.
    use crate::model::world::{Kind, Object};
    let made = |h: &mut LinkHarness, name: &str, kind: Kind, room: Option<ObjId>| {
        let mut o = Object::new(0, name, "thing", kind);
        o.location = room;
        h.server.world.create(o).expect("a free id")
    };
    let hall = made(&mut h, "Hall", Kind::Room, None);
    h.server.world.move_to(bert, Some(hall));
    let start = h.server.world.start_room;
    let things = [
        made(&mut h, "ball", Kind::Thing, Some(hall)),
        made(&mut h, "cup", Kind::Thing, Some(start)),
    ];
    h.flush();
    asked.lock().unwrap().clear();
    // One batch: both things change.
    for &t in &things {
        h.server.world.update(t, |o| o.set_attr("n", 1));
    }
    h.flush();
    let asked = asked.lock().unwrap().clone();
    assert!(asked.contains(&(bert, things[0])), "{asked:?}");
    assert!(asked.contains(&(anna, things[1])), "{asked:?}");
    assert!(
        !asked.contains(&(anna, things[0])) && !asked.contains(&(bert, things[1])),
        "asked about a change out of sight: {asked:?}"
    );
}

/// A feed that shows every attribute and notes what it is asked about;
/// `played`: it shows characters played only.
struct AskedAll {
    name: &'static str,
    played: bool,
    asked: std::sync::Arc<std::sync::Mutex<Vec<(ObjId, ObjId)>>>,
}

impl crate::feeds::Feed for AskedAll {
    fn package(&self) -> &str {
        self.name
    }
    fn snapshot(&self, _: &crate::Server, _: ObjId) -> Option<Value> {
        Some(json!({}))
    }
    fn watches(&self, _: &crate::Server, puppet: ObjId, changed: ObjId) -> bool {
        self.asked.lock().unwrap().push((puppet, changed));
        false
    }
    fn only_played(&self) -> bool {
        self.played
    }
}

/// A training dummy's hit points change at every blow, next to everyone
/// fighting it: a package that shows characters played only is not asked
/// about it; one that may show any object is, and both are asked about a
/// character's.
#[tokio::test]
async fn a_change_of_an_object_nobody_plays_is_passed_over_by_packages_of_characters() {
    let played = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let any = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let game = game()
        .feed(AskedAll {
            name: "Test.Played",
            played: true,
            asked: played.clone(),
        })
        .feed(AskedAll {
            name: "Test.Any",
            played: false,
            asked: any.clone(),
        });
    let mut h = harness_with(game, |_| {}).await;
    let (anna, _) = player(&mut h, 1, "Anna", &["Test"]).await;
    use crate::model::world::{Kind, Object};
    let mut dummy = Object::new(0, "dummy", "thing", Kind::Thing);
    dummy.location = Some(h.server.world.start_room);
    let dummy = h.server.world.create(dummy).expect("a free id");
    h.flush();
    played.lock().unwrap().clear();
    any.lock().unwrap().clear();
    h.server.world.set_attr(dummy, "hp", 3);
    h.flush();
    assert_eq!(*any.lock().unwrap(), vec![(anna, dummy)]);
    assert!(
        played.lock().unwrap().is_empty(),
        "{:?}",
        played.lock().unwrap()
    );
    // A character's: both.
    h.server.world.set_attr(anna, "hp", 3);
    h.flush();
    for asked in [&played, &any] {
        assert!(asked.lock().unwrap().contains(&(anna, anna)));
    }
    h.server.world.set_attr(dummy, "hp", 2);
    h.server.world.update(dummy, |o| o.desc = "Straw.".into());
    h.flush();
    assert!(
        played.lock().unwrap().contains(&(anna, dummy)),
        "a change of anything is looked at by every package"
    );
}

/// `Char.Gold`: a character's gold, counting how often it is rebuilt.
struct Gold(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl crate::feeds::Feed for Gold {
    fn package(&self) -> &str {
        "Char.Gold"
    }
    fn snapshot(&self, server: &crate::Server, puppet: ObjId) -> Option<Value> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let gold = server.world.get(puppet)?.attr::<i64>("gold").unwrap_or(0);
        Some(json!({ "gold": gold }))
    }
    fn follows_location(&self) -> bool {
        false
    }
    fn shows_attribute(&self, name: &str, ndb: bool) -> bool {
        !ndb && name == "gold"
    }
}

/// `tweak [whole|ndb] <attr> <n>`: sets one attribute of the caller with
/// `World::set_attr` (`ndb`: `set_ndb`; `whole`: inside `World::update`).
struct Tweak;

impl Command for Tweak {
    fn key(&self) -> &str {
        "tweak"
    }
    fn help(&self) -> &str {
        "tweak [whole|ndb] <attr> <n>"
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let words: Vec<&str> = ctx.args.split_whitespace().collect();
        let me = ctx.caller().unwrap();
        let world = &mut ctx.server.world;
        match words[..] {
            ["whole", attr, n] => {
                let n: i64 = n.parse().unwrap();
                world.update(me, |o| o.set_attr(attr, n));
            }
            ["ndb", attr, n] => {
                world.set_ndb(me, attr, json!(n.parse::<i64>().unwrap()));
            }
            [attr, n] => {
                world.set_attr(me, attr, n.parse::<i64>().unwrap());
            }
            _ => {}
        }
        ctx.msg("Done.");
    }
}

#[tokio::test]
async fn a_package_that_shows_none_of_the_attributes_changed_is_not_rebuilt() {
    let rebuilt = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let game = Game::new().command(Tweak).feed(Gold(rebuilt.clone()));
    let mut h = harness_with(game, |_| {}).await;
    let (_, frames) = player(&mut h, 1, "Anna", &[]).await;
    assert_eq!(gmcp(&frames, 1, "Char.Gold"), vec![json!({"gold": 0})]);
    let count = || rebuilt.load(std::sync::atomic::Ordering::SeqCst);
    let after_login = count();

    // An attribute no package shows: nothing is rebuilt, nothing sent.
    let frames = h.input(1, "tweak blows 1");
    assert_eq!(count(), after_login, "Char.Gold was rebuilt for `blows`");
    assert!(oob_for(&frames, 1).is_empty(), "{:?}", oob_for(&frames, 1));
    // An in-memory attribute of the same name is not the one it shows.
    h.input(1, "tweak ndb gold 9");
    assert_eq!(count(), after_login);

    // The attribute it shows: rebuilt and sent.
    let frames = h.input(1, "tweak gold 5");
    assert_eq!(count(), after_login + 1);
    assert_eq!(gmcp(&frames, 1, "Char.Gold"), vec![json!({"gold": 5})]);
    // Tavern's own packages say what they show: `hp` is Char.Vitals'.
    let frames = h.input(1, "tweak hp 7");
    assert_eq!(
        gmcp(&frames, 1, "Char.Vitals"),
        vec![json!({"hp": 7, "maxhp": 20})]
    );
    assert!(gmcp(&frames, 1, "Char.Base").is_empty());

    // A change inside `update` may have changed anything: rebuilt (and,
    // the gold being the same, not sent).
    let before = count();
    let frames = h.input(1, "tweak whole blows 2");
    assert_eq!(count(), before + 1, "a whole change was not looked at");
    assert!(gmcp(&frames, 1, "Char.Gold").is_empty());
}

/// Which feeds an attribute-only change may concern is decided once per
/// changed object: a change no feed shows is passed over before anyone
/// near it is looked at; a whole change concerns every feed; and a game
/// with more feeds than the decision has bits passes over nothing.
#[test]
fn an_attribute_change_is_weighed_against_each_feed_once() {
    use crate::model::touches::AttrTouches;
    let feeds = Game::new().feeds;
    let mut touches = AttrTouches::default();
    touches.attr(1, "blows", false, false);
    touches.attr(2, "hp", false, false);
    touches.attr(3, "hp", true, false);
    touches.attr(5, "hp", false, false);
    let touched = std::collections::BTreeSet::from([1, 2, 3, 4, 5]);
    // 5 is a training dummy: nobody plays it.
    let shown = super::ShownBy::new(&feeds, &touches, &touched, |c| c != 5);
    assert!(!shown.any(1), "a blow counter is in no package");
    assert!(!shown.any(3), "nor an in-memory `hp`");
    assert!(
        !shown.any(5),
        "a dummy's `hp` is in no package: they show characters played"
    );
    assert!(shown.any(2) && shown.any(4), "hp, and a change of anything");
    for (i, feed) in feeds.iter().enumerate() {
        let vitals = ["Char.Vitals", "Group.Members"].contains(&feed.package());
        assert_eq!(shown.by(2, i), vitals, "{}", feed.package());
        assert!(shown.by(4, i) && !shown.by(1, i));
    }

    // Seventy feeds, of which only the last shows every attribute.
    struct Numbered(String, bool);
    impl crate::feeds::Feed for Numbered {
        fn package(&self) -> &str {
            &self.0
        }
        fn snapshot(&self, _: &crate::Server, _: ObjId) -> Option<Value> {
            None
        }
        fn shows_attribute(&self, _: &str, _: bool) -> bool {
            self.1
        }
    }
    let mut many = Game::new();
    for i in 0..70 {
        many = many.feed(Numbered(format!("Test.N{i}"), i == 69));
    }
    let last = many.feeds.iter().count() - 1;
    assert!(last >= 64);
    let shown = super::ShownBy::new(&many.feeds, &touches, &touched, |_| true);
    assert!(
        shown.any(1) && shown.by(1, last),
        "feeds past the 64th are asked"
    );
    assert!(!shown.by(1, 0), "Char.Base still passes the blows over");
}

#[tokio::test]
async fn a_group_is_known_from_its_members_after_a_reload_without_any_being_touched() {
    let (mut h, anna, bert) = wolves().await;
    let frames = h.input(1, "look");
    assert_eq!(gmcp(&frames, 2, "Group.Info")[0]["count"], 2);
    // A new process knows nothing of who is in which group, and nobody's
    // character is touched: the sessions come back fresh.
    h.server.feed_roster = Default::default();
    let syncs = [1, 2].map(|s| h.server.sessions.get(s).unwrap().sync.clone());
    let frames = h.link(ToServer::Sync {
        portal_instance: 7,
        portal_id: 0,
        start_mode: StartMode::Reload,
        sessions: syncs.to_vec(),
    });
    for s in [1, 2] {
        assert_eq!(
            gmcp(&frames, s, "Group.Info"),
            vec![json!({"groupname": "Wolves", "leader": "Anna", "count": 2})],
            "session {s}"
        );
    }
    // Anna is hurt: Bert, found through the roster, is told.
    let frames = h.input(1, "hurt 4");
    assert_eq!(gmcp(&frames, 2, "Group.Members")[0][0]["info"]["hp"], 16);
    // Bert leaves; Anna is told, and the roster holds her alone.
    h.server.world.set_attr(bert, "group", "");
    let frames = h.input(1, "look");
    assert_eq!(gmcp(&frames, 1, "Group.Info")[0]["count"], 1);
    assert_eq!(
        h.server.feed_roster.members("Wolves").collect::<Vec<_>>(),
        vec![anna]
    );
    // He comes back (an attribute change to his group is read), and his
    // wounds then reach Anna (one to other attributes is not read again).
    h.server.world.set_attr(bert, "group", "Wolves");
    let frames = h.input(1, "look");
    assert_eq!(gmcp(&frames, 1, "Group.Info")[0]["count"], 2);
    h.server.world.set_attr(bert, "hp", 11);
    let frames = h.input(2, "look");
    assert_eq!(gmcp(&frames, 1, "Group.Members")[0][1]["info"]["hp"], 11);
}
