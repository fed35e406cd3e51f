//! What a login costs in password hashing: one argon2id hash at the default
//! cost (`[security]` in settings.toml: 19 MiB, 2 passes, 1 lane), as
//! `create` makes and `connect` checks. A login (create + connect) is two.
//!
//! Run: `cargo bench -p tavern-server --bench passwords`

use divan::{Bencher, black_box};
use tavern_server::Settings;
use tavern_server::runtime::passwords::{hash_phc, hasher, params};

fn main() {
    divan::main();
}

/// As Tavern hashes: in memory the hashing thread keeps.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn hash_at_the_default_cost(b: Bencher<'_, '_>) {
    let p = params(&Settings::defaults().security).unwrap();
    b.bench(|| hash_phc(&p, black_box(b"correct horse battery staple")).unwrap());
}

/// As the argon2 crate does by itself: 19 MiB allocated for every hash.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn hash_at_the_default_cost_fresh_memory(b: Bencher<'_, '_>) {
    let argon = hasher(&Settings::defaults().security).unwrap();
    b.bench(|| {
        use argon2::PasswordHasher;
        argon
            .hash_password(black_box(b"correct horse battery staple"))
            .unwrap()
    });
}
