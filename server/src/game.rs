//! [`Game`]: what a game is — its commands, kinds of objects, lock
//! functions, live-data feeds, flows, scripts and timers, start hooks, help topics and
//! connection screen — built in `main` and handed to the launcher
//! (`tavern_launcher::run`).

use std::sync::Arc;

use tavern_shared::{SessId, Settings};

use crate::commands::{CmdSet, Command, Commands};
use crate::flows;
use crate::model::locks::{LockCtx, LockFuncs};
use crate::runtime::server::Server;
use crate::runtime::typeclass::Typeclass;
use crate::runtime::{channels, feeds, multisession, timers, typeclass};

/// Game code run when a server starts (see [`Game::on_start`]).
pub type StartHook = Arc<dyn Fn(&mut Server) + Send + Sync>;

/// A help topic that is not a command's help.
#[derive(Debug, Clone)]
pub struct HelpTopic {
    /// The topic's name, what `help <key>` finds.
    pub key: String,
    /// The category `help` lists it under.
    pub category: String,
    /// The text.
    pub text: String,
}

/// A game: its commands, kinds of objects, lock functions, world and
/// connection screen. Build it in `main` and call [`Game::run`].
#[derive(Clone)]
pub struct Game {
    /// The default command sets with the game's commands, and its named sets.
    pub commands: Commands,
    /// The kind of account the game has.
    pub account_typeclass: Arc<dyn typeclass::AccountTypeclass>,
    /// The live-data packages (GMCP / MSDP) the game feeds its clients.
    pub feeds: feeds::Feeds,
    /// Flow definitions written in code (see [`Game::flow`]).
    pub flows: Vec<Arc<flows::FlowDef>>,
    /// Game code flows call by name (see [`Game::flow_action`]).
    pub flow_actions: std::collections::HashMap<String, flows::FlowFn>,
    /// Values every flow's placeholders can reach (see [`Game::flow_global`]).
    pub flow_globals: serde_json::Map<String, serde_json::Value>,
    /// Handlers of account events for every account (see [`Game::on_event`]).
    pub event_handlers: Vec<(String, multisession::EventHandler)>,
    /// The kinds of objects the game has.
    pub typeclasses: typeclass::Typeclasses,
    /// The functions lock strings may call.
    pub lock_funcs: LockFuncs,
    /// The kinds of scripts, the timer functions and the global scripts.
    pub timers: timers::TimerCode,
    /// The kinds of channels (formatting and filtering their lines).
    pub channel_kinds: channels::ChannelKinds,
    /// What makes the game's own bridges (see [`Game::bridge`]).
    pub bridges: Vec<BridgeMaker>,
    /// The game's inline functions (see [`Game::inline_func`]).
    pub inline_funcs: crate::runtime::funcparser::InlineFuncs,
    /// Functions TOML menus call by name (see [`Game::menu_fn`]).
    pub menu_fns: std::collections::HashMap<String, crate::runtime::menus::MenuFn>,
    /// Prototypes written in code (see [`Game::prototype`]).
    pub prototypes: Vec<crate::model::prototypes::Prototype>,
    /// The menus, by name (see [`Game::menu`]).
    pub menus: std::collections::HashMap<String, Arc<crate::runtime::menus::Menu>>,
    /// The line editor's save functions, by name (see [`Game::editor_save`]).
    pub editor_saves: std::collections::HashMap<String, crate::runtime::editor::EditorSave>,
    pub(crate) on_start: Vec<StartHook>,
    /// A batch file run once, at the game's first start: (name, text).
    pub(crate) first_start_batch: Option<(String, String)>,
    pub(crate) help_topics: Vec<HelpTopic>,
    connect_screen: Option<String>,
}

/// Makes a game's bridges at a start (see [`Game::bridge`]).
pub type BridgeMaker =
    Arc<dyn Fn(&Settings) -> Vec<Box<dyn crate::runtime::bridges::Bridge>> + Send + Sync>;

impl Default for Game {
    fn default() -> Self {
        Self {
            commands: Commands::default(),
            account_typeclass: Arc::new(typeclass::DefaultAccount),
            feeds: Default::default(),
            event_handlers: Vec::new(),
            flows: Vec::new(),
            flow_actions: Default::default(),
            flow_globals: Default::default(),
            typeclasses: Default::default(),
            lock_funcs: Default::default(),
            timers: Default::default(),
            channel_kinds: Default::default(),
            bridges: Vec::new(),
            editor_saves: Default::default(),
            menus: Default::default(),
            prototypes: Vec::new(),
            menu_fns: Default::default(),
            inline_funcs: Default::default(),
            on_start: Vec::new(),
            first_start_batch: None,
            help_topics: Vec::new(),
            connect_screen: None,
        }
    }
}

impl Game {
    /// The default game: Evennia's login commands and default command sets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a command that characters can use (replacing a default of the same name).
    pub fn command(mut self, cmd: impl Command) -> Self {
        Arc::make_mut(&mut self.commands.character).add(cmd);
        self
    }

    /// Adds an out-of-character command, usable with or without a character.
    pub fn account_command(mut self, cmd: impl Command) -> Self {
        Arc::make_mut(&mut self.commands.account).add(cmd);
        self
    }

    /// Adds a command to the connection screen (not logged in).
    pub fn unloggedin_command(mut self, cmd: impl Command) -> Self {
        Arc::make_mut(&mut self.commands.unloggedin).add(cmd);
        self
    }

    /// Registers a cmdset that game code can add by name with
    /// [`Server::cmdset_add_persistent`]; such additions survive reloads.
    pub fn cmdset(mut self, set: CmdSet) -> Self {
        self.commands.named.insert(set.key.clone(), Arc::new(set));
        self
    }

    /// Adds a live-data package (GMCP, and MSDP variables); one with the
    /// name of a built-in package replaces it. See [`feeds`].
    pub fn feed(mut self, feed: impl feeds::Feed) -> Self {
        self.feeds.add(Arc::new(feed));
        self
    }

    /// The status variables `Char.StatusVars` / `Char.Status` report:
    /// `(attribute, caption)` pairs (default: level, class, race, gold, xp).
    pub fn status_vars(mut self, vars: &[(&str, &str)]) -> Self {
        let status = feeds::CharStatus::new(vars);
        self.feeds.add(Arc::new(status.status_vars()));
        self.feeds.add(Arc::new(status));
        self
    }

    /// Listens for an account event (`"*"`: every event) of every account:
    /// the handler runs once per session the event reaches (see
    /// [`Server::broadcast_event`] and [`Server::emit_to_session`]). Being
    /// game code, it is there after every reload; `Server::on_event` adds
    /// handlers for one account while the server runs.
    pub fn on_event(
        mut self,
        event: &str,
        handler: impl Fn(&mut Server, SessId, &str, &serde_json::Value) + Send + Sync + 'static,
    ) -> Self {
        self.event_handlers
            .push((event.to_string(), Arc::new(handler)));
        self
    }

    /// Adds a flow definition (see [`flows`]); builders may add more as
    /// files in `[game] flows_dir`. Panics if the definition does not hold
    /// together (a `next` to a missing state), so a mistake stops the game
    /// at its first start rather than a player in the middle of it.
    pub fn flow(mut self, def: flows::FlowDef) -> Self {
        if let Err(e) = def.validate() {
            panic!("{e}");
        }
        self.flows.retain(|d| d.name != def.name);
        self.flows.push(Arc::new(def));
        self
    }

    /// Registers game code a flow's `call` action runs by name.
    pub fn flow_action(
        mut self,
        name: &str,
        f: impl Fn(&mut flows::FlowCtx<'_>, &serde_json::Value) -> Result<(), String>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.flow_actions.insert(name.to_string(), Arc::new(f));
        self
    }

    /// A value every flow's `[[name]]` reaches (the last place looked).
    pub fn flow_global(mut self, name: &str, value: serde_json::Value) -> Self {
        self.flow_globals.insert(name.to_string(), value);
        self
    }

    /// Registers a kind of object.
    pub fn typeclass(mut self, tc: impl Typeclass) -> Self {
        self.typeclasses.add(Arc::new(tc));
        self
    }

    /// Registers a kind of object and makes it what new objects of its base
    /// kind are (the game's own character, for instance).
    pub fn default_typeclass(mut self, tc: impl Typeclass) -> Self {
        let name = tc.name().to_string();
        self.typeclasses.add(Arc::new(tc));
        self.typeclasses.set_default(&name);
        self
    }

    /// Sets the kind of account the game has (hooks on creation, login, disconnect).
    pub fn account_typeclass(mut self, tc: impl typeclass::AccountTypeclass) -> Self {
        self.account_typeclass = Arc::new(tc);
        self
    }

    /// Adds a lock function for lock strings: `name(args)`.
    pub fn lock_func(
        mut self,
        name: &str,
        f: impl Fn(&LockCtx<'_>, &[String]) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.lock_funcs.add(name, f);
        self
    }

    /// Registers a kind of channel (see [`channels::ChannelKind`]); the
    /// channels made with its name (`channel/create name:kind`) use it.
    pub fn channel_kind(mut self, kind: impl channels::ChannelKind) -> Self {
        self.channel_kinds.add(Arc::new(kind));
        self
    }

    /// Registers bridges from channels to other chat systems (see
    /// [`crate::runtime::bridges::Bridge`]): `make` is called at every start
    /// with the settings and returns the bridges to run. IRC bridges come
    /// from `[[channels.irc]]` without code.
    pub fn bridge(
        mut self,
        make: impl Fn(&Settings) -> Vec<Box<dyn crate::runtime::bridges::Bridge>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.bridges.push(Arc::new(make));
        self
    }

    /// Registers an inline function (see [`crate::runtime::funcparser`]):
    /// `$name(args)` in a template renders as `f` says, per receiver.
    pub fn inline_func(
        mut self,
        name: &str,
        f: impl Fn(&crate::runtime::funcparser::InlineCtx<'_>, &[String]) -> Result<String, String>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.inline_funcs.add(name, Arc::new(f));
        self
    }

    /// Adds a prototype written in code (see `docs/building.md`); files in
    /// `[game] prototypes_dir` and builders' `spawn/save` add more.
    pub fn prototype(mut self, p: crate::model::prototypes::Prototype) -> Self {
        match p.checked() {
            Ok(p) => self.prototypes.push(p),
            Err(e) => tracing::error!("a prototype in code is refused: {e}"),
        }
        self
    }

    /// Registers a menu (see [`crate::runtime::menus`]); open it with
    /// `ctx.open_menu(name)` or `Server::menu_open`.
    pub fn menu(mut self, menu: crate::runtime::menus::Menu) -> Self {
        self.menus.insert(menu.name().to_string(), Arc::new(menu));
        self
    }

    /// Registers a function a TOML menu's option calls (`call = "name"`):
    /// it may change the world and the menu's data, and says where to go.
    pub fn menu_fn(
        mut self,
        name: &str,
        f: impl Fn(&mut crate::runtime::menus::MenuCtx<'_>) -> crate::runtime::menus::Goto
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.menu_fns.insert(name.to_string(), Arc::new(f));
        self
    }

    /// Registers a save function for the line editor, by name: an editor
    /// opened with `EditTarget::Custom(name, data)` calls it with the data
    /// and the text when the player saves (`:w`), and tells the player what
    /// it returns. By name, so an editor open through a reload still saves.
    pub fn editor_save(
        mut self,
        name: &str,
        f: impl Fn(&mut Server, SessId, &serde_json::Value, &str) -> Result<String, String>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.editor_saves.insert(name.to_string(), Arc::new(f));
        self
    }

    /// Registers a kind of script (see [`timers::Script`]).
    pub fn script(mut self, kind: impl timers::Script) -> Self {
        self.timers.add_script(Arc::new(kind));
        self
    }

    /// Registers game code that tickers and delays run by name (see
    /// [`Server::ticker_add`], [`Server::delay`], [`Server::schedule`]).
    pub fn timer_fn(
        mut self,
        name: &str,
        f: impl Fn(&mut Server, &timers::TimerCall<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.timers.add_fn(name, Arc::new(f));
        self
    }

    /// Declares a global script: made at a server start whenever no global
    /// script has its key (the first start, or after it was deleted), and
    /// found with [`Server::global_script`]. Its kind must be registered.
    pub fn global_script(mut self, spec: timers::NewScript) -> Self {
        self.timers.globals.push(spec);
        self
    }

    /// Runs `f` every time a server starts, before players' input: the place
    /// to build the game's world from code. Make it idempotent (find what
    /// exists before creating); [`Server::ensure_object`] does.
    pub fn on_start(mut self, f: impl Fn(&mut Server) + Send + Sync + 'static) -> Self {
        self.on_start.push(Arc::new(f));
        self
    }

    /// Builds the game's world from a batch command file (see
    /// `docs/building.md`) the first time the game starts: before the start
    /// hooks, as the game's own builder — a character with the Developer
    /// permission and no account, standing in the start room, made for the
    /// run and destroyed after it (use `create/drop`: what it carries goes
    /// to the start room). It runs once: a game whose world already has
    /// rooms besides the start room skips it, and a batch that stops at a
    /// refused command is not run again (the server log has the line and
    /// what was said). Unlike a builder, it may tag objects with world ids
    /// (`tag here = tavern:world_id`), so game code finds them with
    /// [`Server::ensure_object`]. `text` is usually `include_str!` of a file
    /// of the game's crate, so the binary carries its world.
    pub fn first_start_batch(mut self, name: &str, text: &str) -> Self {
        self.first_start_batch = Some((name.to_string(), text.to_string()));
        self
    }

    /// Adds a help topic beside the commands' own help.
    pub fn help_topic(mut self, key: &str, category: &str, text: &str) -> Self {
        self.help_topics.push(HelpTopic {
            key: key.to_lowercase(),
            category: category.to_string(),
            text: text.to_string(),
        });
        self
    }

    /// Replaces the connection screen. `{name}` is replaced with the game's name.
    pub fn connect_screen(mut self, text: impl Into<String>) -> Self {
        self.connect_screen = Some(text.into());
        self
    }

    /// The connection screen for these settings (the game's name filled in).
    pub fn connect_screen_text(&self, settings: &Settings) -> String {
        self.connect_screen
            .as_deref()
            .unwrap_or(DEFAULT_CONNECT_SCREEN)
            .replace("{name}", &settings.game.name)
    }
}

/// The connection screen, in Evennia's words.
pub const DEFAULT_CONNECT_SCREEN: &str = "\
|b==============================================================|n
 Welcome to |g{name}|n!

 If you have an existing account, connect to it by typing:
      |wconnect <username> <password>|n
 If you need to create an account, type (without the <>'s):
      |wcreate <username> <password>|n

 If you have spaces in your username, enclose it in quotes.
 Enter |whelp|n for more info. |wlook|n will re-show this screen.
|b==============================================================|n";
