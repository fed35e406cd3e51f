//! The IRC bridge: a channel's lines to an IRC channel and back, as one
//! IRC client (`[[channels.irc]]`).
//!
//! [`IrcSession`] is the protocol without I/O — registration, nick
//! collisions, PING, joining and re-joining, turning `PRIVMSG`s into lines
//! and lines into `PRIVMSG`s — so it is tested line by line; messages are
//! parsed with `irc-proto`. [`IrcBridge`] is the tokio wrapper: it connects,
//! feeds the session, paces what it sends (IRC servers disconnect clients
//! that flood), and reconnects with a backoff when the connection fails.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::StreamExt;
use irc_proto::{Command, FormattedStringExt, Message, Response};
use tavern_shared::settings::IrcBridge as IrcSettings;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::codec::{FramedRead, LinesCodec};
use tracing::{debug, info, warn};

use super::{Bridge, BridgeLine, BridgeLink, MAX_BRIDGED_LINE};

/// The longest line read from the server (IRC's own limit is 512 bytes,
/// 8191 with IRCv3 tags); a longer one ends the connection.
const MAX_IRC_LINE: usize = 8192;
/// The most text one `PRIVMSG` carries, in bytes (a line is at most 512
/// bytes with the command, the channel and the server's prefix for us).
const MAX_PRIVMSG_TEXT: usize = 400;
/// Lines waiting to be sent before the oldest are dropped.
const MAX_SEND_QUEUE: usize = 500;
/// Lines sent at once before pacing starts, and the pace after.
const SEND_BURST: u32 = 5;
const SEND_EVERY: Duration = Duration::from_millis(600);
/// How long to wait for a connection and for the server's welcome.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Waits between attempts: doubling from the first to the last.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A connection that lasted this long starts the backoff over.
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// What the session wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IrcAction {
    /// Send this line (without its CRLF).
    Send(String),
    /// Someone on the IRC channel said something.
    Heard {
        /// Their nick.
        nick: String,
        /// What they said, formatting codes removed.
        text: String,
        /// A `/me` action.
        pose: bool,
    },
    /// The bridge's state changed (for `channel/bridges`).
    Status(String),
    /// The server ended the connection (`ERROR`).
    Closed(String),
}

/// One connection's protocol state.
#[derive(Debug)]
pub struct IrcSession {
    settings: IrcSettings,
    nick: String,
    registered: bool,
    joined: bool,
}

impl IrcSession {
    /// A session about to register.
    pub fn new(settings: IrcSettings) -> Self {
        let nick = settings.nick.clone();
        Self {
            settings,
            nick,
            registered: false,
            joined: false,
        }
    }

    /// The nick in use.
    pub fn nick(&self) -> &str {
        &self.nick
    }

    /// Whether it is in the channel (lines can go out).
    pub fn joined(&self) -> bool {
        self.joined
    }

    /// The lines that open a connection: `PASS`, `NICK`, `USER`.
    pub fn greeting(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.settings.password.is_empty() {
            out.push(format!("PASS {}", self.settings.password));
        }
        out.push(format!("NICK {}", self.nick));
        out.push(format!(
            "USER {} 0 * :Tavern channel bridge",
            self.settings.nick
        ));
        out
    }

    fn join(&self) -> String {
        if self.settings.channel_key.is_empty() {
            format!("JOIN {}", self.settings.irc_channel)
        } else {
            format!(
                "JOIN {} {}",
                self.settings.irc_channel, self.settings.channel_key
            )
        }
    }

    fn is_me(&self, nick: &str) -> bool {
        nick.eq_ignore_ascii_case(&self.nick)
    }

    /// What one line from the server calls for.
    pub fn on_line(&mut self, line: &str) -> Vec<IrcAction> {
        let parsed = std::panic::catch_unwind(|| line.parse::<Message>());
        let Ok(Ok(msg)) = parsed else {
            debug!(line, "an IRC line that does not parse is ignored");
            return Vec::new();
        };
        let from = msg.source_nickname().map(str::to_string);
        let chan = &self.settings.irc_channel;
        match msg.command {
            Command::PING(token, _) => vec![IrcAction::Send(format!("PONG :{token}"))],
            Command::Response(Response::RPL_WELCOME, _) => {
                self.registered = true;
                vec![
                    IrcAction::Status(format!(
                        "connected to {} as {}",
                        self.settings.server, self.nick
                    )),
                    IrcAction::Send(self.join()),
                ]
            }
            Command::Response(Response::ERR_NICKNAMEINUSE | Response::ERR_NICKCOLLISION, _)
                if !self.registered =>
            {
                if self.nick.len() >= 30 {
                    return vec![IrcAction::Closed(format!(
                        "every nick from {} on is taken",
                        self.settings.nick
                    ))];
                }
                self.nick.push('_');
                vec![IrcAction::Send(format!("NICK {}", self.nick))]
            }
            Command::Response(
                r @ (Response::ERR_BANNEDFROMCHAN
                | Response::ERR_INVITEONLYCHAN
                | Response::ERR_BADCHANNELKEY
                | Response::ERR_CHANNELISFULL),
                _,
            ) => vec![IrcAction::Status(format!(
                "cannot join {chan}: {}",
                match r {
                    Response::ERR_BANNEDFROMCHAN => "banned",
                    Response::ERR_INVITEONLYCHAN => "invite only",
                    Response::ERR_BADCHANNELKEY => "wrong channel key",
                    _ => "the channel is full",
                }
            ))],
            Command::JOIN(ref c, _, _)
                if c.eq_ignore_ascii_case(chan)
                    && from.as_deref().is_some_and(|n| self.is_me(n)) =>
            {
                self.joined = true;
                vec![IrcAction::Status(format!(
                    "in {chan} on {} as {}",
                    self.settings.server, self.nick
                ))]
            }
            Command::NICK(ref new) if from.as_deref().is_some_and(|n| self.is_me(n)) => {
                self.nick = new.clone();
                Vec::new()
            }
            Command::KICK(ref c, ref who, _) if c.eq_ignore_ascii_case(chan) && self.is_me(who) => {
                self.joined = false;
                vec![
                    IrcAction::Status(format!("kicked from {chan}; joining again")),
                    IrcAction::Send(self.join()),
                ]
            }
            Command::PRIVMSG(ref target, ref text) if target.eq_ignore_ascii_case(chan) => {
                let Some(nick) = from.filter(|n| !self.is_me(n)) else {
                    return Vec::new();
                };
                let (text, pose) = match text.strip_prefix('\u{1}') {
                    Some(ctcp) => match ctcp.strip_prefix("ACTION ") {
                        Some(action) => (action.trim_end_matches('\u{1}'), true),
                        // Other CTCP (VERSION, PING) is not for the channel.
                        None => return Vec::new(),
                    },
                    None => (text.as_str(), false),
                };
                let text = super::clean(&text.strip_formatting(), MAX_BRIDGED_LINE);
                if text.is_empty() {
                    return Vec::new();
                }
                vec![IrcAction::Heard { nick, text, pose }]
            }
            Command::ERROR(why) => vec![IrcAction::Closed(why)],
            _ => Vec::new(),
        }
    }

    /// The `PRIVMSG`s that carry a game line to the channel: `<Anna> hi`,
    /// `* Anna waves`; control characters dropped (no CTCP, no line breaks
    /// from the game can reach IRC), long lines split.
    pub fn say(&self, line: &BridgeLine) -> Vec<String> {
        let text: String = line.text.chars().filter(|c| !c.is_control()).collect();
        let sender: String = line.sender.chars().filter(|c| !c.is_control()).collect();
        let whole = match (sender.is_empty(), line.pose) {
            (true, _) => text,
            (false, true) => format!("* {sender} {text}"),
            (false, false) => format!("<{sender}> {text}"),
        };
        split_utf8(whole.trim(), MAX_PRIVMSG_TEXT)
            .into_iter()
            .map(|part| format!("PRIVMSG {} :{part}", self.settings.irc_channel))
            .collect()
    }
}

/// Splits text into pieces of at most `max` bytes, at character boundaries
/// (at a space when there is one in the second half of a piece).
fn split_utf8(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Some(space) = rest[..cut].rfind(' ')
            && space > max / 2
        {
            cut = space;
        }
        out.push(rest[..cut].trim_end());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// A bridge from a channel to an IRC channel.
pub struct IrcBridge {
    settings: IrcSettings,
}

impl IrcBridge {
    /// The bridge of one `[[channels.irc]]`.
    pub fn new(settings: IrcSettings) -> Self {
        Self { settings }
    }
}

impl Bridge for IrcBridge {
    fn name(&self) -> String {
        "irc".into()
    }

    fn channel(&self) -> String {
        self.settings.channel.clone()
    }

    fn run(self: Box<Self>, link: BridgeLink) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(run(self.settings, link))
    }
}

/// Why a connection ended.
enum Ended {
    /// The server is stopping: the bridge ends.
    GameGone,
    /// The connection failed or closed: connect again.
    Lost(String),
}

async fn run(settings: IrcSettings, mut link: BridgeLink) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let began = Instant::now();
        let why = match connection(&settings, &mut link).await {
            Ended::GameGone => return,
            Ended::Lost(why) => why,
        };
        if began.elapsed() >= STABLE_AFTER {
            backoff = FIRST_BACKOFF;
        }
        warn!(server = %settings.server, channel = %settings.irc_channel, %why, "IRC bridge lost; reconnecting in {backoff:?}");
        let status = format!("reconnecting in {}s: {why}", backoff.as_secs());
        if !link.status(status).await {
            return;
        }
        // Lines said while away are dropped (IRC has no history to fill).
        let wake = Instant::now() + backoff;
        loop {
            tokio::select! {
                line = link.next() => if line.is_none() { return },
                _ = tokio::time::sleep_until(wake) => break,
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection, from connecting until it ends.
async fn connection(settings: &IrcSettings, link: &mut BridgeLink) -> Ended {
    let stream =
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&settings.server)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Ended::Lost(format!("cannot connect: {e}")),
            Err(_) => return Ended::Lost("cannot connect: timed out".into()),
        };
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut lines = FramedRead::new(read, LinesCodec::new_with_max_length(MAX_IRC_LINE));
    let mut session = IrcSession::new(settings.clone());
    let mut queue: VecDeque<String> = session.greeting().into();
    let mut tokens = SEND_BURST;
    let mut refill = Instant::now() + SEND_EVERY;
    let welcome_by = Instant::now() + CONNECT_TIMEOUT;
    loop {
        // Send what the pace allows.
        while tokens > 0
            && let Some(line) = queue.pop_front()
        {
            tokens -= 1;
            let mut bytes = line.into_bytes();
            bytes.extend_from_slice(b"\r\n");
            if let Err(e) = write.write_all(&bytes).await {
                return Ended::Lost(format!("write failed: {e}"));
            }
        }
        tokio::select! {
            got = lines.next() => {
                let line = match got {
                    Some(Ok(line)) => line,
                    Some(Err(e)) => return Ended::Lost(format!("read failed: {e}")),
                    None => return Ended::Lost("the server closed the connection".into()),
                };
                for action in session.on_line(&line) {
                    match action {
                        IrcAction::Send(l) => queue.push_back(l),
                        IrcAction::Heard { nick, text, pose } => {
                            if !link.say(&nick, &text, pose).await {
                                return Ended::GameGone;
                            }
                        }
                        IrcAction::Status(s) => {
                            info!(server = %settings.server, "IRC bridge: {s}");
                            if !link.status(s).await {
                                return Ended::GameGone;
                            }
                        }
                        IrcAction::Closed(why) => return Ended::Lost(format!("the server said: {why}")),
                    }
                }
            }
            line = link.next() => {
                let Some(line) = line else {
                    let _ = write.write_all(b"QUIT :the game is stopping\r\n").await;
                    return Ended::GameGone;
                };
                if session.joined() {
                    queue.extend(session.say(&line));
                    while queue.len() > MAX_SEND_QUEUE {
                        queue.pop_front();
                    }
                }
            }
            _ = tokio::time::sleep_until(refill) => {
                tokens = (tokens + 1).min(SEND_BURST);
                refill = Instant::now() + SEND_EVERY;
            }
            _ = tokio::time::sleep_until(welcome_by), if !session.registered => {
                return Ended::Lost("no welcome from the server".into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> IrcSettings {
        IrcSettings {
            channel: "Public".into(),
            server: "127.0.0.1:6667".into(),
            irc_channel: "#tavern".into(),
            nick: "tavbot".into(),
            password: String::new(),
            channel_key: String::new(),
        }
    }

    fn sent(actions: &[IrcAction]) -> Vec<&str> {
        actions
            .iter()
            .filter_map(|a| match a {
                IrcAction::Send(l) => Some(l.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn it_registers_takes_another_nick_when_taken_and_joins_after_the_welcome() {
        let mut s = IrcSession::new(settings());
        assert_eq!(
            s.greeting(),
            ["NICK tavbot", "USER tavbot 0 * :Tavern channel bridge"]
        );
        let a = s.on_line(":irc.test 433 * tavbot :Nickname already in use");
        assert_eq!(sent(&a), ["NICK tavbot_"]);
        let a = s.on_line(":irc.test 001 tavbot_ :Welcome");
        assert_eq!(sent(&a), ["JOIN #tavern"]);
        assert!(!s.joined());
        s.on_line(":tavbot_!u@h JOIN :#tavern");
        assert!(s.joined());
        assert_eq!(sent(&s.on_line("PING :irc.test")), ["PONG :irc.test"]);
        // Kicked: it joins again.
        let a = s.on_line(":op!u@h KICK #tavern tavbot_ :out");
        assert_eq!(sent(&a), ["JOIN #tavern"]);
        assert!(!s.joined());
    }

    #[test]
    fn channel_messages_become_lines_and_nothing_else_does() {
        let mut s = IrcSession::new(settings());
        assert_eq!(
            s.on_line(":bob!b@h PRIVMSG #Tavern :\u{2}hello\u{2} \u{3}04there"),
            vec![IrcAction::Heard {
                nick: "bob".into(),
                text: "hello there".into(),
                pose: false
            }]
        );
        assert_eq!(
            s.on_line(":bob!b@h PRIVMSG #tavern :\u{1}ACTION waves\u{1}"),
            vec![IrcAction::Heard {
                nick: "bob".into(),
                text: "waves".into(),
                pose: true
            }]
        );
        // Private messages, CTCP, our own echo, empty and unparsable lines: nothing.
        for line in [
            ":bob!b@h PRIVMSG tavbot :psst",
            ":bob!b@h PRIVMSG #tavern :\u{1}VERSION\u{1}",
            ":tavbot!u@h PRIVMSG #tavern :me",
            ":bob!b@h PRIVMSG #tavern :\u{3}",
            "",
            ":",
            ":x 999",
        ] {
            assert_eq!(s.on_line(line), vec![], "{line:?}");
        }
        assert!(matches!(
            s.on_line("ERROR :Closing link").as_slice(),
            [IrcAction::Closed(_)]
        ));
    }

    #[test]
    fn game_lines_become_privmsgs_that_cannot_inject_commands() {
        let s = IrcSession::new(settings());
        let line = |sender: &str, text: &str, pose| BridgeLine {
            channel: "Public".into(),
            sender: sender.into(),
            text: text.into(),
            pose,
        };
        assert_eq!(
            s.say(&line("Anna", "hi", false)),
            ["PRIVMSG #tavern :<Anna> hi"]
        );
        assert_eq!(
            s.say(&line("Anna", "waves", true)),
            ["PRIVMSG #tavern :* Anna waves"]
        );
        assert_eq!(
            s.say(&line("Anna", "x\r\nQUIT :bye\u{1}", false)),
            ["PRIVMSG #tavern :<Anna> xQUIT :bye"]
        );
        let long = "é".repeat(500);
        let parts = s.say(&line("", &long, false));
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.len() <= 420));
        let back: String = parts
            .iter()
            .map(|p| p.trim_start_matches("PRIVMSG #tavern :"))
            .collect();
        assert_eq!(back, long);
    }
}
