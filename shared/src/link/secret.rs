//! The link secret: what the portal, the server and the launcher of one game
//! prove to each other that they know before the link carries anything
//! (challenge and response both ways; the secret never crosses the link).
//!
//! It is `[link] secret` when the settings set one (processes on several
//! machines share it that way); otherwise `data_dir/link.secret`, which the
//! portal makes the first time it starts: 32 random bytes, hex, readable by
//! the game's own user only (mode 0600). Any other local user can neither
//! read it nor, so, drive the game through the link.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::Settings;

/// The file name in the data directory.
pub const SECRET_FILE: &str = "link.secret";

/// Why the secret could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No file yet: nothing has started the game here.
    #[error("no link secret at {0}: start the game (`tavern start`) first, or set [link] secret")]
    Missing(PathBuf),
    /// The file is there but cannot be read or written.
    #[error("the link secret at {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file holds no secret.
    #[error("the link secret at {0} is empty; remove it and start the game again")]
    Empty(PathBuf),
}

/// Where the generated secret lives.
pub fn path(settings: &Settings) -> PathBuf {
    settings.game.data_dir.join(SECRET_FILE)
}

/// The secret, making `data_dir/link.secret` if there is none (the portal,
/// at start).
pub fn ensure(settings: &Settings) -> Result<String, SecretError> {
    if let Some(s) = settings.link.secret() {
        return Ok(s.to_string());
    }
    let path = path(settings);
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path);
    match made {
        Ok(mut f) => {
            let bytes: [u8; 32] = rand::random();
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            f.write_all(hex.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|source| SecretError::Io {
                    path: path.clone(),
                    source,
                })?;
            Ok(hex)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(&path),
        Err(source) => Err(SecretError::Io { path, source }),
    }
}

/// The secret, without making one (the server and the launcher).
pub fn load(settings: &Settings) -> Result<String, SecretError> {
    if let Some(s) = settings.link.secret() {
        return Ok(s.to_string());
    }
    read(&path(settings))
}

fn read(path: &Path) -> Result<String, SecretError> {
    let mut text = String::new();
    match std::fs::File::open(path) {
        Ok(mut f) => f
            .read_to_string(&mut text)
            .map_err(|source| SecretError::Io {
                path: path.to_path_buf(),
                source,
            })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SecretError::Missing(path.to_path_buf()));
        }
        Err(source) => {
            return Err(SecretError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(SecretError::Empty(path.to_path_buf()));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_portal_makes_a_private_secret_once_and_the_others_read_it() {
        let dir = std::env::temp_dir().join(format!("tavern-secret-{}", rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut settings = Settings::defaults();
        settings.game.data_dir = dir.clone();
        assert!(matches!(load(&settings), Err(SecretError::Missing(_))));
        let made = ensure(&settings).unwrap();
        assert_eq!(made.len(), 64);
        assert_eq!(ensure(&settings).unwrap(), made, "made once");
        assert_eq!(load(&settings).unwrap(), made);
        let mode = std::fs::metadata(path(&settings))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "only the game's user may read it");
        settings.link.secret = "from the settings".into();
        assert_eq!(load(&settings).unwrap(), "from the settings");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
