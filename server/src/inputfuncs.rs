//! Input functions: what the server does with input that is not a line of text
//! (Evennia's inputfuncs). Today: the MSDP commands `LIST`, `REPORT`,
//! `UNREPORT`, `SEND` and `RESET`, answered over MSDP for the variables below.
//! Sending reported variables again when they change is the job of the change
//! monitors (the live-data issue); `REPORT` answers with the current value.

use serde_json::{Value, json};
use tavern_shared::{Msg, SessId};

use crate::executor::Server;

/// Session data key: the MSDP variables this session has asked to be reported.
pub const MSDP_REPORTED: &str = "_msdp_reported";

const COMMANDS: &[&str] = &["LIST", "REPORT", "RESET", "SEND", "UNREPORT"];
const LISTS: &[&str] = &[
    "COMMANDS",
    "LISTS",
    "REPORTABLE_VARIABLES",
    "REPORTED_VARIABLES",
    "SENDABLE_VARIABLES",
];
/// The variables the server can tell right now.
pub const VARIABLES: &[&str] = &[
    "ACCOUNT_NAME",
    "CHARACTER_NAME",
    "ROOM_NAME",
    "ROOM_VNUM",
    "SERVER_ID",
    "SERVER_TIME",
];

/// Handles one non-text input; false if nothing handles that name.
pub fn dispatch(server: &mut Server, sessid: SessId, msg: &Msg) -> bool {
    let names: Vec<String> = msg
        .args
        .iter()
        .filter_map(|a| a.as_str().map(|s| s.to_uppercase()))
        .collect();
    match msg.cmd.as_str() {
        "msdp_list" => {
            for list in &names {
                let items: Vec<String> = match list.as_str() {
                    "COMMANDS" => COMMANDS.iter().map(|s| s.to_string()).collect(),
                    "LISTS" => LISTS.iter().map(|s| s.to_string()).collect(),
                    "REPORTABLE_VARIABLES" | "SENDABLE_VARIABLES" => {
                        VARIABLES.iter().map(|s| s.to_string()).collect()
                    }
                    "REPORTED_VARIABLES" => reported(server, sessid),
                    _ => continue,
                };
                send_msdp(server, sessid, list, json!(items));
            }
        }
        "msdp_report" => {
            let mut now = reported(server, sessid);
            for name in names.iter().filter(|n| VARIABLES.contains(&n.as_str())) {
                if !now.contains(name) {
                    now.push(name.clone());
                }
                send_variable(server, sessid, name);
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
        "msdp_send" => {
            for name in names.iter().filter(|n| VARIABLES.contains(&n.as_str())) {
                send_variable(server, sessid, name);
            }
        }
        _ => return false,
    }
    true
}

fn reported(server: &Server, sessid: SessId) -> Vec<String> {
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
    let msg = Msg::new(name)
        .arg(value)
        .kwarg("options", json!({"protocol": "msdp"}));
    server.send_msg(sessid, msg);
}

fn send_variable(server: &mut Server, sessid: SessId, name: &str) {
    let value = variable(server, sessid, name).unwrap_or(Value::String(String::new()));
    send_msdp(server, sessid, name, value);
}

/// The current value of an MSDP variable for this session.
pub fn variable(server: &Server, sessid: SessId, name: &str) -> Option<Value> {
    let puppet = server
        .session_puppet(sessid)
        .and_then(|p| server.world.get(p));
    let room = puppet
        .and_then(|p| p.location)
        .and_then(|l| server.world.get(l));
    Some(match name {
        "SERVER_ID" => json!(server.settings.game.name),
        "SERVER_TIME" => json!(tavern_shared::session::now_millis() / 1000),
        "ACCOUNT_NAME" => json!(server.session_account(sessid)?.name),
        "CHARACTER_NAME" => json!(puppet?.key),
        "ROOM_NAME" => json!(room?.key),
        "ROOM_VNUM" => json!(room?.id),
        _ => return None,
    })
}
