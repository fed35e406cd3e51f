//! The server supervisor: starts the game server process from the binary's
//! path on disk, notices when it exits, and keeps the runtime file true.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tavern_shared::RuntimeInfo;
use tavern_shared::link::STANDBY_ENV;
use tokio::sync::mpsc;
use tracing::{info, warn};

/// What the supervisor tells the PortalSessionHandler.
pub(crate) enum ProcessEvent {
    /// The server process of spawn `spawn_id` exited.
    Exited {
        /// Which spawn.
        spawn_id: u64,
        /// How it ended, for the log.
        status: String,
    },
    /// A start scheduled with [`Supervisor::spawn_later`] is due.
    SpawnDue {
        /// Which scheduled start.
        spawn_id: u64,
    },
    /// The hand-over to a new portal process ended: its pid, or why it failed.
    HandedOver {
        /// How it went.
        result: Result<u32, String>,
    },
}

/// Starts, watches and kills the server process; keeps `portal.json` true.
pub(crate) struct Supervisor {
    /// The game binary, as it was on disk when the portal started.
    exe: PathBuf,
    settings_file: Option<PathBuf>,
    runtime_file: PathBuf,
    runtime: RuntimeInfo,
    instance: u64,
    spawn_id: u64,
    /// The spawn id and pid of the server process this portal started and that has not exited.
    child: Option<(u64, u32)>,
    /// A reload's standby server (spawn id, pid): started while the current
    /// one still serves, it takes over when that one has stopped.
    standby: Option<(u64, u32)>,
    /// When the standby started, and how long it may take to be ready.
    standby_since: Option<(std::time::Instant, Duration)>,
    /// A spawn scheduled for later (backoff), by id.
    pending: Option<u64>,
    /// When the current server process started (or was adopted), and how long it may take to link.
    child_since: Option<(std::time::Instant, Duration)>,
    events: mpsc::Sender<ProcessEvent>,
    /// An extra portal's: the server is the main portal's to start; this one
    /// only waits for it to link.
    remote: bool,
}

/// How long a server this portal started may take to link before it counts as hung.
const SPAWNED_LINK_PATIENCE: Duration = Duration::from_secs(120);
/// How long an adopted server (left running by a portal that died) may take to link.
const ADOPTED_LINK_PATIENCE: Duration = Duration::from_secs(15);

impl Supervisor {
    /// A supervisor for the server processes of `exe`; what happens to them
    /// is reported on `events`.
    pub(crate) fn new(
        exe: PathBuf,
        settings_file: Option<PathBuf>,
        runtime_file: PathBuf,
        runtime: RuntimeInfo,
        instance: u64,
        events: mpsc::Sender<ProcessEvent>,
    ) -> Self {
        Self {
            exe,
            settings_file,
            runtime_file,
            runtime,
            instance,
            spawn_id: 0,
            child: None,
            standby: None,
            standby_since: None,
            pending: None,
            child_since: None,
            events,
            remote: false,
        }
    }

    /// A supervisor that starts nothing: an extra portal's, whose server is
    /// started by the game's main portal.
    pub(crate) fn remote(mut self) -> Self {
        self.remote = true;
        self
    }

    /// Whether this portal leaves starting the server to the main portal.
    pub(crate) fn is_remote(&self) -> bool {
        self.remote
    }

    /// Whether a server process of this portal's runs.
    pub(crate) fn running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts a server process now.
    pub(crate) fn spawn(&mut self) -> std::io::Result<()> {
        self.pending = None;
        if self.child.is_some() || self.remote {
            return Ok(());
        }
        let started = self.start_process(false)?;
        self.child = Some(started);
        self.child_since = Some((std::time::Instant::now(), SPAWNED_LINK_PATIENCE));
        self.write_runtime(None);
        Ok(())
    }

    /// Starts a reload's standby server beside the running one: it loads
    /// the world's objects and reports on the link ([`tavern_shared::link::Role::Standby`]).
    pub(crate) fn spawn_standby(&mut self) -> std::io::Result<()> {
        if self.standby.is_some() || self.remote {
            return Ok(());
        }
        self.standby = Some(self.start_process(true)?);
        self.standby_since = Some((std::time::Instant::now(), SPAWNED_LINK_PATIENCE));
        Ok(())
    }

    /// The standby's pid, while one runs.
    pub(crate) fn standby_pid(&self) -> Option<u32> {
        self.standby.map(|(_, pid)| pid)
    }

    /// Whether the standby has had longer than a server may take to link.
    pub(crate) fn standby_overdue(&self) -> bool {
        overdue(self.standby, self.standby_since)
    }

    /// The standby of spawn `spawn_id` exited; true if it was the standby.
    pub(crate) fn standby_exited(&mut self, spawn_id: u64) -> bool {
        forget_if(&mut self.standby, &mut self.standby_since, spawn_id)
    }

    /// The old server has stopped: the standby becomes the server (and is
    /// on the clock to link). An old process still exiting is let go (its
    /// exit is not this portal's business any more). False when there is
    /// no standby.
    pub(crate) fn promote_standby(&mut self) -> bool {
        let Some(standby) = self.standby.take() else {
            return false;
        };
        if let Some((_, old)) = self.child {
            info!(pid = old, "the old server process is still exiting: let go");
        }
        self.standby_since = None;
        self.child = Some(standby);
        self.child_since = Some((std::time::Instant::now(), SPAWNED_LINK_PATIENCE));
        self.write_runtime(None);
        info!(pid = standby.1, "the standby server takes over");
        true
    }

    /// Kills the standby, if one runs (its exit is reported as usual).
    pub(crate) fn kill_standby(&mut self) {
        if let Some((_, pid)) = self.standby.take() {
            self.standby_since = None;
            signal_kill(pid);
        }
    }

    /// Starts `<exe> server` (a standby when asked); its exit is reported
    /// with its spawn id.
    fn start_process(&mut self, standby: bool) -> std::io::Result<(u64, u32)> {
        let mut cmd = tokio::process::Command::new(&self.exe);
        cmd.arg("server");
        if let Some(f) = &self.settings_file {
            cmd.arg("--settings").arg(f);
        }
        cmd.env("TAVERN_LINK_ADDRESS", self.runtime.link_address.to_string())
            .env("TAVERN_PORTAL_INSTANCE", self.instance.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            // Its own process group: a Ctrl-C at the terminal reaches the portal,
            // which then stops the server in order.
            .process_group(0)
            .kill_on_drop(false);
        if standby {
            cmd.env(STANDBY_ENV, "1");
        } else {
            cmd.env_remove(STANDBY_ENV);
        }
        let mut child = cmd.spawn()?;
        self.spawn_id += 1;
        let spawn_id = self.spawn_id;
        let pid = child.id().unwrap_or(0);
        info!(pid, standby, exe = %self.exe.display(), "server process started");
        let events = self.events.clone();
        tokio::spawn(async move {
            let status = match child.wait().await {
                Ok(s) => s.to_string(),
                Err(e) => format!("unknown ({e})"),
            };
            let _ = events.send(ProcessEvent::Exited { spawn_id, status }).await;
        });
        Ok((spawn_id, pid))
    }

    /// Takes over a server process that a portal which died left running: it
    /// keeps its world and links to this portal. Its exit is noticed by polling,
    /// as it is not this process's child.
    pub(crate) fn adopt(&mut self, pid: u32) {
        self.spawn_id += 1;
        let spawn_id = self.spawn_id;
        self.child = Some((spawn_id, pid));
        self.child_since = Some((std::time::Instant::now(), ADOPTED_LINK_PATIENCE));
        info!(pid, "adopted the running server of the previous portal");
        let events = self.events.clone();
        tokio::spawn(async move {
            while crate::pid_alive(pid) {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            let status = "exited (adopted process)".to_string();
            let _ = events.send(ProcessEvent::Exited { spawn_id, status }).await;
        });
    }

    /// Whether the current server process has had longer than it may take to link.
    pub(crate) fn link_overdue(&self) -> bool {
        overdue(self.child, self.child_since)
    }

    /// The server linked: it is no longer on the clock.
    pub(crate) fn linked(&mut self) {
        self.child_since = None;
    }

    /// Schedules a start after `delay`, replacing any scheduled before.
    pub(crate) fn spawn_later(&mut self, delay: Duration) {
        if self.remote {
            return;
        }
        self.spawn_id += 1;
        let spawn_id = self.spawn_id;
        self.pending = Some(spawn_id);
        let events = self.events.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = events.send(ProcessEvent::SpawnDue { spawn_id }).await;
        });
    }

    /// Whether a scheduled start is still wanted.
    pub(crate) fn spawn_due(&mut self, spawn_id: u64) -> bool {
        self.pending == Some(spawn_id)
    }

    /// Forgets a scheduled start.
    pub(crate) fn cancel_pending_spawn(&mut self) {
        self.pending = None;
    }

    /// The process of spawn `spawn_id` exited; true if it was the current one.
    pub(crate) fn exited(&mut self, spawn_id: u64) -> bool {
        forget_if(&mut self.child, &mut self.child_since, spawn_id)
    }

    /// Lets go of the server process without stopping it: a new portal
    /// process has taken it over.
    pub(crate) fn release(&mut self) {
        self.child = None;
        self.child_since = None;
        self.pending = None;
    }

    /// Kills the current server process, if any.
    pub(crate) fn kill(&mut self) {
        if let Some((_, pid)) = self.child {
            signal_kill(pid);
        }
    }

    /// Writes `portal.json` with the server's pid (`server_pid`, else the
    /// process this portal started, if any).
    pub(crate) fn write_runtime(&mut self, server_pid: Option<u32>) {
        self.runtime.server_pid = server_pid.or(self.child.map(|(_, pid)| pid));
        if let Err(e) = self.runtime.write(&self.runtime_file) {
            warn!("cannot write {}: {e}", self.runtime_file.display());
        }
    }
}

/// Whether a process (spawn id, pid) has had longer than it may take.
fn overdue(process: Option<(u64, u32)>, since: Option<(std::time::Instant, Duration)>) -> bool {
    process.is_some() && since.is_some_and(|(t, patience)| t.elapsed() > patience)
}

/// Forgets the process in `slot` if it is spawn `spawn_id`; whether it was.
fn forget_if(
    slot: &mut Option<(u64, u32)>,
    since: &mut Option<(std::time::Instant, Duration)>,
    spawn_id: u64,
) -> bool {
    if slot.is_some_and(|(id, _)| id == spawn_id) {
        *slot = None;
        *since = None;
        return true;
    }
    false
}

/// Kills a server process this portal started.
fn signal_kill(pid: u32) {
    if pid == 0 {
        return;
    }
    warn!(pid, "killing a server process");
    // SAFETY: kill(2) with a pid we spawned and have not yet reaped.
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
}

/// Whether `pid` is a server process of this game binary (started as
/// `<exe> server ...`): the only kind of process a portal may adopt.
pub(crate) fn is_server_process(pid: u32, exe: &std::path::Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let same_binary = std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| {
            let p = p.to_string_lossy();
            let p = p.strip_suffix(" (deleted)").unwrap_or(&p);
            std::path::Path::new(p) == exe
        })
        .unwrap_or(false);
    same_binary && args.get(1) == Some(&b"server".as_slice())
}
