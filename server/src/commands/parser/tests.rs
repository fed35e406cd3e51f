//! The parser's matching rules, against real command sets.

use std::sync::Arc;

use super::*;
use crate::commands::{CmdCtx, CmdSet, Command};

struct C(&'static str, &'static [&'static str], Option<&'static str>);

impl Command for C {
    fn key(&self) -> &str {
        self.0
    }
    fn aliases(&self) -> &[&str] {
        self.1
    }
    fn arg_regex(&self) -> Option<&str> {
        self.2.or(Some(crate::commands::DEFAULT_ARG_REGEX))
    }
    fn help(&self) -> &str {
        ""
    }
    fn func(&self, _ctx: &mut CmdCtx<'_>) {}
}

fn set(cmds: Vec<C>) -> CmdSet {
    let mut s = CmdSet::new("T");
    for c in cmds {
        s.add(c);
    }
    s
}

/// The parse of `line` over the whole list, checked against the parse
/// through the set's first-letter index (the command handler's): both must
/// give the same answer for every line any test tries.
fn both(s: &CmdSet, line: &str) -> Parsed {
    let usable: Vec<&Arc<CmdEntry>> = s.commands().iter().collect();
    let listed = parse(line, &usable);
    let indexed = parse_set(line, s, &mut |_| true);
    assert_eq!(format!("{listed:?}"), format!("{indexed:?}"), "{line:?}");
    listed
}

fn one(s: &CmdSet, line: &str) -> (String, String, String) {
    match both(s, line) {
        Parsed::One(m) => (m.entry.key.clone(), m.cmdname, m.args),
        other => panic!("{line}: {other:?}"),
    }
}

fn outcome(s: &CmdSet, line: &str) -> &'static str {
    match both(s, line) {
        Parsed::Empty => "empty",
        Parsed::One(_) => "one",
        Parsed::Several(_) => "several",
        Parsed::NoMatch => "none",
    }
}

#[test]
fn names_match_case_insensitively_longest_first_with_arg_regex() {
    let s = set(vec![
        C("look", &["l"], None),
        C("lock", &[], None),
        C("say", &["\""], None),
        C("pose", &[":"], None),
        C("north", &["n"], Some(r"^\s*$")),
    ]);
    assert_eq!(
        one(&s, "LOOK at me"),
        ("look".into(), "LOOK".into(), " at me".into())
    );
    assert_eq!(one(&s, "l"), ("look".into(), "l".into(), "".into()));
    assert_eq!(
        one(&s, "look/brief"),
        ("look".into(), "look".into(), "/brief".into())
    );
    assert_eq!(
        outcome(&s, "lookat"),
        "none",
        "the default arg_regex wants a separator"
    );
    assert_eq!(
        one(&s, "\"hello"),
        ("say".into(), "\"".into(), "hello".into())
    );
    assert_eq!(
        one(&s, ":waves"),
        ("pose".into(), ":".into(), "waves".into())
    );
    assert_eq!(one(&s, "n"), ("north".into(), "n".into(), "".into()));
    assert_eq!(
        outcome(&s, "north quickly"),
        "none",
        "an exit takes no arguments"
    );
    assert_eq!(outcome(&s, ""), "empty");
    assert_eq!(outcome(&s, "dance"), "none");
}

#[test]
fn ignored_prefixes_are_tried_last() {
    let s = set(vec![C("dig", &[], None), C("@admin", &[], None)]);
    assert_eq!(one(&s, "@dig house").0, "dig");
    assert_eq!(one(&s, "+dig house").0, "dig");
    assert_eq!(one(&s, "&/dig").0, "dig");
    assert_eq!(
        one(&s, "@admin").0,
        "@admin",
        "a name with the prefix matches first"
    );
    assert_eq!(outcome(&s, "@@@"), "none");
}

#[test]
fn duplicates_are_several_and_name_n_picks_one() {
    let a = crate::commands::CmdEntry::named(Arc::new(C("x", &[], None)), "north".into(), vec![]);
    let mut b = a.clone();
    b.obj = Some(2);
    let mut merged = CmdSet::new("Exits").merge(&{
        let mut t = CmdSet::new("Exits");
        t.duplicates = Some(true);
        t.add_entry(a);
        t
    });
    merged = {
        let mut lo = merged;
        lo.duplicates = Some(true);
        lo.merge(&{
            let mut t = CmdSet::new("Exits2");
            t.duplicates = Some(true);
            t.add_entry(b);
            t
        })
    };
    let Parsed::Several(listed) = both(&merged, "north") else {
        panic!("two exits named north")
    };
    for (i, m) in listed.iter().enumerate() {
        // `north-N` picks the N-th, in the order the multimatch message lists them.
        match both(&merged, &format!("north-{}", i + 1)) {
            Parsed::One(p) => assert_eq!(p.entry.obj, m.entry.obj),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(outcome(&merged, "north-3"), "none");
}

#[test]
fn suggestions_are_close_names_at_most_three() {
    let s = set(vec![
        C("look", &["l"], None),
        C("lock", &[], None),
        C("say", &[], None),
        C("inventory", &["inv"], None),
    ]);
    let usable: Vec<&Arc<CmdEntry>> = s.commands().iter().collect();
    let got = suggestions("loko", &usable);
    assert!(
        got.contains(&"look".to_string()) && got.len() <= 3,
        "{got:?}"
    );
    assert_eq!(
        suggestions("inventroy", &usable),
        vec!["inventory".to_string()]
    );
    assert!(suggestions("xyzzy", &usable).is_empty());
}

#[test]
fn a_name_fits_the_start_of_a_line_in_any_case() {
    use super::prefix_len;
    assert_eq!(prefix_len("look here", "look"), Some(4));
    assert_eq!(prefix_len("LOOK here", "look"), Some(4));
    assert_eq!(prefix_len("Look", "look"), Some(4));
    assert_eq!(prefix_len("lo", "look"), None, "too short");
    assert_eq!(prefix_len("get box", "look"), None);
    assert_eq!(prefix_len("", "look"), None);
    assert_eq!(prefix_len("'hello", "'"), Some(1));
    // Past the first letter, and letters whose lower case is another's.
    assert_eq!(prefix_len("lOok", "look"), Some(4));
    assert_eq!(prefix_len("loak", "look"), None);
    assert_eq!(
        prefix_len("\u{212A}ill him", "kill"),
        Some(6),
        "the Kelvin sign lowers to k"
    );
    assert_eq!(prefix_len("ÉCOUTE", "écoute"), Some(7));
    assert_eq!(prefix_len("écoute", "look"), None);
}

#[test]
fn the_first_letter_index_follows_the_set_as_it_changes() {
    let mut s = set(vec![C("look", &["l"], None), C("kick", &[], None)]);
    assert_eq!(outcome(&s, "zap"), "none");
    s.add(C("zap", &["@zz"], None));
    assert_eq!(
        one(&s, "zap it").0,
        "zap",
        "a command added after a parse is reached"
    );
    assert_eq!(
        one(&s, "@zz").0,
        "zap",
        "by an alias starting with another letter"
    );
    assert!(s.remove("look"));
    assert_eq!(outcome(&s, "look"), "none", "a removed command is not");
    assert_eq!(outcome(&s, "l"), "none");
    // A letter outside ASCII whose lowercase is ASCII (the Kelvin sign's is
    // `k`) reaches the commands of that letter, as the whole list does.
    assert_eq!(one(&s, "\u{212A}ick").0, "kick");
    assert_eq!(outcome(&s, "\u{00e9}t\u{00e9}"), "none");
    // A clone keeps answering as its original, and a merge as its parts.
    let copy = s.clone();
    assert_eq!(one(&copy, "kick").0, "kick");
    let merged = s.merge(&set(vec![C("kiss", &[], None)]));
    assert_eq!(one(&merged, "kick").0, "kick");
    assert_eq!(one(&merged, "kiss").0, "kiss");
}
