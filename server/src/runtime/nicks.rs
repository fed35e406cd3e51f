//! Nicks (Evennia's `nick`): a player's own substitutions. An *input* nick
//! rewrites a line before it is run: `nick greet $1 = say Hello, $1!` makes
//! `greet Bob` run `say Hello, Bob!`. An *object* nick stands for an object's
//! name wherever the player's commands search for one (`nick/object sword =
//! rusty iron sword`, then `get sword`); an *account* nick for an account's
//! name where one is looked up (`page`, `mail`). Patterns take `$1`–`$9` (a
//! trailing one takes the rest of the line) and the globs `*` and `?`.
//! Nicks are kept on the account, so they survive reloads and follow the
//! player from character to character. Their patterns are compiled once
//! and kept until the nicks change, not per line.

use std::collections::HashMap;
use std::sync::Arc;

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

/// What a nick rewrites.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NickKind {
    /// A whole line typed (Evennia's `inputline`, the default).
    #[default]
    Inputline,
    /// An object's name, where commands search for one.
    Object,
    /// An account's name, where one is looked up (`page`, `mail`).
    Account,
}

impl NickKind {
    /// Its name, as the `nick` switch spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Inputline => "inputline",
            Self::Object => "object",
            Self::Account => "account",
        }
    }
}

/// One nick.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nick {
    /// What it rewrites (nicks saved before there were kinds are input nicks).
    #[serde(default)]
    pub kind: NickKind,
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
    /// Checks an input nick a player wants: sizes, and the same `$N` on both sides.
    pub fn new(pattern: &str, replacement: &str) -> Result<Self, String> {
        Self::of_kind(NickKind::Inputline, pattern, replacement)
    }

    /// Checks a nick of any kind.
    pub fn of_kind(kind: NickKind, pattern: &str, replacement: &str) -> Result<Self, String> {
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
            kind,
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

    /// The line this nick makes of `line`, if it matches (compiling its
    /// pattern; the server keeps compiled nicks, see [`Server::nicked`]).
    pub fn apply(&self, line: &str) -> Option<String> {
        self.apply_with(&self.regex()?, line)
    }

    fn apply_with(&self, re: &Regex, line: &str) -> Option<String> {
        let caps = re.captures(line.trim())?;
        let mut out = self.replacement.clone();
        for d in placeholders(&self.replacement) {
            let name = format!("a{}", d as char);
            let value = caps.name(&name).map(|m| m.as_str()).unwrap_or("");
            out = out.replace(&format!("${}", d as char), value);
        }
        Some(out)
    }
}

/// An account's nicks with their patterns compiled, and the attribute value
/// they were compiled from (when it changes, they are compiled again).
struct Compiled {
    from: serde_json::Value,
    nicks: Arc<[(Nick, Regex)]>,
}

/// The compiled nicks of the accounts that have typed since the server started.
#[derive(Default)]
pub struct NickCache {
    by_account: HashMap<AccountId, Compiled>,
}

impl NickCache {
    /// Forgets an account's compiled nicks (it logged out or was deleted).
    pub fn forget(&mut self, account: AccountId) {
        self.by_account.remove(&account);
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

    /// An account's nicks, compiled: from the cache while its `_nicks`
    /// attribute is what they were compiled from.
    fn compiled_nicks(&mut self, account: AccountId) -> Option<Arc<[(Nick, Regex)]>> {
        let value = self.world.accounts.get(&account)?.db.get(NICKS_ATTR)?;
        if let Some(c) = self.nick_cache.by_account.get(&account)
            && c.from == *value
        {
            return Some(c.nicks.clone());
        }
        let value = value.clone();
        let nicks: Vec<Nick> = serde_json::from_value(value.clone()).unwrap_or_default();
        let nicks: Arc<[(Nick, Regex)]> = nicks
            .into_iter()
            .filter_map(|n| {
                let re = n.regex()?;
                Some((n, re))
            })
            .collect();
        self.nick_cache.by_account.insert(
            account,
            Compiled {
                from: value,
                nicks: nicks.clone(),
            },
        );
        Some(nicks)
    }

    /// What `text` becomes by an account's nicks of `kind` (the first that
    /// matches; the result is not substituted again).
    pub fn nicked(&mut self, account: AccountId, kind: NickKind, text: &str) -> Option<String> {
        let nicks = self.compiled_nicks(account)?;
        nicks
            .iter()
            .filter(|(n, _)| n.kind == kind)
            .find_map(|(n, re)| n.apply_with(re, text))
    }

    /// A name as the session's account's object nicks have it (the name
    /// itself when none matches).
    pub fn object_nick(&mut self, sessid: SessId, name: &str) -> String {
        self.sessions
            .get(sessid)
            .and_then(|s| s.account())
            .and_then(|a| self.nicked(a, NickKind::Object, name))
            .unwrap_or_else(|| name.to_string())
    }

    /// A name as an account's account nicks have it (the name itself when
    /// none matches).
    pub fn account_nick(&mut self, account: AccountId, name: &str) -> String {
        self.nicked(account, NickKind::Account, name)
            .unwrap_or_else(|| name.to_string())
    }

    /// What a line becomes by the session's account's input nicks. `nick`
    /// lines are left alone, so a bad nick can always be undone.
    pub(crate) fn apply_nicks(&mut self, sessid: SessId, line: &str) -> Option<String> {
        let first = line.split_whitespace().next()?.to_lowercase();
        if first.starts_with("nick") {
            return None;
        }
        let account = self.sessions.get(sessid)?.account()?;
        self.nicked(account, NickKind::Inputline, line)
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
