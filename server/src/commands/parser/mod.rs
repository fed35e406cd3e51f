//! Matching a line of input against a merged cmdset, as Evennia's cmdparser
//! does: case-insensitive, the longest key or alias that starts the line and
//! whose remainder fits the command's `arg_regex` (a name ending in
//! punctuation, like `"` or `:`, needs no separator); `name-N` picks one of
//! several same-named commands; failing all that, the prefixes `@ & / +` are
//! ignored and the line tried again.

use std::borrow::Borrow;
use std::sync::Arc;

use super::cmdset::{CmdEntry, CmdSet};

/// Prefixes tried away when nothing matched (Evennia's CMD_IGNORE_PREFIXES).
pub const IGNORE_PREFIXES: &[char] = &['@', '&', '/', '+'];

/// One way the line matched a command.
#[derive(Debug, Clone)]
pub struct Match {
    /// The command that matched.
    pub entry: Arc<CmdEntry>,
    /// The command name as typed.
    pub cmdname: String,
    /// Everything after the name, untrimmed.
    pub args: String,
}

/// What a line matched in a merged cmdset.
#[derive(Debug)]
pub enum Parsed {
    /// Nothing typed.
    Empty,
    /// One command fits best.
    One(Match),
    /// Several commands fit equally well.
    Several(Vec<Match>),
    /// No command fits.
    NoMatch,
}

/// The byte length of `name` at the start of `line`, compared without case.
fn prefix_len(line: &str, name: &str) -> Option<usize> {
    // Most names differ from the line at their first letter: when both are
    // ASCII, that is told without walking characters (`parse_allowed` tries
    // a line against every command it is given).
    if let (Some(&l), Some(&n)) = (line.as_bytes().first(), name.as_bytes().first())
        && l.is_ascii()
        && n.is_ascii()
        && l != n
        && l.to_ascii_lowercase() != n
    {
        return None;
    }
    let mut li = line.char_indices();
    let mut end = 0;
    for nc in name.chars() {
        let (i, lc) = li.next()?;
        if lc != nc && !lc.to_lowercase().eq(std::iter::once(nc)) {
            return None;
        }
        end = i + lc.len_utf8();
    }
    Some(end)
}

/// Whether the caller may use an entry; asked only of entries whose name
/// fits the line, so that locks are evaluated only where they matter.
pub type Allowed<'a> = dyn FnMut(&Arc<CmdEntry>) -> bool + 'a;

fn candidates<E: Borrow<Arc<CmdEntry>>>(
    line: &str,
    entries: &[E],
    allowed: &mut Allowed<'_>,
) -> Vec<Match> {
    let mut out: Vec<(usize, Match)> = Vec::new();
    for e in entries {
        let e: &Arc<CmdEntry> = e.borrow();
        // Names are sorted longest first: the first that fits is this command's best.
        for name in &e.names {
            let Some(end) = prefix_len(line, name) else {
                continue;
            };
            let rest = &line[end..];
            let punctuation = !name.chars().last().is_some_and(char::is_alphanumeric);
            // Anchored at the start of the rest, as Python's re.match is in Evennia.
            let fits = punctuation
                || e.arg_regex
                    .as_ref()
                    .is_none_or(|r| r.find(rest).is_some_and(|m| m.start() == 0));
            if !fits {
                continue;
            }
            if !allowed(e) {
                break;
            }
            out.push((
                name.chars().count(),
                Match {
                    entry: e.clone(),
                    cmdname: line[..end].to_string(),
                    args: rest.to_string(),
                },
            ));
            break;
        }
    }
    let Some(longest) = out.iter().map(|(n, _)| *n).max() else {
        return Vec::new();
    };
    let mut best: Vec<Match> = out
        .into_iter()
        .filter(|(n, _)| *n == longest)
        .map(|(_, m)| m)
        .collect();
    // Prefer a name typed with its exact case, as Evennia does.
    if best.len() > 1 {
        let exact: Vec<Match> = best
            .iter()
            .filter(|m| m.entry.names.contains(&m.cmdname) || m.cmdname == m.entry.key)
            .cloned()
            .collect();
        if !exact.is_empty() && exact.len() < best.len() {
            best = exact;
        }
    }
    best
}

/// `north-2 rest` → ("north rest", 2).
fn split_number(line: &str) -> Option<(String, usize)> {
    let word_end = line.find(char::is_whitespace).unwrap_or(line.len());
    let (word, rest) = line.split_at(word_end);
    let (name, n) = word.rsplit_once('-')?;
    let n: usize = n.parse().ok()?;
    if name.is_empty() || n == 0 {
        return None;
    }
    Some((format!("{name}{rest}"), n))
}

/// The commands a tried line may reach (the set's index by first letter,
/// or a list walked whole), read where they lie.
type Reach<'e, 'r, E> = dyn Fn(&str) -> &'e [E] + 'r;

fn parse_once<E: Borrow<Arc<CmdEntry>>>(
    line: &str,
    reach: &Reach<'_, '_, E>,
    allowed: &mut Allowed<'_>,
) -> Vec<Match> {
    // `north-2` starts with the same letter as `north`: one reach serves both.
    let entries = reach(line);
    let found = candidates(line, entries, allowed);
    if !found.is_empty() {
        return found;
    }
    if let Some((renamed, n)) = split_number(line) {
        let found = candidates(&renamed, entries, allowed);
        if found.len() > 1
            && let Some(m) = found.get(n - 1)
        {
            return vec![m.clone()];
        }
    }
    Vec::new()
}

fn parse_reaching<E: Borrow<Arc<CmdEntry>>>(
    line: &str,
    reach: &Reach<'_, '_, E>,
    allowed: &mut Allowed<'_>,
) -> Parsed {
    if line.is_empty() {
        return Parsed::Empty;
    }
    let mut found = parse_once(line, reach, allowed);
    if found.is_empty() {
        let stripped = line.trim_start_matches(IGNORE_PREFIXES);
        if stripped.len() != line.len() && !stripped.is_empty() {
            found = parse_once(stripped, reach, allowed);
        }
    }
    match found.len() {
        0 => Parsed::NoMatch,
        1 => Parsed::One(found.remove(0)),
        _ => Parsed::Several(found),
    }
}

/// Matches `line` (already trimmed) against the commands the caller may use.
pub fn parse(line: &str, usable: &[&Arc<CmdEntry>]) -> Parsed {
    parse_allowed(line, usable, &mut |_| true)
}

/// Matches `line` (already trimmed) against `entries`, of which the caller
/// may use those `allowed` says (it is asked only about entries whose name
/// fits the line): the same answer as [`parse`] over the allowed entries.
pub fn parse_allowed(line: &str, entries: &[&Arc<CmdEntry>], allowed: &mut Allowed<'_>) -> Parsed {
    let entries: Vec<&Arc<CmdEntry>> = entries.iter().copied().filter(|e| !e.is_system()).collect();
    parse_reaching(line, &|_| entries.as_slice(), allowed)
}

/// [`parse_allowed`] over a whole set, trying the line only against the
/// commands with a name starting with its first letter
/// ([`CmdSet::reachable_by`]): what the command handler does for every line,
/// whatever the number of commands merged in.
pub fn parse_set(line: &str, set: &CmdSet, allowed: &mut Allowed<'_>) -> Parsed {
    parse_reaching(line, &|l| set.reachable_by(l), allowed)
}

/// Up to three names close to what was typed, best first.
pub fn suggestions(typed: &str, usable: &[&Arc<CmdEntry>]) -> Vec<String> {
    let typed = typed.to_lowercase();
    let mut scored: Vec<(f64, String)> = usable
        .iter()
        .filter(|e| !e.is_system() && e.cmd.auto_help())
        .flat_map(|e| e.names.iter())
        .map(|n| (strsim::normalized_damerau_levenshtein(&typed, n), n.clone()))
        .filter(|(score, _)| *score >= 0.6)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

#[cfg(test)]
mod tests;
