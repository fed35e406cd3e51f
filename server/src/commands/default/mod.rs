//! The default commands, named and behaving as Evennia's: the connection
//! screen's (`connect`, `create`, ...), the account's (out of character:
//! `ic`, `ooc`, `charcreate`, `password`, ...), the character's (`look`,
//! `get`, `say`, ...), building, administration, help and flows.
//! [`Commands::default`] puts them in the default cmdsets every game starts
//! with; a game adds or replaces commands on top.
//!
//! Written against the same API as a game's own commands
//! ([`crate::commands::Command`], [`crate::commands::CmdCtx`]).

/// Builder commands share their lock and category.
macro_rules! builder_command {
    () => {
        fn locks(&self) -> &str {
            "cmd:perm(Builder)"
        }
        fn help_category(&self) -> &str {
            "Building"
        }
    };
}

pub mod account;
pub mod admin;
pub mod admin_tools;
pub mod batch;
pub mod builder_tools;
pub mod building;
pub mod channels;
pub mod comms;
pub mod flows;
pub mod general;
pub mod help;
pub mod spawn;
pub mod sshkeys;
pub mod timers;
pub mod unloggedin;

use std::sync::Arc;

use crate::commands::{CmdSet, Commands};

impl Default for Commands {
    /// Evennia's default cmdsets, with the default commands.
    fn default() -> Self {
        let mut unloggedin = CmdSet::new("DefaultUnloggedin");
        unloggedin::add_all(&mut unloggedin);
        let mut session = CmdSet::new("DefaultSession").with_priority(-20);
        account::add_session_commands(&mut session);
        let mut acct = CmdSet::new("DefaultAccount").with_priority(-10);
        account::add_all(&mut acct);
        acct.add(sshkeys::SshKeys);
        admin::add_all(&mut acct);
        admin_tools::add_all(&mut acct);
        channels::add_all(&mut acct);
        comms::add_account_commands(&mut acct);
        help::add_all(&mut acct);
        let mut character = CmdSet::new("DefaultCharacter");
        general::add_all(&mut character);
        building::add_all(&mut character);
        builder_tools::add_all(&mut character);
        spawn::add_all(&mut character);
        batch::add_all(&mut character);
        timers::add_all(&mut character);
        comms::add_character_commands(&mut character);
        character.add(flows::Flows);
        help::add_all(&mut character);
        Self {
            unloggedin: Arc::new(unloggedin),
            session: Arc::new(session),
            account: Arc::new(acct),
            character: Arc::new(character),
            named: Default::default(),
        }
    }
}
