//! Command sets and how they merge, following Evennia's rules.
//!
//! In `B + A`, A is merged onto B. The set with the higher priority (A on a
//! tie) decides the merge type and gives the result its key and priority:
//!
//! | A's merge type | result of A1,A3 onto B1,B2,B4,B5 |
//! |---|---|
//! | Union | A1,B2,A3,B4,B5 |
//! | Intersect | A1 |
//! | Replace | A1,A3 |
//! | Remove | B2,B4,B5 |
//!
//! Two commands are the same command when their names (key and aliases)
//! overlap. `duplicates` keeps both of same-named commands, only between sets
//! of equal priority and only for Union and Intersect. `no_exits` / `no_objs`
//! pass through unless the higher set sets them. System commands (keys
//! starting with `__`) survive every merge.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use regex::Regex;

use super::Command;
use crate::model::locks::{self, LockSet};
use crate::model::world::ObjId;

/// How a set merges onto the sets below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MergeType {
    /// Both sets' commands; on equal keys the higher priority's.
    #[default]
    Union,
    /// Only commands both sets have, taken from the higher priority.
    Intersect,
    /// Only the higher-priority set's commands.
    Replace,
    /// The lower-priority set's commands minus those the higher one names.
    Remove,
}

/// Evennia's default `arg_regex`: after the command name comes a space, a
/// `/switch`, a new line, or nothing.
pub const DEFAULT_ARG_REGEX: &str = r"^[ /]|\n|$";

/// A command as a set holds it: its names lowercased (longest first), its
/// parsed locks and arg_regex, and the object that offers it.
#[derive(Clone)]
pub struct CmdEntry {
    /// The command.
    pub cmd: Arc<dyn Command>,
    /// Its key, lowercased.
    pub key: String,
    /// Its aliases, lowercased.
    pub aliases: Vec<String>,
    /// Key and aliases, lowercased, longest first.
    pub names: Vec<String>,
    /// Its parsed lock string.
    pub locks: Arc<LockSet>,
    /// Its compiled `arg_regex` (`None`: anything may follow).
    pub arg_regex: Option<Arc<Regex>>,
    /// The object whose cmdset offered the command (Evennia's `cmd.obj`).
    pub obj: Option<ObjId>,
}

fn cached_regex(pattern: &str) -> Option<Arc<Regex>> {
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<Regex>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = map.get(pattern) {
        return r.clone();
    }
    let r = match Regex::new(pattern) {
        Ok(r) => Some(Arc::new(r)),
        Err(e) => {
            tracing::error!(
                pattern,
                "a command's arg_regex is invalid, ignoring it: {e}"
            );
            None
        }
    };
    if map.len() < 10_000 {
        map.insert(pattern.to_string(), r.clone());
    }
    r
}

impl CmdEntry {
    /// An entry for `cmd`: its names, locks and argument pattern, prepared once.
    pub fn new(cmd: Arc<dyn Command>) -> Self {
        let key = cmd.key().to_string();
        let aliases = cmd.aliases().iter().map(|a| a.to_string()).collect();
        Self::named(cmd, key, aliases)
    }

    /// A command under other names (an exit's command is named after the exit).
    pub fn named(cmd: Arc<dyn Command>, key: String, aliases: Vec<String>) -> Self {
        let mut names: Vec<String> = std::iter::once(&key)
            .chain(aliases.iter())
            .map(|n| n.to_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        names.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        names.dedup();
        let locks = locks::cached(cmd.locks());
        let arg_regex = cmd.arg_regex().and_then(cached_regex);
        Self {
            cmd,
            key: key.to_lowercase(),
            aliases,
            names,
            locks,
            arg_regex,
            obj: None,
        }
    }

    /// Same command: the names overlap.
    pub fn same_as(&self, other: &CmdEntry) -> bool {
        self.names.iter().any(|n| other.names.contains(n))
    }

    /// A system command (`__noinput_command`, `__nomatch_command`, ...).
    pub fn is_system(&self) -> bool {
        self.key.starts_with("__")
    }
}

impl std::fmt::Debug for CmdEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.key)?;
        if let Some(o) = self.obj {
            write!(f, "@#{o}")?;
        }
        Ok(())
    }
}

/// A set of commands, with how it merges with others.
#[derive(Clone, Debug)]
pub struct CmdSet {
    /// The set's name (what `cmdset_remove` and `key_merge_types` refer to).
    pub key: String,
    /// Higher merges onto lower; equal priorities merge first (default 0).
    pub priority: i32,
    /// How this set merges onto a lower one (default `Union`).
    pub merge_type: MergeType,
    /// Merge types to use instead of `merge_type` onto sets of these keys.
    pub key_merge_types: HashMap<String, MergeType>,
    /// Keep same-named commands of both sets (equal priority only).
    pub duplicates: Option<bool>,
    /// Exits offer no commands while this set is merged in.
    pub no_exits: Option<bool>,
    /// Objects nearby offer no commands while this set is merged in.
    pub no_objs: Option<bool>,
    commands: Vec<Arc<CmdEntry>>,
    /// Which commands a line can reach by its first letter, made when a
    /// line is first parsed against the set (merged sets are cached, so
    /// once per merge) and dropped when the commands change.
    letters: OnceLock<FirstLetters>,
}

/// A set's commands (not the system ones) by the first letter of their
/// names, so that a line is tried against the few commands that start with
/// its letter instead of every command of the set. Each group is a slice
/// the parser reads where it lies (a list made for every line was 1.7 %
/// of the server at saturation).
#[derive(Debug, Clone, Default)]
struct FirstLetters {
    /// The commands, grouped by ASCII letter (lowercased), each group in
    /// the set's order.
    by_letter: Vec<Arc<CmdEntry>>,
    /// Where each ASCII byte's group starts in `by_letter` (and, one on,
    /// ends).
    starts: Vec<u32>,
    /// Every command, in order: what a line starting with a letter outside
    /// ASCII may reach (its lowercase can be ASCII: the Kelvin sign's is `k`).
    all: Vec<Arc<CmdEntry>>,
}

impl FirstLetters {
    fn of(commands: &[Arc<CmdEntry>]) -> Self {
        // Each command once per ASCII letter its names start with. Names
        // are lowercased; one outside ASCII never matches a line that
        // starts with an ASCII letter.
        let mut pairs: Vec<(u8, u32)> = Vec::new();
        let mut all = Vec::new();
        for (i, e) in commands.iter().enumerate() {
            if e.is_system() {
                continue;
            }
            let i = i as u32;
            all.push(e.clone());
            for name in &e.names {
                if let Some(&b) = name.as_bytes().first()
                    && b.is_ascii()
                {
                    pairs.push((b.to_ascii_lowercase(), i));
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut starts = vec![0u32; 129];
        for &(b, _) in &pairs {
            starts[b as usize + 1] += 1;
        }
        for b in 0..128 {
            starts[b + 1] += starts[b];
        }
        Self {
            by_letter: pairs
                .into_iter()
                .map(|(_, i)| commands[i as usize].clone())
                .collect(),
            starts,
            all,
        }
    }

    /// The commands a line starting with `first` may reach.
    fn reached_by(&self, first: u8) -> &[Arc<CmdEntry>] {
        if !first.is_ascii() {
            return &self.all;
        }
        let b = first.to_ascii_lowercase() as usize;
        &self.by_letter[self.starts[b] as usize..self.starts[b + 1] as usize]
    }
}

impl Default for CmdSet {
    fn default() -> Self {
        Self::new("Unnamed")
    }
}

impl CmdSet {
    /// An empty set: priority 0, `Union`.
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            priority: 0,
            merge_type: MergeType::Union,
            key_merge_types: HashMap::new(),
            duplicates: None,
            no_exits: None,
            no_objs: None,
            commands: Vec::new(),
            letters: OnceLock::new(),
        }
    }

    /// The same set with another priority.
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// The same set with another merge type.
    pub fn with_merge_type(mut self, merge_type: MergeType) -> Self {
        self.merge_type = merge_type;
        self
    }

    /// Adds a command, replacing one with an overlapping name.
    pub fn add(&mut self, cmd: impl Command) -> &mut Self {
        self.add_arc(Arc::new(cmd))
    }

    /// Adds a shared command; a command with one of its names is replaced.
    pub fn add_arc(&mut self, cmd: Arc<dyn Command>) -> &mut Self {
        self.add_entry(CmdEntry::new(cmd))
    }

    /// Adds a prepared entry; a command with one of its names is replaced.
    pub fn add_entry(&mut self, entry: CmdEntry) -> &mut Self {
        let entry = Arc::new(entry);
        self.letters.take();
        match self.commands.iter().position(|c| c.same_as(&entry)) {
            Some(i) => self.commands[i] = entry,
            None => self.commands.push(entry),
        }
        self
    }

    /// Removes the command answering to `name`; whether there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let name = name.to_lowercase();
        let before = self.commands.len();
        self.letters.take();
        self.commands.retain(|c| !c.names.contains(&name));
        before != self.commands.len()
    }

    /// Every command in the set.
    pub fn commands(&self) -> &[Arc<CmdEntry>] {
        &self.commands
    }

    /// The commands (not the system ones) that `line` may start with a
    /// name of, in the set's order: those with a name starting with the
    /// line's first letter (every one when that letter is not ASCII).
    pub fn reachable_by(&self, line: &str) -> &[Arc<CmdEntry>] {
        let letters = self
            .letters
            .get_or_init(|| FirstLetters::of(&self.commands));
        let Some(&first) = line.as_bytes().first() else {
            return &[];
        };
        letters.reached_by(first)
    }

    /// The command answering to `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<CmdEntry>> {
        let name = name.to_lowercase();
        self.commands.iter().find(|c| c.names.contains(&name))
    }

    fn contains(&self, cmd: &CmdEntry) -> bool {
        self.commands.iter().any(|c| c.same_as(cmd))
    }

    /// Sets every command's providing object.
    pub fn offered_by(mut self, obj: ObjId) -> Self {
        self.letters.take();
        for c in &mut self.commands {
            *c = Arc::new(CmdEntry {
                obj: Some(obj),
                ..(**c).clone()
            });
        }
        self
    }

    /// A copy with A's settings and no commands.
    fn settings_of(a: &CmdSet) -> CmdSet {
        CmdSet {
            commands: Vec::new(),
            ..a.clone_settings()
        }
    }

    fn clone_settings(&self) -> CmdSet {
        CmdSet {
            key: self.key.clone(),
            priority: self.priority,
            merge_type: self.merge_type,
            key_merge_types: self.key_merge_types.clone(),
            duplicates: self.duplicates,
            no_exits: self.no_exits,
            no_objs: self.no_objs,
            commands: Vec::new(),
            letters: OnceLock::new(),
        }
    }

    /// Merges `a` onto `self` (B + A).
    pub fn merge(&self, a: &CmdSet) -> CmdSet {
        let (hi, lo) = if self.priority <= a.priority {
            (a, self)
        } else {
            (self, a)
        };
        let merge_type = hi
            .key_merge_types
            .get(&lo.key)
            .copied()
            .unwrap_or(hi.merge_type);
        let dup = hi.duplicates == Some(true) && hi.priority == lo.priority;
        let mut c = Self::settings_of(hi);
        match merge_type {
            MergeType::Union => {
                c.commands = hi.commands.clone();
                if dup {
                    c.commands.extend(lo.commands.iter().cloned());
                } else {
                    c.commands
                        .extend(lo.commands.iter().filter(|x| !hi.contains(x)).cloned());
                }
            }
            MergeType::Intersect => {
                for cmd in hi.commands.iter().filter(|x| lo.contains(x)) {
                    c.commands.push(cmd.clone());
                    if dup {
                        c.commands
                            .extend(lo.commands.iter().filter(|x| x.same_as(cmd)).cloned());
                    }
                }
            }
            MergeType::Replace => c.commands = hi.commands.clone(),
            MergeType::Remove => {
                c.commands = lo
                    .commands
                    .iter()
                    .filter(|x| !hi.contains(x))
                    .cloned()
                    .collect();
            }
        }
        c.no_exits = hi.no_exits.or(lo.no_exits);
        c.no_objs = hi.no_objs.or(lo.no_objs);
        c.duplicates = None;
        // System commands survive every merge, the higher set's first.
        let sys: Vec<Arc<CmdEntry>> = hi
            .commands
            .iter()
            .filter(|x| x.is_system())
            .chain(lo.commands.iter().filter(|x| {
                x.is_system() && !hi.commands.iter().any(|h| h.is_system() && h.same_as(x))
            }))
            .cloned()
            .collect();
        for s in sys {
            if !c.commands.iter().any(|x| x.same_as(&s)) {
                c.commands.push(s);
            }
        }
        c
    }
}

/// Merges sets the way the command handler does: sets of equal priority
/// first (in the order given, later ones on top), then the groups from the
/// lowest priority to the highest.
pub fn merge_all(sets: &[Arc<CmdSet>]) -> CmdSet {
    let mut groups: Vec<(i32, CmdSet)> = Vec::new();
    for set in sets {
        match groups.iter_mut().find(|(p, _)| *p == set.priority) {
            Some((_, g)) => *g = g.merge(set),
            None => groups.push((set.priority, (**set).clone())),
        }
    }
    groups.sort_by_key(|(p, _)| *p);
    let mut it = groups.into_iter().map(|(_, g)| g);
    let Some(mut merged) = it.next() else {
        return CmdSet::new("Empty");
    };
    for g in it {
        merged = merged.merge(&g);
    }
    merged
}

mod cache;
pub use cache::{MergeCache, own_hash};

#[cfg(test)]
mod tests;
