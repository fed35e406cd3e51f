//! Tab completion for clients that ask (the webclient): `complete <line>`
//! answers `Tavern.Completions {"line", "words"}` — the commands the player
//! may use that start with the line's first word, or the names of what is
//! around them (the room, its exits, what they carry) that start with the
//! line's last word. Bounded: at most [`MAX_LOOKED_AT`] objects are looked
//! at and [`MAX_WORDS`] words returned, however crowded the room.

use std::collections::BTreeSet;

use tavern_shared::SessId;

use crate::runtime::server::Server;

/// The most objects one completion looks at.
pub const MAX_LOOKED_AT: usize = 500;
/// The most words one completion returns.
pub const MAX_WORDS: usize = 30;
/// The longest line completed.
const MAX_LINE: usize = 200;

impl Server {
    /// Completes the last word of `line` for the session.
    pub(crate) fn complete(&mut self, sessid: SessId, line: &str) {
        if line.len() > MAX_LINE || line.contains(['\n', '\r']) {
            return;
        }
        let words = self.completions(sessid, line);
        self.send_msg(
            sessid,
            crate::runtime::feeds::gmcp(
                "Tavern.Completions",
                serde_json::json!({"line": line, "words": words}),
            ),
        );
    }

    fn completions(&self, sessid: SessId, line: &str) -> Vec<String> {
        let mut found = BTreeSet::new();
        let first = !line.trim_start().contains(char::is_whitespace);
        let prefix = line
            .rsplit(char::is_whitespace)
            .next()
            .unwrap_or("")
            .to_lowercase();
        if first {
            let merged = self.merged_cmdset(sessid);
            let accessor = self.accessor(sessid);
            for e in merged.commands() {
                if e.key.starts_with("__") || !e.names.iter().any(|n| n.starts_with(&prefix)) {
                    continue;
                }
                if !self.check_lock(&e.locks, accessor, e.obj, "cmd", true) {
                    continue;
                }
                for n in std::iter::once(&e.key).chain(&e.aliases) {
                    if n.starts_with(&prefix) {
                        found.insert(n.clone());
                    }
                }
            }
        } else if !prefix.is_empty() {
            let Some(me) = self.sessions.get(sessid).and_then(|s| s.puppet()) else {
                return Vec::new();
            };
            let here = self.world.get(me).and_then(|o| o.location);
            let near = here
                .into_iter()
                .flat_map(|h| self.world.contents(h).iter())
                .chain(self.world.contents(me))
                .filter(|&&o| o != me)
                .take(MAX_LOOKED_AT);
            for &o in near {
                let Some(obj) = self.world.get(o) else {
                    continue;
                };
                for n in std::iter::once(&obj.key).chain(&obj.aliases) {
                    if n.to_lowercase().starts_with(&prefix) && !n.contains(char::is_whitespace) {
                        found.insert(n.clone());
                    }
                }
            }
        }
        found.into_iter().take(MAX_WORDS).collect()
    }
}
