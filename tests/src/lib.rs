//! # tavern-tests
//!
//! Tavern's integration tests and the benchmarks that start real processes,
//! as a crate of their own (never published). The tests are by level:
//!
//! | level | harness | where |
//! |---|---|---|
//! | live binaries | [`LiveGame`]: the template game's binary (portal and server processes) on free ports, real telnet, TLS, websocket and browser clients | `live/` |
//! | in process | `tavern_server::testing::TestGame`: the real server in the test's process, players typing into it | `benches/feeds.rs`, `benches/commands.rs`, and every game's own tests |
//! | link | the server core driven with link messages (`tavern-server`'s own unit tests) | `server/src` |
//!
//! This library is the live-binary harness: a real game (the binary this
//! crate builds from the template's `main.rs`, see [`BIN`]) on free ports
//! in its own temporary data dir, and a real telnet client ([`Client`]).
//! Every process a test starts is killed when its [`LiveGame`] is dropped,
//! also when the test fails; the data dir is kept (and its path printed)
//! when the test failed, for the logs.

pub mod irc;
pub mod proxy;
pub mod webdriver;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The game binary under test: this crate's `tavern-under-test`, built from
/// the template game's own `main.rs` (Cargo builds it before a test of this
/// crate runs, beside the test executables' `deps/` directory).
pub static BIN: std::sync::LazyLock<PathBuf> = std::sync::LazyLock::new(|| {
    let exe = std::env::current_exe().expect("the test executable's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test executable is in target/<profile>/deps");
    let bin = dir.join("tavern-under-test");
    assert!(
        bin.is_file(),
        "{} is missing: run the tests with cargo",
        bin.display()
    );
    bin
});

/// How long any single expectation may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A game started from the binary under test, in a temporary directory of its own.
pub struct LiveGame {
    /// Its directory (settings, data).
    pub dir: PathBuf,
    /// The game binary this game runs (a copy, for tests that replace it).
    pub bin: PathBuf,
    /// Its settings file.
    pub settings: PathBuf,
    portal: Option<Child>,
    /// The telnet port the portal listens on, once started.
    pub telnet_port: u16,
}

/// The settings every test game gets: free ports, a cheap password hash (tests
/// measure behaviour, not argon2), and no throttles unless a test turns them on.
pub const TEST_SETTINGS: &str = r#"
[game]
data_dir = "data"
[portal]
interface = "127.0.0.1"
telnet_ports = [0]
web_port = 0
[link]
address = "127.0.0.1:0"
[security]
password_hash_memory_kib = 256
password_hash_iterations = 1
max_failed_logins = 0
max_account_creations = 0
max_connections_per_address = 0
max_new_connections_per_minute = 0
[server]
max_command_rate = 0
"#;

impl LiveGame {
    /// A new game dir with the test settings plus `extra` TOML appended.
    pub fn new(name: &str, extra: &str) -> Self {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tavern-it-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let settings = dir.join("game.toml");
        std::fs::write(&settings, merge_toml(TEST_SETTINGS, extra)).unwrap();
        Self {
            dir,
            bin: BIN.clone(),
            settings,
            portal: None,
            telnet_port: 0,
        }
    }

    /// Runs this game from a copy of the binary in its own dir, which a test may replace.
    pub fn with_binary_copy(mut self) -> Self {
        let bin = self.dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        self.bin = bin.join("tavern");
        std::fs::copy(&*BIN, &self.bin).unwrap();
        self
    }

    /// Replaces the binary on disk the way a rebuild does: a new file renamed over the old.
    pub fn replace_binary(&self) {
        let tmp = self.bin.with_extension("new");
        std::fs::copy(&*BIN, &tmp).unwrap();
        std::fs::rename(&tmp, &self.bin).unwrap();
    }

    /// Starts `tavern start` and waits until the portal listens.
    pub fn start(mut self) -> Self {
        self.spawn_portal();
        self
    }

    /// Starts the portal (`tavern start`) and waits until it listens and
    /// has a server process.
    pub fn spawn_portal(&mut self) {
        let log = std::fs::File::create(self.dir.join("portal.stderr")).unwrap();
        let child = Command::new(&self.bin)
            .arg("--settings")
            .arg(&self.settings)
            .arg("start")
            .env("RUST_LOG", "debug")
            .env_remove("TAVERN_LINK_ADDRESS")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the tavern binary");
        let pid = child.id();
        self.portal = Some(child);
        let deadline = Instant::now() + PATIENCE;
        loop {
            // The portal writes its file once it listens and again once it
            // has started (or adopted) a server: a test may ask for the
            // server's pid as soon as this returns.
            if let Some(rt) = self.runtime()
                && rt["portal_pid"].as_u64() == Some(pid as u64)
                && rt["server_pid"].as_u64().is_some()
            {
                self.telnet_port = rt["telnet_ports"][0].as_u64().unwrap() as u16;
                return;
            }
            if let Some(Ok(Some(status))) = self.portal.as_mut().map(|c| c.try_wait()) {
                panic!("the portal exited at start ({status}):\n{}", self.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "the portal did not start:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The game's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// What the running portal wrote to data_dir/portal.json.
    pub fn runtime(&self) -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(self.data_dir().join("portal.json")).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The server process, by `portal.json`.
    pub fn server_pid(&self) -> Option<u32> {
        self.runtime()?["server_pid"].as_u64().map(|p| p as u32)
    }

    /// The portal process, by `portal.json`.
    pub fn portal_pid(&self) -> Option<u32> {
        self.portal.as_ref().map(Child::id)
    }

    /// Runs a launcher command (`status`, `reload`, `account create ...`) against this game.
    pub fn tavern(&self, args: &[&str]) -> Output {
        run_tavern(&self.settings, args)
    }

    /// Like [`tavern`](Self::tavern), failing the test unless it succeeds; returns stdout.
    pub fn tavern_ok(&self, args: &[&str]) -> String {
        run_tavern_ok(&self.settings, args)
    }

    /// What the portal (and the server it started) wrote to standard error.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("portal.stderr")).unwrap_or_default()
    }

    /// Everything the processes logged: their stderr and the log files.
    pub fn all_logs(&self) -> String {
        let mut all = self.stderr();
        if let Ok(dir) = std::fs::read_dir(self.data_dir().join("logs")) {
            for f in dir.flatten() {
                all.push_str(&std::fs::read_to_string(f.path()).unwrap_or_default());
            }
        }
        all
    }

    /// The port of the webclient and websocket.
    pub fn web_port(&self) -> u16 {
        self.runtime().unwrap()["web_port"].as_u64().unwrap() as u16
    }

    /// A telnet client connected to the game.
    pub async fn connect(&self) -> Client {
        Client::connect(self.telnet_port).await
    }

    /// A telnet client connected to another port of the game.
    pub async fn connect_port(&self, port: u16) -> Client {
        Client::connect(port).await
    }

    /// A client that has created (if needed) and logged in to `name`.
    pub async fn login(&self, name: &str, password: &str) -> Client {
        let mut c = self.connect().await;
        c.expect("connect <username> <password>").await;
        c.send(&format!("create {} {password}", quote(name))).await;
        c.expect_any(&["was created", "already an account"]).await;
        c.send(&format!("connect {} {password}", quote(name))).await;
        c.expect(&format!("You become {name}.")).await;
        c
    }

    /// Waits for the portal process to exit by itself; returns whether it did in time.
    pub fn wait_portal_exit(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.portal.as_mut().map(|c| c.try_wait()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl LiveGame {
    /// A TLS connection to the game's first TLS port, trusting the
    /// certificate the portal generated for localhost.
    pub async fn tls_connect(&self) -> tokio_rustls::client::TlsStream<TcpStream> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, ServerName};
        use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
        let port = self.runtime().unwrap()["tls_ports"][0].as_u64().unwrap() as u16;
        let cert = self.data_dir().join("tls/cert.pem");
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(&cert).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let config = ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .expect("the TLS handshake succeeds against the generated certificate")
    }
}

/// Reads a stream until what it sent contains `needle` (all it sent is kept in `seen`).
pub async fn read_until(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    seen: &mut String,
    needle: &str,
) {
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {needle:?} in {seen}"))
            .unwrap_or(0);
        assert!(n > 0, "closed while waiting for {needle:?}: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

/// An extra portal of a [`LiveGame`] (`tavern portal` with `[portal] id`
/// above 0), killed when dropped.
pub struct ExtraPortal {
    /// Its `[portal] id`.
    pub id: u16,
    /// Its settings file.
    pub settings: PathBuf,
    /// Its telnet port.
    pub telnet_port: u16,
    child: Child,
    dir: PathBuf,
}

impl LiveGame {
    /// Starts extra portal `id` linking to the server at `server` (the
    /// game's `[link] portals`, or a proxy in front of it) and waits until
    /// it listens. It shares the game's data dir.
    pub fn spawn_extra_portal(&self, id: u16, server: &str) -> ExtraPortal {
        let settings = self.dir.join(format!("extra-{id}.toml"));
        let extra = format!("[portal]\nid = {id}\n[link]\nserver = \"{server}\"\n");
        std::fs::write(&settings, merge_toml(TEST_SETTINGS, &extra)).unwrap();
        let log = std::fs::File::create(self.dir.join(format!("portal-{id}.stderr"))).unwrap();
        let mut child = Command::new(&self.bin)
            .arg("--settings")
            .arg(&settings)
            .arg("portal")
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start an extra portal");
        let runtime = self.data_dir().join(format!("portal-{id}.json"));
        let deadline = Instant::now() + PATIENCE;
        loop {
            let rt: Option<serde_json::Value> = std::fs::read_to_string(&runtime)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok());
            if let Some(rt) = rt
                && rt["portal_pid"].as_u64() == Some(u64::from(child.id()))
            {
                let telnet_port = rt["telnet_ports"][0].as_u64().unwrap() as u16;
                return ExtraPortal {
                    id,
                    settings,
                    telnet_port,
                    child,
                    dir: self.dir.clone(),
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("extra portal {id} exited at start ({status})");
            }
            assert!(Instant::now() < deadline, "extra portal {id} did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl ExtraPortal {
    /// A telnet client connected to this portal.
    pub async fn connect(&self) -> Client {
        Client::connect(self.telnet_port).await
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it wrote to standard error.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("portal-{}.stderr", self.id)))
            .unwrap_or_default()
    }

    /// Waits for it to exit by itself; returns whether it did in time.
    pub fn wait_exit(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Kills it at once (SIGKILL), as a crash would.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ExtraPortal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LiveGame {
    fn drop(&mut self) {
        let server = self.server_pid();
        // A portal that took over from the one started here (`upgrade-portal`).
        let successor = self.runtime().and_then(|rt| rt["portal_pid"].as_u64());
        if let Some(pid) = successor.map(|p| p as u32)
            && Some(pid) != self.portal_pid()
            && pid_alive(pid)
        {
            kill(pid, libc::SIGKILL);
        }
        if let Some(mut c) = self.portal.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(pid) = server
            && pid_alive(pid)
        {
            kill(pid, libc::SIGKILL);
        }
        if std::thread::panicking() {
            eprintln!("test game kept for inspection: {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn quote(name: &str) -> String {
    if name.contains(' ') {
        format!("\"{name}\"")
    } else {
        name.to_string()
    }
}

/// A plain HTTP GET to 127.0.0.1:`port` with extra header lines: the
/// status code and the body.
pub async fn http_get(port: u16, path: &str, headers: &[&str]) -> (u16, String) {
    let (status, _, body) = http_request(port, "GET", path, headers, "").await;
    (status, body)
}

/// A plain HTTP request to 127.0.0.1:`port`: the status, the head and the body.
pub async fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("the web port answers");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    if method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, s.read_to_end(&mut raw))
        .await
        .expect("the answer came in time")
        .expect("read the answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (status, head.to_string(), body.to_string())
}

/// Runs a launcher command against the game of a settings file (usable from any thread).
pub fn run_tavern(settings: &Path, args: &[&str]) -> Output {
    Command::new(&*BIN)
        .arg("--settings")
        .arg(settings)
        .args(args)
        .env_remove("TAVERN_LINK_ADDRESS")
        .output()
        .expect("run the tavern binary")
}

/// Like [`run_tavern`], failing the test unless it succeeds; returns stdout.
pub fn run_tavern_ok(settings: &Path, args: &[&str]) -> String {
    let out = run_tavern(settings, args);
    assert!(
        out.status.success(),
        "tavern {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Appends `extra` to `base`, merging sections of the same name.
/// `base` with the tables of `extra` merged in (keys of `extra` win).
pub fn merge_toml(base: &str, extra: &str) -> String {
    let mut t: toml::Table = base.parse().unwrap();
    let e: toml::Table = extra.parse().unwrap();
    for (k, v) in e {
        match (t.get_mut(&k), v) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => a.extend(b),
            (_, v) => {
                t.insert(k, v);
            }
        }
    }
    toml::to_string(&t).unwrap()
}

/// Whether a process exists.
pub fn pid_alive(pid: u32) -> bool {
    // A zombie still answers kill(0); read its state to tell.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Sends a signal to a process.
pub fn kill(pid: u32, sig: i32) {
    // SAFETY: plain kill(2).
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// Waits until `cond` holds, or fails the test with `what`.
pub async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A telnet client that reads text with the telnet commands taken out.
pub struct Client {
    stream: TcpStream,
    /// Received text not yet consumed by an expectation.
    pub text: String,
    raw: Vec<u8>,
    /// Every byte received, telnet commands included.
    pub all_raw: Vec<u8>,
    /// Out-of-band messages received and not yet consumed: GMCP as
    /// `("gmcp", package, json)`, MSDP as `("msdp", variable, value)`.
    pub oob: Vec<(String, String, String)>,
    closed: bool,
}

/// Telnet option numbers the tests negotiate.
pub const GMCP: u8 = 201;
/// The MSDP telnet option.
pub const MSDP: u8 = 69;

impl Client {
    /// Connects to a port on loopback.
    pub async fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect to the portal");
        Self {
            stream,
            text: String::new(),
            raw: Vec::new(),
            all_raw: Vec::new(),
            oob: Vec::new(),
            closed: false,
        }
    }

    /// Accepts the portal's GMCP and MSDP offers (IAC DO GMCP, IAC DO MSDP).
    pub async fn accept_oob(&mut self) {
        self.send_raw(&[255, 253, GMCP, 255, 253, MSDP]).await;
    }

    /// Sends a GMCP message: `package` and its JSON payload text.
    pub async fn send_gmcp(&mut self, package: &str, json: &str) {
        let mut b = vec![255, 250, GMCP];
        b.extend_from_slice(format!("{package} {json}").trim_end().as_bytes());
        b.extend_from_slice(&[255, 240]);
        self.send_raw(&b).await;
    }

    /// Sends an MSDP command with its arguments (`REPORT`, `HEALTH`).
    pub async fn send_msdp(&mut self, command: &str, args: &[&str]) {
        let mut b = vec![255, 250, MSDP, 1];
        b.extend_from_slice(command.as_bytes());
        for a in args {
            b.push(2);
            b.extend_from_slice(a.as_bytes());
        }
        b.extend_from_slice(&[255, 240]);
        self.send_raw(&b).await;
    }

    /// Waits for an out-of-band message of `kind` ("gmcp" / "msdp") named
    /// `name` whose payload satisfies `pred`; consumes it and everything
    /// received before it; returns the payload.
    pub async fn expect_oob(
        &mut self,
        kind: &str,
        name: &str,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(i) = self
                .oob
                .iter()
                .position(|(k, n, p)| k == kind && n == name && pred(p))
            {
                let (_, _, payload) = self.oob.drain(..=i).next_back().unwrap();
                return payload;
            }
            assert!(!self.closed, "closed while waiting for {kind} {name}");
            if tokio::time::timeout_at(deadline, self.read_some())
                .await
                .is_err()
            {
                panic!("timed out waiting for {kind} {name}; got {:?}", self.oob);
            }
        }
    }

    /// The out-of-band messages of `kind` named `name` received so far (and
    /// not consumed), as payloads.
    pub fn oob_named(&self, kind: &str, name: &str) -> Vec<String> {
        self.oob
            .iter()
            .filter(|(k, n, _)| k == kind && n == name)
            .map(|(_, _, p)| p.clone())
            .collect()
    }

    /// Sends a line (CR LF is added).
    pub async fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .expect("send a line");
    }

    /// Sends bytes as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("send bytes");
    }

    /// Reads whatever arrives within `d` (or until the server closes).
    pub async fn read_for(&mut self, d: Duration) {
        let deadline = tokio::time::Instant::now() + d;
        while !self.closed {
            match tokio::time::timeout_at(deadline, self.read_some()).await {
                Ok(()) => {}
                Err(_) => return,
            }
        }
    }

    async fn read_some(&mut self) {
        let mut buf = [0u8; 16384];
        match self.stream.read(&mut buf).await {
            Ok(0) | Err(_) => self.closed = true,
            Ok(n) => {
                self.all_raw.extend_from_slice(&buf[..n]);
                self.raw.extend_from_slice(&buf[..n]);
                let mut subs = Vec::new();
                let text = strip_telnet_keep(&mut self.raw, &mut subs);
                for (opt, payload) in subs {
                    let text = String::from_utf8_lossy(&payload).into_owned();
                    match opt {
                        GMCP => {
                            let (pkg, json) = text.split_once(' ').unwrap_or((&text, ""));
                            self.oob.push(("gmcp".into(), pkg.into(), json.into()));
                        }
                        MSDP => {
                            // VAR name VAL value (a scalar value is enough for the tests).
                            let mut parts = payload.split(|&b| b == 1 || b == 2).skip(1);
                            if let (Some(var), Some(val)) = (parts.next(), parts.next()) {
                                self.oob.push((
                                    "msdp".into(),
                                    String::from_utf8_lossy(var).into(),
                                    String::from_utf8_lossy(val).into(),
                                ));
                            }
                        }
                        _ => {}
                    }
                }
                self.text
                    .push_str(&strip_ansi(&String::from_utf8_lossy(&text)));
            }
        }
    }

    /// Waits until the received text contains `needle`; returns the text up to
    /// and including it, and consumes it.
    pub async fn expect(&mut self, needle: &str) -> String {
        self.expect_any(&[needle]).await
    }

    /// Waits for the first of several texts.
    pub async fn expect_any(&mut self, needles: &[&str]) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some((pos, n)) = needles
                .iter()
                .filter_map(|n| self.text.find(n).map(|p| (p, n.len())))
                .min()
            {
                let upto = pos + n;
                let got = self.text[..upto].to_string();
                self.text.drain(..upto);
                return got;
            }
            assert!(
                !self.closed,
                "connection closed while waiting for {needles:?}; got:\n{}",
                self.text
            );
            if tokio::time::timeout_at(deadline, self.read_some())
                .await
                .is_err()
            {
                panic!("timed out waiting for {needles:?}; got:\n{}", self.text);
            }
        }
    }

    /// Waits until the server closes the connection; returns what came before.
    pub async fn expect_closed(&mut self) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !self.closed {
            if tokio::time::timeout_at(deadline, self.read_some())
                .await
                .is_err()
            {
                panic!("the connection was not closed; got:\n{}", self.text);
            }
        }
        std::mem::take(&mut self.text)
    }

    /// Whether the server closed the connection.
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

/// Takes the telnet commands out of `raw`, leaving an incomplete one at the
/// end in place; keeps each subnegotiation as (option, payload).
pub fn strip_telnet_keep(raw: &mut Vec<u8>, subs: &mut Vec<(u8, Vec<u8>)>) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != 255 {
            out.push(b);
            i += 1;
            continue;
        }
        let Some(&cmd) = raw.get(i + 1) else { break };
        match cmd {
            255 => {
                out.push(255);
                i += 2;
            }
            251..=254 => {
                if i + 2 >= raw.len() {
                    break;
                }
                i += 3;
            }
            250 => match raw[i..].windows(2).position(|w| w == [255, 240]) {
                Some(end) => {
                    if end >= 3 {
                        let mut payload = Vec::new();
                        let body = &raw[i + 3..i + end];
                        let mut j = 0;
                        while j < body.len() {
                            payload.push(body[j]);
                            j += if body[j] == 255 && body.get(j + 1) == Some(&255) {
                                2
                            } else {
                                1
                            };
                        }
                        subs.push((raw[i + 2], payload));
                    }
                    i += end + 2
                }
                None => break,
            },
            _ => i += 2,
        }
    }
    raw.drain(..i);
    out
}

/// Text without its ANSI colour codes.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else if c != '\r' {
            out.push(c);
        }
    }
    out
}

/// Reads a file's text, empty if missing.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
