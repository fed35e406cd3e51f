//! Account names: what a name may be, which names are kept back, and when
//! two names are the same.
//!
//! The rule, against names that look like another's (`Аdmin` with a
//! Cyrillic А, `ａｄｍｉｎ` full-width, `ᴀᴅᴍɪɴ` in small capitals): a name
//! is first brought to Unicode's NFKC form (full-width and other
//! compatibility letters become the plain ones, so `ａｄｍｉｎ` *is*
//! `admin`), and may then hold only Latin letters — a–z and the accented
//! letters of Latin-1 and Latin Extended-A/B (`Élodie`, `Øyvind`,
//! `Łukasz`) — digits 0–9, single spaces and `. @ + - _ '`. Two names are
//! the same when they are the same in that form, ignoring case; reserved
//! names likewise. Scripts that mix with Latin into look-alikes (Cyrillic,
//! Greek, Armenian, phonetic small capitals, ...) are refused outright,
//! rather than matched against a confusables table.

use unicode_normalization::UnicodeNormalization;

/// A name as the game stores and shows it: Unicode NFKC.
pub fn normalize(name: &str) -> String {
    name.nfkc().collect()
}

/// What two names are compared by: normalized and lowercased. Two accounts
/// never share it.
pub fn name_key(name: &str) -> String {
    normalize(name).to_lowercase()
}

/// A letter a name may hold: Latin only (see the module docs).
fn is_name_letter(c: char) -> bool {
    c.is_ascii_alphabetic()
        || (('\u{C0}'..='\u{24F}').contains(&c) && c.is_alphabetic() && c != '×' && c != '÷')
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
    if RESERVED.contains(&name_key(name).as_str()) {
        return Some(format!("Sorry, the name '{name}' is reserved."));
    }
    name_problem(name)
}

/// Why `name` cannot be an account name at all, or None if it can. It is
/// checked in its normalized form (see [`normalize`]), which is the form an
/// account is created with.
pub fn name_problem(name: &str) -> Option<String> {
    let name = &normalize(name);
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
    if !name.chars().all(|c| {
        is_name_letter(c)
            || c.is_ascii_digit()
            || matches!(c, ' ' | '.' | '@' | '+' | '-' | '_' | '\'')
    }) {
        return Some(
            "An account name may only hold Latin letters (accents are fine), digits 0-9, \
             spaces and the characters . @ + - _ '"
                .into(),
        );
    }
    if !name.chars().next().is_some_and(is_name_letter) {
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

    #[test]
    fn look_alike_names_are_refused_or_are_the_same_name() {
        for ok in ["Élodie", "Øyvind", "Łukasz", "Zoë", "o'Brien"] {
            assert_eq!(name_problem(ok), None, "{ok}");
        }
        // Other scripts and phonetic small capitals: refused.
        for bad in [
            "\u{410}dmin",
            "Adm\u{456}n",
            "\u{1d00}\u{1d05}\u{1d0d}\u{26a}\u{274}",
            "\u{455}\u{57d}",
            "\u{391}lpha",
            "abc\u{2060}",
        ] {
            assert!(name_problem(bad).is_some(), "{bad:?} is accepted");
        }
        // Full-width letters are the plain ones: the reserved name is reserved.
        assert_eq!(
            normalize("\u{ff41}\u{ff44}\u{ff4d}\u{ff49}\u{ff4e}"),
            "admin"
        );
        assert!(
            name_problem_for_players("\u{ff41}\u{ff44}\u{ff4d}\u{ff49}\u{ff4e}")
                .unwrap()
                .contains("reserved")
        );
        assert_eq!(name_key("ＡＮＮＡ"), name_key("anna"));
        // Full-width digits become digits.
        assert_eq!(name_problem("Anna\u{ff12}"), None);
    }
}
