//! Settings: the defaults in the workspace's `settings.toml`, overlaid by a game's file.
//!
//! The defaults are compiled in from the documented `settings.toml` itself, so the
//! file and the code can never disagree. An overlay names only the keys it changes;
//! relative paths in it resolve against the overlay file's directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The documented defaults, exactly as shipped in the workspace root.
pub const DEFAULT_SETTINGS: &str = include_str!("../../settings.toml");

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("settings file {path} is not valid TOML: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid settings: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub game: GameSettings,
    pub portal: PortalSettings,
    pub link: LinkSettings,
    pub database: DatabaseSettings,
    pub server: ServerSettings,
    pub security: SecuritySettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GameSettings {
    pub name: String,
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalSettings {
    pub interface: String,
    pub telnet_ports: Vec<u16>,
    pub tls_ports: Vec<u16>,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub web_port: u16,
    pub max_line_length: usize,
    pub max_queued_input: usize,
    pub keepalive_secs: u64,
    pub max_queued_output: usize,
    pub restart_backoff_initial_ms: u64,
    pub restart_backoff_max_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSettings {
    pub address: SocketAddr,
    pub max_frame_bytes: usize,
    pub secret: String,
}

impl LinkSettings {
    /// The secret, if one is set.
    pub fn secret(&self) -> Option<&str> {
        Some(self.secret.as_str()).filter(|s| !s.is_empty())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub multisession_mode: u8,
    pub new_account_registration: bool,
    pub auto_create_character_with_account: bool,
    pub auto_puppet_on_login: bool,
    pub max_nr_simultaneous_puppets: usize,
    pub max_nr_characters: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    pub password_hash_memory_kib: u32,
    pub password_hash_iterations: u32,
    pub password_hash_parallelism: u32,
    pub max_failed_logins: u32,
    pub login_window_secs: u64,
    pub max_account_creations: u32,
    pub creation_window_secs: u64,
    pub min_password_length: usize,
    pub max_connections_per_address: usize,
    pub max_new_connections_per_minute: usize,
    pub unauthenticated_timeout_secs: u64,
}

impl Settings {
    /// The defaults alone, with relative paths resolved against the working directory.
    pub fn defaults() -> Self {
        Self::load(None).expect("the shipped settings.toml is valid")
    }

    /// The defaults overlaid by `overlay` (if any). Paths come back absolute.
    pub fn load(overlay: Option<&Path>) -> Result<Self, SettingsError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let mut base: toml::Table = DEFAULT_SETTINGS.parse().map_err(|e| SettingsError::Parse {
            path: PathBuf::from("<defaults>"),
            source: Box::new(e),
        })?;
        resolve_paths(&mut base, &cwd);
        if let Some(path) = overlay {
            let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let mut over: toml::Table = text.parse().map_err(|e| SettingsError::Parse {
                path: path.to_path_buf(),
                source: Box::new(e),
            })?;
            let dir = path
                .parent()
                .map(|p| {
                    if p.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        p
                    }
                })
                .unwrap_or(Path::new("."));
            let dir = if dir.is_absolute() {
                dir.to_path_buf()
            } else {
                cwd.join(dir)
            };
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
        if !self.link.address.ip().is_loopback() && self.link.secret.is_empty() {
            return Err(SettingsError::Invalid(format!(
                "[link] address {} is reachable from other machines: set [link] secret \
                 (a long random string, the same for every process of the game)",
                self.link.address
            )));
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
        self.game.data_dir.join("portal.json")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.game.data_dir.join("logs")
    }
}

/// Keys whose values are filesystem paths, resolved against their file's directory.
const PATH_KEYS: &[(&str, &str)] = &[
    ("game", "data_dir"),
    ("portal", "tls_cert"),
    ("portal", "tls_key"),
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
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
