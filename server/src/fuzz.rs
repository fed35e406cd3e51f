//! Fuzzing entry point for what the server parses from players before any
//! game code: the command line (matching against the default cmdsets, quoted
//! arguments, suggestions), lock strings (builders type them), account
//! names, input cleaning. Must return normally for any input; see
//! `tavern_shared::fuzz`.

use std::sync::{Arc, OnceLock};

use crate::commands::{CmdEntry, CmdSet, Commands, cmdset::merge_all, parser};

fn default_commands() -> &'static CmdSet {
    static SET: OnceLock<CmdSet> = OnceLock::new();
    SET.get_or_init(|| {
        let c = Commands::default();
        merge_all(&[c.session, c.account, c.character])
    })
}

/// Any bytes as a line a player typed.
pub fn command_line(data: &[u8]) {
    let line = tavern_shared::text::clean_input(&String::from_utf8_lossy(data));
    assert!(!line.chars().any(char::is_control), "{line:?}");
    for arg in crate::commands::split_args(&line) {
        assert!(arg.len() <= line.len());
        let _ = crate::model::names::name_problem_for_players(&arg);
    }
    let set = default_commands();
    let usable: Vec<&Arc<CmdEntry>> = set.commands().iter().collect();
    let parsed = parser::parse(line.trim(), &usable);
    // The command handler's parse, through the set's first-letter index,
    // answers as the walk over every command does.
    let indexed = parser::parse_set(line.trim(), set, &mut |_| true);
    assert_eq!(format!("{parsed:?}"), format!("{indexed:?}"));
    match parsed {
        parser::Parsed::One(m) => assert!(m.cmdname.len() + m.args.len() <= line.len()),
        parser::Parsed::NoMatch => {
            let typed = line.split_whitespace().next().unwrap_or("");
            assert!(parser::suggestions(typed, &usable).len() <= 3);
        }
        _ => {}
    }
    if let Ok(locks) = crate::model::locks::LockSet::parse(&line) {
        // What parses prints back to something that parses the same.
        let again = crate::model::locks::LockSet::parse(&locks.to_string()).expect("round trip");
        assert_eq!(again, locks);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_corpus_replays() {
        assert!(tavern_shared::fuzz::replay("command_line", super::command_line) > 0);
    }
}
