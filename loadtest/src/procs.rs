//! What the measured processes cost: CPU time and memory, read from
//! `/proc` (Linux). A label ("portal", "server") may change pid during a run
//! (a reload starts a new server): CPU is then summed over its pids.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

/// One reading of a process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcReading {
    /// User plus system CPU time so far, in seconds.
    pub cpu_s: f64,
    /// Resident memory now, in KiB.
    pub rss_kib: u64,
    /// The most resident memory it ever had, in KiB.
    pub hwm_kib: u64,
}

/// Reads `/proc/<pid>`; None when the process is gone.
pub fn read(pid: u32) -> Option<ProcReading> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse(&stat, &status, clock_ticks())
}

/// The fields of `/proc/<pid>/stat` and `/proc/<pid>/status` we use.
pub fn parse(stat: &str, status: &str, ticks_per_s: f64) -> Option<ProcReading> {
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of stat(5), so utime (14) and stime (15) are 11 and 12 here.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Some(ProcReading {
        cpu_s: (utime + stime) / ticks_per_s,
        rss_kib: kib("VmRSS:"),
        hwm_kib: kib("VmHWM:"),
    })
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// This process's own CPU time so far, in seconds.
pub fn own_cpu_s() -> f64 {
    read(std::process::id()).map(|r| r.cpu_s).unwrap_or(0.0)
}

/// The whole machine's busy and total CPU time so far (all cores), in ticks.
pub fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    // idle and iowait are not busy.
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Which of a Tavern game's processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TavernProcess {
    /// The portal.
    Portal,
    /// The server (a new pid after each reload).
    Server,
}

/// How the pid of a label is found.
#[derive(Debug, Clone)]
pub enum PidSource {
    /// A fixed pid.
    Fixed(u32),
    /// A process named in a Tavern game's `portal.json`, read again at every sample.
    RuntimeFile(PathBuf, TavernProcess),
}

impl PidSource {
    fn pid(&self) -> Option<u32> {
        match self {
            PidSource::Fixed(p) => Some(*p),
            PidSource::RuntimeFile(path, which) => {
                let rt = tavern_shared::RuntimeInfo::read(path)?;
                match which {
                    TavernProcess::Portal => Some(rt.portal_pid),
                    TavernProcess::Server => rt.server_pid,
                }
            }
        }
    }
}

#[derive(Debug, Default)]
struct Track {
    /// Per pid: the first and the last reading in the window.
    pids: BTreeMap<u32, (ProcReading, ProcReading)>,
    peak_rss_kib: u64,
}

/// Watches labelled processes over a measurement window.
#[derive(Debug, Default)]
pub struct ProcWatch {
    sources: Vec<(String, PidSource)>,
    tracks: BTreeMap<String, Track>,
}

/// What one labelled process cost over the window.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ProcCost {
    /// "portal", "server", ...
    pub label: String,
    /// The pids seen (more than one after a reload).
    pub pids: Vec<u32>,
    /// CPU time used within the window, in seconds.
    pub cpu_s: f64,
    /// That, as a share of one core over the window.
    pub cpu_pct_of_core: f64,
    /// Resident memory at the end, in MiB.
    pub rss_mib: f64,
    /// The most resident memory seen (the kernel's high-water mark), in MiB.
    pub peak_rss_mib: f64,
}

impl ProcWatch {
    /// Adds a process to watch.
    pub fn add(&mut self, label: impl Into<String>, source: PidSource) {
        self.sources.push((label.into(), source));
    }

    /// The resident memory of each watched process now, in MiB, by label.
    pub fn rss_now(&self) -> Vec<(String, f64)> {
        self.sources
            .iter()
            .filter_map(|(label, source)| {
                let r = read(source.pid()?)?;
                Some((
                    label.clone(),
                    crate::stats::round3(r.rss_kib as f64 / 1024.0),
                ))
            })
            .collect()
    }

    /// The pid a label names now, if its process runs.
    pub fn pid_of(&self, label: &str) -> Option<u32> {
        self.sources
            .iter()
            .find(|(l, _)| l == label)
            .and_then(|(_, s)| s.pid())
    }

    /// Whether anything is watched.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Forgets earlier readings: the window starts now.
    pub fn start(&mut self) {
        self.tracks.clear();
        self.sample();
    }

    /// Reads every watched process.
    pub fn sample(&mut self) {
        for (label, source) in &self.sources {
            let Some(pid) = source.pid() else { continue };
            let Some(r) = read(pid) else { continue };
            let track = self.tracks.entry(label.clone()).or_default();
            let first_seen = track.pids.is_empty();
            let entry = track.pids.entry(pid).or_insert_with(|| {
                // A pid born within the window used all its CPU in it.
                let start = if first_seen {
                    r
                } else {
                    ProcReading { cpu_s: 0.0, ..r }
                };
                (start, r)
            });
            entry.1 = r;
            track.peak_rss_kib = track.peak_rss_kib.max(r.hwm_kib).max(r.rss_kib);
        }
    }

    /// The cost of each label over a window of `secs`.
    pub fn costs(&self, secs: f64) -> Vec<ProcCost> {
        let mib = |kib: u64| crate::stats::round3(kib as f64 / 1024.0);
        self.tracks
            .iter()
            .map(|(label, t)| {
                let cpu: f64 = t.pids.values().map(|(a, b)| b.cpu_s - a.cpu_s).sum();
                let last = t.pids.values().last().map(|(_, b)| b.rss_kib).unwrap_or(0);
                ProcCost {
                    label: label.clone(),
                    pids: t.pids.keys().copied().collect(),
                    cpu_s: crate::stats::round3(cpu),
                    cpu_pct_of_core: crate::stats::round3(if secs > 0.0 {
                        100.0 * cpu / secs
                    } else {
                        0.0
                    }),
                    rss_mib: mib(last),
                    peak_rss_mib: mib(t.peak_rss_kib),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_and_status_are_read_even_with_odd_process_names() {
        let stat = "4242 (tav (ern) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 99 1000 200";
        let status = "Name:\ttavern\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        let r = parse(stat, status, 100.0).unwrap();
        assert_eq!(r.cpu_s, 3.0);
        assert_eq!(r.rss_kib, 10240);
        assert_eq!(r.hwm_kib, 20480);
        assert_eq!(parse("garbage", status, 100.0), None);
    }

    #[test]
    fn this_process_can_be_watched() {
        let mut w = ProcWatch::default();
        w.add("me", PidSource::Fixed(std::process::id()));
        w.start();
        // Burn a little CPU so the window has some.
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        w.sample();
        let costs = w.costs(0.05);
        assert_eq!(costs.len(), 1);
        assert_eq!(costs[0].label, "me");
        assert_eq!(costs[0].pids, vec![std::process::id()]);
        assert!(costs[0].rss_mib > 0.0);
        assert!(costs[0].peak_rss_mib >= costs[0].rss_mib);
        assert!(costs[0].cpu_s >= 0.0);
    }
}
