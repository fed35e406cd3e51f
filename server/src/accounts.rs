//! Account rules: password hashing (argon2id, off the world executor) and name validation.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tavern_shared::settings::SecuritySettings;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("invalid password hash cost: {0}")]
    Params(argon2::Error),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// The configured argon2id hasher.
pub fn hasher(s: &SecuritySettings) -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(
        s.password_hash_memory_kib,
        s.password_hash_iterations,
        s.password_hash_parallelism,
        None,
    )
    .map_err(PasswordError::Params)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password to a PHC string, on a blocking thread.
pub async fn hash_password(
    s: &SecuritySettings,
    password: String,
) -> Result<String, PasswordError> {
    let argon = hasher(s)?;
    tokio::task::spawn_blocking(move || {
        argon
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| PasswordError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| PasswordError::Hash(e.to_string()))?
}

/// Checks a password against a PHC string, on a blocking thread. The cost is
/// read from the hash, so hashes made at an older cost still verify. When there
/// is no such account (`hash` is None) the same work is done against a dummy
/// hash, so timing does not tell which names exist.
pub async fn verify_password(s: &SecuritySettings, password: String, hash: Option<String>) -> bool {
    let Ok(argon) = hasher(s) else { return false };
    let s = s.clone();
    tokio::task::spawn_blocking(move || {
        let real = hash.is_some();
        let hash = match hash {
            Some(h) => h,
            None => match hasher(&s).and_then(|a| {
                a.hash_password(b"not a password")
                    .map(|h| h.to_string())
                    .map_err(|e| PasswordError::Hash(e.to_string()))
            }) {
                Ok(h) => h,
                Err(_) => return false,
            },
        };
        let ok = argon
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok();
        ok && real
    })
    .await
    .unwrap_or(false)
}

/// The longest account name.
pub const MAX_NAME_LEN: usize = 30;

/// Names no account may take.
const RESERVED: &[&str] = &[
    "admin", "guest", "tavern", "server", "system", "here", "me", "self",
];

/// Why a player may not take `name` with `create`, or None if they may.
/// Operators creating accounts from the command line skip the reserved names.
pub fn name_problem_for_players(name: &str) -> Option<String> {
    if RESERVED.contains(&name.to_lowercase().as_str()) {
        return Some(format!("Sorry, the name '{name}' is reserved."));
    }
    name_problem(name)
}

/// Why `name` cannot be an account name at all, or None if it can.
pub fn name_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if len == 0 || len > MAX_NAME_LEN {
        return Some(format!(
            "An account name must be between 1 and {MAX_NAME_LEN} characters long."
        ));
    }
    if name != name.trim() || name.contains("  ") {
        return Some(
            "An account name cannot start or end with a space, or hold two in a row.".into(),
        );
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '.' | '@' | '+' | '-' | '_' | '\''))
    {
        return Some(
            "An account name may only hold letters, digits, spaces and the characters . @ + - _ '"
                .into(),
        );
    }
    if !name.chars().next().is_some_and(char::is_alphabetic) {
        return Some("An account name must start with a letter.".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> SecuritySettings {
        let mut s = tavern_shared::Settings::defaults().security;
        s.password_hash_memory_kib = 64;
        s.password_hash_iterations = 1;
        s
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_and_verify() {
        let s = cheap();
        let h = hash_password(&s, "correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{h}");
        assert!(verify_password(&s, "correct horse".into(), Some(h.clone())).await);
        assert!(!verify_password(&s, "wrong horse".into(), Some(h.clone())).await);
        assert!(!verify_password(&s, "correct horse".into(), None).await);
        assert!(!verify_password(&s, "x".into(), Some("garbage".into())).await);
        // A hash made at another cost still verifies: the cost travels in the hash.
        let mut dearer = s.clone();
        dearer.password_hash_iterations = 2;
        assert!(verify_password(&dearer, "correct horse".into(), Some(h)).await);
    }

    #[test]
    fn the_default_cost_is_the_argon2_recommendation() {
        let d = Params::default();
        let s = tavern_shared::Settings::defaults().security;
        assert_eq!(s.password_hash_memory_kib, d.m_cost());
        assert_eq!(s.password_hash_iterations, d.t_cost());
        assert_eq!(s.password_hash_parallelism, d.p_cost());
    }

    #[test]
    fn names() {
        for ok in ["Anna", "Anna Bell", "o'Brien", "x-1", "Élodie"] {
            assert_eq!(name_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            " Anna",
            "Anna ",
            "a  b",
            "1abc",
            "a\u{1b}b",
            &"x".repeat(31),
            "a|rb",
        ] {
            assert!(name_problem(bad).is_some(), "{bad:?} should be refused");
            assert!(name_problem_for_players(bad).is_some());
        }
        assert_eq!(
            name_problem("Admin"),
            None,
            "operators may use reserved names"
        );
        assert!(
            name_problem_for_players("ADMIN")
                .unwrap()
                .contains("reserved")
        );
    }
}
