//! Bare `help`'s text, remembered between calls (the default `help` uses
//! it; a game's own help command may too). The text depends only on which
//! commands the caller may use, which stored topics they may read, the
//! stored topics' revision and the screen's width: those are its key, so
//! two players with the same commands share one text, and a player's next
//! `help` asks the locks again and builds nothing else.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::commands::{CmdCtx, CmdEntry, CmdSet};

/// How many texts of bare `help` are remembered before starting over.
const MAX_INDEXES: usize = 256;

/// Bare `help`'s texts, by their key (see the module's doc). The commands
/// are keyed by the entries themselves: exits and other places' sets are
/// not listed, so players in different rooms share one text.
#[derive(Default)]
pub struct HelpIndexes {
    /// The listed entries are kept alive, so no other takes their address.
    texts: FxHashMap<IndexKey, (Vec<Arc<CmdEntry>>, String)>,
}

#[derive(Hash, PartialEq, Eq)]
struct IndexKey {
    /// The commands `help` lists that the caller may use, by address.
    listed: Vec<usize>,
    /// Bit per stored topic: whether the caller may read it.
    readable: Vec<u64>,
    revision: u64,
    width: usize,
}

impl IndexKey {
    /// The key, and the listed entries (cloned only to be kept).
    fn new<'s>(
        ctx: &CmdCtx<'_>,
        cmdset: &'s CmdSet,
        width: usize,
    ) -> (Self, Vec<&'s Arc<CmdEntry>>) {
        let accessor = ctx.accessor();
        let server = &*ctx.server;
        let listed: Vec<&Arc<CmdEntry>> = cmdset
            .commands()
            .iter()
            .filter(|e| {
                !e.is_system()
                    && e.cmd.auto_help()
                    && server.check_lock(&e.locks, accessor, e.obj, "cmd", true)
            })
            .collect();
        let mut readable = Vec::new();
        for (i, h) in server.world.help().values().enumerate() {
            if i % 64 == 0 {
                readable.push(0);
            }
            if server.check_lock(&h.locks, accessor, None, "view", true)
                && let Some(word) = readable.last_mut()
            {
                *word |= 1 << (i % 64);
            }
        }
        let key = Self {
            listed: listed.iter().map(|e| Arc::as_ptr(e) as usize).collect(),
            readable,
            revision: server.world.help_revision(),
            width,
        };
        (key, listed)
    }
}

impl HelpIndexes {
    /// How many texts are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.texts.len()
    }

    /// The text `build` makes for the caller from `cmdset` at `width`: the
    /// one kept for the same key, or made now and kept.
    pub fn text(
        ctx: &mut CmdCtx<'_>,
        cmdset: &CmdSet,
        width: usize,
        build: impl FnOnce(&CmdCtx<'_>, &CmdSet, usize) -> String,
    ) -> String {
        let (key, listed) = IndexKey::new(ctx, cmdset, width);
        if let Some((_, text)) = ctx.server.help_indexes.texts.get(&key) {
            return text.clone();
        }
        let text = build(ctx, cmdset, width);
        let texts = &mut ctx.server.help_indexes.texts;
        if texts.len() >= MAX_INDEXES {
            texts.clear();
        }
        texts.insert(key, (listed.into_iter().cloned().collect(), text.clone()));
        text
    }
}
