//! Whether the machine has room for a reload's standby server: for a few
//! seconds it holds a second copy of the world beside the running server.
//! Without room the reload stops the old server first, as it did before
//! standbys (a standby that ran out of memory could take the running
//! server down with it: the kernel's OOM killer picks the bigger process).

/// Memory the processes here may still take, in bytes: the system's
/// `MemAvailable`, or less when this process's control group (v2 or v1)
/// has a limit closer. `None` where neither can be read.
pub(crate) fn available_bytes() -> Option<u64> {
    let system = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| meminfo_available(&m));
    let group = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|c| cgroup_headroom(&c, |p| std::fs::read_to_string(p).ok()));
    match (system, group) {
        (Some(s), Some(g)) => Some(s.min(g)),
        (s, g) => s.or(g),
    }
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
fn meminfo_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// The limit left in this process's control group, given `/proc/self/cgroup`
/// and a way to read the group's files: cgroup v2 (`memory.max`,
/// `memory.current`) or v1 (`memory.limit_in_bytes`, `memory.usage_in_bytes`).
/// `None` when there is no limit.
fn cgroup_headroom(cgroup: &str, read: impl Fn(&str) -> Option<String>) -> Option<u64> {
    let number = |p: &str| read(p).and_then(|t| t.trim().parse::<u64>().ok());
    for line in cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let path = path.trim_end_matches('/');
        if id == "0" && controllers.is_empty() {
            let dir = format!("/sys/fs/cgroup{path}");
            if let (Some(max), Some(current)) = (
                number(&format!("{dir}/memory.max")),
                number(&format!("{dir}/memory.current")),
            ) {
                return Some(max.saturating_sub(current));
            }
        } else if controllers.split(',').any(|c| c == "memory") {
            let dir = format!("/sys/fs/cgroup/memory{path}");
            let limit = number(&format!("{dir}/memory.limit_in_bytes"))?;
            // v1 says "no limit" with a number near 2^63.
            if limit >= 1 << 60 {
                return None;
            }
            let usage = number(&format!("{dir}/memory.usage_in_bytes"))?;
            return Some(limit.saturating_sub(usage));
        }
    }
    None
}

/// Whether a standby as big as a server of `server_rss` bytes fits in
/// `available` bytes, with a quarter more for what it holds while it
/// builds the world.
pub(crate) fn standby_fits(server_rss: u64, available: u64) -> bool {
    available >= server_rss.saturating_add(server_rss / 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_standby_starts_only_where_a_second_world_fits() {
        let gib = 1u64 << 30;
        assert!(standby_fits(2 * gib, 3 * gib));
        assert!(!standby_fits(2 * gib, 2 * gib), "no margin");
        assert!(standby_fits(0, 0));
        assert_eq!(
            meminfo_available("MemTotal: 100 kB\nMemAvailable:   2048 kB\n"),
            Some(2 << 20)
        );
        assert_eq!(meminfo_available("MemTotal: 100 kB\n"), None);
        // cgroup v2: what the group may still take.
        let files = |p: &str| match p {
            "/sys/fs/cgroup/game/memory.max" => Some("4096\n".to_string()),
            "/sys/fs/cgroup/game/memory.current" => Some("1024\n".to_string()),
            "/sys/fs/cgroup/open/memory.max" => Some("max\n".to_string()),
            "/sys/fs/cgroup/open/memory.current" => Some("1024\n".to_string()),
            "/sys/fs/cgroup/memory/game/memory.limit_in_bytes" => Some("8000\n".to_string()),
            "/sys/fs/cgroup/memory/game/memory.usage_in_bytes" => Some("6000\n".to_string()),
            "/sys/fs/cgroup/memory/free/memory.limit_in_bytes" => {
                Some("9223372036854771712\n".to_string())
            }
            "/sys/fs/cgroup/memory/free/memory.usage_in_bytes" => Some("6000\n".to_string()),
            _ => None,
        };
        assert_eq!(cgroup_headroom("0::/game\n", files), Some(3072));
        // v2 with `max` (no limit), or without the files, reads as none.
        assert_eq!(cgroup_headroom("0::/open\n", files), None);
        assert_eq!(cgroup_headroom("0::/other\n", files), None);
        // cgroup v1.
        assert_eq!(
            cgroup_headroom("5:devices:/\n4:memory:/game\n0::/\n", files),
            Some(2000)
        );
        assert_eq!(cgroup_headroom("4:memory:/free\n", files), None, "no limit");
        // This machine answers something (Linux).
        assert!(available_bytes().is_some());
        assert!(tavern_shared::metrics::rss_bytes_of(std::process::id()).is_some());
    }
}
