//! `tavern upgrade-portal` under players: the running portal hands its
//! listeners and its telnet connections, with their protocol state, to a
//! new portal process from the binary on disk (SCM_RIGHTS over a Unix
//! socket). Telnet players — one with MCCP2 compression — keep typing and
//! see nothing but their answers, each exactly once; a TLS player is asked
//! to reconnect and does; the new portal supervises the same server, reloads
//! it, and can itself be upgraded again.

use flate2::{Decompress, FlushDecompress, Status};
use tavern_tests::{LiveGame, PATIENCE, read_until, strip_ansi, strip_telnet_keep};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PW: &str = "new-doors-4412";
/// MCCP2's start marker.
const MARKER: [u8; 5] = [255, 250, 86, 255, 240];

/// A telnet client that asks for MCCP2 and inflates what comes, following
/// the stream as it ends and starts again.
struct MccpClient {
    stream: TcpStream,
    inbox: Vec<u8>,
    raw: Vec<u8>,
    z: Option<Decompress>,
    text: String,
    /// Compressed streams begun and finished.
    starts: usize,
    ends: usize,
}

impl MccpClient {
    async fn connect(port: u16) -> Self {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.write_all(&[255, 253, 86]).await.unwrap(); // IAC DO MCCP2
        Self {
            stream,
            inbox: Vec::new(),
            raw: Vec::new(),
            z: None,
            text: String::new(),
            starts: 0,
            ends: 0,
        }
    }

    async fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
    }

    fn plain(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
        let text = strip_telnet_keep(&mut self.raw, &mut Vec::new());
        self.text
            .push_str(&strip_ansi(&String::from_utf8_lossy(&text)));
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.inbox.extend_from_slice(bytes);
        loop {
            match &mut self.z {
                Some(z) => {
                    if self.inbox.is_empty() {
                        return;
                    }
                    let mut out = Vec::with_capacity(self.inbox.len() * 8 + 4096);
                    let before = z.total_in();
                    let status = z
                        .decompress_vec(&self.inbox, &mut out, FlushDecompress::None)
                        .expect("a valid MCCP2 stream");
                    let used = (z.total_in() - before) as usize;
                    self.inbox.drain(..used);
                    self.plain(&out);
                    if status == Status::StreamEnd {
                        self.z = None;
                        self.ends += 1;
                    } else if used == 0 && out.is_empty() {
                        return;
                    }
                }
                None => match self.inbox.windows(5).position(|w| w == MARKER) {
                    Some(pos) => {
                        let before: Vec<u8> = self.inbox.drain(..pos + 5).collect();
                        self.plain(&before[..pos]);
                        self.z = Some(Decompress::new(true));
                        self.starts += 1;
                    }
                    None => {
                        // A marker's first bytes at the end wait for the rest.
                        let keep = (1..=4)
                            .rev()
                            .find(|&k| self.inbox.ends_with(&MARKER[..k]))
                            .unwrap_or(0);
                        let plain: Vec<u8> = self.inbox.drain(..self.inbox.len() - keep).collect();
                        self.plain(&plain);
                        return;
                    }
                },
            }
        }
    }

    /// Waits for `needle`; returns the text up to it, consumed.
    async fn expect(&mut self, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut buf = vec![0u8; 16384];
        loop {
            if let Some(pos) = self.text.find(needle) {
                let got: String = self.text.drain(..pos + needle.len()).collect();
                return got;
            }
            let n = tokio::time::timeout_at(deadline, self.stream.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {needle:?}; got:\n{}", self.text))
                .unwrap_or(0);
            assert!(
                n > 0,
                "closed while waiting for {needle:?}; got:\n{}",
                self.text
            );
            self.feed(&buf[..n]);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_is_upgraded_under_typing_players_and_no_telnet_player_is_dropped() {
    let game = LiveGame::new("upgrade", "[portal]\ntls_ports = [0]\n")
        .with_binary_copy()
        .start();
    let old_portal = game.portal_pid().unwrap();
    let mut alice = MccpClient::connect(game.telnet_port).await;
    alice.expect("connect <username> <password>").await;
    alice.send(&format!("create Alice {PW}")).await;
    alice.expect("was created").await;
    alice.send(&format!("connect Alice {PW}")).await;
    alice.expect("You become Alice.").await;
    assert_eq!(alice.starts, 1, "Alice's client speaks MCCP2");
    let mut bob = game.login("Bob", PW).await;
    let mut carol = game.tls_connect().await;
    let mut seen = String::new();
    read_until(&mut carol, &mut seen, "connect <username> <password>").await;
    carol
        .write_all(format!("create Carol {PW}\r\n").as_bytes())
        .await
        .unwrap();
    read_until(&mut carol, &mut seen, "was created").await;
    let server = game.server_pid().expect("a server runs");

    // A hand-over to a binary that cannot take over fails, and changes nothing:
    // every connection stays with the running portal.
    std::fs::write(game.bin.with_extension("broken"), "#!/bin/sh\nexit 3\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let broken = game.bin.with_extension("broken");
        std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&broken, &game.bin).unwrap();
    }
    let failed = game.tavern(&["upgrade-portal"]);
    assert!(!failed.status.success());
    let why = String::from_utf8_lossy(&failed.stderr);
    assert!(
        why.contains("exited at start") && why.contains("stays with this portal"),
        "{why}"
    );
    alice.send("say still here").await;
    alice.expect("You say, \"still here\"").await;
    bob.expect("Alice says, \"still here\"").await;
    assert_eq!(
        game.runtime().unwrap()["portal_pid"].as_u64(),
        Some(u64::from(old_portal))
    );

    // A rebuild puts a new binary on disk; the portal is handed over to it
    // while Alice types, one line after another.
    game.replace_binary();
    let settings = game.settings.clone();
    let upgrade = tokio::task::spawn_blocking(move || {
        tavern_tests::run_tavern_ok(&settings, &["upgrade-portal"])
    });
    let mut n = 0;
    while !upgrade.is_finished() || n < 10 {
        alice.send(&format!("say line {n}")).await;
        alice.expect(&format!("You say, \"line {n}\"")).await;
        n += 1;
        assert!(n < 10_000, "the upgrade never finished");
    }
    let said = upgrade.await.unwrap();
    assert!(said.contains("2 telnet connections carried over"), "{said}");
    assert!(
        said.contains("1 connection (TLS, SSH, webclient) asked to reconnect"),
        "{said}"
    );
    for i in n..n + 5 {
        alice.send(&format!("say line {i}")).await;
        alice.expect(&format!("You say, \"line {i}\"")).await;
    }
    n += 5;
    // Compression was finished and started afresh each time the connection
    // stopped: at the failed attempt (it went on here) and at the hand-over.
    assert_eq!((alice.starts, alice.ends), (3, 2));
    // Bob heard every line once, in order.
    bob.send("note heard-all").await;
    let heard = bob.expect("Noted: heard-all").await;
    let mut at = 0;
    for i in 0..n {
        let line = format!("Alice says, \"line {i}\"");
        assert_eq!(heard.matches(&line).count(), 1, "{line} in:\n{heard}");
        let pos = heard.find(&line).unwrap();
        assert!(pos >= at, "out of order at {line}");
        at = pos;
    }

    // Carol's TLS connection could not move: she was asked to reconnect.
    read_until(&mut carol, &mut seen, "please connect again").await;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, carol.read_to_end(&mut rest)).await;
    let mut carol = game.tls_connect().await;
    let mut seen = String::new();
    read_until(&mut carol, &mut seen, "connect <username> <password>").await;
    carol
        .write_all(format!("connect Carol {PW}\r\n").as_bytes())
        .await
        .unwrap();
    read_until(&mut carol, &mut seen, "Welcome to Tavern, Carol").await;

    // Another portal process runs; the old one is gone; the server is the same.
    let mut game = game;
    assert!(game.wait_portal_exit(PATIENCE), "the old portal exited");
    let rt = game.runtime().unwrap();
    let new_portal = rt["portal_pid"].as_u64().unwrap() as u32;
    assert_ne!(new_portal, old_portal);
    assert!(tavern_tests::pid_alive(new_portal));
    assert_eq!(
        game.server_pid(),
        Some(server),
        "the server did not restart"
    );

    // The new portal supervises it: a reload keeps Alice, Bob and Carol.
    let text = game.tavern_ok(&["reload"]);
    assert!(text.contains("Reload"), "{text}");
    alice.send("say after the reload").await;
    alice.expect("You say, \"after the reload\"").await;
    bob.expect("Alice says, \"after the reload\"").await;
    // And it can be upgraded in turn.
    let said = game.tavern_ok(&["upgrade-portal"]);
    assert!(
        said.contains("2 telnet connections carried over; 1 connection (TLS"),
        "{said}"
    );
    alice.send("say twice upgraded").await;
    alice.expect("You say, \"twice upgraded\"").await;
    bob.expect("Alice says, \"twice upgraded\"").await;
    assert!(!bob.is_closed());
    let logs = game.all_logs();
    assert!(!logs.contains("panicked"), "{logs}");
    game.tavern_ok(&["stop"]);
}
