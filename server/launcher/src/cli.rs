//! The launcher every game binary exposes: `start`, `reload`, `reset`, `stop`,
//! `status`, `account create`, `migrate`, `world export`/`import`, and the `portal` / `server` roles the
//! processes run as.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{Parser, Subcommand};
use tavern_portal::{PortalConfig, current_exe_on_disk, pid_alive};
use tavern_server::model::names;
use tavern_server::runtime::passwords;
use tavern_server::{Game, Kind, store};
use tavern_shared::link::{LauncherReply, LauncherRequest, LinkStream, Role, StopMode};
use tavern_shared::{RuntimeInfo, Settings};
use tokio::net::TcpStream;

use crate::logging;

#[derive(Parser)]
#[command(about = "Run and manage a Tavern game", version)]
struct Cli {
    /// A settings file overlaid on the defaults (see settings.toml).
    #[arg(long, global = true, value_name = "FILE")]
    settings: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the game in the foreground: the portal, which starts and supervises the server.
    Start,
    /// Run a portal: with `[portal] id` above 0 and `[link] server` set, an
    /// extra portal that links to the game's running server (its players
    /// play in the same game); with id 0, what `start` runs.
    Portal {
        /// Take over from a portal handing over at this socket (what
        /// `upgrade-portal` starts; not for direct use).
        #[arg(long, value_name = "SOCKET", hide = true)]
        take_over: Option<PathBuf>,
    },
    /// Replace the running portal with one started from the binary on disk,
    /// keeping every telnet connection (TLS and SSH players reconnect; the
    /// webclient reconnects by itself).
    UpgradePortal,
    /// Run the game server process (the portal starts it; not for direct use).
    Server,
    /// Restart the server with the code on disk, keeping every player connected.
    Reload,
    /// Restart the server cold (cold-start hooks), keeping every player connected.
    Reset,
    /// Stop the server and the portal; everyone is disconnected.
    Stop,
    /// Show whether the game runs: pids, uptime, state, sessions.
    Status,
    /// Manage accounts without a client.
    Account {
        #[command(subcommand)]
        command: AccountCmd,
    },
    /// Apply pending database migrations (the server also does this when it starts).
    Migrate,
    /// Copy the SQLite database to FILE, consistently, while the game runs
    /// (SQLite's VACUUM INTO). For PostgreSQL, use pg_dump.
    Backup { file: PathBuf },
    /// Put a backup made by `backup` in place of the database; the game
    /// must be stopped. The database it replaces is kept beside it.
    Restore { file: PathBuf },
    /// Export or import the whole world as a file of JSON lines.
    World {
        #[command(subcommand)]
        command: WorldCmd,
    },
    /// Make a new game: a crate at PATH, copied from the template game, that
    /// depends on this Tavern checkout. It builds and starts as is.
    New {
        /// The directory to create (it must not exist, or be empty).
        path: PathBuf,
        /// The game's name as players see it [default: the directory's name].
        #[arg(long)]
        name: Option<String>,
        /// The Tavern checkout to depend on [default: the one this binary was built from].
        #[arg(long, value_name = "DIR")]
        framework: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum WorldCmd {
    /// Write every table to FILE (one row per line), from one consistent
    /// snapshot; the game may be running.
    Export {
        file: PathBuf,
        /// Include the password hashes (without them, imported accounts
        /// cannot log in until an admin sets their passwords).
        #[arg(long)]
        with_passwords: bool,
    },
    /// Read FILE into this game's database, which must be new (no objects
    /// or accounts) unless --merge: all or nothing.
    Import {
        file: PathBuf,
        /// Check the whole file against the database, say what it would
        /// do, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Into a game that has a world (stopped): each row of the file
        /// replaces the game's row with the same key (an object's id, an
        /// account's id, a help entry's key, ...), the rest are added, and
        /// the game's other rows stay. Accounts without a password hash in
        /// the file keep the game's.
        #[arg(long)]
        merge: bool,
        /// Merge a file exported from another game (its ids are not this
        /// game's: whatever has the same id here is replaced).
        #[arg(long, requires = "merge")]
        from_other_game: bool,
    },
}

#[derive(Subcommand)]
enum AccountCmd {
    /// Create an account and its character. Without PASSWORD, it is read from standard input.
    Create {
        name: String,
        password: Option<String>,
        /// Give the account every permission (reload, shutdown, building).
        #[arg(long)]
        superuser: bool,
    },
}

/// Parses the command line and runs the chosen role or command.
pub(crate) fn main(game: Game) -> anyhow::Result<()> {
    // On Linux it was tuned before main (this names the initializer, so it
    // is linked in); elsewhere now, later than best.
    #[cfg(target_os = "linux")]
    let _ = &crate::alloc::EARLY;
    #[cfg(not(target_os = "linux"))]
    crate::alloc::tune();
    fewer_malloc_arenas();
    let cli = Cli::parse();
    if let Cmd::New {
        path,
        name,
        framework,
    } = &cli.command
    {
        return new_game(path, name.as_deref(), framework.as_deref());
    }
    // A game started from its own directory reads its settings.toml.
    let settings_path = cli.settings.clone().or_else(|| {
        let here = PathBuf::from(DEFAULT_SETTINGS_FILE);
        here.is_file().then_some(here)
    });
    let settings =
        Settings::load(settings_path.as_deref()).with_context(|| match &settings_path {
            Some(p) => format!("cannot read the settings in {}", p.display()),
            None => "cannot read the default settings".to_string(),
        })?;
    let settings_file = settings_path
        .as_ref()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()));
    let threads = match cli.command {
        Cmd::Start | Cmd::Portal { .. } => settings.portal.worker_threads,
        Cmd::Server => settings.server.worker_threads,
        _ => 1,
    };
    // What the game writes in its data directory is its user's alone.
    tavern_shared::data_dir::private_umask();
    let rt = runtime(threads).context("cannot start the async runtime")?;
    match cli.command {
        Cmd::Start if settings.portal.id != 0 => bail!(
            "these settings are extra portal {}'s ([portal] id): start it with `tavern portal`, \
             and the game with its main portal's settings",
            settings.portal.id
        ),
        Cmd::Start | Cmd::Portal { .. } => {
            let take_over = match &cli.command {
                Cmd::Portal { take_over } => take_over.clone(),
                _ => None,
            };
            let role = match settings.portal.id {
                0 => "portal".to_string(),
                id => format!("portal-{id}"),
            };
            let _guard = logging::init(&role, &settings)?;
            let exe = current_exe_on_disk().context("cannot find the game binary")?;
            rt.block_on(tavern_portal::run(PortalConfig {
                settings,
                settings_file,
                exe,
                take_over,
            }))
        }
        Cmd::Server => {
            let _guard = logging::init("server", &settings)?;
            let r = rt.block_on(crate::server_process::run(settings, game));
            if let Err(e) = &r {
                tracing::error!("server failed: {e:#}");
            }
            r
        }
        Cmd::Reload => rt.block_on(order(&settings, StopMode::Reload)),
        Cmd::UpgradePortal => rt.block_on(upgrade_portal(&settings)),
        Cmd::Reset => rt.block_on(order(&settings, StopMode::Reset)),
        Cmd::Stop => rt.block_on(stop(&settings)),
        Cmd::Status => rt.block_on(status(&settings)),
        Cmd::New { .. } => unreachable!("handled before the settings are read"),
        Cmd::Migrate => rt.block_on(async {
            let url = settings.database_url();
            prepare_data_dir(&settings)?;
            store::connect(&url, 1).await?;
            println!("Database migrated: {}", store::redact_url(&url));
            Ok(())
        }),
        Cmd::World { command } => rt.block_on(world_file(&settings, command)),
        Cmd::Backup { file } => rt.block_on(backup(&settings, &file)),
        Cmd::Restore { file } => restore(&settings, &file),
        Cmd::Account {
            command:
                AccountCmd::Create {
                    name,
                    password,
                    superuser,
                },
        } => {
            let password = match password {
                Some(p) => p,
                None => read_password()?,
            };
            let typeclass = game
                .typeclasses
                .default_for(Kind::Character)
                .name()
                .to_string();
            rt.block_on(create_account(
                &settings, &name, password, superuser, &typeclass,
            ))
        }
    }
}

/// The SQLite database file in force, or why there is none.
fn sqlite_file(settings: &Settings, what: &str) -> anyhow::Result<PathBuf> {
    let url = settings.database_url();
    let Some(rest) = url.strip_prefix("sqlite://") else {
        bail!(
            "{what} is for SQLite; this game uses {}. For PostgreSQL use \
             `pg_dump -Fc <database> > FILE` and `pg_restore -d <database> FILE` (docs/operations.md)",
            store::redact_url(&url)
        );
    };
    Ok(PathBuf::from(rest.split('?').next().unwrap_or(rest)))
}

/// `backup FILE`: `VACUUM INTO`, a consistent copy while the game writes.
async fn backup(settings: &Settings, file: &std::path::Path) -> anyhow::Result<()> {
    let db_file = sqlite_file(settings, "backup")?;
    if !db_file.is_file() {
        bail!("there is no database at {} to back up", db_file.display());
    }
    if file.exists() {
        bail!(
            "{} exists; choose a new file (nothing was overwritten)",
            file.display()
        );
    }
    let target = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let url = settings.database_url();
    let db = store::connect(&url, 1)
        .await
        .with_context(|| format!("cannot open {}", store::redact_url(&url)))?;
    store::backup_into(&db, &target)
        .await
        .with_context(|| format!("the backup to {} failed", target.display()))?;
    println!("Backed up {} to {}.", db_file.display(), target.display());
    Ok(())
}

/// `restore FILE`: the backup in place of the database, the game stopped.
fn restore(settings: &Settings, file: &std::path::Path) -> anyhow::Result<()> {
    let db_file = sqlite_file(settings, "restore")?;
    if game_running(settings) {
        bail!("the game is running; `tavern stop` first (nothing was changed)");
    }
    let mut header = [0u8; 16];
    std::fs::File::open(file)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header))
        .with_context(|| format!("cannot read {}", file.display()))?;
    if &header != b"SQLite format 3\0" {
        bail!(
            "{} is not an SQLite database (nothing was changed)",
            file.display()
        );
    }
    prepare_data_dir(settings)?;
    if db_file.exists() {
        let kept = db_file.with_extension(format!(
            "db3.before-restore-{}",
            tavern_shared::session::now_millis() / 1000
        ));
        std::fs::rename(&db_file, &kept)
            .with_context(|| format!("cannot move {} aside", db_file.display()))?;
        println!("The database it replaces is kept as {}.", kept.display());
    }
    for ext in ["db3-wal", "db3-shm"] {
        let _ = std::fs::remove_file(db_file.with_extension(ext));
    }
    std::fs::copy(file, &db_file).with_context(|| format!("cannot write {}", db_file.display()))?;
    println!("Restored {} from {}.", db_file.display(), file.display());
    Ok(())
}

/// Whether the game's portal is running (it starts and restarts the server).
fn game_running(settings: &Settings) -> bool {
    RuntimeInfo::read(&settings.runtime_file()).is_some_and(|rt| pid_alive(rt.portal_pid))
}

/// `world export` / `world import`.
async fn world_file(settings: &Settings, command: WorldCmd) -> anyhow::Result<()> {
    use tavern_server::store::world_file;
    let url = settings.database_url();
    prepare_data_dir(settings)?;
    let db = store::connect(&url, 2)
        .await
        .with_context(|| format!("cannot open the database {}", store::redact_url(&url)))?;
    match command {
        WorldCmd::Export {
            file,
            with_passwords,
        } => {
            let f = std::fs::File::create(&file)
                .with_context(|| format!("cannot create {}", file.display()))?;
            let mut out = std::io::BufWriter::new(f);
            let counts = world_file::export(&db, &mut out, with_passwords)
                .await
                .context("the export failed")?;
            println!("Exported to {}: {counts}.", file.display());
        }
        WorldCmd::Import {
            file,
            dry_run,
            merge,
            from_other_game,
        } => {
            if merge && !dry_run && game_running(settings) {
                bail!(
                    "the game is running and keeps its world in memory; `tavern stop` first \
                     (nothing was changed; --dry-run works while it runs)"
                );
            }
            let f = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            let mode = if merge {
                world_file::ImportMode::Merge { from_other_game }
            } else {
                world_file::ImportMode::New
            };
            let done = world_file::import_with(&db, std::io::BufReader::new(f), mode, dry_run)
                .await
                .with_context(|| format!("{} was not imported", file.display()))?;
            match (dry_run, merge) {
                (true, true) => println!(
                    "{} would merge: {done}. Nothing was changed.",
                    file.display()
                ),
                (true, false) => println!(
                    "{} would import: {done}. Nothing was changed.",
                    file.display()
                ),
                (false, true) => println!("Merged {}: {done}.", file.display()),
                (false, false) => println!("Imported {}: {done}.", file.display()),
            }
        }
    }
    Ok(())
}

/// The async runtime of a process: `threads` 1 runs every task on the main
/// thread (no task ever waits for another thread to wake up: on a small
/// machine this answers players sooner and costs less CPU than handing work
/// between threads); 0 is a thread per core; more is that many.
fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    match threads {
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        n => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            if n > 1 {
                b.worker_threads(n);
            }
            b.enable_all().build()
        }
    }
}

/// glibc gives each thread that allocates its own heap ("arena"); memory a
/// connection's task frees on one thread is not reused by another, and with
/// 10,000 players the portal and the server held 40 % more than they used.
/// Two arenas keep that small; neither process allocates from many threads
/// at once. (`MALLOC_ARENA_MAX` in the environment still wins.)
fn fewer_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt is called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// The settings file a game reads from its working directory when no
/// `--settings` is given.
pub const DEFAULT_SETTINGS_FILE: &str = "settings.toml";

fn new_game(
    path: &std::path::Path,
    name: Option<&str>,
    framework: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let game = crate::new_game::NewGame::plan(path, name, framework)?;
    game.write()?;
    println!(
        "Made the game '{}' in {} (crate and binary '{}'), on the Tavern checkout {}.\n\n\
         Next:\n    cd {}\n    cargo run --release -- start\n\n\
         then connect with `telnet localhost 4000` or a browser at http://localhost:4001/.",
        game.name,
        game.path.display(),
        game.crate_name,
        game.framework.display(),
        game.path.display(),
    );
    Ok(())
}

/// The password from standard input: typed without echo on a terminal,
/// read as one line from a pipe.
fn read_password() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    eprint!("Password: ");
    std::io::stderr().flush().ok();
    if std::io::stdin().is_terminal() {
        return rpassword::read_password().context("cannot read the password");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn create_account(
    settings: &Settings,
    name: &str,
    password: String,
    superuser: bool,
    typeclass: &str,
) -> anyhow::Result<()> {
    if let Some(problem) = names::name_problem(name) {
        bail!("{problem}");
    }
    if password.chars().count() < settings.security.min_password_length {
        bail!(
            "the password must be at least {} characters long",
            settings.security.min_password_length
        );
    }
    prepare_data_dir(settings)?;
    let url = settings.database_url();
    let conn = store::connect(&url, 1)
        .await
        .with_context(|| format!("cannot open the database at {}", store::redact_url(&url)))?;
    let room = store::ensure_start_room(&conn).await?;
    let hash = passwords::hash_password(&settings.security, password).await?;
    let char_id = store::reserve_ids(&conn, 1).await?;
    let (account, _) = store::create_account(
        &conn,
        name,
        hash,
        superuser,
        &settings.server.permission_account_default,
        Some(store::NewCharacter {
            id: char_id,
            room,
            typeclass,
            hooks_pending: true,
        }),
    )
    .await?;
    conn.close().await.ok();
    println!(
        "Account '{}' created (#{}), with the character '{}' (#{}){}, in {}.",
        account.name,
        account.id,
        account.name,
        char_id,
        if superuser { ", as a superuser" } else { "" },
        store::redact_url(&url),
    );
    // A running game learns of it now, not at its next start.
    if game_running(settings) {
        match ask(
            settings,
            LauncherRequest::AccountCreated {
                account: account.id,
            },
            Duration::from_secs(5),
        )
        .await
        {
            Ok(LauncherReply::Done(text)) => println!("{text}"),
            Ok(_) => {}
            Err(e) => eprintln!(
                "warning: the running game was not told ({e:#}); it will know the account after its next reload"
            ),
        }
    }
    Ok(())
}

/// Makes the data directory (private) and warns of anything in it others may read.
fn prepare_data_dir(settings: &Settings) -> anyhow::Result<()> {
    let dir = &settings.game.data_dir;
    let loose = tavern_shared::data_dir::prepare(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    for w in loose {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// Connects to the running portal as a launcher.
async fn launcher_link(settings: &Settings) -> anyhow::Result<LinkStream<TcpStream>> {
    let addr = match RuntimeInfo::read(&settings.runtime_file()) {
        Some(rt) if pid_alive(rt.portal_pid) => rt.link_address,
        _ => bail!(
            "the game is not running (no portal for {})",
            settings.game.data_dir.display()
        ),
    };
    let stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .map_err(|_| anyhow!("the portal at {addr} does not answer"))?
        .with_context(|| format!("cannot reach the portal at {addr}"))?;
    let mut ls = LinkStream::new(stream, settings.link.max_frame_bytes);
    let secret = tavern_shared::link::secret::load(settings)?;
    ls.handshake(Role::Launcher, &secret).await?;
    Ok(ls)
}

async fn ask(
    settings: &Settings,
    req: LauncherRequest,
    patience: Duration,
) -> anyhow::Result<LauncherReply> {
    let mut ls = launcher_link(settings).await?;
    ls.send(&req).await?;
    tokio::time::timeout(patience, ls.recv::<LauncherReply>())
        .await
        .map_err(|_| anyhow!("no answer from the portal within {patience:?}"))?
        .map_err(Into::into)
}

/// An order's answer: printed when it was carried out, an error when not.
fn said(reply: LauncherReply) -> anyhow::Result<()> {
    match reply {
        LauncherReply::Done(text) => {
            println!("{text}");
            Ok(())
        }
        LauncherReply::Failed(text) => bail!("{text}"),
        LauncherReply::Status(_) => bail!("unexpected answer from the portal"),
    }
}

async fn upgrade_portal(settings: &Settings) -> anyhow::Result<()> {
    let reply = ask(
        settings,
        LauncherRequest::UpgradePortal,
        Duration::from_secs(180),
    )
    .await?;
    said(reply)
}

async fn order(settings: &Settings, mode: StopMode) -> anyhow::Result<()> {
    let what = if mode == StopMode::Reload {
        "Reloading"
    } else {
        "Resetting"
    };
    println!("{what} the server...");
    let reply = ask(
        settings,
        LauncherRequest::Stop { mode },
        Duration::from_secs(120),
    )
    .await?;
    said(reply)
}

async fn stop(settings: &Settings) -> anyhow::Result<()> {
    let pid = RuntimeInfo::read(&settings.runtime_file()).map(|r| r.portal_pid);
    let answer = ask(
        settings,
        LauncherRequest::Stop {
            mode: StopMode::Shutdown,
        },
        Duration::from_secs(60),
    )
    .await;
    match answer {
        Ok(LauncherReply::Done(text)) => println!("{text}"),
        Ok(LauncherReply::Failed(text)) => bail!("{text}"),
        Ok(LauncherReply::Status(_)) => bail!("unexpected answer from the portal"),
        // The portal may close the link as it exits, before its answer is
        // read: what counts is that it is gone.
        Err(e) => match pid {
            Some(pid) if exited(pid, Duration::from_secs(30)).await => {
                println!("Portal and server stopped.");
                return Ok(());
            }
            _ => return Err(e),
        },
    }
    if let Some(pid) = pid
        && !exited(pid, Duration::from_secs(10)).await
    {
        bail!("the portal (pid {pid}) said it stopped but still runs");
    }
    Ok(())
}

/// Whether the process exits within `patience`.
async fn exited(pid: u32, patience: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + patience;
    while pid_alive(pid) {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

async fn status(settings: &Settings) -> anyhow::Result<()> {
    match ask(settings, LauncherRequest::Status, Duration::from_secs(5)).await {
        Ok(LauncherReply::Status(s)) => {
            println!("Game:     {}", s.game);
            println!(
                "Portal:   running (pid {}, up {}s)",
                s.portal_pid, s.portal_uptime_secs
            );
            match (s.server_pid, s.server_uptime_secs) {
                (Some(pid), Some(up)) => {
                    println!("Server:   {:?} (pid {pid}, up {up}s)", s.server_state)
                }
                _ => println!("Server:   {:?}", s.server_state),
            }
            if let Some(pid) = s.standby_pid {
                println!("Reload:   the next server (pid {pid}) is loading the world beside it");
            }
            println!("Sessions: {} ({} logged in)", s.sessions, s.logged_in);
            if s.portal_id == 0 {
                println!(
                    "Server restarts since the portal started: {}",
                    s.server_restarts
                );
            } else {
                println!("This is extra portal {} of the game.", s.portal_id);
            }
            if !s.portals.is_empty() {
                println!("Portals of the game, as the server sees them:");
                for p in &s.portals {
                    let what = if p.id == 0 { "main" } else { "extra" };
                    let state = if p.linked {
                        format!("linked {}s", p.for_secs)
                    } else {
                        format!("link lost {}s ago", p.for_secs)
                    };
                    println!(
                        "  portal {} ({what}, pid {}, {}): {state}, {} sessions ({} logged in)",
                        p.id, p.pid, p.address, p.sessions, p.logged_in
                    );
                }
            }
            Ok(())
        }
        Ok(_) => bail!("unexpected answer from the portal"),
        Err(e) => {
            println!("Portal:   not running");
            println!("Server:   not running");
            Err(e)
        }
    }
}
