//! Password hashing: argon2id on a pool of lower-priority threads, off the
//! game thread, each keeping its argon2 memory between hashes.

use std::cell::RefCell;
use std::sync::OnceLock;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tavern_shared::settings::SecuritySettings;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The configured cost is not one argon2 accepts.
    #[error("invalid password hash cost: {0}")]
    Params(argon2::Error),
    /// Hashing failed (or the hashing threads are gone).
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// The configured argon2id cost.
pub fn params(s: &SecuritySettings) -> Result<Params, PasswordError> {
    Params::new(
        s.password_hash_memory_kib,
        s.password_hash_iterations,
        s.password_hash_parallelism,
        None,
    )
    .map_err(PasswordError::Params)
}

/// The configured argon2id hasher.
pub fn hasher(s: &SecuritySettings) -> Result<Argon2<'static>, PasswordError> {
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params(s)?))
}

/// The threads passwords are hashed on: `[security] password_hash_threads`
/// of them (0: one per core), so a login storm takes at most that many
/// cores and that many hashes' memory; and nicer than the game (Linux
/// `nice`), so that when both want a core the game gets it and players
/// typing are answered promptly while others log in.
struct HashPool {
    jobs: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

/// How much nicer than the game the hashing threads run.
const HASH_NICENESS: i32 = 10;

fn pool(s: &SecuritySettings) -> &'static HashPool {
    static POOL: OnceLock<HashPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let n = match s.password_hash_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let (tx, rx) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..n {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("tavern-hash-{i}"))
                .spawn(move || {
                    // SAFETY: setpriority on this thread (Linux threads have
                    // their own nice value); raising it needs no privilege.
                    unsafe {
                        libc::setpriority(
                            libc::PRIO_PROCESS,
                            libc::gettid() as libc::id_t,
                            HASH_NICENESS,
                        );
                    }
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!("cannot start a password hashing thread: {e}");
            }
        }
        HashPool { jobs: tx }
    })
}

/// Runs `work` (hashing) on the hashing threads.
async fn hashing<T: Send + 'static>(
    s: &SecuritySettings,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PasswordError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Box<dyn FnOnce() + Send> = Box::new(move || {
        let _ = tx.send(work());
    });
    pool(s).jobs.send(job).map_err(phc_err)?;
    rx.await.map_err(phc_err)
}

thread_local! {
    /// A hashing thread's argon2 working memory, kept from one hash to the
    /// next: at the default cost it is 19 MiB, and allocating it for every
    /// hash cost page faults and clearing, a tenth of the hash's time.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() < blocks {
            m.resize(blocks, Block::default());
        }
        f(&mut m[..blocks])
    })
}

fn phc_err(e: impl std::fmt::Display) -> PasswordError {
    PasswordError::Hash(e.to_string())
}

/// An argon2id PHC string for `password` at the cost of `params`, with a
/// fresh salt, computed in the thread's kept memory.
pub fn hash_phc(params: &Params, password: &[u8]) -> Result<String, PasswordError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = Salt::new(&salt_bytes).map_err(phc_err)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let mut buf = [0u8; Output::MAX_LENGTH];
    let out = buf.get_mut(..len).ok_or_else(|| phc_err("output length"))?;
    with_memory(params.block_count(), |mem| {
        argon.hash_password_into_with_memory(password, &salt, &mut *out, mem)
    })
    .map_err(phc_err)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(phc_err)?,
        salt: Some(salt),
        hash: Some(Output::new(out).map_err(phc_err)?),
    };
    Ok(hash.to_string())
}

/// Whether `password` is the one `phc` was made from, at the cost written
/// in it, computed in the thread's kept memory (compared in constant time).
fn verify_phc(password: &[u8], phc: &str) -> Result<bool, PasswordError> {
    let hash = PasswordHash::new(phc).map_err(phc_err)?;
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return Ok(false);
    };
    let algorithm = Algorithm::try_from(hash.algorithm.as_str()).map_err(phc_err)?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).map_err(phc_err)?,
        None => Version::default(),
    };
    let params = Params::try_from(&hash).map_err(phc_err)?;
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut buf = [0u8; Output::MAX_LENGTH];
    let out = buf
        .get_mut(..expected.len())
        .ok_or_else(|| phc_err("output length"))?;
    with_memory(params.block_count(), |mem| {
        argon.hash_password_into_with_memory(password, salt, &mut *out, mem)
    })
    .map_err(phc_err)?;
    Ok(Output::new(out).map_err(phc_err)? == *expected)
}

/// Hashes a password to a PHC string, off the world executor.
pub async fn hash_password(
    s: &SecuritySettings,
    password: String,
) -> Result<String, PasswordError> {
    let params = params(s)?;
    hashing(s, move || hash_phc(&params, password.as_bytes())).await?
}

/// A hash of nothing anyone types, at the configured cost, made once: a login
/// for a name that does not exist is checked against it.
fn dummy_hash(s: &SecuritySettings) -> Result<String, PasswordError> {
    /// The cost it was made at, and the hash.
    type Dummy = Option<((u32, u32, u32), String)>;
    static DUMMY: OnceLock<std::sync::Mutex<Dummy>> = OnceLock::new();
    let cost = (
        s.password_hash_memory_kib,
        s.password_hash_iterations,
        s.password_hash_parallelism,
    );
    let mut slot = DUMMY
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some((c, h)) = slot.as_ref()
        && *c == cost
    {
        return Ok(h.clone());
    }
    let h = hash_phc(&params(s)?, b"not a password")?;
    *slot = Some((cost, h.clone()));
    Ok(h)
}

/// Checks a password against a PHC string, off the world executor. The cost
/// is read from the hash, so hashes made at an older cost still verify. When
/// there is no such account (`hash` is None) the same work is done against a
/// dummy hash, so timing does not tell which names exist.
pub async fn verify_password(s: &SecuritySettings, password: String, hash: Option<String>) -> bool {
    let s2 = s.clone();
    hashing(s, move || {
        let real = hash.is_some();
        let hash = match hash {
            Some(h) => h,
            None => match dummy_hash(&s2) {
                Ok(h) => h,
                Err(_) => return false,
            },
        };
        let ok = verify_phc(password.as_bytes(), &hash).unwrap_or(false);
        ok && real
    })
    .await
    .unwrap_or(false)
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn hashing_runs_on_nicer_threads_a_few_at_a_time() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let s = cheap();
        let nice = hashing(&s, || unsafe {
            libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t)
        })
        .await
        .unwrap();
        assert!(nice >= HASH_NICENESS, "hashing runs at nice {nice}");
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs: Vec<_> = (0..16)
            .map(|_| {
                let (s, now, most) = (s.clone(), now.clone(), most.clone());
                tokio::spawn(async move {
                    hashing(&s, move || {
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        now.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                    .unwrap()
                })
            })
            .collect();
        for j in jobs {
            j.await.unwrap();
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert!(
            most.load(Ordering::SeqCst) <= cores,
            "at most one hash per core at once"
        );
    }

    #[test]
    fn hashes_in_kept_memory_are_the_crates_hashes() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let p = params(&cheap()).unwrap();
        // Ours verify with the crate, and the crate's with ours, twice over
        // (the second time in memory the first one used).
        for _ in 0..2 {
            let ours = hash_phc(&p, b"correct horse").unwrap();
            assert!(ours.starts_with("$argon2id$v=19$"), "{ours}");
            let parsed = PasswordHash::new(&ours).unwrap();
            assert!(
                hasher(&cheap())
                    .unwrap()
                    .verify_password(b"correct horse", &parsed)
                    .is_ok()
            );
            let theirs = hasher(&cheap())
                .unwrap()
                .hash_password(b"correct horse")
                .unwrap()
                .to_string();
            assert!(verify_phc(b"correct horse", &theirs).unwrap());
            assert!(!verify_phc(b"wrong horse", &theirs).unwrap());
            assert!(!verify_phc(b"wrong horse", &ours).unwrap());
        }
        // A hash made at another cost is checked at that cost.
        let mut dearer = cheap();
        dearer.password_hash_memory_kib *= 4;
        let other = hash_phc(&params(&dearer).unwrap(), b"x").unwrap();
        assert!(verify_phc(b"x", &other).unwrap());
        assert!(verify_phc(b"x", "not a hash").is_err());
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
}
