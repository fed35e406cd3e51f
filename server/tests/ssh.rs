//! Logging in over SSH, as the server sees it: the portal hands it the
//! account name and a password or a public key whose holder signed the
//! connection; players manage their keys with `sshkey`. (The SSH protocol
//! itself, with the real OpenSSH client, is in tests/live/protocols.rs.)

use serde_json::Value;
use tavern_server::Game;
use tavern_server::testing::{LoginProof, TEST_PASSWORD, TestGame};

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB9JqQ9J/TzqLbPWkwe5MWZ9A48Pg0Y/IdYqBI+9VeMb alice@home";
const OTHER_KEY: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDwBVn+STmEff1JPADMq7DEwxFnciXNCTlb6+0U2rLAD5EcuDoGV7MiLD+AJKpHFcFXPNrux1+aUjXwbkVwRqUSUDTnC/gnTIbHk5PRa2EaNVsDMA6+vGy6bSbX5IXUPIIwyfX89bKazlTp28iZkVpVPxIx7Pj9ih7+yaWNUn7iLwij6bX3lque/AZPKvlQw6qBqJMTvYDpu80A7pSJtn4ikm9XMCVWj6WAk9qYqvzqSe822RVTM3VxbE5xnyYZbuB/+4cEWXiUCaHM5hKRzed8vnt7EvE4xrvJQHLOIjgxAEJBJUnc5bmJinscKhx4ix3B3kU3xBG0KhURETkywyqr root@vm";

/// The `Char.Login.Result` the session heard: (success, message).
fn result(t: &mut TestGame, s: u64) -> (bool, String) {
    let got = t
        .oob(s)
        .into_iter()
        .find(|(name, _)| name.ends_with("Char.Login.Result"))
        .map(|(_, v)| v)
        .expect("the session hears how its log-in went");
    (
        got["success"].as_bool().unwrap_or(false),
        got.get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    )
}

/// The key as the portal sends it: no comment.
fn bare(key: &str) -> String {
    key.split(' ').take(2).collect::<Vec<_>>().join(" ")
}

#[test]
fn sshkey_adds_lists_and_removes_keys_and_refuses_nonsense() {
    let mut t = TestGame::new(Game::new());
    let alice = t.player("Alice");
    assert!(t.cmd(alice, "sshkey").contains("You have no SSH keys"));
    assert!(t.cmd(alice, "sshkey/add").starts_with("Usage: sshkey/add"));
    assert!(
        t.cmd(alice, "sshkey/add hello world")
            .contains("not an OpenSSH public key")
    );
    assert!(
        t.cmd(
            alice,
            "sshkey/add -----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXk"
        )
        .contains("private key")
    );
    assert_eq!(
        t.cmd(alice, "sshkey/zap 1"),
        "sshkey: unknown switch /zap. Its switches: /add, /del. Nothing was done."
    );
    assert!(t.cmd(alice, "sshkey somearg").starts_with("Usage:"));
    let added = t.cmd(alice, &format!("sshkey/add {KEY}"));
    assert!(added.starts_with("Key added: SHA256:"), "{added}");
    assert!(
        t.cmd(alice, &format!("sshkey/add {KEY}"))
            .contains("already have that key")
    );
    t.cmd(alice, &format!("sshkey/add {OTHER_KEY}"));
    let list = t.cmd(alice, "sshkey");
    assert!(list.contains("Your SSH keys (2):"), "{list}");
    assert!(
        list.contains(" 1. ssh-ed25519 SHA256:") && list.contains("alice@home"),
        "{list}"
    );
    assert!(list.contains(" 2. ssh-rsa SHA256:"), "{list}");
    // A bare or wrong /del removes nothing.
    assert!(t.cmd(alice, "sshkey/del").starts_with("Usage:"));
    assert!(
        t.cmd(alice, "sshkey/del 3")
            .contains("You have no key \"3\"")
    );
    assert!(
        t.cmd(alice, "sshkey/del SHA256:nope")
            .contains("You have no key")
    );
    assert!(t.cmd(alice, "sshkey").contains("(2)"));
    // The keys are saved with the account: a reload keeps them.
    t.reload();
    let alice = t.connect();
    t.login(alice, "Alice");
    assert!(t.cmd(alice, "sshkey").contains("(2)"));
    assert!(
        t.cmd(alice, "sshkey/del 2")
            .starts_with("Key removed: SHA256:")
    );
    let list = t.cmd(alice, "sshkey");
    assert!(list.contains("(1)") && !list.contains("ssh-rsa"), "{list}");
    // Someone else's keys are theirs.
    let bob = t.player("Bob");
    assert!(t.cmd(bob, "sshkey").contains("no SSH keys"));
}

#[test]
fn an_ssh_client_logs_in_with_a_listed_key_or_the_password_and_nothing_else() {
    let mut t = TestGame::new(Game::new());
    let alice = t.player("Alice");
    t.cmd(alice, &format!("sshkey/add {KEY}"));

    // A listed key logs in, to the character, as any log-in does.
    let s = t.connect_by("ssh");
    t.authenticate(s, "alice", LoginProof::PublicKey(bare(KEY)));
    assert_eq!(result(&mut t, s), (true, String::new()));
    assert!(t.logged_in(s));
    assert!(t.puppet(s).is_some(), "in the game as Alice");
    assert!(t.heard(s).contains("Alice"), "the room is shown");

    // A key that is not listed, a name that does not exist, a wrong password.
    for (name, proof) in [
        ("Alice", LoginProof::PublicKey(bare(OTHER_KEY))),
        ("Nobody", LoginProof::PublicKey(bare(KEY))),
        ("Alice", LoginProof::Password("wrong".into())),
        ("Alice", LoginProof::PublicKey("ssh-ed25519 junk".into())),
    ] {
        let s = t.connect_by("ssh");
        t.authenticate(s, name, proof);
        let (ok, message) = result(&mut t, s);
        assert!(!ok, "{name}");
        assert_eq!(message, "Username and/or password is incorrect.");
        assert!(!t.logged_in(s));
    }

    // The password works as it does for `connect`.
    let by_password = t.connect_by("ssh");
    t.authenticate(
        by_password,
        "Alice",
        LoginProof::Password(TEST_PASSWORD.into()),
    );
    assert!(result(&mut t, by_password).0);
    assert!(t.logged_in(by_password));

    // Only the portal's SSH sessions log in this way: a telnet session's
    // claim is ignored (a public key proves nothing by itself).
    let telnet = t.connect();
    t.authenticate(telnet, "Alice", LoginProof::PublicKey(bare(KEY)));
    assert!(!t.logged_in(telnet));
    assert!(t.oob(telnet).is_empty());

    // A removed key logs in no more. (One session per account here: the
    // telnet session of the start was taken over by the first SSH log-in.)
    assert!(t.disconnected(alice).is_some());
    assert!(
        t.cmd(by_password, "sshkey/del 1")
            .starts_with("Key removed")
    );
    let s = t.connect_by("ssh");
    t.authenticate(s, "Alice", LoginProof::PublicKey(bare(KEY)));
    assert!(!result(&mut t, s).0);
}

#[test]
fn a_banned_account_is_refused_over_ssh_too() {
    let mut t = TestGame::new(Game::new());
    let warden = t.player("Warden");
    t.grant(warden, "Developer");
    let alice = t.player("Alice");
    t.cmd(alice, &format!("sshkey/add {KEY}"));
    t.cmd(alice, "quit");
    let asked = t.cmd(warden, "ban Alice : testing");
    assert!(asked.contains("[Y]/N"), "{asked}");
    let banned = t.cmd(warden, "y");
    assert!(banned.starts_with("Ban #1 added"), "{banned}");
    let s = t.connect_by("ssh");
    t.authenticate(s, "Alice", LoginProof::PublicKey(bare(KEY)));
    let (ok, message) = result(&mut t, s);
    assert!(!ok);
    assert!(message.to_lowercase().contains("banned"), "{message}");
}
