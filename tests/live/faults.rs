//! Faults from outside the game: the database going away while players play.
//!
//! The test runs its own PostgreSQL cluster (initdb + pg_ctl, as the
//! `postgres` user when run as root) on a free port, so it can stop and start
//! it without touching the machine's server. Without PostgreSQL's binaries it
//! says it is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tavern_tests::{LiveGame, kill, wait_for};

/// A private PostgreSQL cluster, stopped and removed on drop.
struct Cluster {
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

fn find_bin(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Ok(rd) = std::fs::read_dir("/usr/lib/postgresql") {
        dirs.extend(rd.flatten().map(|e| e.path().join("bin")));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    fn create() -> Option<Self> {
        let initdb = find_bin("initdb")?;
        find_bin("pg_ctl")?;
        let as_postgres = unsafe { libc::geteuid() } == 0;
        let dir = std::env::temp_dir().join(format!("tavern-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).ok()?;
        if as_postgres {
            let ok = Command::new("chown")
                .args(["postgres:", dir.to_str()?])
                .status()
                .ok()?
                .success();
            if !ok {
                return None;
            }
        }
        let c = Self {
            dir,
            port: free_port(),
            as_postgres,
        };
        let data = c.dir.join("data");
        let out = c.run(
            &initdb,
            &[
                "-D",
                data.to_str()?,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
        );
        if !out {
            return None;
        }
        c.start().then_some(c)
    }

    fn run(&self, bin: &Path, args: &[&str]) -> bool {
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin);
            c
        } else {
            Command::new(bin)
        };
        cmd.args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn pg_ctl(&self, args: &[&str]) -> bool {
        let data = self.dir.join("data");
        let mut all = vec!["-D", data.to_str().unwrap()];
        all.extend_from_slice(args);
        self.run(&find_bin("pg_ctl").unwrap(), &all)
    }

    fn start(&self) -> bool {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("pg.log");
        self.pg_ctl(&["-o", &opts, "-l", log.to_str().unwrap(), "-w", "start"])
    }

    fn stop(&self) -> bool {
        self.pg_ctl(&["-m", "fast", "-w", "stop"])
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// CPU time (user + system) a process has used.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_game_rides_out_a_postgresql_outage_and_writes_everything_after() {
    let Some(pg) = Cluster::create() else {
        eprintln!("SKIPPED: PostgreSQL's initdb/pg_ctl are not available to run a private cluster");
        return;
    };
    let game = LiveGame::new(
        "pgdown",
        &format!("[database]\nurl = \"{}\"\nmax_connections = 4\n", pg.url()),
    )
    .start();
    let mut anna = game.login("Anna", "pass123").await;
    let mut bob = game.login("Bob", "pass123").await;

    assert!(pg.stop(), "the private cluster stops");
    // What needs no database still works: nothing is waiting to be saved.
    anna.send("say still here?").await;
    bob.expect("Anna says, \"still here?\"").await;
    // A change to the world cannot be saved: it is not shown as done, and
    // everyone hears why the game stands still.
    anna.send("tavern").await;
    anna.expect("The game cannot save right now.").await;
    bob.expect("The game cannot save right now.").await;
    wait_for("the write failure is logged", || {
        game.all_logs().contains("database write failed, retrying")
    })
    .await;
    // What is typed meanwhile waits, unrun; newcomers are told too.
    anna.send("say waiting for the disk").await;
    let mut late = game.connect().await;
    late.expect("connect <username>").await;
    late.send("connect Carl pass123").await;
    late.expect("The game cannot save right now.").await;
    // No crash loop and no busy retrying while it is down.
    let pid = game.server_pid().expect("the server still runs");
    let before = cpu_time(pid);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let used = cpu_time(pid) - before;
    assert!(
        used < t0.elapsed() / 4,
        "the server used {used:?} of CPU in {:?} while the database was down",
        t0.elapsed()
    );
    assert_eq!(game.server_pid(), Some(pid), "no restarts");
    anna.read_for(Duration::from_millis(100)).await;
    bob.read_for(Duration::from_millis(100)).await;
    assert!(
        !anna.text.contains("Common Room") && !bob.text.contains("waiting for the disk"),
        "nothing unsaved was shown: {:?} / {:?}",
        anna.text,
        bob.text
    );

    assert!(pg.start(), "the private cluster starts again");
    wait_for("writes resume", || {
        game.all_logs().contains("database writes resumed")
    })
    .await;
    // Once saved, the move is answered, and what waited runs, in order.
    anna.expect("The Common Room").await;
    anna.expect("You say, \"waiting for the disk\"").await;
    late.expect("incorrect").await;
    late.send("create Carl pass123").await;
    late.expect("A new account 'Carl' was created.").await;
    // Anna's move reached the database: a cold restart of the server finds her there.
    game.tavern_ok(&["reset"]);
    anna.expect("... Server restarted.").await;
    anna.send("look").await;
    anna.expect("The Common Room").await;
}

/// Issue 17's race: a builder's `create` was answered, then the server was
/// killed within a millisecond, and the object was gone after the restart.
/// Now an answer leaves only once what it reports is committed: whatever a
/// player was told exists, exists after any crash.
#[tokio::test(flavor = "multi_thread")]
async fn what_a_builder_was_told_was_made_survives_a_kill_9_the_moment_after() {
    let game = LiveGame::new(
        "durable",
        "[server]\npermission_account_default = \"Builder\"\n[portal]\nrestart_backoff_initial_ms = 50\n",
    )
    .start();
    let mut b = game.login("Bob", "pass123").await;
    let mut made = Vec::new();
    for round in 0..3 {
        let server = game.server_pid().expect("a server runs");
        // A burst of creations; the server dies the instant the last answer arrives.
        for i in 0..5 {
            b.send(&format!("create widget{round}x{i}")).await;
        }
        for i in 0..5 {
            let name = format!("widget{round}x{i}");
            b.expect(&format!("{name}(#")).await;
            made.push(name);
        }
        kill(server, libc::SIGKILL);
        b.expect("The game server stopped unexpectedly.").await;
        wait_for("a new server", || {
            game.server_pid().is_some_and(|p| p != server)
        })
        .await;
        b.send("inventory").await;
        b.expect("You are carrying:").await;
        // Listed in the order they came: up to the last one made, all are there.
        let listed = b.expect(made.last().expect("made some")).await;
        for name in &made {
            assert!(
                listed.contains(name.as_str()),
                "{name} was reported made and is gone after kill -9: {listed}"
            );
        }
    }
}

/// A tmpfs mounted for one test (root only); lazily unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Self> {
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros into `path` until the file system is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    let _ = f.sync_all();
}

/// Issue 17: with the data directory on a full disk, a password change was
/// confirmed, then lost; creates were confirmed and lost. Now the player is
/// told what did not save, the game makes no change it cannot store, and it
/// recovers by itself when there is room again.
#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_loses_nothing_confirmed_and_the_game_recovers_by_itself() {
    let game = LiveGame::new(
        "fulldisk",
        "[server]\npermission_account_default = \"Builder\"\n[portal]\nrestart_backoff_initial_ms = 50\n",
    );
    let data = game.dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let Some(_disk) = Tmpfs::mount(&data, "24m") else {
        eprintln!("SKIPPED: a full disk needs a tmpfs, and mounting one needs root");
        return;
    };
    let game = game.start();
    let mut b = game.login("Bob", "pass123").await;
    b.send("create before").await;
    b.expect("before(#").await;

    let filler = data.join("filler");
    fill(&filler);
    b.send("password pass123 = newpass456").await;
    b.expect("Your password could not be changed right now.")
        .await;
    b.send("create lamp").await;
    b.expect("The game cannot save right now.").await;
    // Asserting an absence takes a moment of listening.
    b.read_for(Duration::from_millis(500)).await;
    assert!(
        !b.text.contains("lamp(#"),
        "the lamp was shown made: {}",
        b.text
    );

    // Room again: the lamp is saved, and only then shown made.
    std::fs::remove_file(&filler).unwrap();
    b.expect("lamp(#").await;
    // A crash now loses nothing that was confirmed, and the failed password
    // change never happened.
    let server = game.server_pid().unwrap();
    kill(server, libc::SIGKILL);
    b.expect("The game server stopped unexpectedly.").await;
    wait_for("a new server", || {
        game.server_pid().is_some_and(|p| p != server)
    })
    .await;
    b.send("inventory").await;
    let inv = b.expect("lamp").await;
    assert!(inv.contains("before"), "{inv}");
    let mut again = game.connect().await;
    again.expect("connect <username>").await;
    again.send("connect Bob newpass456").await;
    again.expect("incorrect").await;
    again.send("connect Bob pass123").await;
    again.expect("You become Bob.").await;
}
