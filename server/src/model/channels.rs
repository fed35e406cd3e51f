//! Channels as data: out-of-character talk that accounts subscribe to, with
//! locks, per-account mutes and bans, personal aliases, and a bounded
//! history. Nothing here sends anything: the runtime
//! ([`crate::runtime::channels`]) does.
//!
//! A channel is one row of `channels`; each line said on it is a row of
//! `channel_lines`, numbered per channel, and the store prunes a channel's
//! lines beyond the history bound as it writes (never the game thread).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::model::ids::{AccountId, IdMap, Timestamp};
use crate::model::locks::LockSet;

/// A channel's id.
pub type ChannelId = i64;

/// A channel. Change it through [`Channels::update`].
#[derive(Clone, Debug, PartialEq)]
pub struct Channel {
    /// Its id.
    pub id: ChannelId,
    /// Its name.
    pub key: String,
    /// Other names for it (everyone's).
    pub aliases: Vec<String>,
    /// What it is for.
    pub desc: String,
    /// The kind of channel (a name the game registered) that formats and
    /// filters its lines; empty: the default.
    pub kind: String,
    /// `listen`, `send` and `control`.
    pub locks: LockSet,
    /// Who subscribes.
    pub subscribers: BTreeSet<AccountId>,
    /// Subscribers who receive nothing for now.
    pub muted: BTreeSet<AccountId>,
    /// Who may not join again.
    pub banned: BTreeSet<AccountId>,
    /// The number of the last line said on it.
    pub last_line: u64,
    /// When it was made.
    pub created_at: Timestamp,
}

/// A channel as stored (the locks as their string).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelRecord {
    /// Its name.
    pub key: String,
    /// Other names.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// What it is for.
    #[serde(default)]
    pub desc: String,
    /// The kind of channel.
    #[serde(default)]
    pub kind: String,
    /// The lock string.
    #[serde(default)]
    pub locks: String,
    /// Subscribers.
    #[serde(default)]
    pub subscribers: BTreeSet<AccountId>,
    /// Muting subscribers.
    #[serde(default)]
    pub muted: BTreeSet<AccountId>,
    /// Banned accounts.
    #[serde(default)]
    pub banned: BTreeSet<AccountId>,
    /// The last line's number.
    #[serde(default)]
    pub last_line: u64,
    /// When it was made.
    #[serde(default)]
    pub created_at: Timestamp,
}

impl Channel {
    /// Its stored form.
    pub fn record(&self) -> ChannelRecord {
        ChannelRecord {
            key: self.key.clone(),
            aliases: self.aliases.clone(),
            desc: self.desc.clone(),
            kind: self.kind.clone(),
            locks: self.locks.to_string(),
            subscribers: self.subscribers.clone(),
            muted: self.muted.clone(),
            banned: self.banned.clone(),
            last_line: self.last_line,
            created_at: self.created_at,
        }
    }

    /// From its stored form (a lock string that no longer parses is dropped, logged by the caller).
    pub fn from_record(id: ChannelId, r: ChannelRecord) -> Self {
        Self {
            id,
            locks: LockSet::parse(&r.locks).unwrap_or_default(),
            key: r.key,
            aliases: r.aliases,
            desc: r.desc,
            kind: r.kind,
            subscribers: r.subscribers,
            muted: r.muted,
            banned: r.banned,
            last_line: r.last_line,
            created_at: r.created_at,
        }
    }

    /// Whether `name` is its key or one of its aliases (case does not matter).
    pub fn is_named(&self, name: &str) -> bool {
        self.key.eq_ignore_ascii_case(name)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

/// A line said on a channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelLine {
    /// The channel.
    pub channel: ChannelId,
    /// Its number on the channel (1, 2, ...).
    pub seq: u64,
    /// When it was said.
    pub at: Timestamp,
    /// Who said it (a name; empty for the game itself).
    pub sender: String,
    /// What was said, as the sender wrote it (markup escaped when shown).
    pub text: String,
    /// Whether it is a pose (`pub :waves`).
    pub pose: bool,
}

/// Every channel, found by name, and what changed since the store last took it.
#[derive(Default, Debug)]
pub struct Channels {
    by_id: BTreeMap<ChannelId, Channel>,
    by_name: HashMap<String, ChannelId>,
    of_account: IdMap<AccountId, BTreeSet<ChannelId>>,
    history: HashMap<ChannelId, VecDeque<ChannelLine>>,
    /// How many lines each channel keeps (in memory and in the database).
    pub history_lines: usize,
    next_id: ChannelId,
    dirty: BTreeSet<ChannelId>,
    gone: BTreeSet<ChannelId>,
    new_lines: Vec<ChannelLine>,
    changes: u64,
}

/// What the store writes for channels.
#[derive(Debug, Default)]
pub struct ChannelChanges {
    /// Channels to write.
    pub channels: Vec<(ChannelId, ChannelRecord)>,
    /// Channels deleted (with their lines).
    pub deleted: Vec<ChannelId>,
    /// Lines said.
    pub lines: Vec<ChannelLine>,
    /// How many lines a channel keeps: older ones are pruned.
    pub keep: usize,
}

impl ChannelChanges {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.deleted.is_empty() && self.lines.is_empty()
    }
}

impl Channels {
    /// How many changes were made (added to the world's change count).
    pub fn change_count(&self) -> u64 {
        self.changes
    }

    fn index(&mut self, c: &Channel) {
        for n in std::iter::once(&c.key).chain(c.aliases.iter()) {
            self.by_name.insert(n.to_lowercase(), c.id);
        }
        for a in &c.subscribers {
            self.of_account.entry(*a).or_default().insert(c.id);
        }
    }

    fn unindex(&mut self, c: &Channel) {
        for n in std::iter::once(&c.key).chain(c.aliases.iter()) {
            if self.by_name.get(&n.to_lowercase()) == Some(&c.id) {
                self.by_name.remove(&n.to_lowercase());
            }
        }
        for a in &c.subscribers {
            if let Some(set) = self.of_account.get_mut(a) {
                set.remove(&c.id);
                if set.is_empty() {
                    self.of_account.remove(a);
                }
            }
        }
    }

    /// Adds a loaded channel (nothing is marked to write).
    pub fn insert_loaded(&mut self, c: Channel) {
        self.next_id = self.next_id.max(c.id + 1);
        self.index(&c);
        self.by_id.insert(c.id, c);
    }

    /// Adds a loaded line of history (oldest first); the channel's last
    /// number is at least the line's.
    pub fn insert_loaded_line(&mut self, line: ChannelLine) {
        if let Some(c) = self.by_id.get_mut(&line.channel) {
            c.last_line = c.last_line.max(line.seq);
        }
        // Before the bound is set (while loading), what the store kept is kept.
        let keep = if self.history_lines == 0 {
            usize::MAX
        } else {
            self.history_lines
        };
        let h = self.history.entry(line.channel).or_default();
        h.push_back(line);
        while h.len() > keep {
            h.pop_front();
        }
    }

    /// Makes a channel (its id is set here). `None` when a channel already
    /// has one of its names.
    pub fn create(&mut self, mut c: Channel) -> Option<ChannelId> {
        let names: Vec<&String> = std::iter::once(&c.key).chain(c.aliases.iter()).collect();
        if names
            .iter()
            .any(|n| self.by_name.contains_key(&n.to_lowercase()))
        {
            return None;
        }
        self.next_id = self.next_id.max(1);
        c.id = self.next_id;
        self.next_id += 1;
        let id = c.id;
        self.index(&c);
        self.by_id.insert(id, c);
        self.changes += 1;
        self.gone.remove(&id);
        self.dirty.insert(id);
        Some(id)
    }

    /// Sets how many lines each channel keeps, dropping older ones from memory.
    pub fn set_history_lines(&mut self, n: usize) {
        self.history_lines = n.max(1);
        for h in self.history.values_mut() {
            while h.len() > self.history_lines {
                h.pop_front();
            }
        }
    }

    /// A channel.
    pub fn get(&self, id: ChannelId) -> Option<&Channel> {
        self.by_id.get(&id)
    }

    /// The channel with this name or alias.
    pub fn named(&self, name: &str) -> Option<ChannelId> {
        self.by_name.get(&name.to_lowercase()).copied()
    }

    /// Every channel, by id.
    pub fn all(&self) -> impl Iterator<Item = &Channel> {
        self.by_id.values()
    }

    /// The channels an account subscribes to.
    pub fn of_account(&self, account: AccountId) -> Vec<ChannelId> {
        self.of_account
            .get(&account)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Changes a channel (its id stays; names and subscribers are
    /// re-indexed); it will be written.
    pub fn update<R>(&mut self, id: ChannelId, f: impl FnOnce(&mut Channel) -> R) -> Option<R> {
        let mut c = self.by_id.remove(&id)?;
        self.unindex(&c);
        let r = f(&mut c);
        c.id = id;
        // A name another channel has is not taken.
        c.aliases
            .retain(|a| !self.by_name.contains_key(&a.to_lowercase()));
        self.index(&c);
        self.by_id.insert(id, c);
        self.changes += 1;
        self.dirty.insert(id);
        Some(r)
    }

    /// Deletes a channel and its history.
    pub fn delete(&mut self, id: ChannelId) -> Option<Channel> {
        let c = self.by_id.remove(&id)?;
        self.unindex(&c);
        self.history.remove(&id);
        self.new_lines.retain(|l| l.channel != id);
        self.changes += 1;
        self.dirty.remove(&id);
        self.gone.insert(id);
        Some(c)
    }

    /// Records a line said on a channel: numbered, kept in the bounded
    /// history, and written behind. Its number, or `None` without such a
    /// channel. The channel's row is not rewritten for it: its last number
    /// is found again from the lines when it is loaded.
    pub fn record_line(
        &mut self,
        id: ChannelId,
        at: Timestamp,
        sender: &str,
        text: &str,
        pose: bool,
    ) -> Option<u64> {
        let c = self.by_id.get_mut(&id)?;
        c.last_line += 1;
        let seq = c.last_line;
        let line = ChannelLine {
            channel: id,
            seq,
            at,
            sender: sender.to_string(),
            text: text.to_string(),
            pose,
        };
        self.changes += 1;
        self.new_lines.push(line.clone());
        self.insert_loaded_line(line);
        Some(seq)
    }

    /// Subscribes an account (only its own index entry changes). False when
    /// there is no such channel or it was subscribed.
    pub fn subscribe(&mut self, id: ChannelId, account: AccountId) -> bool {
        let Some(c) = self.by_id.get_mut(&id) else {
            return false;
        };
        if !c.subscribers.insert(account) {
            return false;
        }
        self.of_account.entry(account).or_default().insert(id);
        self.changes += 1;
        self.dirty.insert(id);
        true
    }

    /// Unsubscribes an account (and ends its mute). False when it was not
    /// subscribed.
    pub fn unsubscribe(&mut self, id: ChannelId, account: AccountId) -> bool {
        let Some(c) = self.by_id.get_mut(&id) else {
            return false;
        };
        if !c.subscribers.remove(&account) {
            return false;
        }
        c.muted.remove(&account);
        if let Some(set) = self.of_account.get_mut(&account) {
            set.remove(&id);
            if set.is_empty() {
                self.of_account.remove(&account);
            }
        }
        self.changes += 1;
        self.dirty.insert(id);
        true
    }

    /// The last `n` lines of a channel's history, skipping the `back` newest, oldest first.
    pub fn history(&self, id: ChannelId, n: usize, back: usize) -> Vec<&ChannelLine> {
        let Some(h) = self.history.get(&id) else {
            return Vec::new();
        };
        let end = h.len().saturating_sub(back);
        let start = end.saturating_sub(n);
        h.range(start..end).collect()
    }

    /// How many lines of a channel's history are kept now.
    pub fn history_len(&self, id: ChannelId) -> usize {
        self.history.get(&id).map_or(0, VecDeque::len)
    }

    /// What to write since the last call.
    pub fn take_changes(&mut self) -> ChannelChanges {
        let dirty = std::mem::take(&mut self.dirty);
        ChannelChanges {
            channels: dirty
                .into_iter()
                .filter_map(|id| self.by_id.get(&id).map(|c| (id, c.record())))
                .collect(),
            deleted: std::mem::take(&mut self.gone).into_iter().collect(),
            lines: std::mem::take(&mut self.new_lines),
            keep: self.history_lines.max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chan(key: &str, aliases: &[&str]) -> Channel {
        Channel {
            id: 0,
            key: key.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            desc: String::new(),
            kind: String::new(),
            locks: LockSet::parse("listen:all();send:all()").unwrap(),
            subscribers: Default::default(),
            muted: Default::default(),
            banned: Default::default(),
            last_line: 0,
            created_at: 0,
        }
    }

    #[test]
    fn channels_are_found_by_any_name_and_names_are_not_shared() {
        let mut c = Channels::default();
        let public = c.create(chan("Public", &["pub"])).unwrap();
        assert_eq!(c.named("PUB"), Some(public));
        assert_eq!(c.named("public"), Some(public));
        assert!(c.create(chan("pub", &[])).is_none(), "a taken name");
        let staff = c.create(chan("Staff", &["st"])).unwrap();
        c.update(staff, |s| s.aliases.push("pub".into()));
        assert_eq!(
            c.named("pub"),
            Some(public),
            "an alias another has is not taken"
        );
        c.delete(public);
        assert_eq!(c.named("pub"), None);
    }

    #[test]
    fn subscriptions_are_indexed_per_account() {
        let mut c = Channels::default();
        let a = c.create(chan("A", &[])).unwrap();
        let b = c.create(chan("B", &[])).unwrap();
        assert!(c.subscribe(a, 7));
        assert!(!c.subscribe(a, 7), "once");
        c.update(b, |ch| ch.subscribers.insert(7));
        assert_eq!(c.of_account(7), vec![a, b]);
        assert!(c.unsubscribe(a, 7));
        assert_eq!(c.of_account(7), vec![b]);
    }

    #[test]
    fn history_is_bounded_and_numbered_and_lines_are_written_once() {
        let mut c = Channels {
            history_lines: 3,
            ..Default::default()
        };
        let a = c.create(chan("A", &[])).unwrap();
        for i in 1..=5 {
            c.record_line(a, i, "Ann", &format!("line {i}"), false);
        }
        let texts: Vec<&str> = c
            .history(a, 10, 0)
            .iter()
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(texts, ["line 3", "line 4", "line 5"]);
        let back: Vec<u64> = c.history(a, 1, 1).iter().map(|l| l.seq).collect();
        assert_eq!(back, [4]);
        let ch = c.take_changes();
        assert_eq!(ch.lines.len(), 5, "every line is written; the store prunes");
        assert_eq!(ch.keep, 3);
        assert_eq!(ch.channels[0].1.last_line, 5);
        assert!(c.take_changes().is_empty());
    }
}
