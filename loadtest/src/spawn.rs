//! A Tavern game started for a run: the game binary's `start` in a
//! temporary directory, with the load-test settings overlay (free ports,
//! throttles off, a cheap password hash) and any overrides. It is stopped,
//! and its processes killed if need be, when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::procs::{PidSource, TavernProcess};

/// The load-test settings (Evennia's `settings_mixin`): never for a real game.
pub const LOADTEST_SETTINGS: &str = include_str!("../settings.toml");

/// A running game.
pub struct SpawnedGame {
    /// Its directory (settings, data, logs).
    pub dir: PathBuf,
    /// The game binary.
    pub bin: PathBuf,
    /// The settings file it runs with.
    pub settings: PathBuf,
    child: Option<Child>,
    /// Its telnet port.
    pub telnet_port: u16,
    /// Its web port (webclient and websocket at `/ws`).
    pub web_port: u16,
    keep: bool,
}

/// `base` with the tables of `extra` merged in (keys of `extra` win).
pub fn merge_toml(base: &str, extra: &str) -> anyhow::Result<String> {
    let mut t: toml::Table = base.parse().context("settings")?;
    let e: toml::Table = extra.parse().context("settings overlay")?;
    for (k, v) in e {
        match (t.get_mut(&k), v) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => a.extend(b),
            (_, v) => {
                t.insert(k, v);
            }
        }
    }
    Ok(toml::to_string(&t)?)
}

/// `section.key=value` as a TOML overlay; a value that is not TOML is a string.
pub fn setting_overlay(assignment: &str) -> anyhow::Result<String> {
    let (path, value) = assignment
        .split_once('=')
        .with_context(|| format!("'{assignment}' is not section.key=value"))?;
    let (section, key) = path
        .trim()
        .split_once('.')
        .with_context(|| format!("'{path}' is not section.key"))?;
    let value = value.trim();
    let parsed = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()));
    let mut inner = toml::Table::new();
    inner.insert(key.trim().to_string(), parsed);
    let mut outer = toml::Table::new();
    outer.insert(section.trim().to_string(), toml::Value::Table(inner));
    Ok(toml::to_string(&outer)?)
}

impl SpawnedGame {
    /// Starts `bin` with the load-test settings and `overlays` (TOML texts,
    /// later ones win), and waits until it greets with the server's
    /// connection screen. `keep` keeps the directory afterwards.
    pub fn start(bin: &Path, overlays: &[String], keep: bool) -> anyhow::Result<Self> {
        let bin = bin
            .canonicalize()
            .with_context(|| format!("no game binary at {}", bin.display()))?;
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tavern-loadtest-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let mut text = LOADTEST_SETTINGS.to_string();
        for o in overlays {
            text = merge_toml(&text, o)?;
        }
        let data = dir.join("data");
        let data_overlay = format!(
            "[game]\ndata_dir = {}\n",
            toml::Value::String(data.display().to_string())
        );
        text = merge_toml(&text, &data_overlay)?;
        let settings = dir.join("loadtest.toml");
        std::fs::write(&settings, text)?;
        let log = std::fs::File::create(dir.join("game.log"))?;
        let child = Command::new(&bin)
            .arg("--settings")
            .arg(&settings)
            .arg("start")
            .env_remove("TAVERN_LINK_ADDRESS")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut game = SpawnedGame {
            dir,
            bin,
            settings,
            child: Some(child),
            telnet_port: 0,
            web_port: 0,
            keep,
        };
        game.wait_ready(Duration::from_secs(120))?;
        Ok(game)
    }

    /// The game's `portal.json`.
    pub fn runtime_file(&self) -> PathBuf {
        self.dir.join("data").join("portal.json")
    }

    fn runtime(&self) -> Option<tavern_shared::RuntimeInfo> {
        tavern_shared::RuntimeInfo::read(&self.runtime_file())
    }

    fn wait_ready(&mut self, patience: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + patience;
        let pid = self.child.as_ref().map(|c| c.id()).unwrap_or(0) as u64;
        loop {
            if let Some(rt) = self.runtime()
                && u64::from(rt.portal_pid) == pid
            {
                self.telnet_port = rt.telnet_ports.first().copied().unwrap_or(0);
                self.web_port = rt.web_port;
                if self.telnet_port != 0 && greets(self.telnet_port) {
                    return Ok(());
                }
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                bail!("the game exited at start ({status}): see {}", self.log());
            }
            if Instant::now() > deadline {
                bail!("the game did not start in time: see {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        self.dir.join("game.log").display().to_string()
    }

    /// A launcher command line for this game (`reload`, `status`).
    pub fn launcher(&self, args: &[&str]) -> Vec<String> {
        let mut v = vec![
            self.bin.display().to_string(),
            "--settings".into(),
            self.settings.display().to_string(),
        ];
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }

    /// The portal and the server, to be watched.
    pub fn watch(&self) -> Vec<(String, PidSource)> {
        vec![
            (
                "portal".into(),
                PidSource::RuntimeFile(self.runtime_file(), TavernProcess::Portal),
            ),
            (
                "server".into(),
                PidSource::RuntimeFile(self.runtime_file(), TavernProcess::Server),
            ),
        ]
    }

    /// Stops the game (`stop`, then kill whatever is left).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let server = self.runtime().and_then(|rt| rt.server_pid).map(u64::from);
        if let Some(mut child) = self.child.take() {
            let stopped = Command::new(&self.bin)
                .arg("--settings")
                .arg(&self.settings)
                .arg("stop")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()
                .map(|mut stop| wait_for(&mut stop, Duration::from_secs(30)))
                .unwrap_or(false);
            if !stopped || !wait_for(&mut child, Duration::from_secs(30)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if let Some(pid) = server {
            // SAFETY: plain kill(2) of the server this game started.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Drop for SpawnedGame {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn wait_for(child: &mut Child, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Whether the telnet port greets with a server's connection screen.
fn greets(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        if memchr::memmem::find(&got, b"connect").is_some()
            && memchr::memmem::find(&got, b"one moment").is_none()
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlays_merge_by_table_and_assignments_parse_as_toml() {
        let merged = merge_toml(
            "[security]\na = 1\nb = 2\n[game]\nname = \"x\"\n",
            &setting_overlay("security.b=3").unwrap(),
        )
        .unwrap();
        let t: toml::Table = merged.parse().unwrap();
        assert_eq!(t["security"]["a"].as_integer(), Some(1));
        assert_eq!(t["security"]["b"].as_integer(), Some(3));
        assert_eq!(t["game"]["name"].as_str(), Some("x"));
        let s: toml::Table = setting_overlay("server.permission_account_default = Developer")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            s["server"]["permission_account_default"].as_str(),
            Some("Developer")
        );
        assert!(setting_overlay("novalue").is_err());
        assert!(setting_overlay("nosection=1").is_err());
    }

    #[test]
    fn the_loadtest_settings_parse() {
        let t: toml::Table = LOADTEST_SETTINGS.parse().unwrap();
        assert_eq!(t["security"]["max_failed_logins"].as_integer(), Some(0));
        assert_eq!(t["portal"]["telnet_ports"][0].as_integer(), Some(0));
    }
}
