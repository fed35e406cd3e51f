//! A real IRC server for the bridge tests: ngircd (Debian's `ngircd`,
//! installed by `.ci/run`) on a free loopback port, in the foreground, killed
//! when dropped. Where ngircd is not installed, [`IrcServer::start`] returns
//! `None` and the test says it is skipped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::{Client, wait_for};

/// A running ngircd.
pub struct IrcServer {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
}

/// Where ngircd is, if it is installed.
pub fn ngircd() -> Option<PathBuf> {
    [
        "/usr/sbin/ngircd",
        "/usr/bin/ngircd",
        "/usr/local/sbin/ngircd",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl IrcServer {
    /// Starts ngircd on a free port (or on `port`, to come back where it
    /// was) and waits until it accepts connections.
    pub async fn start(port: Option<u16>) -> Option<Self> {
        let bin = ngircd()?;
        let port = port.unwrap_or_else(free_port);
        let dir = std::env::temp_dir().join(format!("tavern-ircd-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for ngircd");
        let conf = dir.join("ngircd.conf");
        std::fs::write(
            &conf,
            format!(
                "[Global]\nName = irc.tavern.test\nInfo = Tavern test IRC server\n\
                 Listen = 127.0.0.1\nPorts = {port}\n\
                 [Limits]\nMaxConnectionsIP = 0\nPingTimeout = 120\n\
                 [Options]\nDNS = no\nIdent = no\nPAM = no\n"
            ),
        )
        .expect("write ngircd.conf");
        let log = std::fs::File::create(dir.join("ngircd.log")).expect("ngircd's log");
        let child = Command::new(bin)
            .args(["-n", "-f"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start ngircd");
        let server = Self {
            child: Some(child),
            port,
            dir,
        };
        wait_for("ngircd to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        })
        .await;
        Some(server)
    }

    /// Kills it (its port is free again once this returns).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Its log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("ngircd.log")).unwrap_or_default()
    }
}

impl Drop for IrcServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An IRC user: connected, registered as `nick`, and in `channel` (the
/// end of its names list seen).
pub async fn irc_user(port: u16, nick: &str, channel: &str) -> Client {
    let mut c = Client::connect(port).await;
    c.send(&format!("NICK {nick}")).await;
    c.send(&format!("USER {nick} 0 * :{nick}")).await;
    c.expect(&format!(" 001 {nick} ")).await;
    c.send(&format!("JOIN {channel}")).await;
    c.expect(" 366 ").await;
    c
}
