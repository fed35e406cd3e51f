//! Settings: the defaults in the workspace's `settings.toml`, overlaid by a game's file.
//!
//! The defaults are compiled in from the documented `settings.toml` itself, so the
//! file and the code can never disagree. An overlay names only the keys it changes;
//! relative paths in it resolve against the overlay file's directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::session::MAX_PORTAL_ID;

/// The documented defaults, exactly as shipped in the workspace root.
pub const DEFAULT_SETTINGS: &str = include_str!("../../settings.toml");

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read.
    #[error("cannot read settings file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is not valid TOML for these settings.
    #[error("settings file {path} is not valid TOML: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and why.
        source: Box<toml::de::Error>,
    },
    /// A value is out of range or inconsistent.
    #[error("invalid settings: {0}")]
    Invalid(String),
}

/// Every setting (see `settings.toml`, which documents each).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[game]`
    pub game: GameSettings,
    /// `[portal]`
    pub portal: PortalSettings,
    /// `[link]`
    pub link: LinkSettings,
    /// `[database]`
    pub database: DatabaseSettings,
    /// `[server]`
    pub server: ServerSettings,
    /// `[security]`
    pub security: SecuritySettings,
    /// `[time]`
    pub time: TimeSettings,
    /// `[channels]`
    pub channels: ChannelSettings,
    /// `[logs]`
    pub logs: LogSettings,
    /// `[metrics]`
    pub metrics: MetricsSettings,
}

/// `[metrics]`: the metrics endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// `[metrics] enabled`: Serve the game's figures in Prometheus' format at /metrics on the web port.
    pub enabled: bool,
    /// `[metrics] token`: When set, a scrape must send `Authorization: Bearer <token>`.
    pub token: String,
    /// `[metrics] interval_secs`: How often the server sends its figures to the portal, in seconds.
    pub interval_secs: u64,
}

/// `[logs]`: the log files.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `[logs] rotation`: Start a new log file "daily", "hourly", or "never" (one file per process role).
    pub rotation: String,
    /// `[logs] keep`: How many log files of each role to keep when rotating (older ones are deleted).
    pub keep: usize,
    /// `[logs] json`: Write the log files as JSON lines (one object per event) instead of text.
    pub json: bool,
}

/// `[channels]`: history, announcements and the channels made at a start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSettings {
    /// `[channels] history_lines`: Lines of history each channel keeps.
    pub history_lines: usize,
    /// `[channels] info_channel`: The channel that announces connections, logins and disconnections (Evennia's MudInfo); empty: none.
    pub info_channel: String,
    /// `[[channels.default]]`: Channels made at a start when missing.
    #[serde(default)]
    pub default: Vec<DefaultChannel>,
    /// `[[channels.irc]]`: Bridges from a channel to an IRC channel.
    #[serde(default)]
    pub irc: Vec<IrcBridge>,
}

/// One `[[channels.irc]]`: a channel's lines go to an IRC channel and back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IrcBridge {
    /// The game's channel (its key or an alias).
    pub channel: String,
    /// The IRC server, `host:port` (plain TCP).
    pub server: String,
    /// The IRC channel, `#name`.
    pub irc_channel: String,
    /// The bridge's nick on IRC (a `_` is added while it is taken).
    pub nick: String,
    /// The IRC server's password (`PASS`), if it has one.
    #[serde(default)]
    pub password: String,
    /// The IRC channel's key, if it has one.
    #[serde(default)]
    pub channel_key: String,
}

/// One `[[channels.default]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultChannel {
    /// Its name.
    pub key: String,
    /// Other names for it.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// What it is for.
    #[serde(default)]
    pub desc: String,
    /// Its locks (`listen`, `send`, `control`).
    #[serde(default)]
    pub locks: String,
    /// Whether every account joins it when it logs in (unless it left it or was booted from it).
    #[serde(default)]
    pub autojoin: bool,
}

fn default_webclient_plugins() -> PathBuf {
    PathBuf::from("webclient")
}

fn default_batch_dir() -> PathBuf {
    PathBuf::from("batch")
}

fn default_prototypes_dir() -> PathBuf {
    PathBuf::from("prototypes")
}

/// `[time]`: game time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSettings {
    /// `[time] factor`: Game time runs this many times faster than real time (Evennia's TIME_FACTOR).
    pub factor: f64,
    /// `[time] game_epoch`: The game's date and time at its first start, "YYYY-MM-DD HH:MM:SS" (Evennia's TIME_GAME_EPOCH); empty: the real date and time of the first start.
    pub game_epoch: String,
}

/// `[game]`: name and data directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GameSettings {
    /// `[game] name`: The game's name: on the connection screen, in `status`, in MSSP.
    pub name: String,
    /// `[game] data_dir`: Where the SQLite database, the logs and the runtime files (portal.json) live.
    pub data_dir: PathBuf,
    /// `[game] flows_dir`: Flow definitions builders write (`*.toml`, `*.json`), read when the server starts.
    pub flows_dir: PathBuf,
    /// `[game] prototypes_dir`: Prototypes builders write (`*.toml`, each with `[[prototype]]` tables), read when the server starts.
    #[serde(default = "default_prototypes_dir")]
    pub prototypes_dir: PathBuf,
    /// `[game] batch_dir`: Batch command files builders run with `batchcommand` (only files in here can be run).
    #[serde(default = "default_batch_dir")]
    pub batch_dir: PathBuf,
}

/// `[portal]`: the player-facing listeners and their limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalSettings {
    /// `[portal] interface`: The address the player-facing listeners bind to.
    pub interface: String,
    /// `[portal] telnet_ports`: Telnet ports. 0 picks a free port (the ports in use are written to data_dir/portal.json).
    pub telnet_ports: Vec<u16>,
    /// `[portal] tls_ports`: Telnet-over-TLS ports (Evennia's is 4003). Empty: no TLS listener. 0 picks a free port.
    pub tls_ports: Vec<u16>,
    /// `[portal] tls_cert`: PEM certificate chain and private key for the TLS ports. Both empty: a self-signed pair for localhost is generated in data_dir/tls/ on first start.
    pub tls_cert: PathBuf,
    /// `[portal] tls_key`: tls_key
    pub tls_key: PathBuf,
    /// `[portal] ssh_ports`: SSH ports (Evennia's is 4004). Empty: no SSH listener. 0 picks a free port.
    #[serde(default)]
    pub ssh_ports: Vec<u16>,
    /// `[portal] ssh_host_key`: The SSH host key (OpenSSH format). Empty: data_dir/ssh/ssh_host_ed25519_key, made on first start.
    #[serde(default)]
    pub ssh_host_key: PathBuf,
    /// `[portal] web_port`: The HTTP port for the webclient (at /) and its websocket (at /ws).
    pub web_port: u16,
    /// `[portal] webclient_plugins`: A folder of the game's webclient plugins (`*.js`, loaded by the page after its own script, in name order); missing: none.
    #[serde(default = "default_webclient_plugins")]
    pub webclient_plugins: PathBuf,
    /// `[portal] max_line_length`: The longest input line a player may send, in bytes. A longer line is refused with a message.
    pub max_line_length: usize,
    /// `[portal] max_queued_input`: Lines queued per session while no server is connected (during a reload or a restart).
    pub max_queued_input: usize,
    /// `[portal] keepalive_secs`: Seconds between telnet NOPs that keep idle connections (and NAT boxes) alive. 0: none.
    pub keepalive_secs: u64,
    /// `[portal] header_timeout_secs`: Seconds a web client may take to send a request's head before it is disconnected.
    pub header_timeout_secs: u64,
    /// `[portal] max_queued_output`: Output frames queued for one slow client before it is disconnected.
    pub max_queued_output: usize,
    /// `[portal] restart_backoff_initial_ms`: Restart a crashed server after this many milliseconds, doubling on each crash in a row ...
    pub restart_backoff_initial_ms: u64,
    /// `[portal] restart_backoff_max_ms`: ... up to this many milliseconds.
    pub restart_backoff_max_ms: u64,
    /// `[portal] worker_threads`: Threads of the portal's async runtime. 1: every connection on one thread, which on a small machine answers sooner and costs less than handing work between threads (10,000 players at 20,000 commands/s take about half a core). 0: one per core, for a portal with much compression or TLS on a big machine.
    pub worker_threads: usize,
    /// `[portal] reload_standby`: A reload (or reset) starts the next server while the old one still serves: it loads the world's objects meanwhile and, once the old one has stopped, reads again only what that one wrote since. Players wait for the stop and the catch-up, not the whole load. Both worlds are in memory for those seconds (the portal skips the standby where they do not fit); false: the old server stops first, then the next one loads.
    #[serde(default = "default_true")]
    pub reload_standby: bool,
    /// `[portal] web_admin`: The admin site at /admin on the web port, for accounts with the Admin permission.
    #[serde(default = "default_true")]
    pub web_admin: bool,
    /// `[portal] id`: Which portal this is. 0: the game's main portal (`tavern start`), which starts and supervises the server. 1 to 31: an extra portal (`tavern portal`), which links to the running server at `[link] server`. Every portal of a game needs its own id.
    #[serde(default)]
    pub id: u16,
}

/// `[link]`: between portal, server and launcher.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSettings {
    /// `[link] address`: Where the portal listens for its server (and for launcher commands such as `tavern reload`). Port 0 picks a free port; the launcher then finds it in data_dir/portal.json.
    pub address: SocketAddr,
    /// `[link] max_frame_bytes`: The largest frame either side accepts on the link, in bytes.
    pub max_frame_bytes: usize,
    /// `[link] secret`: The secret the portal, the server and the launcher prove to each other they know (challenge and response both ways: the secret itself is never sent). Empty: the portal makes one at its first start, in data_dir/link.secret (readable by the game's user only); set it here when processes of the game run on several machines.
    pub secret: String,
    /// `[link] portals`: Where the server accepts extra portals (host:port). Empty: only the main portal. Portals on other machines need the same `[link] secret` set on both sides.
    #[serde(default)]
    pub portals: String,
    /// `[link] server`: For an extra portal: the server's `[link] portals` address.
    #[serde(default)]
    pub server: String,
    /// `[link] portal_grace_secs`: Seconds the server keeps the sessions of a portal whose link was lost; a portal that links again within them resumes its players.
    #[serde(default = "default_portal_grace")]
    pub portal_grace_secs: u64,
}

fn default_true() -> bool {
    true
}

fn default_portal_grace() -> u64 {
    30
}

impl LinkSettings {
    /// The secret, if one is set.
    pub fn secret(&self) -> Option<&str> {
        Some(self.secret.as_str()).filter(|s| !s.is_empty())
    }
}

/// `[database]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `[database] url`: A sea-orm URL: sqlite://PATH?mode=rwc or postgres://user@host/db. Empty: an SQLite file tavern.db3 in data_dir.
    pub url: String,
    /// `[database] max_connections`: Connections in the pool.
    pub max_connections: u32,
    /// `[database] commit_interval_ms`: Milliseconds at least between the starts of two write-behind commits (group commit: under load, what changed meanwhile goes in the next one).
    pub commit_interval_ms: u64,
}

/// `[server]`: accounts, characters and multisession.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// `[server] multisession_mode`: Evennia's multisession modes. 0: one session per account, a new login disconnects the old one. 1: several sessions share one puppet. 2: one puppet per session. 3: like 2, puppets may be shared.
    pub multisession_mode: u8,
    /// `[server] new_account_registration`: The unlogged-in `create` command is enabled.
    pub new_account_registration: bool,
    /// `[server] gmcp_login`: Clients that support it (Mudlet) may log in over GMCP (`Char.Login`), with the password never in the text stream.
    pub gmcp_login: bool,
    /// `[server] auto_create_character_with_account`: `create` also makes a character named like the account (Evennia's AUTO_CREATE_CHARACTER_WITH_ACCOUNT).
    pub auto_create_character_with_account: bool,
    /// `[server] auto_puppet_on_login`: Logging in puppets the character played last (Evennia's AUTO_PUPPET_ON_LOGIN); otherwise the player starts out of character and picks one with `ic`.
    pub auto_puppet_on_login: bool,
    /// `[server] max_nr_simultaneous_puppets`: How many characters one account may puppet at the same time (0: no limit). Only modes 2 and 3 can puppet more than one; Developers and superusers are not limited.
    pub max_nr_simultaneous_puppets: usize,
    /// `[server] max_nr_characters`: How many characters one account may own, counting the one `create` makes (0: no limit).
    pub max_nr_characters: usize,
    /// `[server] permission_account_default`: The permission a new account gets (Evennia's PERMISSION_ACCOUNT_DEFAULT): Player, Helper, Builder, Admin or Developer.
    pub permission_account_default: String,
    /// `[server] worker_threads`: Threads of the server's async runtime. 1: everything on one thread (game logic runs one event at a time anyway; the database and password hashing have threads of their own). 0: one per core.
    pub worker_threads: usize,
    /// `[server] max_command_rate`: Commands one session may send per second (Evennia's MAX_COMMAND_RATE), with bursts of as many; 0: no limit.
    pub max_command_rate: u32,
    /// `[server] idle_timeout_secs`: Seconds a logged-in session may stay without typing before it is disconnected (Evennia's IDLE_TIMEOUT; superusers and Developers exempt; 0: never).
    pub idle_timeout_secs: u64,
}

/// `[security]`: password hashing, throttles and connection limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    /// `[security] password_hash_memory_kib`: argon2id cost for password hashes. The defaults are the argon2 crate's recommended cost. Memory in KiB, iterations, lanes.
    pub password_hash_memory_kib: u32,
    /// `[security] password_hash_iterations`: password_hash_iterations
    pub password_hash_iterations: u32,
    /// `[security] password_hash_parallelism`: password_hash_parallelism
    pub password_hash_parallelism: u32,
    /// `[security] password_hash_threads`: How many passwords may be hashed at once (0: one per core). Hashing runs at a lower priority than the game, and each hash holds its memory cost while it runs.
    pub password_hash_threads: usize,
    /// `[security] max_failed_logins`: Failed logins allowed per address within login_window_secs (0: no limit).
    pub max_failed_logins: u32,
    /// `[security] login_window_secs`: login_window_secs
    pub login_window_secs: u64,
    /// `[security] max_account_creations`: Accounts created per address within creation_window_secs (0: no limit).
    pub max_account_creations: u32,
    /// `[security] creation_window_secs`: creation_window_secs
    pub creation_window_secs: u64,
    /// `[security] min_password_length`: Shortest password accepted by `create`.
    pub min_password_length: usize,
    /// `[security] max_connections_per_address`: Connections one address may hold open at once (0: no limit).
    pub max_connections_per_address: usize,
    /// `[security] max_new_connections_per_minute`: New connections one address may open per minute (0: no limit).
    pub max_new_connections_per_minute: usize,
    /// `[security] unauthenticated_timeout_secs`: Seconds a connection may stay without logging in before it is closed (0: forever).
    pub unauthenticated_timeout_secs: u64,
}

impl Settings {
    /// The defaults alone, with relative paths resolved against the working directory.
    pub fn defaults() -> Self {
        Self::load(None).expect("the shipped settings.toml is valid")
    }

    /// The defaults overlaid by `overlay` (if any). Paths come back
    /// absolute: relative ones — the file's own and the defaults' alike —
    /// are taken from the settings file's directory (the game's), whatever
    /// the directory the command runs in; without a file, from the working
    /// directory.
    pub fn load(overlay: Option<&Path>) -> Result<Self, SettingsError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let mut base: toml::Table = DEFAULT_SETTINGS.parse().map_err(|e| SettingsError::Parse {
            path: PathBuf::from("<defaults>"),
            source: Box::new(e),
        })?;
        let dir = match overlay {
            Some(path) => {
                let dir = match path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                if dir.is_absolute() {
                    dir.to_path_buf()
                } else {
                    cwd.join(dir)
                }
            }
            None => cwd,
        };
        resolve_paths(&mut base, &dir);
        if let Some(path) = overlay {
            let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let mut over: toml::Table = text.parse().map_err(|e| SettingsError::Parse {
                path: path.to_path_buf(),
                source: Box::new(e),
            })?;
            resolve_paths(&mut over, &dir);
            merge(&mut base, over);
        }
        let settings: Settings =
            toml::Value::Table(base)
                .try_into()
                .map_err(|e: toml::de::Error| SettingsError::Parse {
                    path: overlay.map(Path::to_path_buf).unwrap_or_default(),
                    source: Box::new(e),
                })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        if self.server.multisession_mode > 3 {
            return Err(SettingsError::Invalid(format!(
                "server.multisession_mode must be 0, 1, 2 or 3, not {}",
                self.server.multisession_mode
            )));
        }
        if self.server.multisession_mode < 2 && self.server.max_nr_simultaneous_puppets != 1 {
            return Err(SettingsError::Invalid(format!(
                "server.max_nr_simultaneous_puppets must be 1 in multisession_mode {} \
                 (one puppet per account); use mode 2 or 3 to puppet several",
                self.server.multisession_mode
            )));
        }
        if self.portal.max_line_length < 80 {
            return Err(SettingsError::Invalid(
                "portal.max_line_length must be at least 80".into(),
            ));
        }
        if !(self.time.factor.is_finite() && self.time.factor > 0.0 && self.time.factor <= 1e6) {
            return Err(SettingsError::Invalid(format!(
                "time.factor must be a number above 0 (and at most a million), not {}",
                self.time.factor
            )));
        }
        let epoch = self.time.game_epoch.trim();
        if !epoch.is_empty()
            && chrono::NaiveDateTime::parse_from_str(epoch, "%Y-%m-%d %H:%M:%S").is_err()
        {
            return Err(SettingsError::Invalid(format!(
                "time.game_epoch must be \"YYYY-MM-DD HH:MM:SS\" or empty, not {epoch:?}"
            )));
        }
        for b in &self.channels.irc {
            let bad = |why: &str| {
                Err(SettingsError::Invalid(format!(
                    "channels.irc for channel {:?}: {why}",
                    b.channel
                )))
            };
            if b.channel.trim().is_empty() {
                return bad("channel must name a channel");
            }
            if b.server
                .rsplit_once(':')
                .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
            {
                return bad("server must be host:port");
            }
            if !b.irc_channel.starts_with(['#', '&'])
                || b.irc_channel.len() > 50
                || b.irc_channel.contains([' ', ',', '\x07'])
            {
                return bad("irc_channel must be an IRC channel name such as #tavern");
            }
            let nick_ok = !b.nick.is_empty()
                && b.nick.len() <= 30
                && b.nick
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_[]\\`^{}|".contains(c))
                && !b.nick.starts_with(|c: char| c.is_ascii_digit() || c == '-');
            if !nick_ok {
                return bad("nick must be an IRC nick (letters, digits, -_[]\\`^{}|; at most 30)");
            }
            let no_breaks = |s: &str| !s.chars().any(|c| c.is_control() || c == ' ');
            if !no_breaks(&b.password) || !no_breaks(&b.channel_key) {
                return bad("password and channel_key may hold no spaces or control characters");
            }
        }
        if !matches!(self.logs.rotation.as_str(), "daily" | "hourly" | "never") {
            return Err(SettingsError::Invalid(format!(
                "logs.rotation must be \"daily\", \"hourly\" or \"never\", not {:?}",
                self.logs.rotation
            )));
        }
        if self.logs.keep == 0 {
            return Err(SettingsError::Invalid(
                "logs.keep must be at least 1".into(),
            ));
        }
        if self.portal.id > MAX_PORTAL_ID {
            return Err(SettingsError::Invalid(format!(
                "portal.id must be 0 (the main portal) to {MAX_PORTAL_ID}, not {}",
                self.portal.id
            )));
        }
        for (key, value) in [
            ("portals", &self.link.portals),
            ("server", &self.link.server),
        ] {
            if !value.is_empty() && value.parse::<SocketAddr>().is_err() {
                return Err(SettingsError::Invalid(format!(
                    "link.{key} must be an address such as \"127.0.0.1:4007\", not {value:?}"
                )));
            }
        }
        if self.link.max_frame_bytes < 64 * 1024 {
            return Err(SettingsError::Invalid(
                "link.max_frame_bytes must be at least 65536".into(),
            ));
        }
        Ok(())
    }

    /// The database URL in force: the configured one, or an SQLite file in data_dir.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.game.data_dir.join("tavern.db3").display()
            )
        } else {
            self.database.url.clone()
        }
    }

    /// The file where a running portal says where it listens and which pids it has.
    pub fn runtime_file(&self) -> PathBuf {
        match self.portal.id {
            0 => self.game.data_dir.join("portal.json"),
            id => self.game.data_dir.join(format!("portal-{id}.json")),
        }
    }

    /// Where the server accepts extra portals (`[link] portals`), if it does.
    pub fn portals_address(&self) -> Option<SocketAddr> {
        self.link.portals.parse().ok()
    }

    /// The server an extra portal links to (`[link] server`), if set.
    pub fn server_address(&self) -> Option<SocketAddr> {
        self.link.server.parse().ok()
    }

    /// The least time between two write-behind commits (`[database] commit_interval_ms`).
    pub fn commit_interval(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.database.commit_interval_ms)
    }

    /// Where the logs go: `data_dir/logs`.
    pub fn log_dir(&self) -> PathBuf {
        self.game.data_dir.join("logs")
    }
}

/// Keys whose values are filesystem paths, resolved against their file's directory.
const PATH_KEYS: &[(&str, &str)] = &[
    ("game", "flows_dir"),
    ("game", "prototypes_dir"),
    ("game", "batch_dir"),
    ("portal", "webclient_plugins"),
    ("game", "data_dir"),
    ("portal", "tls_cert"),
    ("portal", "tls_key"),
    ("portal", "ssh_host_key"),
];

fn resolve_paths(table: &mut toml::Table, dir: &Path) {
    for (section, key) in PATH_KEYS {
        if let Some(toml::Value::Table(t)) = table.get_mut(*section)
            && let Some(toml::Value::String(s)) = t.get_mut(*key)
        {
            let p = Path::new(s.as_str());
            // Empty means "not set", not "this directory".
            if !s.is_empty() && p.is_relative() {
                *s = dir.join(p).to_string_lossy().into_owned();
            }
        }
    }
    // An SQLite file named by a relative path in the database URL.
    if let Some(toml::Value::Table(t)) = table.get_mut("database")
        && let Some(toml::Value::String(url)) = t.get_mut("url")
        && let Some(rest) = url.strip_prefix("sqlite://")
    {
        let (file, query) = rest
            .split_once('?')
            .map_or((rest, None), |(f, q)| (f, Some(q)));
        if !file.is_empty() && !file.starts_with(':') && Path::new(file).is_relative() {
            let abs = dir.join(file).to_string_lossy().into_owned();
            *url = match query {
                Some(q) => format!("sqlite://{abs}?{q}"),
                None => format!("sqlite://{abs}"),
            };
        }
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_match_the_documented_values() {
        let s = Settings::defaults();
        assert_eq!(s.portal.telnet_ports, vec![4000]);
        assert_eq!(s.portal.web_port, 4001);
        assert_eq!(s.link.address.to_string(), "127.0.0.1:4006");
        assert!(s.game.data_dir.is_absolute());
        assert!(s.database_url().starts_with("sqlite://"));
        assert!(s.database_url().ends_with("tavern.db3?mode=rwc"));
    }

    #[test]
    fn overlay_changes_only_what_it_names_and_resolves_paths_against_its_dir() {
        let dir = std::env::temp_dir().join(format!("tavern-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("game.toml");
        std::fs::write(
            &file,
            "[game]\ndata_dir = \"mydata\"\n[portal]\ntelnet_ports = [0, 0]\n",
        )
        .unwrap();
        let s = Settings::load(Some(&file)).unwrap();
        assert_eq!(s.game.data_dir, dir.join("mydata"));
        assert_eq!(s.portal.telnet_ports, vec![0, 0]);
        assert_eq!(
            s.portal.web_port, 4001,
            "untouched keys keep their defaults"
        );
        assert_eq!(s.game.name, "Tavern");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_relative_path_is_taken_from_the_settings_file_s_directory() {
        let dir = std::env::temp_dir().join(format!("tavern-settings-rel-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A file that names no data_dir: the default's is beside the file,
        // not in the directory the command runs in.
        let file = dir.join("settings.toml");
        std::fs::write(&file, "[game]\nname = \"Hearth\"\n").unwrap();
        let s = Settings::load(Some(&file)).unwrap();
        assert!(
            s.game.data_dir.starts_with(&dir),
            "{}",
            s.game.data_dir.display()
        );
        assert!(s.database_url().contains(&*dir.to_string_lossy()));
        // A relative SQLite file in the database URL, too.
        std::fs::write(&file, "[database]\nurl = \"sqlite://db/x.db3?mode=rwc\"\n").unwrap();
        let s = Settings::load(Some(&file)).unwrap();
        assert_eq!(
            s.database_url(),
            format!("sqlite://{}?mode=rwc", dir.join("db/x.db3").display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_the_file_named() {
        let dir = std::env::temp_dir().join(format!("tavern-settings-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bad.toml");
        std::fs::write(&file, "[portal]\ntelnet_prots = [1]\n").unwrap();
        let err = Settings::load(Some(&file)).unwrap_err().to_string();
        assert!(
            err.contains("bad.toml") && err.contains("telnet_prots"),
            "{err}"
        );
        std::fs::write(&file, "[server]\nmultisession_mode = 7\n").unwrap();
        let err = Settings::load(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("multisession_mode"), "{err}");
        std::fs::write(
            &file,
            "[server]\nmultisession_mode = 1\nmax_nr_simultaneous_puppets = 3\n",
        )
        .unwrap();
        let err = Settings::load(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("max_nr_simultaneous_puppets"), "{err}");
        // IRC bridges are checked whole: a nick, a server, a channel name.
        let irc = |fields: &str| format!("[[channels.irc]]\nchannel = \"Public\"\n{fields}\n");
        for (fields, why) in [
            (
                "server = \"irc:6667\"\nirc_channel = \"#t\"\nnick = \"9lives\"",
                "nick",
            ),
            (
                "server = \"irc:6667\"\nirc_channel = \"#t\"\nnick = \"a b\"",
                "nick",
            ),
            (
                "server = \"irc\"\nirc_channel = \"#t\"\nnick = \"bot\"",
                "server",
            ),
            (
                "server = \"irc:6667\"\nirc_channel = \"t\"\nnick = \"bot\"",
                "irc_channel",
            ),
            (
                "server = \"irc:6667\"\nirc_channel = \"#t\"\nnick = \"bot\"\npassword = \"a\\r\\nQUIT\"",
                "password",
            ),
        ] {
            std::fs::write(&file, irc(fields)).unwrap();
            let err = Settings::load(Some(&file)).unwrap_err().to_string();
            assert!(
                err.contains("channels.irc") && err.contains(why),
                "{fields}: {err}"
            );
        }
        std::fs::write(
            &file,
            irc("server = \"irc.example.org:6667\"\nirc_channel = \"#t\"\nnick = \"tav_bot\""),
        )
        .unwrap();
        assert_eq!(Settings::load(Some(&file)).unwrap().channels.irc.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
