//! `sshkey`: the public keys an account logs in with over SSH.

use crate::commands::{CmdCtx, Command};
use crate::model::ssh_keys::{self, MAX_SSH_KEYS, SSH_KEYS_ATTR, SshKey};

/// `sshkey[/add|/del]`: list, add or remove your SSH public keys.
pub struct SshKeys;

const USAGE: &str =
    "Usage: sshkey  |  sshkey/add <public key>  |  sshkey/del <number or fingerprint>";

impl Command for SshKeys {
    fn key(&self) -> &str {
        "sshkey"
    }
    fn aliases(&self) -> &[&str] {
        &["sshkeys"]
    }
    fn switches(&self) -> &[&str] {
        &["add", "del"]
    }
    fn help(&self) -> &str {
        "sshkey\nsshkey/add <public key>\nsshkey/del <number or fingerprint>\n\n\
         Log in over SSH with a key instead of your password. On your computer, \
         `ssh-keygen -t ed25519` makes a key pair; paste the one line of the public \
         half (the .pub file, starting ssh-ed25519, ssh-rsa or ecdsa-) after \
         sshkey/add. Never paste the private key. Then `ssh -p <port> <your \
         account>@<the game's host>` logs you in without a password. \
         sshkey lists your keys with their fingerprints (as `ssh-keygen -l` shows \
         them); sshkey/del removes one by its number in the list or its fingerprint."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(account) = ctx.account() else { return };
        let keys = ctx
            .server
            .world
            .accounts
            .get(&account)
            .map(ssh_keys::keys_of)
            .unwrap_or_default();
        let arg = ctx.args.trim().to_string();
        if ctx.has_switch("add") {
            add(ctx, account, keys, &arg);
        } else if ctx.has_switch("del") {
            remove(ctx, account, keys, &arg);
        } else if !arg.is_empty() {
            ctx.msg(USAGE);
        } else {
            list(ctx, &keys);
        }
    }
}

fn list(ctx: &mut CmdCtx<'_>, keys: &[SshKey]) {
    let ports = &ctx.server.settings.portal.ssh_ports;
    let how = if ports.is_empty() {
        "This game has no SSH port open at the moment."
    } else {
        "Log in with: ssh -p <the game's SSH port> <your account>@<the game's host>"
    };
    if keys.is_empty() {
        ctx.msg(format!(
            "You have no SSH keys. Add one with sshkey/add <public key> (see help sshkey).\n{how}"
        ));
        return;
    }
    let mut lines = vec![format!("|wYour SSH keys ({}):|n", keys.len())];
    for (i, k) in keys.iter().enumerate() {
        let kind = k.key.split(' ').next().unwrap_or("");
        let comment = if k.comment.is_empty() {
            String::new()
        } else {
            format!(" {}", k.comment)
        };
        lines.push(format!(" {}. {} {}{comment}", i + 1, kind, k.fingerprint));
    }
    lines.push(how.to_string());
    ctx.msg(lines.join("\n"));
}

fn add(ctx: &mut CmdCtx<'_>, account: i64, mut keys: Vec<SshKey>, arg: &str) {
    if arg.is_empty() {
        ctx.msg("Usage: sshkey/add <public key> (the one line of your .pub file)");
        return;
    }
    let key = match ssh_keys::parse(arg) {
        Ok(k) => k,
        Err(problem) => {
            ctx.msg(problem.to_string());
            return;
        }
    };
    if keys.iter().any(|k| k.key == key.key) {
        ctx.msg(format!("You already have that key ({}).", key.fingerprint));
        return;
    }
    if keys.len() >= MAX_SSH_KEYS {
        ctx.msg(format!(
            "You have {MAX_SSH_KEYS} keys, the most an account may have: remove one first."
        ));
        return;
    }
    let fingerprint = key.fingerprint.clone();
    keys.push(key);
    ctx.server
        .world
        .update_account(account, |a| a.set_attr(SSH_KEYS_ATTR, &keys));
    tracing::info!(account, %fingerprint, "SSH key added");
    ctx.msg(format!(
        "Key added: {fingerprint}. You can now log in over SSH with it."
    ));
}

fn remove(ctx: &mut CmdCtx<'_>, account: i64, mut keys: Vec<SshKey>, arg: &str) {
    if arg.is_empty() {
        ctx.msg("Usage: sshkey/del <number or fingerprint> (sshkey lists them)");
        return;
    }
    let at = match arg.parse::<usize>() {
        Ok(n) if n >= 1 && n <= keys.len() => Some(n - 1),
        Ok(_) => None,
        Err(_) => keys.iter().position(|k| {
            k.fingerprint == arg || k.fingerprint.strip_prefix("SHA256:") == Some(arg)
        }),
    };
    let Some(at) = at else {
        ctx.msg(format!(
            "You have no key {arg:?}. sshkey lists your keys with their numbers."
        ));
        return;
    };
    let gone = keys.remove(at);
    ctx.server.world.update_account(account, |a| {
        if keys.is_empty() {
            a.del_attr(SSH_KEYS_ATTR);
        } else {
            a.set_attr(SSH_KEYS_ATTR, &keys);
        }
    });
    tracing::info!(account, fingerprint = %gone.fingerprint, "SSH key removed");
    ctx.msg(format!(
        "Key removed: {}. It no longer logs you in.",
        gone.fingerprint
    ));
}
