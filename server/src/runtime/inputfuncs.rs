//! Input functions: what the server does with input that is not a line of text
//! (Evennia's inputfuncs). Today: the MSDP commands `LIST`, `REPORT`,
//! `UNREPORT`, `SEND` and `RESET`, answered over MSDP for the variables below
//! and those of the live-data feeds ([`crate::runtime::feeds`]). `REPORT` answers with
//! the current value; the feeds send it again whenever it changes.

use serde_json::{Value, json};
use tavern_shared::{Msg, SessId};

use crate::runtime::server::Server;

/// Session data key: the MSDP variables this session has asked to be reported.
pub const MSDP_REPORTED: &str = "_msdp_reported";

/// What the `echo` input function's answer starts with (Evennia's words).
pub const ECHO_PREFIX: &str = "Echo returns: ";

const COMMANDS: &[&str] = &["LIST", "REPORT", "RESET", "SEND", "UNREPORT"];
const LISTS: &[&str] = &[
    "COMMANDS",
    "LISTS",
    "REPORTABLE_VARIABLES",
    "REPORTED_VARIABLES",
    "SENDABLE_VARIABLES",
];
/// The variables the server tells besides those of the feeds. `CHANNELS`
/// is the list of channels the account listens to; `CHANNEL_TEXT`, once
/// reported, is sent for every channel line the player hears, as a table
/// `{CHANNEL, TALKER, TEXT}` (GMCP's `Comm.Channel.Text` for MSDP clients).
pub const VARIABLES: &[&str] = &[
    "ACCOUNT_NAME",
    "CHANNELS",
    "CHANNEL_TEXT",
    "SERVER_ID",
    "SERVER_TIME",
];

/// Every variable a client may ask for.
fn variables(server: &Server) -> Vec<String> {
    let mut v: Vec<String> = VARIABLES.iter().map(|s| s.to_string()).collect();
    v.extend(
        server
            .game
            .feeds
            .msdp_variables()
            .into_iter()
            .map(String::from),
    );
    v.sort();
    v.dedup();
    v
}

/// Handles one non-text input; false if nothing handles that name.
pub fn dispatch(server: &mut Server, sessid: SessId, msg: &Msg) -> bool {
    let names: Vec<String> = msg
        .args
        .iter()
        .filter_map(|a| a.as_str().map(|s| s.to_uppercase()))
        .collect();
    match msg.cmd.as_str() {
        // Mudlet's GMCP log-in: `Char.Login.Credentials {"account", "password"}`
        // (an empty one: the client knows none, and the player types them).
        "char_login_credentials" => {
            let field = |k: &str| msg.kwargs.get(k).and_then(|v| v.as_str()).unwrap_or("");
            let name = match field("account") {
                "" => field("character"),
                n => n,
            };
            let password = field("password");
            let logged_in = server
                .sessions
                .get(sessid)
                .is_some_and(|s| s.sync.logged_in);
            if server.settings.server.gmcp_login
                && !logged_in
                && !name.is_empty()
                && !password.is_empty()
                && name.len() <= 80
                && password.len() <= 1024
            {
                crate::runtime::login::start_login(
                    server,
                    sessid,
                    name.to_string(),
                    password.to_string(),
                    true,
                );
            }
        }
        // Tab completion (the webclient).
        "complete" => {
            if let Some(line) = msg.args.first().and_then(|a| a.as_str()) {
                let line = line.to_string();
                server.complete(sessid, &line);
            }
        }
        // A reconnected webclient resumes its dropped session.
        "resume" => {
            if let Some(token) = msg.args.first().and_then(|a| a.as_str()) {
                let token = token.to_string();
                server.resume(sessid, &token);
            }
        }
        "msdp_list" => {
            for list in &names {
                let items: Vec<String> = match list.as_str() {
                    "COMMANDS" => COMMANDS.iter().map(|s| s.to_string()).collect(),
                    "LISTS" => LISTS.iter().map(|s| s.to_string()).collect(),
                    "REPORTABLE_VARIABLES" | "SENDABLE_VARIABLES" => variables(server),
                    "REPORTED_VARIABLES" => reported(server, sessid),
                    _ => continue,
                };
                send_msdp(server, sessid, list, json!(items));
            }
        }
        "msdp_report" => {
            let known = variables(server);
            let mut now = reported(server, sessid);
            for name in names.iter().filter(|n| known.contains(n)) {
                if !now.contains(name) {
                    now.push(name.clone());
                }
                let value = send_variable(server, sessid, name);
                // What the client has now: the feeds send it again only on a change.
                server
                    .feed_states
                    .entry(sessid)
                    .or_default()
                    .msdp
                    .insert(name.clone(), value);
            }
            set_reported(server, sessid, now);
        }
        "msdp_unreport" => {
            let now = reported(server, sessid)
                .into_iter()
                .filter(|n| !names.contains(n))
                .collect();
            set_reported(server, sessid, now);
        }
        "msdp_reset" => set_reported(server, sessid, Vec::new()),
        // Evennia's `echo`: the arguments come back as text (GMCP
        // `Core.Echo`, or `["echo", [...], {}]` from a webclient). Load
        // tools mark the end of an answer with it.
        "echo" => {
            let parts: Vec<String> = msg
                .args
                .iter()
                .map(|a| match a {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            // Markup in what was sent is shown, not applied.
            let text = format!("{ECHO_PREFIX}{}", parts.join(" ").replace('|', "||"));
            server.msg_session(sessid, text);
        }
        // GMCP `Comm.Channel.List` / `Comm.Channel.Players`, asked for.
        "comm_channel_list" => server.send_channel_list(sessid),
        "comm_channel_players" => server.send_channel_players(sessid),
        "msdp_send" => {
            let known = variables(server);
            for name in names.iter().filter(|n| known.contains(n)) {
                send_variable(server, sessid, name);
            }
        }
        other => {
            let data = match (msg.args.len(), msg.kwargs.is_empty()) {
                (0, true) => Value::Null,
                (1, true) => msg.args[0].clone(),
                _ => json!({"args": msg.args, "kwargs": msg.kwargs}),
            };
            return server.flow_oob(sessid, other, data);
        }
    }
    true
}

/// The MSDP variables a session asked to be reported.
pub(crate) fn reported(server: &Server, sessid: SessId) -> Vec<String> {
    server
        .sessions
        .get(sessid)
        .and_then(|s| s.data().get(MSDP_REPORTED))
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

fn set_reported(server: &mut Server, sessid: SessId, names: Vec<String>) {
    if let Some(s) = server.sessions.get_mut(sessid) {
        s.set_data(MSDP_REPORTED, json!(names));
    }
}

fn send_msdp(server: &mut Server, sessid: SessId, name: &str, value: Value) {
    server.send_msg(sessid, crate::runtime::feeds::msdp(name, value));
}

fn send_variable(server: &mut Server, sessid: SessId, name: &str) -> Value {
    let value = variable(server, sessid, name).unwrap_or(Value::String(String::new()));
    send_msdp(server, sessid, name, value.clone());
    value
}

/// The current value of an MSDP variable for this session.
pub fn variable(server: &Server, sessid: SessId, name: &str) -> Option<Value> {
    match name {
        "SERVER_ID" => return Some(json!(server.settings.game.name)),
        "SERVER_TIME" => return Some(json!(server.now() / 1000)),
        "ACCOUNT_NAME" => return Some(json!(server.session_account(sessid)?.name)),
        "CHANNELS" => {
            let account = server.session_account(sessid)?.id;
            let mut names: Vec<String> = server
                .world
                .channels
                .of_account(account)
                .into_iter()
                .filter_map(|c| server.world.channels.get(c))
                .map(|c| c.key.clone())
                .collect();
            names.sort();
            return Some(json!(names));
        }
        // Nothing until a line is said (a report is not a replay).
        "CHANNEL_TEXT" => return Some(json!({})),
        _ => {}
    }
    let puppet = server.session_puppet(sessid)?;
    let feed = server
        .game
        .feeds
        .iter()
        .find(|f| f.msdp_variables().contains(&name))?;
    let snapshot = feed.snapshot(server, puppet)?;
    feed.msdp(&snapshot)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}
