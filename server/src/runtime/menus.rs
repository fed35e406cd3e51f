//! Menus (Evennia's EvMenu): a player answers a node's options, one line at
//! a time, and the menu moves from node to node — character creation, a
//! shop, a conversation.
//!
//! A [`Menu`] is game code registered by name (`Game::menu`); each node is
//! a function that builds a [`Node`] — its text and its options — from the
//! menu's data. Choosing an option follows its [`Goto`]: another node, a
//! function that decides from the input (and may change the data or the
//! world), or leaving the menu. `look`, `help` and `quit` are built in.
//!
//! **Reloads and crashes.** What a menu needs to go on — its name, the
//! current node, the line that led there and its data — is kept with the
//! session, and goes to the portal with the answer to the line that changed
//! it. So after a reload or a `kill -9` the player is shown the node they
//! were at, once, and their next choice works; a choice the server had not
//! answered when it died is replayed by the portal and answered once.
//! Node functions may run again (to show the node after a restart, or to
//! read its options when a choice comes): they build text, and the changes
//! belong in [`Goto::call`] functions, which run exactly once per choice.
//!
//! Clients that speak GMCP also get the node as `Tavern.Menu`
//! (`{menu, node, text, options: [{key, desc}]}`, and `{}` when the menu
//! closes): the webclient shows the options as buttons.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tavern_shared::SessId;
use tavern_shared::markup::{escape, strip};

use crate::model::world::ObjId;
use crate::runtime::server::Server;

/// Session data key of the open menu.
pub const MENU_KEY: &str = "_menu";
/// How many `Goto::call`s may lead on from one another in one choice.
const MAX_GOTO_CHAIN: usize = 16;
/// The most bytes of data a menu keeps.
pub const MAX_MENU_DATA: usize = 16 * 1024;
/// Told for a line that is no option.
pub const NOT_AN_OPTION: &str = "Choose an option or try 'help'.";

/// What game code gets in a node or a goto function.
pub struct MenuCtx<'a> {
    /// The game.
    pub server: &'a mut Server,
    /// The player's session.
    pub sessid: SessId,
    /// The line that led here (the option chosen, or free text).
    pub input: String,
    data: &'a mut Map<String, Value>,
}

impl MenuCtx<'_> {
    /// A value the menu keeps.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.data.get(key)
    }

    /// A value the menu keeps, as a string (empty when unset).
    pub fn get_str(&self, key: &str) -> &str {
        self.data.get(key).and_then(Value::as_str).unwrap_or("")
    }

    /// Keeps a value for the rest of the menu (through reloads).
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.data.insert(key.to_string(), value.into());
    }

    /// The character the player is puppeting.
    pub fn caller(&self) -> Option<ObjId> {
        self.server.session_puppet(self.sessid)
    }

    /// Tells the player something (before the next node is shown).
    pub fn msg(&mut self, text: impl Into<String>) {
        self.server.msg_session(self.sessid, text);
    }
}

type GotoFn = Arc<dyn Fn(&mut MenuCtx<'_>) -> Goto + Send + Sync>;
type NodeFn = Arc<dyn Fn(&mut MenuCtx<'_>) -> Node + Send + Sync>;
type ExitFn = Arc<dyn Fn(&mut MenuCtx<'_>) + Send + Sync>;

/// Where a choice leads.
#[derive(Clone)]
pub enum Goto {
    /// To the node of this name.
    Node(String),
    /// Game code decides, from `ctx.input` and the data; it may change the
    /// world and the data, and returns where to go.
    Call(GotoFn),
    /// Stay at this node, telling the player this (a bad answer).
    Stay(String),
    /// Leave the menu.
    Quit,
}

impl Goto {
    /// To a node.
    pub fn node(name: &str) -> Self {
        Self::Node(name.to_string())
    }

    /// Game code decides (see [`Goto::Call`]).
    pub fn call(f: impl Fn(&mut MenuCtx<'_>) -> Goto + Send + Sync + 'static) -> Self {
        Self::Call(Arc::new(f))
    }

    /// Stay, telling the player why.
    pub fn stay(why: impl Into<String>) -> Self {
        Self::Stay(why.into())
    }
}

impl From<&str> for Goto {
    fn from(node: &str) -> Self {
        Self::node(node)
    }
}

/// One option of a node.
#[derive(Clone)]
pub struct MenuOption {
    /// What the player types; `None`: the option's number.
    pub key: Option<String>,
    /// Other things they may type.
    pub aliases: Vec<String>,
    /// What it is, shown beside the key.
    pub desc: String,
    /// Where it leads.
    pub goto: Goto,
}

/// What a node shows and offers.
#[derive(Clone, Default)]
pub struct Node {
    text: String,
    help: Option<String>,
    options: Vec<MenuOption>,
    default: Option<Goto>,
}

impl Node {
    /// A node showing `text` (markup).
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Default::default()
        }
    }

    /// What `help` shows at this node.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// An option chosen by its number (its place among the numbered ones).
    pub fn option(mut self, desc: impl Into<String>, goto: impl Into<Goto>) -> Self {
        self.options.push(MenuOption {
            key: None,
            aliases: Vec::new(),
            desc: desc.into(),
            goto: goto.into(),
        });
        self
    }

    /// An option chosen by a key (and aliases: `"back;b"`).
    pub fn keyed(mut self, keys: &str, desc: impl Into<String>, goto: impl Into<Goto>) -> Self {
        let mut keys = keys.split(';').map(|k| k.trim().to_string());
        self.options.push(MenuOption {
            key: keys.next().filter(|k| !k.is_empty()),
            aliases: keys.filter(|k| !k.is_empty()).collect(),
            desc: desc.into(),
            goto: goto.into(),
        });
        self
    }

    /// What any other line does (free text: a name, an amount; Evennia's
    /// `_default` option).
    pub fn otherwise(mut self, goto: impl Into<Goto>) -> Self {
        self.default = Some(goto.into());
        self
    }

    /// The options with the keys players type (numbers filled in).
    fn keys(&self) -> Vec<(String, &MenuOption)> {
        let mut n = 0;
        self.options
            .iter()
            .map(|o| match &o.key {
                Some(k) => (k.clone(), o),
                None => {
                    n += 1;
                    (n.to_string(), o)
                }
            })
            .collect()
    }

    /// Whether the menu ends once this node is shown.
    fn ends(&self) -> bool {
        self.options.is_empty() && self.default.is_none()
    }

    fn render(&self) -> String {
        let mut out = self.text.clone();
        let keys = self.keys();
        if !keys.is_empty() {
            out.push('\n');
            for (k, o) in keys {
                // The key is a link that types it (MXP clients, the webclient).
                let key = if k.contains('|') {
                    format!("|w{}|n", escape(&k))
                } else {
                    format!("|lc{k}|lt|w{k}|n|le")
                };
                out.push_str(&format!("\n {key}: {}", o.desc));
            }
        }
        out
    }
}

/// A menu: its nodes by name, where it starts, and what happens at its end.
#[derive(Clone)]
pub struct Menu {
    name: String,
    start: String,
    nodes: HashMap<String, NodeFn>,
    on_exit: Option<ExitFn>,
    auto_quit: bool,
    auto_look: bool,
    auto_help: bool,
}

impl Menu {
    /// A menu called `name`, starting at the node `start`.
    pub fn new(name: &str, start: &str) -> Self {
        Self {
            name: name.to_string(),
            start: start.to_string(),
            nodes: HashMap::new(),
            on_exit: None,
            auto_quit: true,
            auto_look: true,
            auto_help: true,
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds a node.
    pub fn node(
        mut self,
        name: &str,
        f: impl Fn(&mut MenuCtx<'_>) -> Node + Send + Sync + 'static,
    ) -> Self {
        self.nodes.insert(name.to_string(), Arc::new(f));
        self
    }

    /// Runs when the menu closes, however it closes.
    pub fn on_exit(mut self, f: impl Fn(&mut MenuCtx<'_>) + Send + Sync + 'static) -> Self {
        self.on_exit = Some(Arc::new(f));
        self
    }

    /// Whether `quit` leaves the menu (true by default; a menu that must be
    /// finished, such as character creation, turns it off).
    pub fn allow_quit(mut self, yes: bool) -> Self {
        self.auto_quit = yes;
        self
    }

    /// Whether `look` (`l`) shows the node again and `help` (`h`) its help
    /// (both true by default); turned off, those words go to the node's
    /// options and free text like any other line.
    pub fn builtins(mut self, look: bool, help: bool) -> Self {
        self.auto_look = look;
        self.auto_help = help;
        self
    }
}

/// What is kept of an open menu.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct MenuState {
    menu: String,
    node: String,
    input: String,
    data: Map<String, Value>,
}

impl Server {
    /// Opens a menu the game registered (`Game::menu`) for a session, with
    /// starting data; shows its first node. False if there is no such menu.
    pub fn menu_open(&mut self, sessid: SessId, name: &str, data: Map<String, Value>) -> bool {
        let Some(menu) = self.game.menus.get(name).cloned() else {
            tracing::warn!(menu = name, "no menu of that name");
            return false;
        };
        let mut state = MenuState {
            menu: name.to_string(),
            node: String::new(),
            input: String::new(),
            data,
        };
        let start = menu.start.clone();
        self.menu_enter(sessid, &menu, &mut state, &start);
        true
    }

    /// Whether a session is in a menu.
    pub fn in_menu(&self, sessid: SessId) -> bool {
        self.sessions
            .get(sessid)
            .is_some_and(|s| s.data().contains_key(MENU_KEY))
    }

    fn menu_state(&self, sessid: SessId) -> Option<MenuState> {
        let v = self.sessions.get(sessid)?.data().get(MENU_KEY)?;
        serde_json::from_value(v.clone()).ok()
    }

    fn keep_menu(&mut self, sessid: SessId, state: Option<&MenuState>) {
        if let Some(s) = self.sessions.get_mut(sessid) {
            s.keep_data(MENU_KEY, state.and_then(|x| serde_json::to_value(x).ok()));
        }
    }

    /// Runs a node's function, catching a panic (the menu closes).
    fn menu_node(&mut self, sessid: SessId, menu: &Menu, state: &mut MenuState) -> Option<Node> {
        let f = menu.nodes.get(&state.node).cloned();
        let Some(f) = f else {
            tracing::error!(menu = %menu.name, node = %state.node, "a menu goes to a node it does not have");
            return None;
        };
        let input = state.input.clone();
        let data = &mut state.data;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut ctx = MenuCtx {
                server: self,
                sessid,
                input,
                data,
            };
            f(&mut ctx)
        }))
        .map_err(|_| tracing::error!(menu = %menu.name, "a menu node panicked"))
        .ok()
    }

    /// Goes to a node: shows it, and keeps the menu (or ends it, when the
    /// node offers nothing).
    fn menu_enter(&mut self, sessid: SessId, menu: &Menu, state: &mut MenuState, node: &str) {
        state.node = node.to_string();
        let Some(n) = self.menu_node(sessid, menu, state) else {
            self.msg_session(sessid, "The menu broke, and you leave it.");
            self.menu_close(sessid, menu, state);
            return;
        };
        self.menu_show(sessid, menu, state, &n);
        if n.ends() {
            self.menu_close(sessid, menu, state);
        } else {
            self.keep_menu(sessid, Some(state));
        }
    }

    fn menu_show(&mut self, sessid: SessId, menu: &Menu, state: &MenuState, n: &Node) {
        self.msg_session(sessid, n.render());
        if self.speaks_gmcp(sessid) {
            let options: Vec<Value> = n
                .keys()
                .into_iter()
                .map(|(k, o)| json!({"key": k, "desc": strip(&o.desc)}))
                .collect();
            let payload = json!({
                "menu": menu.name, "node": state.node, "text": strip(&n.text), "options": options,
            });
            self.send_msg(sessid, crate::runtime::feeds::gmcp("Tavern.Menu", payload));
        }
    }

    fn menu_close(&mut self, sessid: SessId, menu: &Menu, state: &mut MenuState) {
        self.keep_menu(sessid, None);
        if self.speaks_gmcp(sessid) {
            self.send_msg(
                sessid,
                crate::runtime::feeds::gmcp("Tavern.Menu", json!({})),
            );
        }
        if let Some(f) = menu.on_exit.clone() {
            let input = state.input.clone();
            let data = &mut state.data;
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut ctx = MenuCtx {
                    server: self,
                    sessid,
                    input,
                    data,
                };
                f(&mut ctx);
            }));
            if ran.is_err() {
                tracing::error!(menu = %menu.name, "a menu's on_exit panicked");
            }
        }
    }

    /// After a restart: shows each session in a menu the node it is at.
    pub(crate) fn menus_after_restart(&mut self, sessions: &[SessId]) {
        let ids: Vec<SessId> = sessions
            .iter()
            .copied()
            .filter(|&id| {
                self.sessions
                    .get(id)
                    .is_some_and(|s| s.data().contains_key(MENU_KEY))
            })
            .collect();
        for sessid in ids {
            let Some(mut state) = self.menu_state(sessid) else {
                continue;
            };
            let Some(menu) = self.game.menus.get(&state.menu).cloned() else {
                self.keep_menu(sessid, None);
                continue;
            };
            match self.menu_node(sessid, &menu, &mut state) {
                Some(n) => self.menu_show(sessid, &menu, &state, &n),
                None => self.keep_menu(sessid, None),
            }
        }
    }

    /// A line typed while a menu is open: true when the menu took it.
    pub(crate) fn menu_input(&mut self, sessid: SessId, line: &str) -> bool {
        let Some(mut state) = self.menu_state(sessid) else {
            return false;
        };
        let Some(menu) = self.game.menus.get(&state.menu).cloned() else {
            // The game no longer has it (a reload with new code).
            self.keep_menu(sessid, None);
            self.msg_session(sessid, "That menu is gone; you leave it.");
            return true;
        };
        let Some(node) = self.menu_node(sessid, &menu, &mut state) else {
            self.msg_session(sessid, "The menu broke, and you leave it.");
            self.menu_close(sessid, &menu, &mut state);
            return true;
        };
        let typed = line.trim();
        let lower = typed.to_lowercase();
        let chosen = node.keys().into_iter().find(|(k, o)| {
            k.eq_ignore_ascii_case(typed) || o.aliases.iter().any(|a| a.eq_ignore_ascii_case(typed))
        });
        let goto = match chosen {
            Some((_, o)) => o.goto.clone(),
            None => match lower.as_str() {
                "look" | "l" if menu.auto_look => {
                    self.menu_show(sessid, &menu, &state, &node);
                    return true;
                }
                "help" | "h" if menu.auto_help => {
                    let help = node.help.clone().unwrap_or_else(|| {
                        format!(
                            "Commands: <menu option>, help{}",
                            if menu.auto_quit { ", quit" } else { "" }
                        )
                    });
                    self.msg_session(sessid, help);
                    return true;
                }
                "quit" | "q" | "exit" if menu.auto_quit => {
                    self.msg_session(sessid, "You leave the menu.");
                    self.menu_close(sessid, &menu, &mut state);
                    return true;
                }
                _ => match node.default.clone() {
                    Some(g) if !typed.is_empty() => g,
                    _ => {
                        self.msg_session(sessid, NOT_AN_OPTION);
                        return true;
                    }
                },
            },
        };
        self.menu_follow(sessid, &menu, &mut state, goto, typed);
        true
    }

    fn menu_follow(
        &mut self,
        sessid: SessId,
        menu: &Menu,
        state: &mut MenuState,
        mut goto: Goto,
        typed: &str,
    ) {
        for _ in 0..MAX_GOTO_CHAIN {
            match goto {
                Goto::Node(name) => {
                    state.input = typed.to_string();
                    self.menu_enter(sessid, menu, state, &name);
                    self.menu_bound_data(sessid, state);
                    return;
                }
                Goto::Stay(why) => {
                    self.msg_session(sessid, why);
                    self.keep_menu(sessid, Some(state));
                    return;
                }
                Goto::Quit => {
                    self.menu_close(sessid, menu, state);
                    return;
                }
                Goto::Call(f) => {
                    let data = &mut state.data;
                    let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let mut ctx = MenuCtx {
                            server: self,
                            sessid,
                            input: typed.to_string(),
                            data,
                        };
                        f(&mut ctx)
                    }));
                    match next {
                        Ok(g) => goto = g,
                        Err(_) => {
                            tracing::error!(menu = %menu.name, "a menu choice panicked");
                            self.msg_session(sessid, "The menu broke, and you leave it.");
                            self.menu_close(sessid, menu, state);
                            return;
                        }
                    }
                }
            }
        }
        tracing::error!(menu = %menu.name, "menu choices lead on from one another too long");
        self.msg_session(sessid, "The menu broke, and you leave it.");
        self.menu_close(sessid, menu, state);
    }

    /// A menu whose data grew past its bound is closed (its data would
    /// travel with every change of the session).
    fn menu_bound_data(&mut self, sessid: SessId, state: &mut MenuState) {
        let size = serde_json::to_vec(&state.data).map_or(usize::MAX, |v| v.len());
        if size > MAX_MENU_DATA && self.in_menu(sessid) {
            tracing::error!(menu = %state.menu, size, "a menu's data is too large; it is closed");
            self.keep_menu(sessid, None);
            self.msg_session(sessid, "The menu broke, and you leave it.");
        }
    }
}

/// Why a menu written in TOML cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MenuDefError {
    /// The text is not TOML of the menu's shape.
    #[error("the menu is not valid TOML: {0}")]
    Syntax(String),
    /// It names a node it does not have.
    #[error("menu {menu}: {what} goes to node '{node}', which it does not have")]
    NoNode {
        /// The menu.
        menu: String,
        /// Where the node is named.
        what: String,
        /// The node.
        node: String,
    },
    /// Something else is wrong with it.
    #[error("menu {0}: {1}")]
    Invalid(String, String),
}

/// A menu as TOML declares it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MenuDef {
    name: String,
    start: String,
    #[serde(default = "yes")]
    allow_quit: bool,
    #[serde(default = "yes")]
    auto_look: bool,
    #[serde(default = "yes")]
    auto_help: bool,
    /// Said when the menu closes.
    #[serde(default)]
    exit_text: String,
    nodes: Vec<NodeDef>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeDef {
    name: String,
    text: String,
    #[serde(default)]
    help: Option<String>,
    #[serde(default)]
    options: Vec<OptionDef>,
    #[serde(default)]
    otherwise: Option<GotoDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionDef {
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    desc: String,
    #[serde(flatten)]
    goto: GotoDef,
}

/// Where a TOML option leads: `goto = "node"` (or `"quit"`), `call =
/// "function"` (registered with `Game::menu_fn`), and `set` values kept
/// in the menu's data before it goes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GotoDef {
    #[serde(default)]
    goto: Option<String>,
    #[serde(default)]
    call: Option<String>,
    #[serde(default)]
    set: Map<String, Value>,
}

/// A game function a TOML menu calls by name (see `Game::menu_fn`).
pub type MenuFn = Arc<dyn Fn(&mut MenuCtx<'_>) -> Goto + Send + Sync>;

/// `{key}` in a TOML node's text: the menu's data (`{input}`: the line that
/// led here). Markup in the values is shown, not obeyed.
fn fill(text: &str, ctx: &MenuCtx<'_>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close)
                if after[..close]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && close > 0 =>
            {
                let key = &after[..close];
                let value = if key == "input" {
                    ctx.input.clone()
                } else {
                    match ctx.get(key) {
                        Some(Value::String(s)) => s.clone(),
                        Some(v) => v.to_string(),
                        None => String::new(),
                    }
                };
                out.push_str(&escape(&value));
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

impl GotoDef {
    fn check(&self, menu: &MenuDef, what: &str) -> Result<(), MenuDefError> {
        match (&self.goto, &self.call) {
            (Some(_), Some(_)) => Err(MenuDefError::Invalid(
                menu.name.clone(),
                format!("{what} has both goto and call"),
            )),
            (None, None) => Err(MenuDefError::Invalid(
                menu.name.clone(),
                format!("{what} needs goto or call"),
            )),
            (Some(g), None) if g != "quit" && !menu.nodes.iter().any(|n| n.name == *g) => {
                Err(MenuDefError::NoNode {
                    menu: menu.name.clone(),
                    what: what.to_string(),
                    node: g.clone(),
                })
            }
            _ => Ok(()),
        }
    }

    fn to_goto(&self) -> Goto {
        let def = self.clone();
        Goto::call(move |ctx| {
            for (k, v) in &def.set {
                ctx.set(k, v.clone());
            }
            match (&def.goto, &def.call) {
                (Some(g), _) if g == "quit" => Goto::Quit,
                (Some(g), _) => Goto::node(g),
                (None, Some(f)) => match ctx.server.game.menu_fns.get(f).cloned() {
                    Some(f) => f(ctx),
                    None => {
                        tracing::error!(function = %f, "a menu calls a function the game does not have");
                        Goto::stay("That does not work right now.")
                    }
                },
                (None, None) => Goto::Quit,
            }
        })
    }
}

impl Menu {
    /// A menu declared in TOML (see `docs/menus.md`): checked whole, so a
    /// node it names but lacks is an error here, not in front of a player.
    pub fn from_toml(text: &str) -> Result<Self, MenuDefError> {
        let def: MenuDef = toml::from_str(text).map_err(|e| MenuDefError::Syntax(e.to_string()))?;
        if !def.nodes.iter().any(|n| n.name == def.start) {
            return Err(MenuDefError::NoNode {
                menu: def.name.clone(),
                what: "start".into(),
                node: def.start.clone(),
            });
        }
        for n in &def.nodes {
            if def.nodes.iter().filter(|m| m.name == n.name).count() > 1 {
                return Err(MenuDefError::Invalid(
                    def.name.clone(),
                    format!("two nodes are called '{}'", n.name),
                ));
            }
            for (i, o) in n.options.iter().enumerate() {
                o.goto
                    .check(&def, &format!("option {} of node '{}'", i + 1, n.name))?;
            }
            if let Some(g) = &n.otherwise {
                g.check(&def, &format!("otherwise of node '{}'", n.name))?;
            }
        }
        let mut menu = Menu::new(&def.name, &def.start)
            .allow_quit(def.allow_quit)
            .builtins(def.auto_look, def.auto_help);
        if !def.exit_text.is_empty() {
            let said = def.exit_text.clone();
            menu = menu.on_exit(move |ctx| ctx.msg(said.clone()));
        }
        for n in def.nodes {
            let name = n.name.clone();
            menu = menu.node(&name, move |ctx| {
                let mut node = Node::new(fill(&n.text, ctx));
                if let Some(h) = &n.help {
                    node = node.help(h.clone());
                }
                for o in &n.options {
                    node = match &o.key {
                        Some(k) => {
                            let keys = std::iter::once(k.clone())
                                .chain(o.aliases.iter().cloned())
                                .collect::<Vec<_>>()
                                .join(";");
                            node.keyed(&keys, o.desc.clone(), o.goto.to_goto())
                        }
                        None => node.option(o.desc.clone(), o.goto.to_goto()),
                    };
                }
                if let Some(g) = &n.otherwise {
                    node = node.otherwise(g.to_goto());
                }
                node
            });
        }
        Ok(menu)
    }
}
