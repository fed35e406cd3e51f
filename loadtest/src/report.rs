//! The report of a run, as JSON for scripts and as a table for people.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::bot::BotReport;
use crate::config::{MarkerMode, RunConfig};
use crate::procs::ProcCost;
use crate::stats::{Samples, Summary, round3};

/// The machine the run ran on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    /// Cores the tool may use.
    pub cpus: usize,
    /// The CPU's name.
    pub cpu_model: String,
    /// Memory, in MiB.
    pub memory_mib: u64,
    /// The kernel's release.
    pub kernel: String,
}

impl Machine {
    /// This machine.
    pub fn here() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Machine {
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            cpu_model: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
                .unwrap_or_default(),
            memory_mib: meminfo
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .map(|kib| kib / 1024)
                .unwrap_or(0),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
        }
    }
}

/// Connecting and the connection screen.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConnectReport {
    /// Bots that tried.
    pub attempted: usize,
    /// Connections made.
    pub connected: usize,
    /// Connections that got the connection screen.
    pub greeted: usize,
    /// Connections refused, dropped or not greeted in time.
    pub errors: usize,
    /// From connecting to the connection screen.
    pub greet_latency: Option<Summary>,
    /// Connections greeted per second, from the first attempt to the last greeting.
    pub greeted_per_s: f64,
}

/// Creating accounts and logging in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoginReport {
    /// Bots in the game.
    pub ok: usize,
    /// Bots that gave up.
    pub failed: usize,
    /// Logins (create + connect) per second, from the first attempt to the last login.
    pub per_s: f64,
    /// `create` answered.
    pub create_latency: Option<Summary>,
    /// `connect` answered.
    pub connect_latency: Option<Summary>,
    /// `create` sent until in the game.
    pub login_latency: Option<Summary>,
}

/// One action's figures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ActionReport {
    /// Sent in the window.
    pub sent: u64,
    /// Their latency.
    pub latency: Option<Summary>,
}

/// What the bots' actions saw in the window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CommandsReport {
    /// Sent in the window.
    pub sent: u64,
    /// Answered (in the window or while draining after it).
    pub answered: u64,
    /// Never answered.
    pub lost: u64,
    /// Answered per second of window.
    pub per_s: f64,
    /// All their latencies.
    pub latency: Option<Summary>,
    /// Per action.
    pub by_action: BTreeMap<String, ActionReport>,
    /// How evenly the bots were served: the fewest, median and most actions one bot sent.
    pub per_bot: [u64; 3],
}

/// Lines heard by listening bots (a crowd).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HeardReport {
    /// Deliveries expected: every action reaches every ready member of its group.
    pub expected: u64,
    /// Deliveries seen.
    pub heard: u64,
    /// From sending to each listener seeing it.
    pub latency: Option<Summary>,
}

/// The reload ordered in the window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReloadReport {
    /// The order's command succeeded.
    pub ordered_ok: bool,
    /// What it printed.
    pub output: String,
    /// Bots served again after it.
    pub recovered: usize,
    /// Bots never served again (or that never saw the notice).
    pub not_recovered: usize,
    /// From the order until each bot's first command after the notice was answered.
    pub recovery: Option<Summary>,
    /// From the notice until that command was answered: how long each bot
    /// could not be served (with a standby the old server serves on
    /// between the order and the notice).
    #[serde(default)]
    pub pause: Option<Summary>,
}

/// A login storm in the window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChurnReport {
    /// Logins that worked.
    pub ok: usize,
    /// That did not.
    pub failed: usize,
    /// Logins per second.
    pub per_s: f64,
    /// `create` sent until in the game.
    pub login_latency: Option<Summary>,
}

/// Everything a run measured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// The tool and its version.
    pub tool: String,
    /// When the run was (UTC).
    pub date: String,
    /// Where it ran.
    pub machine: Machine,
    /// What it talked to.
    pub target: String,
    /// The profile.
    pub profile: String,
    /// Bots.
    pub clients: usize,
    /// How answers were recognized.
    pub marker: String,
    /// Connecting.
    pub connect: ConnectReport,
    /// Logging in (None for greet-only runs).
    pub login: Option<LoginReport>,
    /// Seconds from the first connection until every bot was ready.
    pub login_phase_s: f64,
    /// What the processes cost while the bots logged in.
    pub login_procs: Vec<ProcCost>,
    /// The measurement window, in seconds.
    pub window_s: f64,
    /// Bots ready in the window.
    pub ready: usize,
    /// Bots the server disconnected while they played.
    pub dropped: usize,
    /// The actions.
    pub commands: CommandsReport,
    /// Listening bots.
    pub heard: Option<HeardReport>,
    /// The reload.
    pub reload: Option<ReloadReport>,
    /// The login storm.
    pub churn: Option<ChurnReport>,
    /// What the processes cost in the window.
    pub procs: Vec<ProcCost>,
    /// What this tool cost in the window, as a share of one core.
    pub loadtest_cpu_pct_of_core: f64,
    /// How busy the whole machine was in the window, as a share of all its cores.
    pub machine_busy_pct: f64,
    /// Why bots failed, with how many failed so (the most common first).
    pub errors: Vec<(String, usize)>,
    /// The machine's floor at the same pace: a bare loopback ping-pong, or
    /// for listening bots a bare fan-out (see [`crate::floor`]).
    #[serde(default)]
    pub floor: Option<Summary>,
    /// The machine's floor, the other half: reading 2 MiB of memory after
    /// idling as long as the pace leaves between commands (see [`crate::floor::cold_memory`]).
    #[serde(default)]
    pub cold_2mib: Option<Summary>,
    /// The faults done during the window (the soak's reloads and kills).
    #[serde(default)]
    pub faults: Vec<FaultRecord>,
    /// The processes' memory during the window, when asked for.
    #[serde(default)]
    pub memory: Vec<MemorySample>,
}

/// One fault done during the window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FaultRecord {
    /// What it was.
    pub name: String,
    /// When, in seconds into the window.
    pub at_s: f64,
    /// Whether it worked.
    pub ok: bool,
    /// What it said.
    pub detail: String,
}

/// One reading of a process's memory during the window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MemorySample {
    /// When, in seconds into the window.
    pub at_s: f64,
    /// Which process.
    pub label: String,
    /// Its resident memory, in MiB.
    pub rss_mib: f64,
}

impl Report {
    /// How much a process's memory grew over the window: the median of its
    /// readings in the last tenth of the window over the median of those in
    /// the second tenth (the first is warm-up). None without readings.
    pub fn memory_growth(&self, label: &str) -> Option<f64> {
        let mine: Vec<&MemorySample> = self.memory.iter().filter(|m| m.label == label).collect();
        let end = mine.iter().map(|m| m.at_s).fold(0.0, f64::max);
        if mine.len() < 10 || end <= 0.0 {
            return None;
        }
        let median_in = |from: f64, to: f64| {
            let mut v: Vec<f64> = mine
                .iter()
                .filter(|m| m.at_s >= from * end && m.at_s <= to * end)
                .map(|m| m.rss_mib)
                .collect();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied()
        };
        let early = median_in(0.1, 0.2)?;
        let late = median_in(0.9, 1.0)?;
        (early > 0.0).then(|| crate::stats::round3(late / early))
    }
}

pub(crate) struct Inputs<'a> {
    pub cfg: &'a RunConfig,
    pub bots: &'a [BotReport],
    pub t_login: Instant,
    pub login_secs: f64,
    pub login_costs: Vec<ProcCost>,
    pub window_secs: f64,
    pub costs: Vec<ProcCost>,
    pub own_cpu_s: f64,
    pub machine_busy_pct: f64,
    pub churn: Option<(Instant, &'a [BotReport])>,
    pub reload: Option<(bool, String)>,
    pub connect_errors: usize,
    pub floor: Option<Summary>,
    pub cold_2mib: Option<Summary>,
    pub faults: Vec<FaultRecord>,
    pub memory: Vec<MemorySample>,
}

fn rate(count: usize, from: Instant, last: Option<Instant>) -> f64 {
    match last {
        Some(l) if l > from && count > 0 => round3(count as f64 / (l - from).as_secs_f64()),
        _ => 0.0,
    }
}

fn samples<'a>(it: impl Iterator<Item = &'a Option<std::time::Duration>>) -> Samples {
    let mut s = Samples::default();
    for d in it.flatten() {
        s.add(*d);
    }
    s
}

/// A UTC date and time, `2026-12-01T20:58:12Z`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub(crate) fn build(i: Inputs<'_>) -> Report {
    let cfg = i.cfg;
    let bots = i.bots;
    let greeted = bots.iter().filter(|b| b.greet.is_some()).count();
    let last_greet = bots.iter().filter_map(|b| b.greeted_at).max();
    let connect = ConnectReport {
        attempted: bots.len(),
        connected: bots.iter().filter(|b| b.connected).count(),
        greeted,
        errors: i.connect_errors,
        greet_latency: samples(bots.iter().map(|b| &b.greet)).summary(),
        greeted_per_s: rate(greeted, i.t_login, last_greet),
    };
    let login = (!cfg.profile.greet_only).then(|| {
        let ok = bots.iter().filter(|b| b.login.is_some()).count();
        LoginReport {
            ok,
            failed: bots.len() - ok,
            per_s: rate(
                ok,
                i.t_login,
                bots.iter().filter_map(|b| b.logged_in_at).max(),
            ),
            create_latency: samples(bots.iter().map(|b| &b.create)).summary(),
            connect_latency: samples(bots.iter().map(|b| &b.connect)).summary(),
            login_latency: samples(bots.iter().map(|b| &b.login)).summary(),
        }
    });
    let mut labels: Vec<String> = cfg
        .profile
        .actions
        .iter()
        .map(|a| a.label.clone())
        .collect();
    labels.push("reload-probe".into());
    let mut all = Samples::default();
    let mut by_action: BTreeMap<String, ActionReport> = BTreeMap::new();
    for (k, label) in labels.iter().enumerate() {
        let mut s = Samples::default();
        let mut sent = 0;
        for b in bots {
            if let Some(x) = b.by_action.get(k) {
                s.merge(x);
            }
            sent += b.sent_by_action.get(k).copied().unwrap_or(0);
        }
        all.merge(&s);
        if sent > 0 {
            let entry = by_action.entry(label.clone()).or_insert(ActionReport {
                sent: 0,
                latency: None,
            });
            entry.sent += sent;
            entry.latency = s.summary();
        }
    }
    let sent: u64 = bots.iter().map(|b| b.sent).sum();
    let answered: u64 = bots.iter().map(|b| b.answered).sum();
    let commands = CommandsReport {
        sent,
        answered,
        lost: sent.saturating_sub(answered),
        per_s: if i.window_secs > 0.0 {
            round3(answered as f64 / i.window_secs)
        } else {
            0.0
        },
        latency: all.summary(),
        by_action,
        per_bot: {
            let mut v: Vec<u64> = bots.iter().filter(|b| b.ready).map(|b| b.sent).collect();
            v.sort_unstable();
            match v.len() {
                0 => [0; 3],
                n => [v[0], v[n / 2], v[n - 1]],
            }
        },
    };
    let heard = cfg.profile.listen.then(|| {
        let mut s = Samples::default();
        for b in bots {
            s.merge(&b.heard);
        }
        let size = cfg.profile.group_size.max(1);
        let mut members: BTreeMap<usize, u64> = BTreeMap::new();
        for (k, b) in bots.iter().enumerate() {
            if b.ready {
                *members.entry(k / size).or_default() += 1;
            }
        }
        let expected = bots
            .iter()
            .enumerate()
            .map(|(k, b)| b.sent * members.get(&(k / size)).copied().unwrap_or(0))
            .sum();
        HeardReport {
            expected,
            heard: s.len() as u64,
            latency: s.summary(),
        }
    });
    let reload = i.reload.map(|(ok, output)| {
        let rec = samples(bots.iter().map(|b| &b.reload_recovery));
        let pause = samples(bots.iter().map(|b| &b.reload_pause));
        let ready = bots.iter().filter(|b| b.ready).count();
        ReloadReport {
            ordered_ok: ok,
            output,
            recovered: rec.len(),
            not_recovered: ready - rec.len().min(ready),
            recovery: rec.summary(),
            pause: pause.summary(),
        }
    });
    let churn = i.churn.map(|(t, r)| {
        let ok = r.iter().filter(|b| b.login.is_some()).count();
        ChurnReport {
            ok,
            failed: r.len() - ok,
            per_s: rate(ok, t, r.iter().filter_map(|b| b.logged_in_at).max()),
            login_latency: samples(r.iter().map(|b| &b.login)).summary(),
        }
    });
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for b in bots
        .iter()
        .chain(i.churn.map(|(_, r)| r).unwrap_or(&[]).iter())
    {
        if let Some(e) = &b.error {
            // One kind of failure per line: numbers and names taken out.
            let kind: String = e
                .chars()
                .take(120)
                .map(|c| if c.is_ascii_digit() { '#' } else { c })
                .collect();
            *errors.entry(kind).or_default() += 1;
        }
    }
    let mut errors: Vec<(String, usize)> = errors.into_iter().collect();
    errors.sort_by_key(|e| std::cmp::Reverse(e.1));
    errors.truncate(10);
    Report {
        tool: format!("tavern-loadtest {}", env!("CARGO_PKG_VERSION")),
        date: utc_now(),
        machine: Machine::here(),
        target: cfg.transport.to_string(),
        profile: cfg.profile.name.clone(),
        clients: cfg.clients,
        marker: match &cfg.marker {
            MarkerMode::Echo => "echo (out of band)".into(),
            MarkerMode::Text(t) => format!("text: {t}"),
        },
        connect,
        login,
        login_phase_s: round3(i.login_secs),
        login_procs: i.login_costs,
        window_s: round3(i.window_secs),
        ready: bots.iter().filter(|b| b.ready).count(),
        dropped: bots.iter().filter(|b| b.dropped).count(),
        commands,
        heard,
        reload,
        churn,
        procs: i.costs,
        loadtest_cpu_pct_of_core: round3(if i.window_secs > 0.0 {
            100.0 * i.own_cpu_s / i.window_secs
        } else {
            0.0
        }),
        machine_busy_pct: round3(i.machine_busy_pct),
        errors,
        floor: i.floor,
        cold_2mib: i.cold_2mib,
        faults: i.faults,
        memory: i.memory,
    }
}

fn lat(s: &Option<Summary>) -> String {
    match s {
        Some(s) => format!(
            "p50 {:.3} ms, p90 {:.3}, p99 {:.3}, max {:.3} ({} samples)",
            s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms, s.count
        ),
        None => "-".into(),
    }
}

impl Report {
    /// The report for people.
    pub fn table(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "{} — {} — {} bots of profile '{}' against {} ({} CPUs: {}; {} MiB; Linux {})",
            self.tool,
            self.date,
            self.clients,
            self.profile,
            self.target,
            self.machine.cpus,
            self.machine.cpu_model,
            self.machine.memory_mib,
            self.machine.kernel
        );
        let c = &self.connect;
        let _ = writeln!(
            o,
            "connect      {}/{} greeted, {} errors, {:.1} greeted/s; greeting {}",
            c.greeted,
            c.attempted,
            c.errors,
            c.greeted_per_s,
            lat(&c.greet_latency)
        );
        if let Some(l) = &self.login {
            let _ = writeln!(
                o,
                "login        {} ok, {} failed, {:.1} logins/s; create {}; connect {}",
                l.ok,
                l.failed,
                l.per_s,
                lat(&l.create_latency),
                lat(&l.connect_latency)
            );
        }
        let _ = writeln!(
            o,
            "login phase  {:.1} s{}",
            self.login_phase_s,
            procs_line(&self.login_procs)
        );
        let m = &self.commands;
        let _ = writeln!(
            o,
            "window       {:.1} s, {} bots ready, {} dropped by the server",
            self.window_s, self.ready, self.dropped
        );
        let _ = writeln!(
            o,
            "commands     {} sent, {} answered, {} lost, {:.1}/s; {}; per bot {}/{}/{} (min/median/max)",
            m.sent,
            m.answered,
            m.lost,
            m.per_s,
            lat(&m.latency),
            m.per_bot[0],
            m.per_bot[1],
            m.per_bot[2]
        );
        for (label, a) in &m.by_action {
            let _ = writeln!(o, "  {label:<11}{:>8} sent; {}", a.sent, lat(&a.latency));
        }
        if let Some(h) = &self.heard {
            let _ = writeln!(
                o,
                "heard        {}/{} deliveries; {}",
                h.heard,
                h.expected,
                lat(&h.latency)
            );
        }
        if let Some(r) = &self.reload {
            let _ = writeln!(
                o,
                "reload       ordered {}; {} bots served again, {} not; after the order {}",
                if r.ordered_ok { "ok" } else { "FAILED" },
                r.recovered,
                r.not_recovered,
                lat(&r.recovery)
            );
            let _ = writeln!(
                o,
                "             after the notice (the pause) {}",
                lat(&r.pause)
            );
        }
        if let Some(ch) = &self.churn {
            let _ = writeln!(
                o,
                "login storm  {} ok, {} failed, {:.1} logins/s; {}",
                ch.ok,
                ch.failed,
                ch.per_s,
                lat(&ch.login_latency)
            );
        }
        let _ = writeln!(
            o,
            "cost         {}; this tool {:.1}% of a core; machine {:.1}% busy",
            procs_line(&self.procs).trim_start_matches("; "),
            self.loadtest_cpu_pct_of_core,
            self.machine_busy_pct
        );
        if self.floor.is_some() {
            let what = if self.heard.is_some() {
                "a bare fan-out to as many listeners, as often"
            } else {
                "a bare loopback ping-pong at the same pace"
            };
            let _ = writeln!(o, "floor        {what}: {}", lat(&self.floor));
        }
        if self.cold_2mib.is_some() {
            let _ = writeln!(
                o,
                "             reading 2 MiB after idling between commands: {}",
                lat(&self.cold_2mib)
            );
        }
        for (e, n) in &self.errors {
            let _ = writeln!(o, "error ×{n}: {e}");
        }
        o
    }
}

fn procs_line(p: &[ProcCost]) -> String {
    let mut o = String::new();
    for c in p {
        let _ = write!(
            o,
            "; {} {:.1}% of a core, RSS {:.1} MiB (peak {:.1})",
            c.label, c.cpu_pct_of_core, c.rss_mib, c.peak_rss_mib
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_iso() {
        let d = utc_now();
        assert_eq!(d.len(), 20, "{d}");
        assert!(d.starts_with("20") && d.ends_with('Z'), "{d}");
        assert_eq!(&d[4..5], "-");
        assert_eq!(&d[10..11], "T");
    }
}
