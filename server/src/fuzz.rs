//! Fuzzing entry point for what the server parses from players before any
//! game code: the command line (quoted arguments), account names, input
//! cleaning. Must return normally for any input; see `tavern_shared::fuzz`.

/// Any bytes as a line a player typed.
pub fn command_line(data: &[u8]) {
    let line = tavern_shared::text::clean_input(&String::from_utf8_lossy(data));
    assert!(!line.chars().any(char::is_control), "{line:?}");
    for arg in crate::commands::split_args(&line) {
        assert!(arg.len() <= line.len());
        let _ = crate::accounts::name_problem_for_players(&arg);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_corpus_replays() {
        assert!(tavern_shared::fuzz::replay("command_line", super::command_line) > 0);
    }
}
