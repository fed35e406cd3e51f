//! The load tool against the real game binary: every scenario of the
//! suite, small and short, must lose nothing and fail nobody, and measure
//! what it says it measures; bots also play over the websocket, and with a
//! text marker on a client that speaks no GMCP.

use std::time::Duration;

use tavern_loadtest::suite::{self, Kind, Scale};
use tavern_loadtest::{MarkerMode, Profile, RunConfig, SpawnedGame, Transport};

use tavern_tests::BIN;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn every_scenario_runs_small_and_nothing_is_lost_or_fails() {
    let scale = Scale { quick: true };
    let outcomes = rt()
        .block_on(suite::run_suite(&BIN, &[], 1, scale, false))
        .unwrap();
    let names: Vec<&str> = outcomes.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "roundtrip",
            "paced",
            "closed",
            "fight",
            "build",
            "saturate",
            "sessions",
            "greet",
            "logins",
            "crowd",
            "channel",
            "crowded",
            "reload",
            "idle"
        ]
    );
    for o in &outcomes {
        for c in o.checks.iter().filter(|c| c.kind == Kind::Sanity) {
            assert!(c.passes(), "{}: {} is {}", o.name, c.what, c.value);
        }
    }
    assert!(suite::passed(&outcomes, scale));
    let report = |name: &str| &outcomes.iter().find(|o| o.name == name).unwrap().reports[0];
    // Every scenario measured its figure.
    let rt = report("roundtrip");
    let lat = rt.commands.latency.unwrap();
    assert!(lat.count > 10 && lat.p50_ms > 0.0 && lat.p99_ms >= lat.p50_ms);
    assert!(
        rt.floor.is_some() && rt.cold_2mib.is_some(),
        "the floor is measured"
    );
    let procs: Vec<&str> = rt.procs.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(procs, ["portal", "server"]);
    assert!(rt.procs.iter().all(|p| p.peak_rss_mib > 1.0));
    assert!(report("closed").commands.per_s > 0.0);
    // The crowded scenario ran its baseline (rooms of 50) and the crowd.
    let crowded = outcomes.iter().find(|o| o.name == "crowded").unwrap();
    assert_eq!(crowded.reports.len(), 2, "the baseline and the crowd");
    assert!(crowded.reports.iter().all(|r| r.commands.per_s > 0.0));
    assert!(
        crowded
            .checks
            .iter()
            .any(|c| c.what.contains("one room over rooms of 50") && c.value > 0.0),
        "the ratio is measured"
    );
    // A line on the channel reached every subscriber, as a say reaches a room.
    let heard = report("channel")
        .heard
        .as_ref()
        .expect("the channel's lines were listened for");
    assert!(heard.expected > 0 && heard.heard == heard.expected);
    assert_eq!(report("sessions").ready, report("sessions").clients);
    let greet = &report("greet").connect;
    assert_eq!(greet.greeted, greet.attempted);
    assert!(greet.greeted_per_s > 0.0);
    let churn = report("logins").churn.as_ref().unwrap();
    assert_eq!((churn.ok, churn.failed), (5, 0));
    let heard = report("crowd").heard.as_ref().unwrap();
    assert!(heard.expected > 0 && heard.heard == heard.expected);
    let reload = report("reload").reload.as_ref().unwrap();
    assert!(reload.ordered_ok, "{}", reload.output);
    assert_eq!(reload.recovered, report("reload").ready);
    assert!(reload.recovery.unwrap().max_ms > 0.0);
    let idle = report("idle");
    assert_eq!(idle.commands.sent, 0, "idlers type nothing");
    // The JSON a script reads has it all.
    let json = serde_json::to_value(&outcomes).unwrap();
    assert!(json[0]["reports"][0]["commands"]["latency"]["p99_ms"].is_number());
}

fn small(transport: Transport, profile: &str, game: &SpawnedGame) -> RunConfig {
    let mut cfg = RunConfig::new(transport, 4, Profile::find(profile, None).unwrap());
    cfg.duration = Duration::from_secs(2);
    cfg.warmup = Duration::from_millis(300);
    cfg.watch = game.watch();
    cfg
}

/// A fresh game, and a small run of lookers against its telnet port.
fn looker_over_telnet() -> (SpawnedGame, RunConfig) {
    let game = SpawnedGame::start(&BIN, &[], false).unwrap();
    let addr = format!("127.0.0.1:{}", game.telnet_port).parse().unwrap();
    let cfg = small(Transport::Telnet(addr), "looker", &game);
    (game, cfg)
}

#[test]
fn bots_play_over_the_websocket() {
    let game = SpawnedGame::start(&BIN, &[], false).unwrap();
    let url = format!("ws://127.0.0.1:{}/ws", game.web_port);
    let mut cfg = small(Transport::Websocket(url), "closed", &game);
    cfg.profile.think_ms = 20.0;
    let r = rt().block_on(tavern_loadtest::run(cfg)).unwrap();
    assert_eq!(r.ready, 4, "{:?}", r.errors);
    assert!(r.commands.answered > 20, "{}", r.table());
    assert_eq!(r.commands.lost, 0);
    // Every kind of action was answered.
    for action in ["look", "move", "say", "help"] {
        assert!(
            r.commands.by_action[action].latency.is_some(),
            "{action}: {}",
            r.table()
        );
    }
    game.stop();
}

#[test]
fn a_client_without_gmcp_is_timed_by_a_text_marker() {
    let (game, mut cfg) = looker_over_telnet();
    cfg.profile.rate = 10.0;
    // `say` shows the marker it is given: no out-of-band echo needed.
    cfg.marker = MarkerMode::Text("say {marker}".into());
    let r = rt().block_on(tavern_loadtest::run(cfg)).unwrap();
    assert_eq!(r.ready, 4, "{:?}", r.errors);
    assert!(r.commands.answered > 10, "{}", r.table());
    assert_eq!(r.commands.lost, 0);
    game.stop();
}

#[test]
fn a_login_that_fails_is_reported_not_hidden() {
    let (game, mut cfg) = looker_over_telnet();
    cfg.clients = 2;
    // A password the game refuses (too short): every creation fails.
    cfg.login.password = "x".into();
    cfg.step_timeout = Duration::from_secs(10);
    let r = rt().block_on(tavern_loadtest::run(cfg)).unwrap();
    assert_eq!(r.ready, 0);
    assert_eq!(r.login.as_ref().unwrap().failed, 2);
    assert!(
        r.errors
            .iter()
            .any(|(e, n)| e.contains("create") && *n == 2),
        "{:?}",
        r.errors
    );
    game.stop();
}

#[test]
fn the_soak_reloads_and_kills_the_server_and_loses_nothing() {
    let scale = Scale { quick: true };
    let outcomes = rt()
        .block_on(suite::run_suite(
            &BIN,
            &["soak".to_string()],
            1,
            scale,
            false,
        ))
        .unwrap();
    assert_eq!(
        outcomes.len(),
        1,
        "named, the soak runs; it is not in the default suite"
    );
    let o = &outcomes[0];
    for c in o.checks.iter().filter(|c| c.kind == Kind::Sanity) {
        assert!(c.passes(), "soak: {} is {}", c.what, c.value);
    }
    let r = &o.reports[0];
    let kills = r
        .faults
        .iter()
        .filter(|f| f.name.starts_with("kill"))
        .count();
    let reloads = r.faults.iter().filter(|f| f.name == "reload").count();
    assert!(kills >= 1 && reloads >= 2, "{:?}", r.faults);
    assert!(r.faults.iter().all(|f| f.ok), "{:?}", r.faults);
    assert!(r.commands.answered > 0 && r.commands.lost == 0);
    let servers = r.procs.iter().find(|p| p.label == "server").unwrap();
    assert!(
        servers.pids.len() >= 3,
        "every reload and kill made a new server: {:?}",
        servers.pids
    );
    assert!(
        r.memory.iter().filter(|m| m.label == "server").count() > 10,
        "memory is read through the window"
    );
}

/// The fight profile really fights: every blow the bots were answered is in
/// the database (a blow is answered once it is saved), against a dummy
/// their arena's leader made.
#[test]
fn fighters_blows_land_and_are_saved() {
    let game = SpawnedGame::start(&BIN, &[], false).unwrap();
    let addr = format!("127.0.0.1:{}", game.telnet_port).parse().unwrap();
    let mut cfg = small(Transport::Telnet(addr), "fight", &game);
    cfg.profile.think_ms = 20.0;
    let r = rt().block_on(tavern_loadtest::run(cfg)).unwrap();
    assert_eq!(r.ready, 4, "{:?}", r.errors);
    assert_eq!(r.commands.lost, 0);
    let attacks = &r.commands.by_action["attack"];
    assert!(attacks.sent > 5, "{}", r.table());
    let url = format!(
        "sqlite://{}?mode=rw",
        game.dir.join("data").join("tavern.db3").display()
    );
    let world = rt().block_on(async {
        let db = tavern_server::store::connect(&url, 1).await.unwrap();
        tavern_server::store::load_world(&db).await.unwrap()
    });
    let blows: i64 = world.objects().filter_map(|o| o.attr::<i64>("blows")).sum();
    assert!(
        blows >= attacks.sent as i64,
        "{blows} blows saved, {} attacks answered",
        attacks.sent
    );
    let dummies: Vec<_> = world
        .objects()
        .filter(|o| o.key.contains("-dummy-") && o.attr::<i64>("maxhp") == Some(50))
        .collect();
    assert_eq!(dummies.len(), 1, "one arena, one dummy");
    game.stop();
}
