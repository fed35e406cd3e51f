//! The command line: `run` (one load test), `suite` (every target figure
//! against a game it starts), `profiles` (what the bots can do).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::config::{Churn, MarkerMode, ReloadPlan, RunConfig};
use crate::conn::Transport;
use crate::procs::{PidSource, TavernProcess};
use crate::profile::Profile;
use crate::spawn::{SpawnedGame, setting_overlay};
use crate::suite::{self, Scale};

#[derive(Parser)]
#[command(
    name = "tavern-loadtest",
    version,
    about = "Bots that log in to a MUD over telnet or websocket and play, measuring latency, throughput and what the server costs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// One load test.
    Run(Box<RunArgs>),
    /// Every target figure (docs/benchmarks.md), each against a fresh game started from BIN.
    Suite(SuiteArgs),
    /// List the built-in profiles.
    Profiles,
}

#[derive(Args)]
struct SuiteArgs {
    /// The Tavern game binary (a release build: target/release/tavern).
    #[arg(long, value_name = "BIN")]
    spawn: PathBuf,
    /// Only these scenarios (repeatable): roundtrip, paced, closed, saturate, sessions, greet, logins, crowd, channel, crowded, reload, soak, idle.
    #[arg(long)]
    only: Vec<String>,
    /// Rounds per scenario; the figures are their medians.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Small and short: checks that nothing is lost or fails, not the figures.
    #[arg(long)]
    quick: bool,
    /// Write every report and check as JSON to FILE (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Worker threads of the bots' runtime.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

#[derive(Args)]
struct RunArgs {
    /// A telnet address to connect to; several, separated by commas (a
    /// game's several portals): the bots are spread over them.
    #[arg(long, value_name = "HOST:PORT[,HOST:PORT...]")]
    telnet: Option<String>,
    /// A websocket URL to connect to (ws://host:port/ws), speaking v1.evennia.com.
    #[arg(long, value_name = "URL")]
    websocket: Option<String>,
    /// Start this Tavern game binary with the load-test settings, test it, stop it.
    #[arg(long, value_name = "BIN")]
    spawn: Option<PathBuf>,
    /// With --spawn: connect to its websocket instead of telnet.
    #[arg(long)]
    ws: bool,
    /// With --spawn: a settings file overlaid on the load-test settings.
    #[arg(long, value_name = "FILE")]
    settings: Option<PathBuf>,
    /// With --spawn: one setting, section.key=value (repeatable).
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    set: Vec<String>,
    /// With --spawn: keep the game's directory (logs, database) afterwards.
    #[arg(long)]
    keep: bool,
    /// A process whose CPU and memory to measure, LABEL=PID (repeatable).
    #[arg(long = "pid", value_name = "LABEL=PID")]
    pids: Vec<String>,
    /// A running Tavern game's data_dir: its portal and server are measured.
    #[arg(long, value_name = "DIR")]
    tavern_data: Option<PathBuf>,

    /// How many bots.
    #[arg(long, short = 'n', default_value_t = 10)]
    clients: usize,
    /// What they do (see `profiles`).
    #[arg(long, short = 'p', default_value = "normal")]
    profile: String,
    /// Profiles of your own: a TOML file of [[profile]] tables.
    #[arg(long, value_name = "FILE")]
    profile_file: Option<PathBuf>,
    /// Actions per second per bot, instead of the profile's.
    #[arg(long)]
    rate: Option<f64>,
    /// Closed loop: each bot acts again as soon as it is answered (after --think).
    #[arg(long)]
    closed: bool,
    /// In a closed loop, milliseconds a bot waits after an answer before acting again.
    #[arg(long, value_name = "MS")]
    think: Option<f64>,
    /// Seconds of the measurement window.
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// Seconds bots act before the window opens.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Bots logging in at once (0: all).
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    /// Bots started per second (0: as fast as --concurrency lets them).
    #[arg(long, default_value_t = 0.0)]
    connect_rate: f64,
    /// Take MCCP2 compression when offered.
    #[arg(long)]
    mccp: bool,
    /// Recognize answers by this command instead of the out-of-band echo
    /// (a template holding {marker}, whose answer shows it).
    #[arg(long, value_name = "TEMPLATE")]
    marker_command: Option<String>,

    /// Account names: PREFIX, the run id, '-', the bot's number.
    #[arg(long, default_value = "Load")]
    name_prefix: String,
    /// The bots' password.
    #[arg(long)]
    password: Option<String>,
    /// A line of the connection screen (repeatable).
    #[arg(long = "greeting", value_name = "TEXT")]
    greeting: Vec<String>,
    /// The command that makes an account ({name}, {password}).
    #[arg(long, value_name = "TEMPLATE")]
    create: Option<String>,
    /// The accounts exist: do not create them.
    #[arg(long)]
    no_create: bool,
    /// Text that says the account was made (repeatable).
    #[arg(long = "created", value_name = "TEXT")]
    created: Vec<String>,
    /// The command that logs in ({name}, {password}).
    #[arg(long, value_name = "TEMPLATE")]
    connect: Option<String>,
    /// Text that says the bot is in the game (repeatable).
    #[arg(long = "logged-in", value_name = "TEXT")]
    logged_in: Vec<String>,
    /// This run's id, in names (default: random; reuse one to reuse accounts).
    #[arg(long)]
    run_id: Option<String>,
    /// For the bots' random choices.
    #[arg(long)]
    seed: Option<u64>,
    /// Seconds each login and setup step may take.
    #[arg(long, default_value_t = 60.0)]
    step_timeout: f64,
    /// Seconds to wait for outstanding answers after the window.
    #[arg(long, default_value_t = 10.0)]
    drain: f64,

    /// Order a reload this many seconds into the window.
    #[arg(long, value_name = "SECS")]
    reload_at: Option<f64>,
    /// The command that orders it, split at spaces (with --spawn: the game's `reload`).
    #[arg(long, value_name = "COMMAND")]
    reload_command: Option<String>,
    /// The text every session is sent when a reload begins.
    #[arg(long, default_value = "Server restart initiated")]
    reload_notice: String,
    /// What each bot types when it sees the notice.
    #[arg(long, default_value = "look")]
    reload_probe: String,
    /// Extra bots that log in (new accounts) and quit during the window.
    #[arg(long, default_value_t = 0)]
    churn: usize,
    /// How many of them at once.
    #[arg(long, default_value_t = 4)]
    churn_concurrency: usize,

    /// Write the report as JSON to FILE (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Worker threads of the bots' runtime.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// After the window, measure the machine's floor: a bare loopback
    /// ping-pong at the same pace (for a listening profile, a bare fan-out
    /// to as many connections).
    #[arg(long)]
    floor: bool,
    /// No progress lines.
    #[arg(long)]
    quiet: bool,
}

/// The tool's entry point.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let threads = match &cli.command {
        Command::Run(a) => a.threads,
        Command::Suite(a) => a.threads,
        Command::Profiles => 1,
    };
    let rt = match if threads <= 1 {
        // One thread: no bot waits for another thread to wake up.
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    } {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tavern-loadtest: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tavern-loadtest: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Profiles => {
            for p in Profile::builtin() {
                let pace = if p.closed {
                    "closed loop".to_string()
                } else if p.rate > 0.0 {
                    format!("{} actions/s", p.rate)
                } else {
                    "no actions".to_string()
                };
                println!("{:<12} {:<16} {}", p.name, pace, p.about);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run_once(*args).await,
        Command::Suite(args) => {
            let scale = Scale { quick: args.quick };
            let outcomes =
                suite::run_suite(&args.spawn, &args.only, args.rounds, scale, true).await?;
            println!("{}", suite::table(&outcomes, scale));
            if let Some(path) = &args.json {
                write_json(path, &serde_json::to_string_pretty(&outcomes)?)?;
            }
            Ok(if suite::passed(&outcomes, scale) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn write_json(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        println!("{text}");
    } else {
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

async fn run_once(a: RunArgs) -> anyhow::Result<ExitCode> {
    let file = match &a.profile_file {
        Some(p) => Some(
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
        None => None,
    };
    let mut profile = Profile::find(&a.profile, file.as_deref()).map_err(anyhow::Error::msg)?;
    if let Some(r) = a.rate {
        profile.rate = r;
        profile.closed = false;
    }
    if a.closed {
        profile.closed = true;
    }
    if let Some(t) = a.think {
        profile.think_ms = t;
    }
    let targets = [a.telnet.is_some(), a.websocket.is_some(), a.spawn.is_some()];
    if targets.iter().filter(|t| **t).count() != 1 {
        bail!("give exactly one of --telnet, --websocket, --spawn");
    }
    let game = match &a.spawn {
        Some(bin) => {
            let mut overlays = Vec::new();
            if let Some(f) = &a.settings {
                overlays.push(
                    std::fs::read_to_string(f)
                        .with_context(|| format!("cannot read {}", f.display()))?,
                );
            }
            for s in &a.set {
                overlays.push(setting_overlay(s)?);
            }
            let (bin, keep) = (bin.clone(), a.keep);
            let game =
                tokio::task::spawn_blocking(move || SpawnedGame::start(&bin, &overlays, keep))
                    .await??;
            if !a.quiet {
                eprintln!("game started in {}", game.dir.display());
            }
            Some(game)
        }
        None => None,
    };
    let transport = match (&a.telnet, &a.websocket, &game) {
        (Some(t), _, _) => {
            let mut all = Vec::new();
            for one in t.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                all.push(
                    tokio::net::lookup_host(one)
                        .await?
                        .next()
                        .with_context(|| format!("no address for {one}"))?,
                );
            }
            match all.len() {
                0 => bail!("--telnet names no address"),
                1 => Transport::Telnet(all[0]),
                _ => Transport::TelnetSpread(all),
            }
        }
        (_, Some(u), _) => Transport::Websocket(u.clone()),
        (_, _, Some(g)) if a.ws => {
            Transport::Websocket(format!("ws://127.0.0.1:{}/ws", g.web_port))
        }
        (_, _, Some(g)) => Transport::Telnet(format!("127.0.0.1:{}", g.telnet_port).parse()?),
        _ => unreachable!("checked above"),
    };
    let mut cfg = RunConfig::new(transport, a.clients, profile);
    cfg.duration = Duration::from_secs_f64(a.duration);
    cfg.warmup = Duration::from_secs_f64(a.warmup);
    cfg.concurrency = a.concurrency;
    cfg.connect_rate = a.connect_rate;
    cfg.mccp = a.mccp;
    if let Some(t) = &a.marker_command {
        if !t.contains("{marker}") {
            bail!("--marker-command must hold {{marker}}");
        }
        cfg.marker = MarkerMode::Text(t.clone());
    }
    let login = &mut cfg.login;
    login.name_prefix = a.name_prefix.clone();
    if let Some(p) = &a.password {
        login.password = p.clone();
    }
    if !a.greeting.is_empty() {
        login.greeting = a.greeting.clone();
    }
    if a.no_create {
        login.create = None;
    } else if let Some(c) = &a.create {
        login.create = Some(c.clone());
    }
    if !a.created.is_empty() {
        login.created = a.created.clone();
    }
    if let Some(c) = &a.connect {
        login.connect = c.clone();
    }
    if !a.logged_in.is_empty() {
        login.logged_in = a.logged_in.clone();
    }
    if let Some(r) = &a.run_id {
        cfg.run_id = r.clone();
    }
    if let Some(s) = a.seed {
        cfg.seed = s;
    }
    cfg.step_timeout = Duration::from_secs_f64(a.step_timeout);
    cfg.drain = Duration::from_secs_f64(a.drain);
    if let Some(at) = a.reload_at {
        let command: Vec<String> = match (&a.reload_command, &game) {
            (Some(c), _) => c.split_whitespace().map(String::from).collect(),
            (None, Some(g)) => g.launcher(&["reload"]),
            (None, None) => bail!("--reload-at needs --reload-command (or --spawn)"),
        };
        if command.is_empty() {
            bail!("--reload-command is empty");
        }
        cfg.reload = Some(ReloadPlan {
            at: Duration::from_secs_f64(at),
            command,
            notice: a.reload_notice.clone(),
            probe: a.reload_probe.clone(),
        });
    }
    if a.churn > 0 {
        cfg.churn = Some(Churn {
            logins: a.churn,
            concurrency: a.churn_concurrency,
        });
    }
    if let Some(g) = &game {
        cfg.watch = g.watch();
    }
    if let Some(dir) = &a.tavern_data {
        let file = dir.join("portal.json");
        cfg.watch.push((
            "portal".into(),
            PidSource::RuntimeFile(file.clone(), TavernProcess::Portal),
        ));
        cfg.watch.push((
            "server".into(),
            PidSource::RuntimeFile(file, TavernProcess::Server),
        ));
        // The game's extra portals, each its own line.
        for id in 1..=tavern_shared::session::MAX_PORTAL_ID {
            let file = dir.join(format!("portal-{id}.json"));
            if file.exists() {
                cfg.watch.push((
                    format!("portal-{id}"),
                    PidSource::RuntimeFile(file, TavernProcess::Portal),
                ));
            }
        }
    }
    for p in &a.pids {
        let (label, pid) = p
            .split_once('=')
            .with_context(|| format!("--pid {p}: not LABEL=PID"))?;
        let pid: u32 = pid
            .parse()
            .with_context(|| format!("--pid {p}: not a pid"))?;
        cfg.watch.push((label.to_string(), PidSource::Fixed(pid)));
    }
    cfg.floor = a.floor;
    cfg.progress = !a.quiet;
    let report = crate::run::run(cfg).await;
    if let Some(g) = game {
        tokio::task::spawn_blocking(move || g.stop()).await?;
    }
    let report = report?;
    print!("{}", report.table());
    if let Some(path) = &a.json {
        write_json(path, &serde_json::to_string_pretty(&report)?)?;
    }
    Ok(ExitCode::SUCCESS)
}
