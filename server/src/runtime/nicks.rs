//! Nicks (Evennia's `nick`): a player's own input substitutions. A line that
//! matches a nick's pattern is replaced before it is run: `nick greet $1 =
//! say Hello, $1!` makes `greet Bob` run `say Hello, Bob!`. Patterns take
//! `$1`–`$9` (a trailing one takes the rest of the line) and the globs `*`
//! and `?`. Nicks are kept on the account, so they survive reloads.

use regex::Regex;
use serde::{Deserialize, Serialize};
use tavern_shared::SessId;

use crate::model::ids::AccountId;
use crate::runtime::server::Server;

/// The account attribute holding its nicks.
pub const NICKS_ATTR: &str = "_nicks";
/// How many nicks an account may have.
pub const MAX_NICKS: usize = 100;
/// The longest pattern or replacement.
pub const MAX_NICK_LEN: usize = 400;

/// One nick.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nick {
    /// What the line must look like.
    pub pattern: String,
    /// What it becomes.
    pub replacement: String,
}

/// The `$N` placeholders in a text, in order of appearance (deduplicated).
fn placeholders(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    for i in 0..b.len().saturating_sub(1) {
        if b[i] == b'$' && b[i + 1].is_ascii_digit() && b[i + 1] != b'0' && !out.contains(&b[i + 1])
        {
            out.push(b[i + 1]);
        }
    }
    out
}

impl Nick {
    /// Checks a nick a player wants: sizes, and the same `$N` on both sides.
    pub fn new(pattern: &str, replacement: &str) -> Result<Self, String> {
        let (pattern, replacement) = (pattern.trim(), replacement.trim());
        if pattern.is_empty() || replacement.is_empty() {
            return Err("A nick needs a pattern and what it stands for.".into());
        }
        if pattern.len() > MAX_NICK_LEN || replacement.len() > MAX_NICK_LEN {
            return Err(format!(
                "A nick's two sides are at most {MAX_NICK_LEN} characters each."
            ));
        }
        let mut a = placeholders(pattern);
        let mut b = placeholders(replacement);
        a.sort_unstable();
        b.sort_unstable();
        if a != b {
            return Err("The same $1..$9 must be on both sides of the =.".into());
        }
        Ok(Self {
            pattern: pattern.to_string(),
            replacement: replacement.to_string(),
        })
    }

    /// The pattern as an anchored, case-insensitive regex.
    fn regex(&self) -> Option<Regex> {
        let mut re = String::from("(?is)^");
        let chars: Vec<char> = self.pattern.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '$'
                && chars
                    .get(i + 1)
                    .is_some_and(|d| d.is_ascii_digit() && *d != '0')
            {
                let last = i + 2 >= chars.len();
                re.push_str(&format!(
                    "(?P<a{}>{})",
                    chars[i + 1],
                    if last { ".+" } else { ".+?" }
                ));
                i += 2;
                continue;
            }
            match c {
                '*' => re.push_str(".*?"),
                '?' => re.push('.'),
                ' ' => re.push_str(r"\s+"),
                _ => re.push_str(&regex::escape(&c.to_string())),
            }
            i += 1;
        }
        re.push('$');
        Regex::new(&re).ok()
    }

    /// The line this nick makes of `line`, if it matches.
    pub fn apply(&self, line: &str) -> Option<String> {
        let caps = self.regex()?.captures(line.trim())?;
        let mut out = self.replacement.clone();
        for d in placeholders(&self.replacement) {
            let name = format!("a{}", d as char);
            let value = caps.name(&name).map(|m| m.as_str()).unwrap_or("");
            out = out.replace(&format!("${}", d as char), value);
        }
        Some(out)
    }
}

impl Server {
    /// An account's nicks.
    pub fn nicks(&self, account: AccountId) -> Vec<Nick> {
        self.world
            .accounts
            .get(&account)
            .and_then(|a| a.attr(NICKS_ATTR))
            .unwrap_or_default()
    }

    /// Replaces an account's nicks.
    pub fn set_nicks(&mut self, account: AccountId, nicks: &[Nick]) {
        self.world
            .update_account(account, |a| a.set_attr(NICKS_ATTR, nicks));
    }

    /// What a line becomes by the session's account's nicks (the first that
    /// matches; the result is not substituted again). `nick` lines are left
    /// alone, so a bad nick can always be undone.
    pub(crate) fn apply_nicks(&self, sessid: SessId, line: &str) -> Option<String> {
        let first = line.split_whitespace().next()?.to_lowercase();
        if first.starts_with("nick") {
            return None;
        }
        let account = self.sessions.get(sessid)?.account()?;
        let nicks = self.nicks(account);
        nicks.iter().find_map(|n| n.apply(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nick_substitutes_its_arguments_and_globs() {
        let n = Nick::new("greet $1", "say Hello, $1!").unwrap();
        assert_eq!(n.apply("greet Bob"), Some("say Hello, Bob!".into()));
        assert_eq!(
            n.apply("GREET  Bob the Brave"),
            Some("say Hello, Bob the Brave!".into())
        );
        assert_eq!(n.apply("greetBob"), None);
        let two = Nick::new("build $1 $2", "create/drop $1;$2").unwrap();
        assert_eq!(
            two.apply("build box crate of wood"),
            Some("create/drop box;crate of wood".into())
        );
        let glob = Nick::new("l*k", "look").unwrap();
        assert_eq!(glob.apply("loooook"), Some("look".into()));
        assert_eq!(glob.apply("look here"), None);
        // Text that looks like regex is taken literally.
        let lit = Nick::new("a.b(c) $1", "say $1").unwrap();
        assert_eq!(lit.apply("a.b(c) x"), Some("say x".into()));
        assert_eq!(lit.apply("aXb(c) x"), None);
    }

    #[test]
    fn a_nick_must_have_the_same_placeholders_on_both_sides() {
        assert!(Nick::new("greet $1", "say hi").is_err());
        assert!(Nick::new("greet", "say $1").is_err());
        assert!(Nick::new("", "look").is_err());
        assert!(Nick::new(&"x".repeat(500), "look").is_err());
        assert!(Nick::new("g $2 $1", "say $1 $2").is_ok());
    }
}
