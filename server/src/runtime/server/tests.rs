//! The executor in-process: link messages in, batches out, a real SQLite file.

use tavern_shared::link::{StartMode, ToPortal, ToServer};
use tavern_shared::{Msg, SessionSync};

use crate::commands::{COMMAND_FAILED_MSG, CmdCtx, Command};
use crate::runtime::server::ServerEvent;
use crate::testing::harness::{LinkHarness, harness_with};

struct Boom;

impl Command for Boom {
    fn key(&self) -> &str {
        "boom"
    }
    fn help(&self) -> &str {
        "boom"
    }
    fn func(&self, _ctx: &mut CmdCtx<'_>) {
        panic!("game code bug");
    }
}

async fn harness() -> LinkHarness {
    let mut game = crate::Game::new();
    std::sync::Arc::make_mut(&mut game.commands.unloggedin).add(Boom);
    let game = game.connect_screen("SCREEN");
    let mut h = harness_with(game, |_| {}).await;
    h.connect(1);
    h
}

fn input(h: &mut LinkHarness, seq: u64, line: &str) -> Vec<ToPortal> {
    h.link(ToServer::Input {
        sessid: 1,
        seq,
        msg: Msg::text(line),
    })
}

/// The texts and acks of some frames.
fn texts_and_acks(frames: &[ToPortal]) -> (Vec<String>, Vec<(u64, u64)>) {
    let mut texts = Vec::new();
    let mut acks = Vec::new();
    for f in frames {
        if let ToPortal::Batch { ops, acks: a } = f {
            for op in ops {
                for (_, msgs) in op.outputs() {
                    texts.extend(msgs.iter().filter_map(|m| m.first_str().map(String::from)));
                }
            }
            acks.extend(a.iter().copied());
        }
    }
    (texts, acks)
}

#[tokio::test]
async fn a_panicking_command_is_reported_and_acknowledged_not_fatal() {
    let mut h = harness().await;
    let (texts, acks) = texts_and_acks(&input(&mut h, 1, "boom"));
    assert_eq!(texts, vec![COMMAND_FAILED_MSG.to_string()]);
    assert_eq!(
        acks,
        vec![(1, 1)],
        "acknowledged, so never replayed into the next server"
    );
    let (texts, _) = texts_and_acks(&input(&mut h, 2, "look"));
    assert_eq!(texts, vec!["SCREEN".to_string()], "the server carries on");
}

#[tokio::test]
async fn input_behind_background_work_waits_in_order_and_is_acked_after_it() {
    let mut h = harness().await;
    let (texts, acks) = texts_and_acks(&input(&mut h, 1, "create Zed pass123"));
    assert!(
        texts.is_empty() && acks.is_empty(),
        "creation runs off the executor"
    );
    let (texts, acks) = texts_and_acks(&input(&mut h, 2, "connect Zed pass123"));
    assert!(
        texts.is_empty() && acks.is_empty(),
        "held behind the creation"
    );
    // The creation finishes: its answer, then the held connect starts (more background work).
    let (texts, acks) = texts_and_acks(&h.complete().await);
    assert!(
        texts[0].contains("A new account 'Zed' was created."),
        "{texts:?}"
    );
    assert_eq!(acks, vec![(1, 1)]);
    let (texts, acks) = texts_and_acks(&h.complete().await);
    assert!(
        texts.iter().any(|t| t.contains("You become |cZed|n.")),
        "{texts:?}"
    );
    assert_eq!(acks, vec![(1, 2)]);
    // The login is reported to the portal so a crashed server's successor can restore it.
    let synced = input(&mut h, 3, "look");
    assert!(texts_and_acks(&synced).0[0].contains("Limbo"));
    let state = h.server.sessions.get(1).unwrap();
    assert!(state.sync.logged_in && state.sync.puppet_id.is_some());
}

#[tokio::test]
async fn a_new_portal_instance_drops_the_old_portals_sessions() {
    let mut h = harness().await;
    assert!(h.server.sessions.get(1).is_some());
    h.link(ToServer::Sync {
        portal_instance: 8,
        portal_id: 0,
        start_mode: StartMode::Crashed,
        sessions: vec![SessionSync {
            sessid: 2,
            ..Default::default()
        }],
    });
    assert!(
        h.server.sessions.get(1).is_none(),
        "sessid 1 belonged to the old portal"
    );
    assert!(h.server.sessions.get(2).is_some());
}

/// The OOB messages of some frames: `(cmd, first arg)`.
fn oob(frames: &[ToPortal]) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    for f in frames {
        if let ToPortal::Batch { ops, .. } = f {
            for op in ops {
                for (_, msgs) in op.outputs() {
                    for m in msgs.iter().filter(|m| m.cmd != "text" && m.cmd != "prompt") {
                        assert_eq!(
                            m.kwargs["options"]["protocol"], "msdp",
                            "MSDP replies go out on MSDP only"
                        );
                        out.push((m.cmd.clone(), m.args.first().cloned().unwrap_or_default()));
                    }
                }
            }
        }
    }
    out
}

fn msdp(h: &mut LinkHarness, seq: u64, cmd: &str, args: &[&str]) -> Vec<ToPortal> {
    let mut msg = Msg::new(cmd);
    for a in args {
        msg = msg.arg(serde_json::json!(a));
    }
    h.link(ToServer::Input {
        sessid: 1,
        seq,
        msg,
    })
}

#[tokio::test]
async fn msdp_commands_are_answered_for_the_sessions_own_character() {
    use serde_json::json;
    let mut h = harness().await;
    input(&mut h, 1, "create Mia pass123");
    h.complete().await;
    input(&mut h, 2, "connect Mia pass123");
    h.complete().await;

    let got = oob(&msdp(&mut h, 3, "msdp_list", &["COMMANDS"]));
    assert_eq!(
        got,
        vec![(
            "COMMANDS".into(),
            json!(["LIST", "REPORT", "RESET", "SEND", "UNREPORT"])
        )]
    );
    let got = oob(&msdp(&mut h, 4, "msdp_list", &["REPORTABLE_VARIABLES"]));
    let vars: Vec<String> = serde_json::from_value(got[0].1.clone()).unwrap();
    // Every advertised variable is answered; those Mia has (no vitals, no
    // level yet) have a value, the others are empty.
    let all: Vec<&str> = vars.iter().map(String::as_str).collect();
    let sent = oob(&msdp(&mut h, 5, "msdp_send", &all));
    assert_eq!(sent.len(), vars.len());
    for (name, value) in &sent {
        let has = !matches!(
            name.as_str(),
            "HEALTH"
                | "HEALTH_MAX"
                | "MANA"
                | "MANA_MAX"
                | "MOVEMENT"
                | "MOVEMENT_MAX"
                | "LEVEL"
                | "CLASS"
                | "RACE"
                | "ROOM_AREA"
                | "ROOM_TERRAIN"
        );
        assert_eq!(value != &json!(""), has, "{name} = {value}");
    }
    assert!(sent.contains(&("CHARACTER_NAME".into(), json!("Mia"))));
    assert!(sent.contains(&("ROOM_NAME".into(), json!("Limbo"))));

    let got = oob(&msdp(
        &mut h,
        6,
        "msdp_report",
        &["character_name", "NOT_A_VARIABLE"],
    ));
    assert_eq!(got, vec![("CHARACTER_NAME".into(), json!("Mia"))]);
    let got = oob(&msdp(&mut h, 7, "msdp_list", &["REPORTED_VARIABLES"]));
    assert_eq!(got[0].1, json!(["CHARACTER_NAME"]));
    msdp(&mut h, 8, "msdp_unreport", &["CHARACTER_NAME"]);
    let got = oob(&msdp(&mut h, 9, "msdp_list", &["REPORTED_VARIABLES"]));
    assert_eq!(got[0].1, json!([]));
}

#[tokio::test]
async fn sessions_synced_after_a_reload_keep_their_commands() {
    let mut h = harness_with(crate::Game::new(), |_| {}).await;
    let (a, c) = h.account("Root", &[]).await;
    h.login(5, a);
    assert!(h.cmd(5, "say before").contains("You say, \"before|n\""));
    let sync = h.server.sessions.get(5).unwrap().sync.clone();
    h.link(ToServer::Sync {
        portal_instance: 7,
        portal_id: 0,
        start_mode: StartMode::Reset,
        sessions: vec![sync],
    });
    assert_eq!(h.server.session_puppet(5), Some(c));
    let out = h.cmd(5, "say still here");
    assert!(out.contains("You say, \"still here|n\""), "{out}");
}

#[tokio::test]
async fn failed_logins_are_throttled_per_address_as_they_start_and_never_lock_an_owner_out() {
    use crate::testing::harness::texts_for;
    let mut h = harness_with(crate::Game::new(), |s| {
        s.security.max_failed_logins = 2;
        s.security.login_window_secs = 300;
    })
    .await;
    h.account("Target", &[]).await;
    // Three wrong guesses at once from one address: the third is turned away
    // before the first two are even checked.
    for sessid in [10, 11, 12] {
        h.connect_from(sessid, "10.0.0.1:4000");
    }
    assert!(
        h.cmd(10, "connect Target wrong1").is_empty(),
        "being checked"
    );
    assert!(
        h.cmd(11, "connect Target wrong2").is_empty(),
        "being checked"
    );
    assert!(
        h.cmd(12, "connect Target wrong3")
            .contains("too many connection attempts")
    );
    for _ in 0..2 {
        let done = h.complete().await;
        assert!(
            texts_for(&done, 10)
                .iter()
                .chain(&texts_for(&done, 11))
                .any(|t| t.contains("incorrect"))
        );
    }
    // ...and that address stays turned away, for any account.
    assert!(
        h.cmd(10, "connect Other x")
            .contains("too many connection attempts")
    );
    // The owner, from elsewhere, is slowed down by the guesses, not locked out.
    h.connect(2);
    let t0 = std::time::Instant::now();
    assert!(h.cmd(2, "connect Target secret").is_empty());
    let done = h.complete().await;
    assert!(
        texts_for(&done, 2)
            .join("")
            .contains("You become |cTarget|n."),
        "{:?}",
        texts_for(&done, 2)
    );
    assert!(
        t0.elapsed() >= std::time::Duration::from_secs(1),
        "the guesses cost a delay"
    );
    // Another account from another address is not affected.
    h.account("Bystander", &[]).await;
    h.connect(3);
    h.input(3, "connect Bystander secret");
    let done = h.complete().await;
    assert!(
        texts_for(&done, 3)
            .join("")
            .contains("You become |cBystander|n.")
    );
}

#[test]
fn the_account_backoff_grows_and_stops_at_its_cap() {
    use crate::runtime::login::{MAX_ACCOUNT_BACKOFF, account_backoff};
    use std::time::Duration;
    assert_eq!(account_backoff(1, 2), Duration::ZERO);
    assert_eq!(account_backoff(2, 2), Duration::from_secs(1));
    assert_eq!(account_backoff(4, 2), Duration::from_secs(4));
    assert_eq!(account_backoff(400, 2), MAX_ACCOUNT_BACKOFF);
    assert_eq!(
        account_backoff(400, 0),
        Duration::ZERO,
        "no throttle, no backoff"
    );
}

#[tokio::test]
async fn account_creations_count_as_they_start() {
    use crate::testing::harness::texts_for;
    let mut h = harness_with(crate::Game::new(), |s| {
        s.security.max_account_creations = 2;
    })
    .await;
    for sessid in [20, 21, 22] {
        h.connect_from(sessid, "10.0.0.2:4000");
    }
    assert!(h.cmd(20, "create Ann1 password1").is_empty());
    assert!(h.cmd(21, "create Ann2 password1").is_empty());
    assert!(
        h.cmd(22, "create Ann3 password1")
            .contains("creating too many accounts")
    );
    let mut made = 0;
    for _ in 0..2 {
        let done = h.complete().await;
        made += [20, 21]
            .iter()
            .filter(|&&s| texts_for(&done, s).join("").contains("was created"))
            .count();
    }
    assert_eq!(made, 2);
    assert_eq!(h.server.world.accounts.len(), 2);
}

#[tokio::test]
async fn what_an_event_that_changed_the_world_says_follows_the_change() {
    let mut h = harness_with(crate::Game::new(), |_| {}).await;
    let (b, _) = h.account("Bea", &["Builder"]).await;
    h.login(1, b);
    let _ = h.flush();
    let send = |h: &mut LinkHarness, seq, line: &str| {
        h.server.handle(
            ServerEvent::Link(ToServer::Input {
                sessid: 1,
                seq,
                msg: Msg::text(line),
            }),
            0,
        );
        h.server.poll_transmit().expect("an answer")
    };
    // A look changes nothing: its answer and its acknowledgement may go at once.
    let t = send(&mut h, 1, "look");
    assert!(t.changes.is_empty());
    assert!(t.ops.iter().all(|(_, follows)| !follows), "{:?}", t.ops);
    assert_eq!(t.acks, vec![(1, 1, false)]);
    // A create changes it: what it says, and its acknowledgement, follow the change.
    let t = send(&mut h, 2, "create lamp");
    assert!(!t.changes.is_empty());
    assert!(!t.ops.is_empty() && t.ops.iter().all(|(_, follows)| *follows));
    assert_eq!(t.acks, vec![(1, 2, true)]);
}

mod portals {
    use tavern_shared::link::{StartMode, ToServer};
    use tavern_shared::session::sessids_of;
    use tavern_shared::{Msg, SessionSync};

    use crate::runtime::portals::admit;
    use crate::runtime::server::ServerEvent;
    use crate::testing::harness::{harness_with, texts_for};

    fn now() -> i64 {
        tavern_shared::session::now_millis() as i64
    }

    fn sync_of(portal: u16, instance: u64, sessions: Vec<SessionSync>) -> ToServer {
        ToServer::Sync {
            portal_instance: instance,
            portal_id: portal,
            start_mode: StartMode::Crashed,
            sessions,
        }
    }

    #[test]
    fn a_portal_speaks_for_its_own_sessions_only() {
        let mine = sessids_of(2).start + 1;
        let theirs = sessids_of(0).start + 1;
        let input = |sessid| ToServer::Input {
            sessid,
            seq: 1,
            msg: Msg::text("look"),
        };
        assert!(admit(2, input(mine)).is_some());
        assert!(
            admit(2, input(theirs)).is_none(),
            "another portal's session"
        );
        assert!(admit(2, ToServer::Disconnected { sessid: theirs }).is_none());
        let session = |sessid| SessionSync {
            sessid,
            ..Default::default()
        };
        // A Sync is stamped with the id the link proved, and keeps only its own sessions.
        let Some(ToServer::Sync {
            portal_id,
            sessions,
            ..
        }) = admit(2, sync_of(0, 5, vec![session(mine), session(theirs)]))
        else {
            panic!("a sync is taken")
        };
        assert_eq!(portal_id, 2);
        assert_eq!(sessions, vec![session(mine)]);
        // Only the main portal stops the server or reports accounts.
        let stop = ToServer::Stop {
            mode: tavern_shared::link::StopMode::Shutdown,
        };
        assert!(admit(2, stop.clone()).is_none());
        assert!(admit(0, stop).is_some());
        assert!(admit(2, ToServer::AccountCreated { account: 1 }).is_none());
        // Only the main portal marks the server for a standby reload.
        assert!(admit(2, ToServer::Mark).is_none());
        assert_eq!(admit(0, ToServer::Mark), Some(ToServer::Mark));
    }

    #[tokio::test]
    async fn who_asked_for_a_reload_hears_it_readied_and_given_up() {
        let mut h = harness_with(crate::Game::new(), |_| {}).await;
        let (dev, _) = h.account("Dev", &["Developer"]).await;
        let (other, _) = h.account("Other", &[]).await;
        h.login(1, dev);
        h.login(2, other);
        h.input(1, "reload");
        // The portal marks this server for a standby: the asker hears why
        // nothing happens yet; nobody else hears anything.
        h.server.marked_for_reload();
        let frames = h.flush();
        assert_eq!(
            texts_for(&frames, 1),
            vec![crate::runtime::server::RELOAD_STANDBY_MSG.to_string()]
        );
        assert!(texts_for(&frames, 2).is_empty());
        // The new server could not start: this one goes on, and says why.
        let frames = h.link(ToServer::ReloadGivenUp {
            reason: "the new server exited |rbadly|n".into(),
        });
        let told = texts_for(&frames, 1).concat();
        assert!(
            told.contains("The reload was given up: the new server exited")
                && told.contains("This server goes on"),
            "{told}"
        );
        assert!(
            told.contains("|rbadly|n") || told.contains("||rbadly"),
            "shown as written: {told}"
        );
        assert!(texts_for(&frames, 2).is_empty());
        // Told once.
        let frames = h.link(ToServer::ReloadGivenUp {
            reason: "again".into(),
        });
        assert!(texts_for(&frames, 1).is_empty());
    }

    #[tokio::test]
    async fn a_portal_cut_off_and_back_keeps_its_players_and_runs_no_input_twice() {
        let mut h = harness_with(crate::Game::new(), |s| s.link.portal_grace_secs = 30).await;
        let (alice, _) = h.account("Alice", &[]).await;
        let (bob, _) = h.account("Bob", &[]).await;
        let on_main = sessids_of(0).start + 1;
        let on_one = sessids_of(1).start + 1;
        h.login(on_main, alice);
        h.server.handle(
            ServerEvent::PortalLinked {
                portal: 1,
                pid: 4242,
                address: "127.0.0.1:5555".into(),
            },
            now(),
        );
        h.link(sync_of(1, 77, vec![]));
        h.connect_from(on_one, "127.0.0.9:5000");
        let a = h.server.world.accounts[&bob].clone();
        h.server.login(on_one, a);
        h.flush();
        let said = |n| ToServer::Input {
            sessid: on_one,
            seq: n,
            msg: Msg::text("say only once"),
        };
        let frames = h.link(said(1));
        assert!(
            texts_for(&frames, on_main)
                .concat()
                .contains("Bob says, \"only once")
        );
        // The link is cut before the answer reached the portal; it comes back.
        h.server
            .handle(ServerEvent::PortalLost { portal: 1 }, now());
        h.flush();
        let listed = h.server.sessions.get(on_one).unwrap().sync.clone();
        let frames = h.link(sync_of(1, 77, vec![listed]));
        assert!(
            texts_for(&frames, on_main).is_empty(),
            "nobody hears Bob leave or come back: {frames:?}"
        );
        let kept = h
            .server
            .sessions
            .get(on_one)
            .expect("Bob's session is kept");
        assert!(kept.sync.logged_in && kept.puppet().is_some());
        // The portal sends the line it had no answer for again: acknowledged, not run.
        let frames = h.link(said(1));
        assert!(texts_for(&frames, on_main).is_empty(), "{frames:?}");
        assert!(
            frames.iter().any(|f| matches!(f,
                tavern_shared::link::ToPortal::Batch { acks, .. } if acks.contains(&(on_one, 1)))),
            "acknowledged again: {frames:?}"
        );
        let frames = h.link(ToServer::Input {
            sessid: on_one,
            seq: 2,
            msg: Msg::text("say and then"),
        });
        assert!(
            texts_for(&frames, on_main)
                .concat()
                .contains("Bob says, \"and then")
        );
        // The portal's report: linked, one session logged in.
        h.link(ToServer::Portals { token: 9 });
        let report = h.server.portals.get(1).unwrap();
        assert!(report.linked && report.pid == 4242);
    }

    #[tokio::test]
    async fn a_portal_that_does_not_come_back_loses_its_players_after_the_grace() {
        let mut h = harness_with(crate::Game::new(), |s| s.link.portal_grace_secs = 5).await;
        let (alice, _) = h.account("Alice", &[]).await;
        let (bob, _) = h.account("Bob", &[]).await;
        let on_main = sessids_of(0).start + 1;
        let on_two = sessids_of(2).start + 3;
        h.login(on_main, alice);
        h.link(sync_of(2, 5, vec![]));
        h.connect_from(on_two, "127.0.0.9:5000");
        let a = h.server.world.accounts[&bob].clone();
        h.server.login(on_two, a);
        h.flush();
        let t0 = now();
        h.server.handle(ServerEvent::PortalLost { portal: 2 }, t0);
        h.flush();
        assert_eq!(h.server.poll_timeout().map(|t| t - t0 >= 5000), Some(true));
        h.server.handle_timeout(t0 + 4_000);
        assert!(
            h.server.sessions.get(on_two).is_some(),
            "kept within the grace"
        );
        h.server.handle_timeout(t0 + 5_001);
        let frames = h.flush();
        assert!(h.server.sessions.get(on_two).is_none(), "dropped after it");
        assert!(
            texts_for(&frames, on_main)
                .concat()
                .contains("Bob has left the game"),
            "{frames:?}"
        );
        assert!(
            h.server.sessions.get(on_main).is_some(),
            "the main portal's player stays"
        );
        assert!(h.server.portals.get(2).is_none());
    }
}

mod webadmin {
    use tavern_shared::link::admin::{AdminReply, AdminRequest};
    use tavern_shared::link::{PortalOp, ToPortal, ToServer};

    use crate::runtime::login::BAD_LOGIN_MSG;
    use crate::runtime::webadmin::NOT_ADMIN_MSG;
    use crate::testing::harness::{LinkHarness, harness_with, texts_for};

    /// The answers to the web admin in these frames, by token.
    fn replies(frames: &[ToPortal]) -> Vec<(u64, AdminReply)> {
        let mut out = Vec::new();
        for f in frames {
            if let ToPortal::Batch { ops, .. } = f {
                for op in ops {
                    if let PortalOp::Admin { token, reply } = op {
                        out.push((*token, reply.clone()));
                    }
                }
            }
        }
        out
    }

    fn ask(h: &mut LinkHarness, token: u64, account: i64, request: AdminRequest) -> AdminReply {
        let frames = h.link(ToServer::Admin {
            token,
            account,
            request,
        });
        let mut r = replies(&frames);
        assert_eq!(r.len(), 1, "one answer: {frames:?}");
        assert_eq!(r[0].0, token);
        r.remove(0).1
    }

    async fn log_in(h: &mut LinkHarness, name: &str, password: &str) -> AdminReply {
        let request = AdminRequest::LogIn {
            name: name.into(),
            password: password.into(),
            address: "10.0.0.5:40000".into(),
        };
        assert!(
            replies(&h.link(ToServer::Admin {
                token: 1,
                account: 0,
                request,
            }))
            .is_empty(),
            "the password is checked off the game thread"
        );
        let frames = h.complete().await;
        replies(&frames).remove(0).1
    }

    #[tokio::test]
    async fn an_admin_the_launcher_made_while_the_server_started_can_build_from_the_web() {
        let mut h = harness_with(crate::Game::new(), |_| {}).await;
        // Made in the database (as `tavern account create` does), never
        // heard of by this server: the world has neither it nor its character.
        let db = h.server.db.clone();
        let id = crate::store::reserve_ids(&db, 1).await.unwrap();
        let hash =
            crate::runtime::passwords::hash_password(&h.server.settings.security, "secret".into())
                .await
                .unwrap();
        let character = crate::store::NewCharacter {
            id,
            room: h.server.world.start_room,
            typeclass: "character",
            hooks_pending: true,
        };
        let (late, _) =
            crate::store::create_account(&db, "Late", hash, true, "Player", Some(character))
                .await
                .unwrap();
        assert!(h.server.world.get(id).is_none());
        assert_eq!(
            log_in(&mut h, "Late", "secret").await,
            AdminReply::LoggedIn {
                account: late.id,
                name: "Late".into()
            }
        );
        let line = format!("set #{id}/mood = 3");
        let AdminReply::Ran(said) = ask(&mut h, 2, late.id, AdminRequest::Run { line }) else {
            panic!("a command's answer")
        };
        assert!(
            said.contains("mood"),
            "its character runs the command: {said}"
        );
    }

    #[tokio::test]
    async fn only_admins_log_in_and_every_change_is_the_command_run_as_them() {
        let mut h = harness_with(crate::Game::new(), |_| {}).await;
        let (boss, _) = h.account("Boss", &["Admin"]).await;
        let (pleb, pleb_char) = h.account("Pleb", &[]).await;
        assert_eq!(
            log_in(&mut h, "Boss", "secret").await,
            AdminReply::LoggedIn {
                account: boss,
                name: "Boss".into()
            }
        );
        assert_eq!(
            log_in(&mut h, "Boss", "wrong").await,
            AdminReply::Refused(BAD_LOGIN_MSG.into())
        );
        assert_eq!(
            log_in(&mut h, "Pleb", "secret").await,
            AdminReply::Refused(NOT_ADMIN_MSG.into())
        );

        // Pleb plays; Boss changes Pleb's character from the web.
        h.login(1, pleb);
        let mood = |h: &LinkHarness| {
            let o = h.server.world.get(pleb_char).unwrap();
            o.db.get("mood").cloned()
        };
        let line = format!("set #{pleb_char}/mood = \"cheerful\"");
        let AdminReply::Ran(said) = ask(&mut h, 2, boss, AdminRequest::Run { line }) else {
            panic!("a command's answer")
        };
        assert!(said.contains("mood"), "{said}");
        assert_eq!(mood(&h), Some(serde_json::json!("cheerful")));
        assert!(
            h.server
                .sessions
                .get(crate::runtime::webadmin::ADMIN_SESSION)
                .is_none(),
            "the admin's session passed"
        );
        let AdminReply::Object(Some(o)) =
            ask(&mut h, 3, boss, AdminRequest::Object { id: pleb_char })
        else {
            panic!("the object")
        };
        assert!(
            o.attributes
                .contains(&("mood".into(), "\"cheerful\"".into()))
        );
        let AdminReply::Objects { found, .. } = ask(
            &mut h,
            4,
            boss,
            AdminRequest::Objects {
                query: "ple".into(),
            },
        ) else {
            panic!("a search")
        };
        assert!(found.iter().any(|r| r.id == pleb_char));
        let AdminReply::Sessions(s) = ask(&mut h, 5, boss, AdminRequest::Sessions) else {
            panic!("the sessions")
        };
        assert_eq!(
            s.len(),
            1,
            "Pleb's session only; the web admin is none: {s:?}"
        );

        // Boots go through `boot`: Pleb's connection is closed and Pleb hears why.
        let frames = h.link(ToServer::Admin {
            token: 6,
            account: boss,
            request: AdminRequest::Run {
                line: "boot/sid 1 : spamming".into(),
            },
        });
        let why = crate::testing::harness::disconnected(&frames, 1).flatten();
        let told = texts_for(&frames, 1).concat() + why.as_deref().unwrap_or("");
        assert!(told.contains("spamming"), "{frames:?}");

        // A plain account cannot use it even with a portal vouching for it.
        assert_eq!(
            ask(
                &mut h,
                7,
                pleb,
                AdminRequest::Run {
                    line: format!("set #{pleb_char}/mood = 1")
                }
            ),
            AdminReply::Refused(NOT_ADMIN_MSG.into())
        );
        // Taking the permission away ends the access at once.
        h.server
            .world
            .update_account(boss, |a| a.permissions.clear());
        assert_eq!(
            ask(&mut h, 8, boss, AdminRequest::Sessions),
            AdminReply::Refused(NOT_ADMIN_MSG.into())
        );
        assert_eq!(mood(&h), Some(serde_json::json!("cheerful")));
    }
}

#[tokio::test]
async fn a_storm_of_new_accounts_waits_for_the_database_instead_of_failing() {
    use crate::testing::harness::texts_for;
    // Two connections in the pool, and the database's write lock held
    // elsewhere for longer than anyone waits for a connection (5 s).
    let mut h = harness_with(crate::Game::new(), |s| s.database.max_connections = 2).await;
    let blocker = crate::store::connect_writer(&h.url).await.unwrap();
    let held = crate::store::begin_write(&blocker).await.unwrap();
    let players: Vec<u64> = (11..=16).collect();
    for &p in &players {
        h.connect(p);
        h.input(p, &format!("create Storm{p} sesame-{p}"));
    }
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    held.rollback().await.unwrap();
    let mut told = String::new();
    for _ in &players {
        let frames = h.complete().await;
        for &p in &players {
            told.push_str(&texts_for(&frames, p).join("\n"));
        }
    }
    assert_eq!(told.matches("was created").count(), players.len(), "{told}");
}
