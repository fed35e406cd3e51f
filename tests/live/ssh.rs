//! SSH, with the real OpenSSH client against the real binaries on loopback:
//! a public key added in game logs in; a password does too (and a wrong one
//! does not); the terminal's size reaches the game as NAWS would; typing is
//! echoed, edited, and kept on its line under other players' output; the
//! connection survives `tavern reload`; the host key outlives the portal;
//! `new` gets the connection screen; a command instead of a shell is refused.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tavern_tests::{LiveGame, PATIENCE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};

/// A program from PATH.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The options every `ssh` here runs with: its own known_hosts, under one
/// alias whatever the port (so the host key is checked across restarts),
/// no agent or config of the machine's user.
fn ssh_args(dir: &Path, port: u16) -> Vec<String> {
    [
        "-F",
        "/dev/null",
        "-p",
        &port.to_string(),
        "-o",
        "HostKeyAlias=tavern-test",
        "-o",
        &format!("UserKnownHostsFile={}", dir.join("known_hosts").display()),
        "-o",
        "IdentityAgent=none",
        "-o",
        "ConnectTimeout=10",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// An `ssh` process in a pseudo-terminal of a known size (script(1)), typed
/// into and read like a player's terminal.
struct Terminal {
    child: Child,
    stdin: ChildStdin,
    out: Arc<Mutex<Vec<u8>>>,
    /// How much of `out` the expectations have consumed.
    seen: usize,
}

impl Terminal {
    fn start(command: &str, env: &[(&str, &str)]) -> Self {
        let script = find_program("script").expect("script(1)");
        let mut cmd = Command::new(script);
        cmd.arg("-q")
            .arg("-f")
            .arg("-e")
            .arg("-c")
            .arg(format!("stty cols 132 rows 40; exec {command}"))
            .arg("/dev/null")
            .env("TERM", "xterm-256color")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start script(1)");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = out.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Self {
            child,
            stdin,
            out,
            seen: 0,
        }
    }

    /// Everything the terminal showed so far, as text.
    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// Waits until `needle` appears after what was already expected; returns
    /// the bytes up to and including it.
    async fn expect(&mut self, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            {
                let out = self.out.lock().unwrap();
                let text = String::from_utf8_lossy(&out[self.seen.min(out.len())..]).into_owned();
                if let Some(at) = text.find(needle) {
                    let upto = at + needle.len();
                    self.seen += text[..upto].len();
                    return text[..upto].to_string();
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the terminal never showed {needle:?}; it shows:\n{}",
                self.screen()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Types keys (raw bytes: `\r` is Enter).
    async fn keys(&mut self, keys: &str) {
        self.stdin.write_all(keys.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// Waits for `ssh` to exit; its status.
    async fn exit(&mut self) -> std::process::ExitStatus {
        tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("ssh exits")
            .unwrap()
    }
}

fn skip() -> bool {
    if find_program("ssh").is_none()
        || find_program("ssh-keygen").is_none()
        || find_program("script").is_none()
    {
        eprintln!("skipped: the OpenSSH client or script(1) is not installed");
        return true;
    }
    false
}

fn ssh_port(game: &LiveGame) -> u16 {
    game.runtime().unwrap()["ssh_ports"][0].as_u64().unwrap() as u16
}

#[tokio::test(flavor = "multi_thread")]
async fn openssh_plays_with_a_key_through_a_reload_and_the_host_key_stays() {
    if skip() {
        return;
    }
    let mut game = LiveGame::new("ssh", "[portal]\nssh_ports = [0]\n").start();
    let dir = game.dir.clone();
    let key = dir.join("alice_key");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "alice@laptop", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();

    // Alice adds her key over telnet; Bob watches the room.
    let mut alice = game.login("Alice", "alicepass1").await;
    alice.send(&format!("sshkey/add {}", public.trim())).await;
    alice.expect("Key added: SHA256:").await;
    alice.send("quit").await;
    alice.expect_closed().await;
    let mut bob = game.login("Bob", "bobpass12").await;

    let port = ssh_port(&game);
    let ssh = |extra: &str| {
        format!(
            "ssh {} -o StrictHostKeyChecking={extra} -o BatchMode=yes -o IdentitiesOnly=yes -i {} alice@127.0.0.1",
            ssh_args(&dir, port).join(" "),
            key.display()
        )
    };
    let mut term = Terminal::start(&ssh("accept-new"), &[]);
    term.expect("You become").await;
    term.expect("Alice").await;

    // The pseudo-terminal's size and name reach the game.
    term.keys("option\r").await;
    let shown = term.expect("Your choices:").await;
    assert!(shown.contains("Protocol:      ssh"), "{shown}");
    assert!(shown.contains("Screen:        132x40"), "{shown}");
    assert!(shown.contains("Client:        xterm-256color"), "{shown}");

    // Typing is echoed and edited here: a backspace takes the u back.
    term.keys("sau\x7fy hello from ssh\r").await;
    bob.expect("Alice says, \"hello from ssh\"").await;
    term.expect("You say, \"hello from ssh\"").await;

    // Bob speaks while Alice is half-way through a line: her typing is
    // taken off the line, his words shown, and her typing put back.
    term.keys("say half").await;
    term.expect("say half").await;
    bob.send("say ping").await;
    let shown = term.expect("Bob says, \"ping\"\r\nsay half").await;
    assert!(
        shown.contains("\r\x1b[K"),
        "the typed line was cleared first: {shown:?}"
    );
    term.keys(" done\r").await;
    bob.expect("Alice says, \"half done\"").await;

    // A reload: the SSH connection is the portal's, and stays.
    game.tavern_ok(&["reload"]);
    term.keys("say after the reload\r").await;
    bob.expect("Alice says, \"after the reload\"").await;

    // quit: the last words arrive, then ssh ends cleanly.
    term.keys("quit\r").await;
    term.expect("Quitting. Hope to see you again, soon.").await;
    assert!(term.exit().await.success());
    bob.expect("Alice has left the game").await;

    // A command instead of a shell is refused with a reason.
    let exec = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{} look", ssh("yes")))
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(exec.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&exec.stderr).contains("This is a game, not a shell"),
        "{exec:?}"
    );

    // The host key outlives the portal: after a stop and a start (on another
    // free port), ssh still knows the game (StrictHostKeyChecking=yes).
    let host_key = std::fs::read(game.data_dir().join("ssh/ssh_host_ed25519_key")).unwrap();
    game.tavern_ok(&["stop"]);
    assert!(game.wait_portal_exit(PATIENCE));
    game.spawn_portal();
    assert_eq!(
        std::fs::read(game.data_dir().join("ssh/ssh_host_ed25519_key")).unwrap(),
        host_key
    );
    let port = ssh_port(&game);
    let again = format!(
        "ssh {} -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes -i {} alice@127.0.0.1",
        ssh_args(&dir, port).join(" "),
        key.display()
    );
    let mut term = Terminal::start(&again, &[]);
    term.expect("You become").await;
    // Ctrl-D on an empty line hangs up.
    term.keys("\x04").await;
    assert!(term.exit().await.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn openssh_logs_in_with_the_password_and_new_players_get_the_connection_screen() {
    if skip() {
        return;
    }
    let game = LiveGame::new("ssh-pass", "[portal]\nssh_ports = [0]\n").start();
    let dir = game.dir.clone();
    let mut carol = game.login("Carol", "carolpass1").await;
    carol.send("quit").await;
    carol.expect_closed().await;
    let port = ssh_port(&game);
    let askpass = |password: &str| {
        let path = dir.join(format!("askpass-{password}.sh"));
        std::fs::write(&path, format!("#!/bin/sh\necho '{password}'\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    };
    let ssh = |user: &str| {
        format!(
            "ssh {} -o StrictHostKeyChecking=accept-new -o PubkeyAuthentication=no \
             -o NumberOfPasswordPrompts=1 {user}@127.0.0.1",
            ssh_args(&dir, port).join(" ")
        )
    };

    // A wrong password: refused by ssh itself, nothing of the game shown.
    let wrong = askpass("not-her-password");
    let mut term = Terminal::start(
        &ssh("carol"),
        &[("SSH_ASKPASS", &wrong), ("SSH_ASKPASS_REQUIRE", "force")],
    );
    term.expect("Permission denied").await;
    assert!(!term.exit().await.success());
    assert!(!term.screen().contains("Limbo"));

    // The right one logs in, whatever the case of the name.
    let right = askpass("carolpass1");
    let mut term = Terminal::start(
        &ssh("carol"),
        &[("SSH_ASKPASS", &right), ("SSH_ASKPASS_REQUIRE", "force")],
    );
    term.expect("You become").await;
    term.keys("look\r").await;
    term.expect("Limbo").await;
    term.keys("quit\r").await;
    assert!(term.exit().await.success());

    // `new`, without a password: the connection screen, to make an account.
    let mut term = Terminal::start(&ssh("new"), &[]);
    term.expect("create <username> <password>").await;
    term.keys("create Dave davepass1\r").await;
    term.expect("was created").await;
    term.keys("connect Dave davepass1\r").await;
    term.expect("You become").await;
    term.keys("quit\r").await;
    assert!(term.exit().await.success());

    // No password reached a log.
    let logs = game.all_logs();
    for secret in ["not-her-password", "carolpass1", "davepass1"] {
        assert!(!logs.contains(secret), "{secret} is in the logs");
    }
}
