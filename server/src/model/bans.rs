//! Bans (Evennia's `ban`): account names and address patterns refused at
//! connection and at login. Kept in the world, saved as one `server_config`
//! row with the rest of a commit.

use serde::{Deserialize, Serialize};

use crate::model::world::Timestamp;

/// The `server_config` key the bans are saved under.
pub const BANS_KEY: &str = "bans";
/// How many bans the game keeps.
pub const MAX_BANS: usize = 1000;

/// One ban.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    /// Its number (`unban <n>`).
    pub id: u64,
    /// An account name, or an address pattern (`10.0.0.*`), lowercase.
    pub pattern: String,
    /// Why.
    pub reason: String,
    /// Who banned.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

impl Ban {
    /// Whether the pattern is an address (digits, dots, colons, `*`),
    /// rather than an account name.
    pub fn is_address(&self) -> bool {
        is_address_pattern(&self.pattern)
    }
}

/// Whether a pattern names addresses rather than an account.
pub fn is_address_pattern(p: &str) -> bool {
    p.contains(['.', ':'])
        && p.chars()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '*' | '[' | ']'))
}

/// A glob with `*` only, against text (lowercase both).
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(p) => rest = &rest[p + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// The game's bans.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bans {
    /// Every ban, oldest first.
    pub list: Vec<Ban>,
    /// The next ban's number.
    pub next: u64,
}

impl Bans {
    /// The ban that keeps out this address, if any.
    pub fn of_address(&self, ip: &str) -> Option<&Ban> {
        let ip = ip.to_lowercase();
        self.list
            .iter()
            .find(|b| b.is_address() && glob(&b.pattern, &ip))
    }

    /// The ban on this account name, if any.
    pub fn of_name(&self, name: &str) -> Option<&Ban> {
        let name = name.to_lowercase();
        self.list
            .iter()
            .find(|b| !b.is_address() && b.pattern == name)
    }

    /// Adds a ban; its number.
    pub fn add(&mut self, pattern: &str, reason: &str, by: &str, at: Timestamp) -> u64 {
        self.next = self.next.max(1);
        let id = self.next;
        self.next += 1;
        self.list.push(Ban {
            id,
            pattern: pattern.to_lowercase(),
            reason: reason.to_string(),
            by: by.to_string(),
            at,
        });
        id
    }

    /// Removes a ban by number; what it was.
    pub fn remove(&mut self, id: u64) -> Option<Ban> {
        let i = self.list.iter().position(|b| b.id == id)?;
        Some(self.list.remove(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_address_patterns_match_as_written() {
        let mut b = Bans::default();
        b.add("Troll", "", "adm", 0);
        b.add("10.0.*", "", "adm", 0);
        b.add("192.168.1.5", "", "adm", 0);
        assert!(b.of_name("troll").is_some() && b.of_name("TROLL").is_some());
        assert!(b.of_name("trolls").is_none());
        assert!(b.of_address("10.0.3.4").is_some());
        assert!(b.of_address("10.1.0.1").is_none());
        assert!(b.of_address("192.168.1.5").is_some());
        assert!(b.of_address("192.168.1.50").is_none());
        assert!(
            b.of_name("10.0.*").is_none(),
            "an address pattern is not a name"
        );
        assert_eq!(b.remove(1).map(|x| x.pattern), Some("troll".into()));
        assert!(b.remove(1).is_none());
        assert_eq!(b.add("x", "", "adm", 0), 4, "numbers are not reused");
        assert!(glob("*", "anything") && glob("a*c", "abbc") && !glob("a*c", "abcd"));
    }
}
