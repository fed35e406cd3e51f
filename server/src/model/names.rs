//! Account names: what a name may be, and which names are kept back.

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
