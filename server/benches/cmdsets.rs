//! What finding the command for a line costs: merging the cmdsets a
//! character has (session, account, character, an exit, an object nearby)
//! and matching a line against the merged set.
//!
//! Run: `cargo bench -p tavern-server --bench cmdsets`

use std::sync::Arc;

use divan::{Bencher, black_box};
use tavern_server::commands::cmdset::{CmdEntry, CmdSet, MergeCache, merge_all};
use tavern_server::commands::parser::{self, Parsed};
use tavern_server::commands::{CmdCtx, Command, Commands};

fn main() {
    divan::main();
}

struct Go(&'static str);
impl Command for Go {
    fn key(&self) -> &str {
        self.0
    }
    fn help(&self) -> &str {
        ""
    }
    fn func(&self, _ctx: &mut CmdCtx<'_>) {}
}

/// The sets a character in a room with an exit and a bell has, as the
/// handler collects them.
fn sets() -> Vec<Arc<CmdSet>> {
    let c = Commands::default();
    let mut exit = CmdSet::new("ExitCmdSet").with_priority(101);
    exit.duplicates = Some(true);
    exit.add_entry(CmdEntry::named(
        Arc::new(Go("__exit")),
        "east".into(),
        vec!["e".into()],
    ));
    let mut bell = CmdSet::new("Bell");
    bell.add(Go("ring"));
    bell.duplicates = Some(true);
    vec![
        c.session.clone(),
        c.account.clone(),
        c.character.clone(),
        Arc::new(exit),
        Arc::new(bell.offered_by(99)),
    ]
}

#[divan::bench]
fn merge_five_sets(b: Bencher<'_, '_>) {
    let sets = sets();
    b.bench(|| merge_all(black_box(&sets)));
}

#[divan::bench]
fn merge_five_sets_remembered(b: Bencher<'_, '_>) {
    let sets = sets();
    let mut cache = MergeCache::default();
    b.bench_local(|| cache.merge(black_box(&sets)));
}

#[divan::bench(args = ["look", "say Hello there, how are you?", "east", "ring", "xyzzy"])]
fn parse_line(b: Bencher<'_, '_>, line: &str) {
    let merged = merge_all(&sets());
    let all: Vec<&Arc<CmdEntry>> = merged.commands().iter().collect();
    b.bench(|| {
        let p = parser::parse(black_box(line), &all);
        assert_eq!(matches!(p, Parsed::NoMatch), line == "xyzzy");
        p
    });
}
