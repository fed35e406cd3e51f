//! The commands of the connection screen, with Evennia's syntax and words:
//! `connect`, `create`, `quit`, `look`, `help`.

use crate::commands::{CmdCtx, CmdSet, Command, split_args};
use crate::model::names::{name_problem_for_players, normalize};
use crate::model::world::{Account, Kind, Object};
use crate::runtime::passwords::hash_password;
use crate::runtime::server::{Completion, Server};
use crate::store::{self, DbError};

/// Adds the connection screen's commands.
pub fn add_all(set: &mut CmdSet) {
    set.add(Connect).add(Create).add(Quit).add(Look).add(Help);
}

use crate::runtime::login::start_login;
pub use crate::runtime::login::{BAD_LOGIN_MSG, LOGIN_THROTTLED_MSG};
/// Told when an address created too many accounts.
pub const CREATE_THROTTLED_MSG: &str =
    "|RYou are creating too many accounts. Try again in a few minutes.|n";

/// `connect <name> <password>`: log in.
pub struct Connect;

impl Command for Connect {
    fn key(&self) -> &str {
        "connect"
    }
    fn aliases(&self) -> &[&str] {
        &["conn", "con", "co"]
    }
    fn help(&self) -> &str {
        "connect <name> <password>\n\nConnect to the game with an existing account. \
         Put a name with spaces in quotes: connect \"Anna Bell\" secret"
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let parts = split_args(&ctx.args);
        let (name, password) = match parts.as_slice() {
            [name, password] => (name.clone(), password.clone()),
            [name] => {
                // The password is asked for with echo off, so it never shows on screen.
                let name = name.clone();
                ctx.ask("Password: ", true, move |server, sessid, password| {
                    start_login(server, sessid, name, password, false);
                });
                return;
            }
            _ => {
                ctx.msg("\n Usage (without <>): connect <name> <password>");
                return;
            }
        };
        start_login(ctx.server, ctx.sessid, name, password, false);
    }
}

/// `create <name> <password>`: make an account (and, by default, its character).
pub struct Create;

impl Command for Create {
    fn key(&self) -> &str {
        "create"
    }
    fn aliases(&self) -> &[&str] {
        &["cre", "cr"]
    }
    fn help(&self) -> &str {
        "create <name> <password>\n\nCreate a new account, and a character of the same name. \
         Put a name with spaces in quotes: create \"Anna Bell\" secret"
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let parts = split_args(&ctx.args);
        let [name, password] = parts.as_slice() else {
            ctx.msg("\n Usage (without <>): create <name> <password>\nIf <name> or <password> contains spaces, enclose it in double quotes.");
            return;
        };
        if !ctx.server.settings.server.new_account_registration {
            ctx.msg("Registration is currently disabled.");
            return;
        }
        if let Some(ban) = ctx.server.ban_for(ctx.sessid, Some(name)) {
            ctx.msg(crate::runtime::actions::banned_msg(&ban));
            return;
        }
        if let Some(problem) = name_problem_for_players(name) {
            ctx.msg(problem);
            return;
        }
        let min = ctx.server.settings.security.min_password_length;
        if password.chars().count() < min {
            ctx.msg(format!(
                "Your password must be at least {min} characters long."
            ));
            return;
        }
        let ip = ctx
            .server
            .sessions
            .get(ctx.sessid)
            .map(|s| s.ip().to_string())
            .unwrap_or_default();
        // Counted as it starts: creations made at once cannot slip past the limit.
        if !ctx.server.creation_throttle.take(&ip, ctx.server.now()) {
            ctx.msg(CREATE_THROTTLED_MSG);
            return;
        }
        let (name, password) = (normalize(name), password.clone());
        let db = ctx.server.db.clone();
        let security = ctx.server.settings.security.clone();
        let start_room = ctx.server.world.start_room;
        let with_character = ctx
            .server
            .settings
            .server
            .auto_create_character_with_account;
        let typeclass = ctx
            .server
            .game
            .typeclasses
            .default_for(Kind::Character)
            .name()
            .to_string();
        let permission = ctx
            .server
            .settings
            .server
            .permission_account_default
            .clone();
        let sessid = ctx.sessid;
        let turns = ctx.server.db_turns.clone();
        ctx.server.spawn_for(sessid, async move {
            let created = async {
                let hash = hash_password(&security, password).await?;
                // A storm of new accounts waits its turn here, not in the pool.
                let _turn = turns.acquire().await.ok();
                let character = if with_character {
                    Some(store::NewCharacter {
                        id: store::reserve_ids(&db, 1).await?,
                        room: start_room,
                        typeclass: &typeclass,
                        hooks_pending: false,
                    })
                } else {
                    None
                };
                Ok::<_, CreateError>(
                    store::create_account(&db, &name, hash, false, &permission, character).await?,
                )
            }
            .await;
            let completion: Completion = Box::new(move |server: &mut Server| match created {
                Ok((account, character)) => {
                    server
                        .world
                        .accounts
                        .insert(account.id, Account::from(&account));
                    if let Some(c) = character {
                        let mut obj = Object::from(c);
                        let id = obj.id;
                        // A new character waits out of the world until first played.
                        obj.location = None;
                        server.world.insert_loaded(obj);
                        server.hook(id, "at_object_creation", (), |tc, s| {
                            tc.at_object_creation(s, id)
                        });
                    }
                    tracing::info!(sessid, account = account.id, "account created");
                    let id = account.id;
                    server
                        .account_hook("at_account_creation", |tc, s| tc.at_account_creation(s, id));
                    let connect = if name.contains(' ') {
                        format!("connect \"{name}\" <your password>")
                    } else {
                        format!("connect {name} <your password>")
                    };
                    server.msg_session(
                        sessid,
                        format!(
                            "A new account '{name}' was created. Welcome!\n\n\
                             You can now log in with the command '{connect}'."
                        ),
                    );
                }
                Err(CreateError::Db(DbError::NameTaken(_))) => {
                    // Nothing was made: the attempt does not count.
                    server.creation_throttle.forgive(&ip);
                    server.msg_session(
                        sessid,
                        format!("Sorry, there is already an account with the name '{name}'."),
                    )
                }
                Err(e) => {
                    server.creation_throttle.forgive(&ip);
                    tracing::error!(sessid, "account creation failed: {e}");
                    server.msg_session(
                        sessid,
                        "The account could not be created right now. Please try again.",
                    );
                }
            });
            completion
        });
    }
}

#[derive(Debug, thiserror::Error)]
enum CreateError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Hash(#[from] crate::runtime::passwords::PasswordError),
}

/// `quit`: close the connection.
pub struct Quit;

impl Command for Quit {
    fn key(&self) -> &str {
        "quit"
    }
    fn aliases(&self) -> &[&str] {
        &["q", "qu"]
    }
    fn help(&self) -> &str {
        "quit\n\nClose the connection."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        ctx.server
            .disconnect(ctx.sessid, Some("Good bye! Disconnecting.".into()));
    }
}

/// `look`: the connection screen again.
pub struct Look;

impl Command for Look {
    fn key(&self) -> &str {
        "look"
    }
    fn read_only(&self) -> bool {
        true
    }
    fn aliases(&self) -> &[&str] {
        &["l"]
    }
    fn help(&self) -> &str {
        "look\n\nShow the connection screen again."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let screen = ctx.server.connect_screen().to_string();
        ctx.msg(screen);
    }
}

/// `help`: how to connect.
pub struct Help;

impl Command for Help {
    fn key(&self) -> &str {
        "help"
    }
    fn read_only(&self) -> bool {
        true
    }
    fn aliases(&self) -> &[&str] {
        &["h", "?"]
    }
    fn help(&self) -> &str {
        "help\n\nHow to get into the game."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        ctx.msg(
            "You are not yet logged in.\n\n\
             |wcreate <name> <password>|n  makes a new account, with a character of the same name.\n\
             |wconnect <name> <password>|n logs in to an account you made before.\n\
             Put names with spaces in quotes: |wcreate \"Anna Bell\" secret|n\n\n\
             |wlook|n shows the connection screen again; |wquit|n disconnects.",
        );
    }
}
