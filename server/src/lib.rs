//! # tavern-server
//!
//! The game library: everything a Tavern game is written against, and the
//! game server's core. A game describes itself as a [`Game`] — commands,
//! kinds of objects, lock functions, live-data feeds, flows, start hooks —
//! and the launcher (`tavern-launcher`) runs it as the server process.
//!
//! The crate is in layers, each in one folder, each allowed to import only
//! those below it (`tests/layers.rs` in this crate checks):
//!
//! | layer | what | may import |
//! |---|---|---|
//! | [`model`] | the world as data: ids, objects, accounts, search, locks, flow definitions and instances, name rules | `tavern-shared` |
//! | [`store`] | sea-orm tables and migrations, rows, loading, the write-behind persister | the model |
//! | [`runtime`] | [`Server`]: the game loop without I/O (time in, effects out), sessions, typeclasses and hooks, cmdset stacks and running a line, feeds, flows, multisession; the tokio driver | the model, the store, the command machinery |
//! | [`commands`] | the command machinery: `Command`, `CmdCtx`, `CmdSet`, merging, parsing | the model, the runtime |
//! | [`commands::default`] | the default commands (Evennia's) | all of the above |
//! | [`testing`] | [`TestGame`](testing::TestGame): the real server in process, for tests | everything |
//!
//! It depends on `tavern-shared` (the link contract) and never on the
//! portal: the processes are wired by `tavern-launcher`.
//!
//! The crate root gathers what a game uses:
//!
//! ```no_run
//! use tavern_server::{CmdCtx, Command, Game};
//!
//! struct Wave;
//!
//! impl Command for Wave {
//!     fn key(&self) -> &str { "wave" }
//!     fn help(&self) -> &str { "wave\n\nWave at everyone in the room." }
//!     fn func(&self, ctx: &mut CmdCtx<'_>) {
//!         ctx.msg("You wave.");
//!     }
//! }
//!
//! let game = Game::new().command(Wave);
//! // main: `tavern_launcher::run(game)`
//! # let _ = game;
//! ```

pub mod commands;
pub mod fuzz;
mod game;
pub mod model;
pub mod runtime;
pub mod store;
pub mod testing;

pub use commands::{CmdCtx, CmdSet, Command, Commands, MergeType};
pub use game::{BridgeMaker, DEFAULT_CONNECT_SCREEN, Game, HelpTopic, StartHook};
pub use model::locks::{LockCtx, LockFuncs};
pub use model::world::{Kind, ObjId};
pub use runtime::access::LockChecker;
pub use runtime::create::NewObject;
pub use runtime::server::Server;
pub use runtime::typeclass::Typeclass;
pub use tavern_shared::{Msg, SessId, Settings};

// The modules game code reaches by name, where a game developer looks for them.
pub use model::{locks, world};
pub use runtime::{create, feeds, media, multisession, sessions, typeclass};

/// Channels (see `docs/communication.md`): the data
/// ([`crate::model::channels`]) and what game code calls
/// ([`crate::runtime::channels`]).
pub mod channels {
    pub use crate::model::channels::{Channel, ChannelId, ChannelLine};
    pub use crate::runtime::bridges::{
        Bridge, BridgeEntry, BridgeLine, BridgeLink, irc::IrcBridge, irc::IrcSession,
    };
    pub use crate::runtime::channels::{ChannelError, ChannelKind, ChannelKinds, DefaultChannel};
}

/// Menus, the line editor and the pager (see `docs/menus.md` and
/// `docs/text.md`); tables and wrapping are [`tavern_shared::text`].
pub mod menus {
    pub use crate::runtime::editor::{EditTarget, Editor, EditorSave};
    pub use crate::runtime::funcparser::{InlineCtx, InlineFuncs, escape_inline};
    pub use crate::runtime::menus::{Goto, Menu, MenuCtx, MenuDefError, MenuFn, MenuOption, Node};
    pub use tavern_shared::text::{Align, Border, Form, Table, crop, pad, width, wrap};
}

/// Scripts, tickers, delays and game time (see `docs/scripts.md`): the
/// data ([`crate::model::timers`]) and what game code calls
/// ([`crate::runtime::timers`]).
pub mod timers {
    pub use crate::model::timers::{
        Attached, DelayData, Missed, Schedule, ScriptData, TickerSub, TimerId, TimerState,
    };
    pub use crate::runtime::timers::{
        GameTimeOfDay, NewScript, Script, TimerCall, TimerCode, TimerError, TimerFn,
    };
}

/// Flows: persistent state machines for quests, tutorials, menus and
/// scenes — their definitions and instances ([`crate::model::flows`]) and
/// what game code called by a flow works with ([`crate::runtime::flows`]).
/// See `docs/flows.md`.
pub mod flows {
    pub use crate::model::flows::*;
    pub use crate::runtime::flows::{FlowCtx, FlowFn, FlowRuntime, load_dir};
}

/// The guides in `docs/`: their Rust examples run as doc tests, so they keep
/// up with the API.
#[cfg(doctest)]
pub mod guides {
    #[doc = include_str!("../../docs/commands.md")]
    pub struct Commands;
    #[doc = include_str!("../../docs/objects.md")]
    pub struct Objects;
    #[doc = include_str!("../../docs/locks.md")]
    pub struct Locks;
    #[doc = include_str!("../../docs/sessions.md")]
    pub struct Sessions;
    #[doc = include_str!("../../docs/flows.md")]
    pub struct Flows;
    #[doc = include_str!("../../docs/scripts.md")]
    pub struct Scripts;
    #[doc = include_str!("../../docs/communication.md")]
    pub struct Communication;
    #[doc = include_str!("../../docs/menus.md")]
    pub struct Menus;
    #[doc = include_str!("../../docs/text.md")]
    pub struct Text;
    #[doc = include_str!("../../docs/building.md")]
    pub struct Building;
    // The other guides have no Rust examples; including them keeps it so (an
    // untagged code block would be compiled as Rust). The getting-started
    // tutorial is applied to a real new game by `tests/live/new_game.rs` instead.
    #[doc = include_str!("../../docs/architecture.md")]
    pub struct Architecture;
    #[doc = include_str!("../../docs/operations.md")]
    pub struct Operations;
    #[doc = include_str!("../../docs/protocols.md")]
    pub struct Protocols;
    #[doc = include_str!("../../docs/reliability.md")]
    pub struct Reliability;
    #[doc = include_str!("../../docs/benchmarks.md")]
    pub struct Benchmarks;
}
