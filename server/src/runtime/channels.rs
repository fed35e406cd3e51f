//! Channels in the running game: making them, joining and leaving, saying
//! a line to every listening subscriber (as text, and as GMCP
//! `Comm.Channel.Text`), history, mutes, boots and bans, the default
//! channels of `[channels]`, and the connection announcements of
//! `[channels] info_channel` (Evennia's MudInfo).
//!
//! A line is recorded in the channel's history in the same event that
//! sends it, so it is written in the commit that lets its frames leave: a
//! line a player saw is in the history after any crash.

use std::collections::HashMap;
use std::sync::Arc;

use tavern_shared::markup::escape;
use tavern_shared::{Msg, SessId};

use crate::model::channels::{Channel, ChannelId};
use crate::model::ids::AccountId;
use crate::model::locks::{Accessor, LockSet};
use crate::runtime::server::Server;

/// The account attribute holding a player's own channel aliases
/// (`channel/alias pub = public`): alias → channel id.
pub const CHANNEL_ALIASES_ATTR: &str = "_channel_aliases";
/// How many channel aliases of its own an account may have.
pub const MAX_CHANNEL_ALIASES: usize = 50;
/// How many channels one account may make (Admins are not limited).
pub const MAX_CHANNELS_MADE: usize = 10;
/// The account attribute counting the channels it made.
pub const CHANNELS_MADE_ATTR: &str = "_channels_made";
/// The account attribute listing the `autojoin` default channels it
/// stopped listening to (it left them, or was kicked): a login does not
/// join it to them again. Most accounts never leave one, and hold no
/// attribute at all (an attribute map with one entry costs a few hundred
/// bytes an account in memory).
const LEFT_DEFAULTS_ATTR: &str = "_channels_left";
/// What was kept before: the default channels an account was made to join.
/// An account that has it is converted at its next login.
const AUTOJOINED_ATTR: &str = "_channels_autojoined";

/// A kind of channel: game code that filters, rewrites and formats its
/// lines (a profanity filter, a language system, a different look).
/// Register it with `Game::channel_kind`; a channel made with its name uses it.
pub trait ChannelKind: Send + Sync + 'static {
    /// Its name.
    fn name(&self) -> &str;
    /// Before a line is said: the text to say (rewritten or as it is), or
    /// `Err` with what the sender is told instead (nothing is said).
    fn at_pre_send(
        &self,
        _server: &Server,
        _channel: &Channel,
        _sender: Option<AccountId>,
        text: &str,
    ) -> Result<String, String> {
        Ok(text.to_string())
    }
    /// How a line looks to those who hear it: `[Public] Anna: Hello`, or
    /// `[Public] Anna waves` for a pose. `sender` and `text` are escaped
    /// already (markup a player typed is shown, not obeyed).
    fn format(&self, channel: &Channel, sender: &str, text: &str, pose: bool) -> String {
        let key = escape(&channel.key);
        match (sender.is_empty(), pose) {
            (true, _) => format!("[{key}] {text}"),
            (false, true) => format!("[{key}] {sender} {text}"),
            (false, false) => format!("[{key}] {sender}: {text}"),
        }
    }
    /// After a line was said (logging, a bridge).
    fn at_post_send(&self, _server: &mut Server, _channel: ChannelId, _seq: u64) {}
}

/// The default kind of channel: lines as they were typed, Evennia's look.
pub struct DefaultChannel;

impl ChannelKind for DefaultChannel {
    fn name(&self) -> &str {
        ""
    }
}

/// The game's kinds of channels, by name.
#[derive(Clone, Default)]
pub struct ChannelKinds {
    kinds: HashMap<String, Arc<dyn ChannelKind>>,
}

impl ChannelKinds {
    /// Registers a kind.
    pub fn add(&mut self, k: Arc<dyn ChannelKind>) {
        self.kinds.insert(k.name().to_string(), k);
    }

    /// Whether a kind has this name (the empty name is the default kind).
    pub fn has(&self, name: &str) -> bool {
        name.is_empty() || self.kinds.contains_key(name)
    }

    /// The names of the kinds, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.kinds.keys().cloned().collect();
        v.sort();
        v
    }

    /// A kind by name; the default for an unknown or empty name.
    pub fn get(&self, name: &str) -> Arc<dyn ChannelKind> {
        self.kinds
            .get(name)
            .cloned()
            .unwrap_or_else(|| Arc::new(DefaultChannel))
    }
}

/// Why a channel could not be made, joined or spoken on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChannelError {
    /// Another channel has one of the names.
    #[error("a channel called '{0}' exists already")]
    NameTaken(String),
    /// A channel name must be something.
    #[error("a channel needs a name of letters, digits, spaces, - or _ (at most 40)")]
    BadName,
    /// The lock string does not parse.
    #[error("{0}")]
    BadLocks(String),
    /// No such channel.
    #[error("there is no such channel")]
    NoChannel,
    /// Banned from the channel.
    #[error("you are banned from {0}")]
    Banned(String),
    /// The `listen` lock says no.
    #[error("you may not listen to {0}")]
    MayNotListen(String),
    /// The `send` lock says no.
    #[error("you may not talk on {0}")]
    MayNotSend(String),
    /// Not subscribed.
    #[error("you are not listening to {0}")]
    NotSubscribed(String),
    /// The channel's kind refused the line.
    #[error("{0}")]
    Refused(String),
    /// An empty line.
    #[error("say what?")]
    Empty,
    /// No kind of channel has that name.
    #[error("there is no kind of channel called '{0}'")]
    UnknownKind(String),
}

fn valid_name(name: &str) -> bool {
    !name.trim().is_empty()
        && name.chars().count() <= 40
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || c == '-' || c == '_')
}

impl Server {
    /// Makes a channel.
    pub fn channel_create(
        &mut self,
        key: &str,
        aliases: &[String],
        desc: &str,
        locks: &str,
        kind: &str,
    ) -> Result<ChannelId, ChannelError> {
        let key = key.trim();
        if !valid_name(key) || aliases.iter().any(|a| !valid_name(a)) {
            return Err(ChannelError::BadName);
        }
        if !self.game.channel_kinds.has(kind) {
            return Err(ChannelError::UnknownKind(escape(kind)));
        }
        let locks = LockSet::parse(locks).map_err(|e| ChannelError::BadLocks(e.to_string()))?;
        for n in std::iter::once(key).chain(aliases.iter().map(String::as_str)) {
            if self.world.channels.named(n).is_some() {
                return Err(ChannelError::NameTaken(n.to_string()));
            }
        }
        let now = self.now();
        self.world
            .channels
            .create({
                let mut c = Channel::new(key, locks, now);
                c.aliases = aliases.iter().map(|a| a.trim().to_string()).collect();
                c.desc = desc.to_string();
                c.kind = kind.to_string();
                c
            })
            .ok_or_else(|| ChannelError::NameTaken(key.to_string()))
    }

    /// The channel with this name or alias.
    pub fn channel(&self, name: &str) -> Option<ChannelId> {
        self.world.channels.named(name.trim())
    }

    /// Whether an account passes a channel's lock.
    pub fn channel_access(&self, ch: ChannelId, account: AccountId, access: &str) -> bool {
        let Some(c) = self.world.channels.get(ch) else {
            return false;
        };
        let accessor = Accessor {
            account: Some(account),
            puppet: None,
        };
        self.check_lock(&c.locks, accessor, None, access, false)
    }

    /// Subscribes an account (it must pass `listen` and not be banned).
    pub fn channel_sub(&mut self, ch: ChannelId, account: AccountId) -> Result<(), ChannelError> {
        let c = self.world.channels.get(ch).ok_or(ChannelError::NoChannel)?;
        let key = c.key.clone();
        if c.banned.contains(&account) {
            return Err(ChannelError::Banned(key));
        }
        if !self.channel_access(ch, account, "listen") {
            return Err(ChannelError::MayNotListen(key));
        }
        self.world.channels.subscribe(ch, account);
        self.note_left_default(ch, account, false);
        Ok(())
    }

    /// Unsubscribes an account (its own aliases for the channel go too).
    /// False when it was not subscribed.
    pub fn channel_unsub(&mut self, ch: ChannelId, account: AccountId) -> bool {
        if !self.world.channels.unsubscribe(ch, account) {
            return false;
        }
        self.channel_aliases_drop(account, ch);
        self.note_left_default(ch, account, true);
        true
    }

    /// An account's own aliases: alias → channel.
    pub fn channel_aliases(
        &self,
        account: AccountId,
    ) -> std::collections::BTreeMap<String, ChannelId> {
        self.world
            .accounts
            .get(&account)
            .and_then(|a| a.attr(CHANNEL_ALIASES_ATTR))
            .unwrap_or_default()
    }

    /// Sets an account's own alias for a channel: one word of letters,
    /// digits, `-` or `_` (at most 20), at most [`MAX_CHANNEL_ALIASES`].
    pub fn channel_alias_set(
        &mut self,
        account: AccountId,
        alias: &str,
        ch: ChannelId,
    ) -> Result<(), String> {
        let alias = alias.trim();
        if alias.is_empty()
            || alias.chars().count() > 20
            || !alias
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "'{}' cannot be an alias: one word of letters, digits, - or _ (at most 20)",
                escape(alias)
            ));
        }
        let mut all = self.channel_aliases(account);
        if !all.contains_key(&alias.to_lowercase()) && all.len() >= MAX_CHANNEL_ALIASES {
            return Err(format!(
                "you have {MAX_CHANNEL_ALIASES} channel aliases already; channel/unalias one first"
            ));
        }
        all.insert(alias.to_lowercase(), ch);
        self.world
            .update_account(account, |a| a.set_attr(CHANNEL_ALIASES_ATTR, &all));
        Ok(())
    }

    /// Removes an account's own alias. False when it had none by that name.
    pub fn channel_alias_remove(&mut self, account: AccountId, alias: &str) -> bool {
        let mut all = self.channel_aliases(account);
        if all.remove(&alias.to_lowercase()).is_none() {
            return false;
        }
        self.world
            .update_account(account, |a| a.set_attr(CHANNEL_ALIASES_ATTR, &all));
        true
    }

    fn channel_aliases_drop(&mut self, account: AccountId, ch: ChannelId) {
        let mut all = self.channel_aliases(account);
        let before = all.len();
        all.retain(|_, c| *c != ch);
        if all.len() != before {
            self.world
                .update_account(account, |a| a.set_attr(CHANNEL_ALIASES_ATTR, &all));
        }
    }

    /// The channel a word names for an account: its own alias first, then a
    /// channel's key or alias.
    pub fn channel_for(&self, account: AccountId, word: &str) -> Option<ChannelId> {
        self.channel_aliases(account)
            .get(&word.to_lowercase())
            .copied()
            .filter(|c| self.world.channels.get(*c).is_some())
            .or_else(|| self.channel(word))
    }

    /// Says a line on a channel as game code (no lock is checked; `sender`
    /// may be empty for the game itself). Every subscriber who listens and
    /// has not muted it hears it, on every session. Its number in the history.
    pub fn channel_send(
        &mut self,
        ch: ChannelId,
        sender: &str,
        text: &str,
        pose: bool,
    ) -> Result<u64, ChannelError> {
        self.channel_say_from(ch, None, sender, text, pose, None)
    }

    /// Says a line as an account, as the `channel` command does: it must
    /// be subscribed and pass `send`, and the channel's kind may refuse or
    /// rewrite the line.
    pub fn channel_send_as(
        &mut self,
        ch: ChannelId,
        account: AccountId,
        text: &str,
        pose: bool,
    ) -> Result<u64, ChannelError> {
        let c = self.world.channels.get(ch).ok_or(ChannelError::NoChannel)?;
        let key = c.key.clone();
        if !c.is_subscribed(account) {
            return Err(ChannelError::NotSubscribed(key));
        }
        if !self.channel_access(ch, account, "send") {
            return Err(ChannelError::MayNotSend(key));
        }
        let name = self.world.account_name(account).to_string();
        self.channel_say_from(ch, Some(account), &name, text, pose, None)
    }

    /// Says a line; `bridge`: the bridge it came from, which does not get
    /// it back (every other bridge of the channel does).
    pub(crate) fn channel_say_from(
        &mut self,
        ch: ChannelId,
        account: Option<AccountId>,
        sender: &str,
        text: &str,
        pose: bool,
        bridge: Option<usize>,
    ) -> Result<u64, ChannelError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ChannelError::Empty);
        }
        let c = self.world.channels.get(ch).ok_or(ChannelError::NoChannel)?;
        let kind = self.game.channel_kinds.get(&c.kind);
        let text = kind
            .at_pre_send(self, c, account, text)
            .map_err(ChannelError::Refused)?;
        let now = self.now();
        let seq = self
            .world
            .channels
            .record_line(ch, now, sender, &text, pose)
            .ok_or(ChannelError::NoChannel)?;
        let Some(c) = self.world.channels.get(ch) else {
            return Ok(seq);
        };
        let line = kind.format(c, &escape(sender), &escape(&text), pose);
        let key = c.key.clone();
        let listeners: Vec<AccountId> = c
            .subscribers()
            .iter()
            .filter(|a| !c.is_muted(**a))
            .copied()
            .collect();
        let sessions: Vec<SessId> = listeners
            .iter()
            .flat_map(|a| self.sessions.of_account(*a))
            .collect();
        // `from_channel` (as Evennia marks them) lets the webclient show
        // channel lines apart from room text.
        self.send_msg_many(
            &sessions,
            Msg::text(line).kwarg("from_channel", serde_json::json!(key.to_lowercase())),
        );
        let gmcp_text = if pose {
            format!("{sender} {text}")
        } else {
            text.clone()
        };
        self.channel_text(&sessions, &key.to_lowercase(), sender, &gmcp_text);
        self.bridge_out(
            ch,
            bridge,
            crate::runtime::bridges::BridgeLine {
                channel: key,
                sender: sender.to_string(),
                text,
                pose,
            },
        );
        kind.at_post_send(self, ch, seq);
        Ok(seq)
    }

    /// Boots an account off a channel, telling its sessions why; `ban` also
    /// keeps it from joining again. False when it was not subscribed (a ban
    /// is recorded all the same).
    pub fn channel_boot(
        &mut self,
        ch: ChannelId,
        account: AccountId,
        by: &str,
        reason: &str,
        ban: bool,
    ) -> bool {
        let Some(key) = self.world.channels.get(ch).map(|c| c.key.clone()) else {
            return false;
        };
        let was = self.channel_unsub(ch, account);
        if ban {
            self.world.channels.update(ch, |c| c.banned.insert(account));
        }
        if was {
            let why = if reason.is_empty() {
                String::new()
            } else {
                format!(" Reason: {}", escape(reason))
            };
            self.msg_account(
                account,
                &format!(
                    "You were booted from channel {} by {}.{why}",
                    escape(&key),
                    escape(by)
                ),
            );
        }
        was
    }

    /// Makes the channels of `[channels] default` that are missing, and sets
    /// the history bound (at every start).
    pub(crate) fn start_channels(&mut self) {
        let keep = self.settings.channels.history_lines;
        self.world.channels.set_history_lines(keep);
        let defaults = self.settings.channels.default.clone();
        for d in defaults {
            if self.channel(&d.key).is_some() {
                continue;
            }
            if let Err(e) = self.channel_create(&d.key, &d.aliases, &d.desc, &d.locks, "") {
                tracing::error!(channel = %d.key, "a default channel cannot be made: {e}");
            }
        }
    }

    /// At a login: the account joins the `autojoin` channels it does not
    /// listen to and never left, and the info channel says who logged in.
    pub(crate) fn channels_at_login(&mut self, account: AccountId) {
        self.convert_autojoined(account);
        let left: Vec<String> = self
            .world
            .accounts
            .get(&account)
            .and_then(|a| a.attr(LEFT_DEFAULTS_ATTR))
            .unwrap_or_default();
        let join: Vec<ChannelId> = self
            .settings
            .channels
            .default
            .iter()
            .filter(|d| d.autojoin && !left.iter().any(|k| k.eq_ignore_ascii_case(&d.key)))
            .filter_map(|d| self.channel(&d.key))
            .filter(|&ch| !self.listens(ch, account))
            .collect();
        for ch in join {
            let _ = self.channel_sub(ch, account);
        }
        let name = self.world.account_name(account).to_string();
        self.channel_info(&format!("{name} connected"));
        self.deliver_pages(account);
        self.mail_at_login(account);
    }

    /// Whether an account is subscribed to a channel.
    fn listens(&self, ch: ChannelId, account: AccountId) -> bool {
        self.world
            .channels
            .get(ch)
            .is_some_and(|c| c.is_subscribed(account))
    }

    /// Whether a channel is a default one that accounts join at login.
    fn autojoined(&self, ch: ChannelId) -> Option<String> {
        let key = self.world.channels.get(ch)?.key.clone();
        self.settings
            .channels
            .default
            .iter()
            .any(|d| d.autojoin && d.key.eq_ignore_ascii_case(&key))
            .then_some(key)
    }

    /// An account kept the default channels it was made to join (an older
    /// build's record): those it no longer listens to are the ones it left.
    fn convert_autojoined(&mut self, account: AccountId) {
        let Some(done) = self
            .world
            .accounts
            .get(&account)
            .and_then(|a| a.attr::<Vec<String>>(AUTOJOINED_ATTR))
        else {
            return;
        };
        let left: Vec<String> = done
            .into_iter()
            .filter(|k| self.channel(k).is_none_or(|ch| !self.listens(ch, account)))
            .collect();
        self.world.update_account(account, |a| {
            a.del_attr(AUTOJOINED_ATTR);
            if !left.is_empty() {
                a.set_attr(LEFT_DEFAULTS_ATTR, &left);
            }
        });
    }

    /// Keeps (or forgets) that an account stopped listening to a default
    /// channel, so that logging in leaves it (or joins it) as it chose.
    fn note_left_default(&mut self, ch: ChannelId, account: AccountId, left: bool) {
        let Some(key) = self.autojoined(ch) else {
            return;
        };
        let Some(a) = self.world.accounts.get(&account) else {
            return;
        };
        let mut keys: Vec<String> = a.attr(LEFT_DEFAULTS_ATTR).unwrap_or_default();
        let had = keys.iter().any(|k| k.eq_ignore_ascii_case(&key));
        if had == left {
            return;
        }
        keys.retain(|k| !k.eq_ignore_ascii_case(&key));
        if left {
            keys.push(key);
        }
        self.world.update_account(account, |a| {
            if keys.is_empty() {
                a.del_attr(LEFT_DEFAULTS_ATTR);
            } else {
                a.set_attr(LEFT_DEFAULTS_ATTR, &keys);
            }
        });
    }

    /// A line that starts with a channel's name or alias, or one of the
    /// account's own channel aliases (`pub Hello`): the `channel` command
    /// line it stands for (`channel pub = Hello`, or `channel pub` alone).
    pub(crate) fn channel_line(&self, sessid: SessId, line: &str) -> Option<String> {
        let account = self.sessions.get(sessid)?.account()?;
        let line = line.trim();
        let (word, rest) = match line.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim()),
            None => (line, ""),
        };
        if matches!(
            word.to_lowercase().as_str(),
            "channel" | "chan" | "channels"
        ) {
            return None;
        }
        self.channel_for(account, word)?;
        Some(if rest.is_empty() {
            format!("channel {word}")
        } else {
            format!("channel {word} = {rest}")
        })
    }

    /// GMCP `Comm.Channel.List` (as IRE games send it): the channels the
    /// session's account listens to, `{name, caption, command}` each.
    pub fn send_channel_list(&mut self, sessid: SessId) {
        let Some(account) = self.sessions.get(sessid).and_then(|s| s.account()) else {
            return;
        };
        let list: Vec<serde_json::Value> = self
            .world
            .channels
            .of_account(account)
            .into_iter()
            .filter_map(|ch| self.world.channels.get(ch))
            .map(|c| {
                let command = c.aliases.first().unwrap_or(&c.key).to_lowercase();
                serde_json::json!({
                    "name": c.key.to_lowercase(),
                    "caption": c.key,
                    "command": command,
                })
            })
            .collect();
        self.send_msg(
            sessid,
            crate::runtime::feeds::gmcp("Comm.Channel.List", serde_json::Value::Array(list)),
        );
    }

    /// GMCP `Comm.Channel.Players`: who is online on the channels the
    /// session's account listens to, `{name, channels}` each.
    pub fn send_channel_players(&mut self, sessid: SessId) {
        let Some(account) = self.sessions.get(sessid).and_then(|s| s.account()) else {
            return;
        };
        let mut on: std::collections::BTreeMap<AccountId, Vec<String>> = Default::default();
        for ch in self.world.channels.of_account(account) {
            let Some(c) = self.world.channels.get(ch) else {
                continue;
            };
            for a in c.subscribers() {
                if !self.sessions.of_account(*a).is_empty() {
                    on.entry(*a).or_default().push(c.key.to_lowercase());
                }
            }
        }
        let players: Vec<serde_json::Value> = on
            .into_iter()
            .map(|(a, chans)| {
                serde_json::json!({"name": self.world.account_name(a), "channels": chans})
            })
            .collect();
        self.send_msg(
            sessid,
            crate::runtime::feeds::gmcp("Comm.Channel.Players", serde_json::Value::Array(players)),
        );
    }

    /// A line on the info channel (`[channels] info_channel`), if there is one.
    pub fn channel_info(&mut self, text: &str) {
        let name = self.settings.channels.info_channel.clone();
        if name.is_empty() {
            return;
        }
        if let Some(ch) = self.channel(&name) {
            let stamp = crate::commands::minute_text(self.now());
            let _ = self.channel_send(ch, "", &format!("[{stamp}]: {text}"), false);
        }
    }
}
