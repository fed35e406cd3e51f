//! The figures Tavern must reach (issue #5, docs/benchmarks.md), each a
//! scenario run against a fresh game the suite starts: a round trip, a
//! closed loop of 1,000 players, 10,000 sessions, a connection storm, logins
//! at the real password-hash cost, a crowd of 500, a crowded room of 1,000
//! against rooms of 50, a reload under load, and an idle server.
//!
//! Every check is either a *target* (a figure to reach on the benchmark
//! machine, in a release build) or a *sanity* check (nothing lost, nobody
//! failed), which must hold anywhere. `--quick` runs every scenario small
//! and short: only the sanity checks count then.

use std::time::Duration;

use serde::Serialize;

use crate::config::{Churn, Fault, FaultAction, ReloadPlan, RunConfig};
use crate::conn::Transport;
use crate::profile::Profile;
use crate::report::Report;
use crate::spawn::SpawnedGame;
use crate::stats::median;

/// How big the scenarios run.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Small and short: for tests, not for figures.
    pub quick: bool,
}

impl Scale {
    fn n(self, full: usize) -> usize {
        if self.quick {
            (full / 100).clamp(3, 20)
        } else {
            full
        }
    }
    fn secs(self, full: f64) -> Duration {
        Duration::from_secs_f64(if self.quick { full.min(3.0) } else { full })
    }
}

/// What a check compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// A figure to reach on the benchmark machine.
    Target,
    /// Must hold anywhere (nothing lost, nobody failed).
    Sanity,
    /// Shown, not judged.
    Info,
}

/// One figure of a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What is measured.
    pub what: String,
    /// The measured value.
    pub value: f64,
    /// The limit.
    pub limit: f64,
    /// Whether the value must be at most (true) or at least (false) the limit.
    pub at_most: bool,
    /// What kind of check.
    pub kind: Kind,
}

impl Check {
    fn new(what: &str, value: f64, at_most: bool, limit: f64, kind: Kind) -> Self {
        Check {
            what: what.into(),
            value,
            limit,
            at_most,
            kind,
        }
    }
    fn target_max(what: &str, value: f64, limit: f64) -> Self {
        Self::new(what, value, true, limit, Kind::Target)
    }
    fn target_min(what: &str, value: f64, limit: f64) -> Self {
        Self::new(what, value, false, limit, Kind::Target)
    }
    fn zero(what: &str, value: f64) -> Self {
        Self::new(what, value, true, 0.0, Kind::Sanity)
    }
    fn info(what: &str, value: f64) -> Self {
        Self::new(what, value, true, f64::NAN, Kind::Info)
    }

    /// Whether the value meets the limit.
    pub fn passes(&self) -> bool {
        match self.kind {
            Kind::Info => true,
            _ if self.at_most => self.value <= self.limit,
            _ => self.value >= self.limit,
        }
    }
}

/// A scenario of the suite.
pub struct Scenario {
    /// Its name (`--only NAME`).
    pub name: &'static str,
    /// The figure, as the issue states it.
    pub figure: &'static str,
    /// Settings overlays for the game it starts.
    pub overlays: fn() -> Vec<String>,
    /// Its run, against that game.
    pub config: fn(&SpawnedGame, Scale) -> RunConfig,
    /// Its checks, from the report.
    pub judge: fn(&Report, &RunConfig) -> Vec<Check>,
    /// Whether a suite without `--only` runs it (the soak, hours long, runs
    /// only when named).
    pub in_suite: bool,
    /// A run to compare against, made first in each round against a game of
    /// its own: its report is judged with the scenario's.
    pub baseline: Option<Baseline>,
}

/// The run a scenario's figure is relative to.
pub struct Baseline {
    /// The run, against its own fresh game.
    pub config: fn(&SpawnedGame, Scale) -> RunConfig,
    /// Checks comparing the baseline's report (first) with the scenario's.
    pub judge: fn(&Report, &Report) -> Vec<Check>,
}

fn none() -> Vec<String> {
    Vec::new()
}

fn telnet(game: &SpawnedGame) -> Transport {
    Transport::Telnet(
        format!("127.0.0.1:{}", game.telnet_port)
            .parse()
            .expect("an address"),
    )
}

fn base(game: &SpawnedGame, clients: usize, profile: &str, scale: Scale) -> RunConfig {
    let profile = Profile::find(profile, None).expect("a built-in profile");
    let mut cfg = RunConfig::new(telnet(game), clients, profile);
    cfg.watch = game.watch();
    cfg.duration = scale.secs(30.0);
    cfg.warmup = if scale.quick {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(3)
    };
    cfg.drain = Duration::from_secs(10);
    cfg
}

fn p99(s: &Option<crate::stats::Summary>) -> f64 {
    s.map(|s| s.p99_ms).unwrap_or(f64::NAN)
}

fn p50(s: &Option<crate::stats::Summary>) -> f64 {
    s.map(|s| s.p50_ms).unwrap_or(f64::NAN)
}

fn cost(r: &Report, label: &str) -> Option<crate::procs::ProcCost> {
    r.procs.iter().find(|p| p.label == label).cloned()
}

/// A process's CPU over the window, in % of one core.
fn cpu(r: &Report, label: &str) -> f64 {
    cost(r, label)
        .map(|p| p.cpu_pct_of_core)
        .unwrap_or(f64::NAN)
}

/// A process's CPU per command answered, in microseconds.
fn per_command_us(r: &Report, label: &str) -> f64 {
    cpu(r, label) / 100.0 / r.commands.per_s * 1e6
}

/// The crowded profile: `clients` bots in rooms of `room` (closed loop, no pause).
fn crowded(game: &SpawnedGame, scale: Scale, room: usize) -> RunConfig {
    let mut c = base(game, scale.n(1000), "crowded", scale);
    c.profile.group_size = room;
    c
}

fn everyone(r: &Report, cfg: &RunConfig) -> Vec<Check> {
    vec![
        Check::zero("bots that failed", (cfg.clients - r.ready) as f64),
        Check::zero("commands lost", r.commands.lost as f64),
        Check::zero("bots dropped by the server", r.dropped as f64),
    ]
}

/// 1,000 bots of a closed-loop profile that think 40 ms between commands.
/// With no pause at all, Little's law makes the latency 1,000 / rate: 50 ms
/// at 20,000/s. A 40 ms pause lets the loop offer up to 25,000/s and shows
/// the latency under it.
fn thinking(game: &SpawnedGame, scale: Scale, profile: &str) -> RunConfig {
    let mut c = base(game, scale.n(1000), profile, scale);
    c.profile.think_ms = 40.0;
    c
}

/// The closed loop's targets, for the commands of a real game (fight, build).
fn real_game(r: &Report, c: &RunConfig) -> Vec<Check> {
    let mut v = vec![
        Check::target_min("commands/s", r.commands.per_s, 20_000.0),
        Check::target_max("p99 latency (ms)", p99(&r.commands.latency), 20.0),
        Check::info("p50 latency (ms)", p50(&r.commands.latency)),
        Check::info("server CPU (% of a core)", cpu(r, "server")),
        Check::info("machine busy (% of all cores)", r.machine_busy_pct),
    ];
    v.extend(everyone(r, c));
    v
}

/// Every scenario, in the order the issue lists the figures.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "roundtrip",
            in_suite: true,
            baseline: None,
            figure: "one client's command round trip through portal and server: p99 ≤ 1 ms \
                     (the next command sent as soon as the last is answered)",
            overlays: none,
            config: |g, s| {
                let mut c = base(g, 1, "closed", s);
                c.floor = true;
                c
            },
            judge: |r, c| {
                let mut v = vec![
                    Check::target_max("p99 round trip (ms)", p99(&r.commands.latency), 1.0),
                    Check::info("p50 round trip (ms)", p50(&r.commands.latency)),
                    Check::info("floor: bare ping-pong p99 (ms)", p99(&r.floor)),
                    Check::info(
                        "floor: reading 2 MiB back to back, p50 (ms)",
                        p50(&r.cold_2mib),
                    ),
                ];
                v.extend(everyone(r, c));
                v
            },
        },
        Scenario {
            name: "paced",
            in_suite: true,
            baseline: None,
            figure: "one client typing 20 commands a second: its round trip, beside the machine's \
                     floor at that pace (no target: waking idle threads dominates)",
            overlays: none,
            config: |g, s| {
                let mut c = base(g, 1, "normal", s);
                c.profile.rate = 20.0;
                c.floor = true;
                c
            },
            judge: |r, c| {
                let mut v = vec![
                    Check::info("p50 round trip (ms)", p50(&r.commands.latency)),
                    Check::info("p99 round trip (ms)", p99(&r.commands.latency)),
                    Check::info("floor: bare ping-pong p50 (ms)", p50(&r.floor)),
                    Check::info("floor: bare ping-pong p99 (ms)", p99(&r.floor)),
                    Check::info(
                        "floor: reading 2 MiB after the pause, p50 (ms)",
                        p50(&r.cold_2mib),
                    ),
                ];
                v.extend(everyone(r, c));
                v
            },
        },
        Scenario {
            name: "closed",
            in_suite: true,
            baseline: None,
            figure: "closed loop, 1,000 logged-in clients: ≥ 20,000 commands/s, p99 ≤ 20 ms \
                     (each bot waits for its answer, then 40 ms, then sends the next)",
            overlays: none,
            config: |g, s| thinking(g, s, "closed"),
            judge: |r, c| {
                let mut v = vec![
                    Check::target_min("commands/s", r.commands.per_s, 20_000.0),
                    Check::target_max("p99 latency (ms)", p99(&r.commands.latency), 20.0),
                    Check::info("p50 latency (ms)", p50(&r.commands.latency)),
                    Check::info("machine busy (% of all cores)", r.machine_busy_pct),
                ];
                v.extend(everyone(r, c));
                v
            },
        },
        Scenario {
            name: "fight",
            in_suite: true,
            baseline: None,
            figure: "closed loop, 1,000 clients in arenas of ten fighting a dummy (each blow \
                     reads and changes two objects, tells the arena, arms a timer): \
                     ≥ 20,000 commands/s, p99 ≤ 20 ms, as `closed`",
            overlays: none,
            config: |g, s| thinking(g, s, "fight"),
            judge: real_game,
        },
        Scenario {
            name: "build",
            in_suite: true,
            baseline: None,
            figure: "closed loop, 1,000 builders (create, describe, set, dig, look, move): \
                     ≥ 20,000 commands/s, p99 ≤ 20 ms, as `closed`",
            overlays: none,
            config: |g, s| thinking(g, s, "building"),
            judge: real_game,
        },
        Scenario {
            name: "saturate",
            in_suite: true,
            baseline: None,
            figure: "as fast as answers come, 1,000 clients: the most commands/s the machine gives (no target)",
            overlays: none,
            config: |g, s| base(g, s.n(1000), "closed", s),
            judge: |r, c| {
                let mut v = vec![
                    Check::info("commands/s", r.commands.per_s),
                    Check::info("p50 latency (ms)", p50(&r.commands.latency)),
                    Check::info("portal CPU (% of a core)", cpu(r, "portal")),
                    Check::info("server CPU (% of a core)", cpu(r, "server")),
                    Check::info("load tool CPU (% of a core)", r.loadtest_cpu_pct_of_core),
                ];
                v.extend(everyone(r, c));
                v
            },
        },
        Scenario {
            name: "sessions",
            in_suite: true,
            baseline: None,
            figure: "10,000 concurrent logged-in telnet sessions: portal RSS ≤ 150 MiB, server RSS ≤ 500 MiB",
            overlays: none,
            config: |g, s| {
                let mut c = base(g, s.n(10_000), "idler", s);
                c.duration = s.secs(10.0);
                c.concurrency = 400;
                c
            },
            judge: |r, c| {
                let peak = |l| cost(r, l).map(|p| p.peak_rss_mib).unwrap_or(f64::NAN);
                let mut v = vec![
                    Check::target_min("sessions logged in", r.ready as f64, c.clients as f64),
                    Check::target_max("portal peak RSS (MiB)", peak("portal"), 150.0),
                    Check::target_max("server peak RSS (MiB)", peak("server"), 500.0),
                    Check::info(
                        "logins/s while filling",
                        r.login.as_ref().map(|l| l.per_s).unwrap_or(0.0),
                    ),
                ];
                v.extend(everyone(r, c));
                v
            },
        },
        Scenario {
            name: "greet",
            in_suite: true,
            baseline: None,
            figure: "connections greeted: ≥ 2,000 per second",
            overlays: none,
            config: |g, s| {
                let mut c = base(g, s.n(4000), "connect", s);
                c.duration = Duration::from_millis(100);
                c.warmup = Duration::ZERO;
                c.concurrency = 1000;
                c
            },
            judge: |r, c| {
                vec![
                    Check::target_min("greeted/s", r.connect.greeted_per_s, 2000.0),
                    Check::info("p99 until greeted (ms)", p99(&r.connect.greet_latency)),
                    Check::zero("connection errors", r.connect.errors as f64),
                    Check::zero("not greeted", (c.clients - r.connect.greeted) as f64),
                ]
            },
        },
        Scenario {
            name: "logins",
            in_suite: true,
            baseline: None,
            figure: "logins (create + connect) at the default argon2 cost: ≥ 30 per second, other players' p99 ≤ 20 ms meanwhile",
            overlays: || {
                vec![
                    "[security]\npassword_hash_memory_kib = 19456\npassword_hash_iterations = 2\n"
                        .into(),
                ]
            },
            config: |g, s| {
                let mut c = base(g, s.n(100), "normal", s);
                c.profile.rate = 1.0;
                c.duration = s.secs(20.0);
                c.churn = Some(Churn {
                    logins: if s.quick { 5 } else { 600 },
                    concurrency: 8,
                });
                c
            },
            judge: |r, c| {
                let churn = r.churn.as_ref();
                let mut v = vec![
                    Check::target_min("logins/s", churn.map(|x| x.per_s).unwrap_or(0.0), 30.0),
                    Check::target_max(
                        "players' p99 meanwhile (ms)",
                        p99(&r.commands.latency),
                        20.0,
                    ),
                    Check::zero(
                        "logins that failed",
                        churn.map(|x| x.failed).unwrap_or(1) as f64,
                    ),
                ];
                v.extend(everyone(r, c));
                v
            },
        },
        Scenario {
            name: "crowd",
            in_suite: true,
            baseline: None,
            figure: "`say` in a room of 500 characters: every occupant has the line within 20 ms p99",
            overlays: none,
            config: |g, s| {
                let n = s.n(500);
                let mut c = base(g, n, "crowd", s);
                // About ten lines a second in the room.
                c.profile.rate = 10.0 / n as f64;
                c.floor = true;
                c
            },
            judge: heard_by_all,
        },
        Scenario {
            name: "channel",
            in_suite: true,
            baseline: None,
            figure: "a line on a channel of 1,000 subscribers: every subscriber has it (p99), next to `crowd`'s `say` in a room",
            overlays: none,
            config: |g, s| {
                let n = s.n(1000);
                let mut c = base(g, n, "channel", s);
                // About ten lines a second on the channel.
                c.profile.rate = 10.0 / n as f64;
                c.floor = true;
                c
            },
            judge: heard_by_all,
        },
        Scenario {
            name: "crowded",
            in_suite: true,
            figure: "1,000 clients in one room, each sending commands answered to itself alone \
                     (closed loop, no pause): CPU per command of server and portal ≤ 1.2× that \
                     of the same 1,000 in rooms of 50",
            overlays: none,
            baseline: Some(Baseline {
                config: |g, s| crowded(g, s, 50),
                judge: |spread, one_room| {
                    let ratio =
                        |label| per_command_us(one_room, label) / per_command_us(spread, label);
                    vec![
                        Check::target_max(
                            "server CPU per command, one room over rooms of 50 (×)",
                            ratio("server"),
                            1.2,
                        ),
                        Check::target_max(
                            "portal CPU per command, one room over rooms of 50 (×)",
                            ratio("portal"),
                            1.2,
                        ),
                        Check::info(
                            "server CPU per command in rooms of 50 (µs)",
                            per_command_us(spread, "server"),
                        ),
                        Check::info(
                            "server CPU per command in one room (µs)",
                            per_command_us(one_room, "server"),
                        ),
                        Check::info(
                            "portal CPU per command in rooms of 50 (µs)",
                            per_command_us(spread, "portal"),
                        ),
                        Check::info(
                            "portal CPU per command in one room (µs)",
                            per_command_us(one_room, "portal"),
                        ),
                        Check::info("commands/s in rooms of 50", spread.commands.per_s),
                        Check::info("commands/s in one room", one_room.commands.per_s),
                        Check::zero("commands lost in rooms of 50", spread.commands.lost as f64),
                    ]
                },
            }),
            config: |g, s| crowded(g, s, usize::MAX),
            judge: |r, c| {
                let mut v = vec![Check::info(
                    "p50 latency in one room (ms)",
                    p50(&r.commands.latency),
                )];
                v.extend(everyone(r, c));
                v
            },
        },
        Scenario {
            name: "reload",
            in_suite: true,
            baseline: None,
            figure: "reload with 1,000 logged-in sessions typing: everyone answered again within 500 ms of the order, 0 commands lost",
            overlays: none,
            config: |g, s| {
                let mut c = base(g, s.n(1000), "normal", s);
                c.profile.rate = 1.0;
                c.duration = s.secs(20.0);
                c.reload = Some(ReloadPlan {
                    at: if s.quick {
                        Duration::from_secs(1)
                    } else {
                        Duration::from_secs(8)
                    },
                    command: g.launcher(&["reload"]),
                    notice: "Server restart initiated".into(),
                    probe: "look".into(),
                });
                c
            },
            judge: |r, c| {
                let rel = r.reload.as_ref();
                let mut v = vec![
                    Check::target_max(
                        "slowest bot served again (ms)",
                        rel.and_then(|x| x.recovery)
                            .map(|s| s.max_ms)
                            .unwrap_or(f64::NAN),
                        500.0,
                    ),
                    Check::info(
                        "median bot served again (ms)",
                        p50(&rel.and_then(|x| x.recovery)),
                    ),
                    Check::zero(
                        "bots never served again",
                        rel.map(|x| x.not_recovered).unwrap_or(1) as f64,
                    ),
                    Check::zero(
                        "reload order failed",
                        if rel.is_some_and(|x| x.ordered_ok) {
                            0.0
                        } else {
                            1.0
                        },
                    ),
                ];
                v.extend(everyone(r, c));
                v
            },
        },
        Scenario {
            name: "soak",
            in_suite: false,
            baseline: None,
            figure: "soak: 500 bots with mixed commands for 2 hours, a reload every 10 minutes and a kill -9 of the server every 30: nothing lost, memory flat (run with --only soak)",
            overlays: none,
            config: |g, s| {
                let mut c = base(g, s.n(500), "normal", s);
                c.duration = if s.quick {
                    Duration::from_secs(8)
                } else {
                    Duration::from_secs(2 * 3600)
                };
                // A kill -9 leaves commands waiting for the next server: give them time.
                c.step_timeout = Duration::from_secs(120);
                c.drain = Duration::from_secs(30);
                c.faults = vec![
                    Fault {
                        name: "reload".into(),
                        every: if s.quick {
                            Duration::from_secs(2)
                        } else {
                            Duration::from_secs(600)
                        },
                        action: FaultAction::Command(g.launcher(&["reload"])),
                    },
                    Fault {
                        name: "kill -9 of the server".into(),
                        every: if s.quick {
                            Duration::from_secs(5)
                        } else {
                            Duration::from_secs(1800)
                        },
                        action: FaultAction::Kill("server".into()),
                    },
                ];
                c.memory_every = Some(if s.quick {
                    Duration::from_millis(250)
                } else {
                    Duration::from_secs(30)
                });
                c
            },
            judge: |r, c| {
                let failed_faults = r.faults.iter().filter(|f| !f.ok).count();
                let mut v = vec![
                    Check::zero("reloads and kills that failed", failed_faults as f64),
                    Check::info("reloads and kills done", r.faults.len() as f64),
                    Check::target_max(
                        "server memory, end over start of the window (×)",
                        r.memory_growth("server").unwrap_or(f64::NAN),
                        1.25,
                    ),
                    Check::target_max(
                        "portal memory, end over start of the window (×)",
                        r.memory_growth("portal").unwrap_or(f64::NAN),
                        1.25,
                    ),
                    Check::info("commands answered", r.commands.answered as f64),
                ];
                v.extend(everyone(r, c));
                v
            },
        },
        Scenario {
            name: "idle",
            in_suite: true,
            baseline: None,
            figure: "idle server with 1,000 sessions: ≤ 2 % of one core",
            overlays: none,
            config: |g, s| {
                let mut c = base(g, s.n(1000), "idler", s);
                c.duration = s.secs(60.0);
                c.warmup = s.secs(5.0);
                c
            },
            judge: |r, c| {
                let mut v = vec![
                    Check::target_max("server CPU (% of a core)", cpu(r, "server"), 2.0),
                    Check::info("portal CPU (% of a core)", cpu(r, "portal")),
                ];
                v.extend(everyone(r, c));
                v
            },
        },
    ]
}

/// The result of one scenario over its rounds.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The scenario.
    pub name: String,
    /// The figure.
    pub figure: String,
    /// Per check: the median over rounds (for sanity checks, the worst round).
    pub checks: Vec<Check>,
    /// Every round's report.
    pub reports: Vec<Report>,
}

/// Runs scenarios against fresh games of `bin`, `rounds` times each.
pub async fn run_suite(
    bin: &std::path::Path,
    only: &[String],
    rounds: usize,
    scale: Scale,
    progress: bool,
) -> anyhow::Result<Vec<Outcome>> {
    let mut out = Vec::new();
    for sc in scenarios() {
        let named = only.iter().any(|o| o == sc.name);
        if (!only.is_empty() && !named) || (only.is_empty() && !sc.in_suite) {
            continue;
        }
        let mut per_round: Vec<Vec<Check>> = Vec::new();
        let mut reports = Vec::new();
        for round in 0..rounds.max(1) {
            if progress {
                eprintln!(
                    "== {} (round {}/{}): {}",
                    sc.name,
                    round + 1,
                    rounds.max(1),
                    sc.figure
                );
            }
            let baseline = match &sc.baseline {
                Some(b) => {
                    // The baseline first, against a game of its own, so
                    // the two never share the machine.
                    let (bin, overlays) = (bin.to_path_buf(), (sc.overlays)());
                    let bgame = tokio::task::spawn_blocking(move || {
                        SpawnedGame::start(&bin, &overlays, false)
                    })
                    .await??;
                    let mut bcfg = (b.config)(&bgame, scale);
                    bcfg.progress = progress;
                    let report = crate::run::run(bcfg).await;
                    tokio::task::spawn_blocking(move || bgame.stop()).await?;
                    let report = report?;
                    if progress {
                        eprintln!("-- the baseline:");
                        eprint!("{}", report.table());
                    }
                    Some((report, b.judge))
                }
                None => None,
            };
            let bin = bin.to_path_buf();
            let overlays = (sc.overlays)();
            let game =
                tokio::task::spawn_blocking(move || SpawnedGame::start(&bin, &overlays, false))
                    .await??;
            let mut cfg = (sc.config)(&game, scale);
            cfg.progress = progress;
            let report = crate::run::run(cfg.clone()).await;
            tokio::task::spawn_blocking(move || game.stop()).await?;
            let report = report?;
            if progress {
                eprint!("{}", report.table());
            }
            let mut checks = (sc.judge)(&report, &cfg);
            if let Some((base, judge)) = &baseline {
                checks.extend(judge(base, &report));
            }
            per_round.push(checks);
            if let Some((base, _)) = baseline {
                reports.push(base);
            }
            reports.push(report);
        }
        let checks = per_round[0]
            .iter()
            .enumerate()
            .map(|(k, first)| {
                let values: Vec<f64> = per_round.iter().map(|r| r[k].value).collect();
                // A figure is the median of its rounds; something lost or
                // failed in any round is not outvoted by the others.
                let value = match first.kind {
                    Kind::Sanity => values.iter().copied().fold(f64::NAN, f64::max),
                    _ => median(&values),
                };
                Check {
                    value,
                    ..first.clone()
                }
            })
            .collect();
        out.push(Outcome {
            name: sc.name.into(),
            figure: sc.figure.into(),
            checks,
            reports,
        });
    }
    Ok(out)
}

/// The suite's results as a Markdown table.
pub fn table(outcomes: &[Outcome], scale: Scale) -> String {
    let mut o =
        String::from("| scenario | check | measured | limit | result |\n|---|---|---|---|---|\n");
    for out in outcomes {
        for c in &out.checks {
            let limit = match c.kind {
                Kind::Info => "—".to_string(),
                _ => format!("{} {}", if c.at_most { "≤" } else { "≥" }, fmt(c.limit)),
            };
            let result = match c.kind {
                Kind::Info => "",
                Kind::Target if scale.quick => "(quick)",
                _ if c.passes() => "ok",
                _ => "MISSED",
            };
            o.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                out.name,
                c.what,
                fmt(c.value),
                limit,
                result
            ));
        }
    }
    o
}

fn fmt(x: f64) -> String {
    if x.is_nan() {
        "n/a".into()
    } else if x.abs() >= 100.0 || x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// Whether the outcomes pass: every sanity check, and (unless quick) every target.
pub fn passed(outcomes: &[Outcome], scale: Scale) -> bool {
    outcomes.iter().all(|o| {
        o.checks.iter().all(|c| match c.kind {
            Kind::Info => true,
            Kind::Target if scale.quick => true,
            _ => c.passes(),
        })
    })
}

/// Every listener heard every line, soon: the checks of `crowd` and `channel`.
fn heard_by_all(r: &Report, c: &RunConfig) -> Vec<Check> {
    let h = r.heard.as_ref();
    let mut v = vec![
        Check::target_max(
            "p99 until heard (ms)",
            h.map(|h| p99(&h.latency)).unwrap_or(f64::NAN),
            20.0,
        ),
        Check::info("p50 until heard (ms)", p50(&h.and_then(|h| h.latency))),
        Check::info("floor: bare fan-out, p99 (ms)", p99(&r.floor)),
        Check::info("floor: bare fan-out, p50 (ms)", p50(&r.floor)),
        Check::zero(
            "deliveries missing",
            h.map(|h| h.expected.saturating_sub(h.heard) as f64)
                .unwrap_or(1.0),
        ),
    ];
    v.extend(everyone(r, c));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_compare_in_their_direction() {
        assert!(Check::target_max("x", 0.5, 1.0).passes());
        assert!(!Check::target_max("x", 1.5, 1.0).passes());
        assert!(Check::target_min("x", 25_000.0, 20_000.0).passes());
        assert!(!Check::target_min("x", f64::NAN, 20_000.0).passes());
        assert!(!Check::zero("lost", 1.0).passes());
        assert!(Check::info("x", f64::NAN).passes());
    }

    #[test]
    fn scenario_names_are_unique() {
        let s = scenarios();
        let mut names: Vec<_> = s.iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), s.len());
        assert_eq!(
            s.len(),
            15,
            "one per figure of the issues, the saturation point, the paced round trip and the soak"
        );
        let soaks: Vec<_> = s.iter().filter(|s| !s.in_suite).map(|s| s.name).collect();
        assert_eq!(soaks, ["soak"], "only the soak waits to be named");
    }
}
