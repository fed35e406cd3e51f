//! The memory allocator a Tavern game runs best with: mimalloc, which the
//! template's binary (and so every new game) installs with
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: tavern_server::Allocator = tavern_server::Allocator;
//! ```
//!
//! Both processes allocate small strings and vectors for every line a player
//! types; with mimalloc a command costs the portal and the server about a
//! quarter less CPU than with glibc's allocator (docs/benchmarks.md). Left
//! as it comes, mimalloc keeps freed memory and commits arenas eagerly, which
//! held 10,000 connections in 25 % more memory than glibc; [`tune`] has it
//! give freed memory back at once and commit what it uses, which holds them
//! in less. A game that installs another allocator loses nothing but the speed.

use libmimalloc_sys::{mi_option_set, mi_option_t};

/// The allocator to install as the game's `#[global_allocator]`.
pub use mimalloc::MiMalloc as Allocator;

/// `mi_option_arena_eager_commit` (the same number in mimalloc 2 and 3).
const ARENA_EAGER_COMMIT: mi_option_t = 4;
/// `mi_option_purge_delay` (the same number in mimalloc 2 and 3).
const PURGE_DELAY: mi_option_t = 15;

/// Sets mimalloc up for a process that holds thousands of connections:
/// memory is committed as it is used and handed back as soon as it is freed.
/// `MIMALLOC_*` variables in the environment still win.
///
/// It runs before `main` ([`EARLY`]): the first arena is made on the first
/// allocation, and whether it is committed eagerly is decided then.
pub(crate) fn tune() {
    for (option, env, value) in [
        (ARENA_EAGER_COMMIT, c"MIMALLOC_ARENA_EAGER_COMMIT", 0),
        (PURGE_DELAY, c"MIMALLOC_PURGE_DELAY", 0),
    ] {
        // SAFETY: getenv reads the environment without allocating (this runs
        // before main, when nothing else touches the environment); setting an
        // option has no preconditions, and an allocator that is not mimalloc
        // is not affected.
        unsafe {
            if libc::getenv(env.as_ptr()).is_null() {
                mi_option_set(option, value);
            }
        }
    }
}

extern "C" fn tune_early() {
    tune();
}

/// [`tune`] as an initializer of priority 102: after mimalloc's own (101),
/// before Rust's `main` and anything it allocates.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array.00102")]
pub(crate) static EARLY: extern "C" fn() = tune_early;

#[cfg(test)]
mod tests {
    #[test]
    fn the_options_are_set_before_main() {
        // Not called here: the initializer has run.
        // SAFETY: reading an option has no preconditions.
        let (eager, delay) = unsafe {
            (
                libmimalloc_sys::mi_option_get(super::ARENA_EAGER_COMMIT),
                libmimalloc_sys::mi_option_get(super::PURGE_DELAY),
            )
        };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(delay, 0);
        }
        if std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_none() {
            assert_eq!(eager, 0);
        }
    }
}
