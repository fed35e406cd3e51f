//! Evennia's merge tables: every merge type, both priority orders, ties,
//! duplicates, pass-through options and system commands.

use std::sync::Arc;

use super::*;
use crate::commands::{CmdCtx, Command};

/// A command named `key` that remembers which set it came from.
struct C {
    key: &'static str,
    set: &'static str,
}

impl Command for C {
    fn key(&self) -> &str {
        self.key
    }
    fn help(&self) -> &str {
        self.set
    }
    fn func(&self, _ctx: &mut CmdCtx<'_>) {}
}

fn set(name: &'static str, prio: i32, mt: MergeType, keys: &[&'static str]) -> CmdSet {
    let mut s = CmdSet::new(name).with_priority(prio).with_merge_type(mt);
    for k in keys {
        s.add(C { key: k, set: name });
    }
    s
}

/// The result as `set:key`, sorted.
fn show(s: &CmdSet) -> Vec<String> {
    let mut v: Vec<String> = s
        .commands()
        .iter()
        .map(|c| format!("{}:{}", c.cmd.help(), c.key))
        .collect();
    v.sort();
    v
}

fn b() -> CmdSet {
    set("B", 0, MergeType::Union, &["c1", "c2", "c4", "c5"])
}

fn a(prio: i32, mt: MergeType) -> CmdSet {
    set("A", prio, mt, &["c1", "c3"])
}

#[test]
fn the_higher_priority_set_decides_evennias_table() {
    use MergeType::*;
    let cases: [(MergeType, &[&str]); 4] = [
        (Union, &["A:c1", "A:c3", "B:c2", "B:c4", "B:c5"]),
        (Intersect, &["A:c1"]),
        (Replace, &["A:c1", "A:c3"]),
        (Remove, &["B:c2", "B:c4", "B:c5"]),
    ];
    for (mt, want) in cases {
        // A above B, and A on a tie (it is merged last).
        for prio in [1, 0] {
            let c = b().merge(&a(prio, mt));
            assert_eq!(show(&c), want, "{mt:?} at priority {prio}");
            assert_eq!(c.key, "A", "the result takes the deciding set's key");
            assert_eq!(c.priority, prio);
        }
    }
}

#[test]
fn a_lower_priority_set_merged_on_top_loses() {
    use MergeType::*;
    // A merged onto B but with lower priority: B decides with its own type.
    let c = b().merge(&a(-1, Replace));
    assert_eq!(
        show(&c),
        ["A:c3", "B:c1", "B:c2", "B:c4", "B:c5"],
        "B's Union"
    );
    let b_replace = set("B", 0, Replace, &["c1", "c2"]);
    assert_eq!(show(&b_replace.merge(&a(-1, Union))), ["B:c1", "B:c2"]);
    let b_remove = set("B", 0, Remove, &["c1"]);
    assert_eq!(show(&b_remove.merge(&a(-1, Union))), ["A:c3"]);
    let b_intersect = set("B", 0, Intersect, &["c1", "c9"]);
    assert_eq!(show(&b_intersect.merge(&a(-1, Union))), ["B:c1"]);
}

#[test]
fn key_merge_types_override_the_merge_type_for_one_target() {
    let mut hi = a(1, MergeType::Union);
    hi.key_merge_types.insert("B".into(), MergeType::Replace);
    assert_eq!(show(&b().merge(&hi)), ["A:c1", "A:c3"]);
    let other = set("Other", 0, MergeType::Union, &["c1", "c2"]);
    assert_eq!(show(&other.merge(&hi)), ["A:c1", "A:c3", "Other:c2"]);
}

#[test]
fn duplicates_keep_both_only_at_equal_priority_for_union_and_intersect() {
    let mut dup = a(0, MergeType::Union);
    dup.duplicates = Some(true);
    assert_eq!(
        show(&b().merge(&dup)),
        ["A:c1", "A:c3", "B:c1", "B:c2", "B:c4", "B:c5"]
    );
    let mut dup_i = a(0, MergeType::Intersect);
    dup_i.duplicates = Some(true);
    assert_eq!(show(&b().merge(&dup_i)), ["A:c1", "B:c1"]);
    let mut dup_hi = a(1, MergeType::Union);
    dup_hi.duplicates = Some(true);
    assert_eq!(
        show(&b().merge(&dup_hi)),
        ["A:c1", "A:c3", "B:c2", "B:c4", "B:c5"],
        "not at different priorities"
    );
    let mut dup_r = a(0, MergeType::Replace);
    dup_r.duplicates = Some(true);
    assert_eq!(
        show(&b().merge(&dup_r)),
        ["A:c1", "A:c3"],
        "not for Replace"
    );
    assert_eq!(
        b().merge(&dup).duplicates,
        None,
        "a merge result never has duplicates"
    );
}

#[test]
fn aliases_make_commands_the_same() {
    struct Aliased;
    impl Command for Aliased {
        fn key(&self) -> &str {
            "look"
        }
        fn aliases(&self) -> &[&str] {
            &["c2"]
        }
        fn help(&self) -> &str {
            "A"
        }
        fn func(&self, _ctx: &mut CmdCtx<'_>) {}
    }
    let mut hi = CmdSet::new("A").with_priority(1);
    hi.add(Aliased);
    let c = b().merge(&hi);
    assert_eq!(
        show(&c),
        ["A:look", "B:c1", "B:c4", "B:c5"],
        "c2 is look's alias"
    );
}

#[test]
fn no_exits_and_no_objs_pass_through_unless_the_higher_set_says() {
    let mut lo = b();
    lo.no_exits = Some(true);
    let c = lo.merge(&a(1, MergeType::Union));
    assert_eq!(
        c.no_exits,
        Some(true),
        "None passes the lower value through"
    );
    let mut hi = a(1, MergeType::Union);
    hi.no_exits = Some(false);
    hi.no_objs = Some(true);
    let c = lo.merge(&hi);
    assert_eq!((c.no_exits, c.no_objs), (Some(false), Some(true)));
    let mut lo_hi = b().with_priority(5);
    lo_hi.no_objs = Some(true);
    assert_eq!(lo_hi.merge(&hi).no_objs, Some(true), "B is higher here");
}

#[test]
fn system_commands_survive_replace_and_remove() {
    let lo = set("B", 0, MergeType::Union, &["c1", "__nomatch_command"]);
    let c = lo.merge(&a(1, MergeType::Replace));
    assert_eq!(show(&c), ["A:c1", "A:c3", "B:__nomatch_command"]);
    let hi = set("A", 1, MergeType::Remove, &["c1", "__nomatch_command"]);
    let c = lo.merge(&hi);
    assert_eq!(show(&c), ["A:__nomatch_command"], "the higher one wins");
}

#[test]
fn merge_all_merges_equal_priorities_first_then_lowest_to_highest() {
    let s = |n, p, mt, k: &[&'static str]| Arc::new(set(n, p, mt, k));
    let sets = vec![
        s("Char", 0, MergeType::Union, &["look", "get", "say"]),
        s("Account", -10, MergeType::Union, &["look", "who", "quit"]),
        s("Session", -20, MergeType::Union, &["sessions", "quit"]),
        // A dark room at priority 0, merged after Char: it replaces look.
        s("Dark", 0, MergeType::Union, &["look"]),
        // A high-priority menu removes `get`.
        s("Menu", 10, MergeType::Remove, &["get"]),
    ];
    let c = merge_all(&sets);
    assert_eq!(
        show(&c),
        [
            "Account:quit",
            "Account:who",
            "Char:say",
            "Dark:look",
            "Session:sessions"
        ]
    );
    assert_eq!(c.key, "Menu");
    assert!(merge_all(&[]).commands().is_empty());
}
