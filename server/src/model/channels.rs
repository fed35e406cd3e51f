//! Channels as data: out-of-character talk that accounts subscribe to, with
//! locks, per-account mutes and bans, personal aliases, and a bounded
//! history. Nothing here sends anything: the runtime
//! ([`crate::runtime::channels`]) does.
//!
//! A channel is one row of `channels`; each subscription is a row of
//! `channel_subscribers` (so a join writes one short row, however many
//! listen); each line said on it is a row of `channel_lines`, numbered per
//! channel, and the store prunes a channel's lines beyond the history bound
//! as it writes (never the game thread).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::model::ids::{AccountId, IdMap, Timestamp};
use crate::model::locks::LockSet;

/// A channel's id.
pub type ChannelId = i64;

/// A channel. Change it through [`Channels::update`]; its subscribers and
/// mutes through [`Channels::subscribe`], [`Channels::unsubscribe`] and
/// [`Channels::mute`].
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
    subscribers: BTreeSet<AccountId>,
    muted: BTreeSet<AccountId>,
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
    /// Subscribers, as rows written before the `channel_subscribers` table
    /// (read once and moved there; never written here again).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub subscribers: BTreeSet<AccountId>,
    /// Muting subscribers, as rows written before `channel_subscribers`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
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
    /// A new channel, to give [`Channels::create`]: nobody subscribes,
    /// nothing said yet.
    pub fn new(key: &str, locks: LockSet, created_at: Timestamp) -> Self {
        Self {
            id: 0,
            key: key.to_string(),
            aliases: Vec::new(),
            desc: String::new(),
            kind: String::new(),
            locks,
            subscribers: BTreeSet::new(),
            muted: BTreeSet::new(),
            banned: BTreeSet::new(),
            last_line: 0,
            created_at,
        }
    }

    /// Who subscribes.
    pub fn subscribers(&self) -> &BTreeSet<AccountId> {
        &self.subscribers
    }

    /// Whether `account` subscribes.
    pub fn is_subscribed(&self, account: AccountId) -> bool {
        self.subscribers.contains(&account)
    }

    /// Whether `account` subscribes but receives nothing for now.
    pub fn is_muted(&self, account: AccountId) -> bool {
        self.muted.contains(&account)
    }

    /// Its stored form (without its subscribers: they are rows of their own).
    pub fn record(&self) -> ChannelRecord {
        ChannelRecord {
            key: self.key.clone(),
            aliases: self.aliases.clone(),
            desc: self.desc.clone(),
            kind: self.kind.clone(),
            locks: self.locks.to_string(),
            subscribers: BTreeSet::new(),
            muted: BTreeSet::new(),
            banned: self.banned.clone(),
            last_line: self.last_line,
            created_at: self.created_at,
        }
    }

    /// From its stored form (a lock string that no longer parses is dropped,
    /// logged by the caller). Subscribers a row of an older build holds come
    /// with it ([`Channels::insert_loaded`] moves them to their own rows).
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
    /// Subscriptions changed since the store last took them: muted or not
    /// (`Some`), or ended (`None`).
    subscriptions: BTreeMap<(ChannelId, AccountId), Option<bool>>,
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
    /// Subscriptions made or changed (`Some(muted)`) or ended (`None`).
    /// A deleted channel's go with it.
    pub subscriptions: Vec<(ChannelId, AccountId, Option<bool>)>,
    /// How many lines a channel keeps: older ones are pruned.
    pub keep: usize,
}

impl ChannelChanges {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
            && self.deleted.is_empty()
            && self.lines.is_empty()
            && self.subscriptions.is_empty()
    }
}

impl Channels {
    /// How many changes were made (added to the world's change count).
    pub fn change_count(&self) -> u64 {
        self.changes
    }

    fn index_names(&mut self, c: &Channel) {
        for n in std::iter::once(&c.key).chain(c.aliases.iter()) {
            self.by_name.insert(n.to_lowercase(), c.id);
        }
    }

    fn index(&mut self, c: &Channel) {
        self.index_names(c);
        for a in &c.subscribers {
            self.of_account.entry(*a).or_default().insert(c.id);
        }
    }

    fn unindex_names(&mut self, c: &Channel) {
        for n in std::iter::once(&c.key).chain(c.aliases.iter()) {
            if self.by_name.get(&n.to_lowercase()) == Some(&c.id) {
                self.by_name.remove(&n.to_lowercase());
            }
        }
    }

    fn unindex(&mut self, c: &Channel) {
        self.unindex_names(c);
        for a in &c.subscribers {
            if let Some(set) = self.of_account.get_mut(a) {
                set.remove(&c.id);
                if set.is_empty() {
                    self.of_account.remove(a);
                }
            }
        }
    }

    /// Adds a loaded channel (nothing is marked to write, but for the
    /// subscribers a row of an older build holds: they are written as rows
    /// of their own, and the channel's row again without them).
    pub fn insert_loaded(&mut self, c: Channel) {
        self.next_id = self.next_id.max(c.id + 1);
        if !c.subscribers.is_empty() {
            for a in &c.subscribers {
                self.subscriptions
                    .insert((c.id, *a), Some(c.muted.contains(a)));
            }
            self.dirty.insert(c.id);
        }
        self.index(&c);
        self.by_id.insert(c.id, c);
    }

    /// Adds a loaded subscription (nothing is marked to write); false
    /// without such a channel.
    pub fn insert_loaded_subscription(
        &mut self,
        id: ChannelId,
        account: AccountId,
        muted: bool,
    ) -> bool {
        let Some(c) = self.by_id.get_mut(&id) else {
            return false;
        };
        c.subscribers.insert(account);
        if muted {
            c.muted.insert(account);
        } else {
            c.muted.remove(&account);
        }
        self.of_account.entry(account).or_default().insert(id);
        true
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

    /// Changes a channel (its id stays; its names are re-indexed); it will
    /// be written. Its subscribers are not touched here, whoever listens.
    pub fn update<R>(&mut self, id: ChannelId, f: impl FnOnce(&mut Channel) -> R) -> Option<R> {
        let mut c = self.by_id.remove(&id)?;
        self.unindex_names(&c);
        // Code outside this module cannot change who subscribes: the
        // per-account index stays true without a walk over them.
        let r = f(&mut c);
        c.id = id;
        // A name another channel has is not taken.
        c.aliases
            .retain(|a| !self.by_name.contains_key(&a.to_lowercase()));
        self.index_names(&c);
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
        // Its subscriptions' rows go with its own.
        let ended: Vec<_> = self
            .subscriptions
            .range((id, AccountId::MIN)..=(id, AccountId::MAX))
            .map(|(k, _)| *k)
            .collect();
        for k in ended {
            self.subscriptions.remove(&k);
        }
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

    /// Subscribes an account (its own index entry and one row change,
    /// however many listen). False when there is no such channel or it was
    /// subscribed.
    pub fn subscribe(&mut self, id: ChannelId, account: AccountId) -> bool {
        let Some(c) = self.by_id.get_mut(&id) else {
            return false;
        };
        if !c.subscribers.insert(account) {
            return false;
        }
        self.of_account.entry(account).or_default().insert(id);
        self.changes += 1;
        self.subscriptions.insert((id, account), Some(false));
        true
    }

    /// Mutes or unmutes a subscriber. False when it does not subscribe or
    /// already was so.
    pub fn mute(&mut self, id: ChannelId, account: AccountId, muted: bool) -> bool {
        let Some(c) = self.by_id.get_mut(&id) else {
            return false;
        };
        if !c.subscribers.contains(&account) {
            return false;
        }
        let changed = if muted {
            c.muted.insert(account)
        } else {
            c.muted.remove(&account)
        };
        if changed {
            self.changes += 1;
            self.subscriptions.insert((id, account), Some(muted));
        }
        changed
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
        self.subscriptions.insert((id, account), None);
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
            subscriptions: std::mem::take(&mut self.subscriptions)
                .into_iter()
                .map(|((ch, a), m)| (ch, a, m))
                .collect(),
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
        assert!(c.subscribe(b, 7));
        assert_eq!(c.of_account(7), vec![a, b]);
        assert!(c.unsubscribe(a, 7));
        assert_eq!(c.of_account(7), vec![b]);
    }

    #[test]
    fn a_join_writes_one_subscription_and_never_the_channel() {
        let mut c = Channels::default();
        let a = c.create(chan("Public", &[])).unwrap();
        for acct in 1..=1000 {
            c.subscribe(a, acct);
        }
        c.take_changes();
        assert!(c.subscribe(a, 1001));
        assert!(c.mute(a, 5, true));
        assert!(!c.mute(a, 5, true), "muted already");
        assert!(!c.mute(a, 5000, true), "not a subscriber");
        assert!(c.unsubscribe(a, 7));
        let ch = c.take_changes();
        assert!(ch.channels.is_empty(), "the channel's row is not rewritten");
        assert_eq!(
            ch.subscriptions,
            vec![(a, 5, Some(true)), (a, 7, None), (a, 1001, Some(false))]
        );
        // A change of the channel itself keeps who listens (and sees them
        // while it runs), and its row does not carry them.
        let seen = c.update(a, |ch| {
            ch.desc = "talk".into();
            ch.subscribers().len()
        });
        assert_eq!(seen, Some(1000));
        let g = c.get(a).unwrap();
        assert_eq!(g.subscribers().len(), 1000);
        assert!(g.is_muted(5) && !g.is_subscribed(7));
        let ch = c.take_changes();
        assert!(ch.subscriptions.is_empty());
        assert!(ch.channels[0].1.subscribers.is_empty());
        // A deleted channel's pending subscriptions go with it.
        c.subscribe(a, 2000);
        c.delete(a);
        let ch = c.take_changes();
        assert_eq!(ch.deleted, vec![a]);
        assert!(ch.subscriptions.is_empty());
        assert!(c.of_account(1).is_empty() && c.of_account(2000).is_empty());
    }

    #[test]
    fn a_row_of_an_older_build_gives_its_subscribers_rows_of_their_own() {
        let mut rec = chan("Public", &[]).record();
        rec.subscribers = [3, 4].into();
        rec.muted = [4].into();
        let text = serde_json::to_string(&rec).unwrap();
        let mut c = Channels::default();
        c.insert_loaded(Channel::from_record(
            9,
            serde_json::from_str(&text).unwrap(),
        ));
        assert_eq!(c.of_account(3), vec![9]);
        let ch = c.take_changes();
        assert_eq!(
            ch.subscriptions,
            vec![(9, 3, Some(false)), (9, 4, Some(true))]
        );
        assert_eq!(ch.channels.len(), 1, "and its row is written without them");
        let written = serde_json::to_string(&ch.channels[0].1).unwrap();
        assert!(
            !written.contains("subscribers") && !written.contains("muted"),
            "{written}"
        );
        // Loaded from rows of their own, nothing is written.
        let mut c = Channels::default();
        c.insert_loaded(Channel::from_record(
            9,
            serde_json::from_str(&written).unwrap(),
        ));
        assert!(c.insert_loaded_subscription(9, 3, false));
        assert!(c.insert_loaded_subscription(9, 4, true));
        assert!(
            !c.insert_loaded_subscription(10, 4, true),
            "no such channel"
        );
        assert!(c.get(9).unwrap().is_muted(4));
        assert!(c.take_changes().is_empty());
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
