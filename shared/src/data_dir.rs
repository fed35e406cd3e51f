//! The data directory holds the database (password hashes among it), the
//! logs, the link secret and `portal.json`: it is the game's user's alone.
//! [`prepare`] makes it private (mode 0700) and says what in it is looser;
//! the launcher also sets the process's umask to 077, so everything the game
//! creates there is born private (0600).

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// Makes the directory (0700) if it is missing, and returns a warning for it
/// and each file or directory directly in it (and in `logs/`) that others may
/// read or write.
pub fn prepare(dir: &Path) -> std::io::Result<Vec<String>> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut warnings = Vec::new();
    let mut check = |p: &Path| {
        if let Ok(m) = std::fs::symlink_metadata(p)
            && !m.file_type().is_symlink()
            && m.permissions().mode() & 0o077 != 0
        {
            warnings.push(format!(
                "{} is readable by other users (mode {:o}): `chmod go-rwx` it",
                p.display(),
                m.permissions().mode() & 0o777
            ));
        }
    };
    check(dir);
    for sub in [dir.to_path_buf(), dir.join("logs")] {
        if let Ok(entries) = std::fs::read_dir(&sub) {
            for e in entries.flatten() {
                check(&e.path());
            }
        }
    }
    Ok(warnings)
}

/// Everything the process creates from now on is its user's alone (umask
/// 077): the database, its journal, the logs.
pub fn private_umask() {
    // SAFETY: umask only changes this process's file creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_data_dir_is_private_and_loose_files_are_named() {
        let dir = std::env::temp_dir().join(format!("tavern-data-{}", rand::random::<u32>()));
        assert!(prepare(&dir).unwrap().is_empty());
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let db = dir.join("tavern.db3");
        std::fs::write(&db, "x").unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        let warnings = prepare(&dir).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("tavern.db3") && warnings[0].contains("644"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
