//! SSH: players log in with their account's password or with a public key
//! they added in game (`sshkey`), and play in their terminal.
//!
//! The SSH protocol is russh's; what is Tavern's is here and in
//! [`tavern_protocol::terminal`]: the host key (made on first start, kept in
//! the data dir), the log-in (the server checks the password or the key, as
//! for any log-in: bans, throttles), and the shell: keys echoed and edited
//! here, the PTY's size as NAWS would give it, output rendered for the
//! terminal's colours. The user name `new` (no password) gets the
//! connection screen, to make an account as over telnet.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use russh::keys::PrivateKey;
use russh::server::{Auth, ChannelOpenHandle, Handle, Msg as SshMsg, Session};
use russh::{Channel, ChannelId, MethodKind, MethodSet, Pty};
use tavern_protocol::terminal::{TermEvent, Terminal};
use tavern_shared::link::LoginProof;
use tavern_shared::session::ProtocolFlags;
use tavern_shared::{Msg, SessId, Settings};
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, debug, debug_span, warn};

use crate::gate::ConnectionGate;
use crate::outbox::OutboxReceiver;
use crate::session::{SessionEvent, SessionOut, announce};

/// The user name that logs in without a password, to the connection screen.
pub(crate) const GUEST_USER: &str = "new";
/// How long the server may take to answer a log-in: longer than a log-in
/// waits for a server during a reload, so that one is always answered.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(crate::handler::LOGIN_WAIT.as_secs() + 10);
/// How long a connection may take to log in (or to say `new`).
const LOGIN_DEADLINE: Duration = Duration::from_secs(120);
/// How long the SSH handshake may take to begin.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to hang up after its channel is closed.
const HANGUP_GRACE: Duration = Duration::from_secs(5);
/// How long one write may wait on a client that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Messages kept for a client that logged in but has not opened its shell
/// yet; one that keeps the game waiting longer is dropped.
const MAX_WAITING: usize = 1024;
/// Told to a client that asks to run a command instead of a shell.
const NO_EXEC_MSG: &str = "This is a game, not a shell: log in without a command \
(ssh -t) and play.\r\n";

/// Where the host key lives: `[portal] ssh_host_key`, or data_dir/ssh/.
pub(crate) fn host_key_path(settings: &Settings) -> PathBuf {
    if settings.portal.ssh_host_key.as_os_str().is_empty() {
        settings
            .game
            .data_dir
            .join("ssh")
            .join("ssh_host_ed25519_key")
    } else {
        settings.portal.ssh_host_key.clone()
    }
}

/// The host key at `path`, made (ed25519, readable by the game's user
/// only) if there is none yet: players' clients remember it, so it must
/// outlive restarts.
pub(crate) fn host_key(path: &Path) -> anyhow::Result<PrivateKey> {
    if !path.exists() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot make {}", dir.display()))?;
        }
        let seed: [u8; 32] = rand::random();
        let pair = russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&seed);
        let key = PrivateKey::from(pair);
        let text = key
            .to_openssh(russh::keys::ssh_key::LineEnding::LF)
            .context("cannot encode the SSH host key")?;
        write_private(path, text.as_bytes())
            .with_context(|| format!("cannot write the SSH host key {}", path.display()))?;
        tracing::info!(path = %path.display(), fingerprint = %key.public_key().fingerprint(Default::default()), "made an SSH host key");
    }
    russh::keys::load_secret_key(path, None)
        .with_context(|| format!("cannot read the SSH host key {}", path.display()))
}

/// Writes a new file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// russh's settings for the game's SSH ports.
pub(crate) fn config(key: PrivateKey, settings: &Settings) -> Arc<russh::server::Config> {
    let mut methods = MethodSet::empty();
    methods.push(MethodKind::PublicKey);
    methods.push(MethodKind::Password);
    Arc::new(russh::server::Config {
        server_id: russh::SshId::Standard("SSH-2.0-Tavern".into()),
        methods,
        keys: vec![key],
        // Wrong passwords are slowed down by the server's throttles; this
        // keeps a rejection from telling how far a check got.
        auth_rejection_time: Duration::from_millis(300),
        auth_rejection_time_initial: Some(Duration::ZERO),
        max_auth_attempts: 6,
        // Players idle for hours; the keepalive finds dead connections.
        inactivity_timeout: None,
        keepalive_interval: (settings.portal.keepalive_secs > 0)
            .then(|| Duration::from_secs(settings.portal.keepalive_secs)),
        keepalive_max: 3,
        nodelay: true,
        ..Default::default()
    })
}

/// What a connection needs from the portal.
#[derive(Clone)]
pub(crate) struct SshParams {
    pub config: Arc<russh::server::Config>,
    pub hub: mpsc::Sender<SessionEvent>,
    pub max_line: usize,
    pub max_queued_output: usize,
}

/// Accepts SSH connections until the portal stops.
pub(crate) async fn accept(
    mut listener: crate::upgrade::Listener,
    gate: Arc<ConnectionGate>,
    next_sessid: Arc<AtomicU64>,
    params: SshParams,
) {
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                warn!("ssh accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let Some(permit) = gate.admit(addr.ip(), std::time::Instant::now()) else {
            warn!(%addr, "refused an SSH connection: too many from that address");
            continue;
        };
        let sessid = next_sessid.fetch_add(1, Ordering::Relaxed);
        let params = params.clone();
        let span = debug_span!("session", sessid, %addr, protocol = "ssh");
        tokio::spawn(
            async move {
                let _permit = permit;
                serve(stream, addr, sessid, params).await;
            }
            .instrument(span),
        );
    }
}

/// One SSH connection, from the handshake to its close.
async fn serve(stream: tokio::net::TcpStream, addr: SocketAddr, sessid: SessId, params: SshParams) {
    let (ctl_tx, ctl_rx) = mpsc::channel(64);
    let conn = SshConnection {
        sessid,
        addr,
        params: params.clone(),
        driver: ctl_tx,
        announced: false,
        shell: None,
    };
    let running = match tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        russh::server::run_stream(params.config.clone(), stream, conn),
    )
    .await
    {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            debug!("ssh handshake failed: {e}");
            return;
        }
        Err(_) => {
            debug!("ssh handshake timed out");
            return;
        }
    };
    let handle = running.handle();
    let driver = tokio::spawn(
        Driver::new(sessid, params, handle)
            .run(ctl_rx)
            .in_current_span(),
    );
    if let Err(e) = running.await {
        debug!("ssh connection ended: {e}");
    }
    let _ = driver.await;
}

/// What the connection's callbacks tell its driver.
enum Ctl {
    /// The session exists: its output arrives here.
    Announced(OutboxReceiver<SessionOut>),
    /// A log-in was asked of the server: say how it went.
    AwaitLogin(oneshot::Sender<bool>),
    /// Logged in as the guest: show the connection screen.
    Guest,
    /// The shell channel is open.
    Shell(ChannelId),
    /// A pseudo-terminal: `TERM` and size.
    Pty { term: String, cols: u32, rows: u32 },
    /// `COLORTERM` from the client's environment.
    ColorTerm(String),
    /// The window changed size.
    Resize { cols: u32, rows: u32 },
    /// Bytes the player typed.
    Data(Vec<u8>),
    /// A command instead of a shell: refused.
    Exec(ChannelId),
}

/// russh's handler for one connection: it answers the protocol's requests
/// and hands everything else to the connection's [`Driver`].
struct SshConnection {
    sessid: SessId,
    addr: SocketAddr,
    params: SshParams,
    driver: mpsc::Sender<Ctl>,
    announced: bool,
    shell: Option<ChannelId>,
}

impl SshConnection {
    /// Makes the portal session (once), at the first log-in attempt: a
    /// scanner that never tries to log in costs the game nothing.
    async fn announce(&mut self) -> bool {
        if self.announced {
            return true;
        }
        let mut flags = ProtocolFlags::new();
        flags.ansi = false;
        flags.xterm256 = false;
        let Some(rx) = announce(
            &self.params.hub,
            self.sessid,
            self.addr,
            "ssh",
            flags,
            self.params.max_queued_output,
        )
        .await
        else {
            return false;
        };
        self.announced = true;
        self.driver.send(Ctl::Announced(rx)).await.is_ok()
    }

    /// Asks the server to log the session in.
    async fn login(&mut self, user: &str, proof: LoginProof) -> Auth {
        let user: String = user.chars().take(64).collect();
        if user.is_empty() || !self.announce().await {
            return Auth::reject();
        }
        let (tx, rx) = oneshot::channel();
        if self.driver.send(Ctl::AwaitLogin(tx)).await.is_err() {
            return Auth::reject();
        }
        let ask = SessionEvent::Authenticate {
            sessid: self.sessid,
            account: user,
            proof,
        };
        if self.params.hub.send(ask).await.is_err() {
            return Auth::reject();
        }
        match tokio::time::timeout(LOGIN_TIMEOUT, rx).await {
            Ok(Ok(true)) => Auth::Accept,
            _ => Auth::reject(),
        }
    }
}

impl russh::server::Handler for SshConnection {
    type Error = russh::Error;

    async fn auth_none(&mut self, user: &str) -> Result<Auth, Self::Error> {
        if user == GUEST_USER {
            if self.driver.send(Ctl::Guest).await.is_err() || !self.announce().await {
                return Ok(Auth::reject());
            }
            return Ok(Auth::Accept);
        }
        Ok(Auth::reject())
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        if user == GUEST_USER {
            return self.auth_none(user).await;
        }
        Ok(self
            .login(user, LoginProof::Password(password.to_string()))
            .await)
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let Ok(line) = key.public_key.to_openssh() else {
            return Ok(Auth::reject());
        };
        Ok(self.login(user, LoginProof::PublicKey(line)).await)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<SshMsg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // One game per connection: a second channel is refused.
        if self.shell.is_some() {
            reply
                .reject(russh::ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        }
        self.shell = Some(channel.id());
        // Input comes through `data` below; the channel's own queue is not read.
        drop(channel);
        reply.accept().await;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        col_width: u32,
        row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let _ = self
            .driver
            .send(Ctl::Pty {
                term: term.chars().take(64).collect(),
                cols: col_width,
                rows: row_height,
            })
            .await;
        session.channel_success(channel)?;
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if name == "COLORTERM" {
            let _ = self
                .driver
                .send(Ctl::ColorTerm(value.chars().take(16).collect()))
                .await;
            session.channel_success(channel)?;
        } else {
            session.channel_failure(channel)?;
        }
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        let _ = self.driver.send(Ctl::Shell(channel)).await;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        let _ = self.driver.send(Ctl::Exec(channel)).await;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // No sftp or the like: there are no files here.
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn window_change_request(
        &mut self,
        _channel: ChannelId,
        col_width: u32,
        row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let _ = self
            .driver
            .send(Ctl::Resize {
                cols: col_width,
                rows: row_height,
            })
            .await;
        Ok(())
    }

    async fn data(
        &mut self,
        _channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Bounded: a client that types faster than the game takes it waits.
        let _ = self.driver.send(Ctl::Data(data.to_vec())).await;
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Piped input ended (`echo look | ssh …`): the last line counts.
        let _ = self.driver.send(Ctl::Data(b"\n".to_vec())).await;
        Ok(())
    }
}

/// The task that carries one connection's session: the game's output to the
/// terminal, the player's keys through the line editor to the game.
struct Driver {
    sessid: SessId,
    params: SshParams,
    handle: Handle,
    term: Terminal,
    out: Option<OutboxReceiver<SessionOut>>,
    /// A log-in waiting for the server's answer.
    pending_login: Option<oneshot::Sender<bool>>,
    /// Logged in (or the guest): output is for the player. Before that,
    /// what the game says (the connection screen, "wrong password") is not:
    /// the SSH client tells the player itself.
    admitted: bool,
    /// Output kept until the shell opens.
    waiting: Vec<Msg>,
    shell: Option<ChannelId>,
    /// What the client's `ssh` exits with.
    exit_status: u32,
}

/// Why a driver stopped.
enum End {
    Client,
    /// Ctrl-D on an empty line.
    Hangup,
    Server(Option<String>),
    Portal,
}

impl Driver {
    fn new(sessid: SessId, params: SshParams, handle: Handle) -> Self {
        let term = Terminal::new(params.max_line);
        Self {
            sessid,
            params,
            handle,
            term,
            out: None,
            pending_login: None,
            admitted: false,
            waiting: Vec::new(),
            shell: None,
            exit_status: 0,
        }
    }

    async fn run(mut self, mut ctl: mpsc::Receiver<Ctl>) {
        let deadline = tokio::time::sleep(LOGIN_DEADLINE);
        tokio::pin!(deadline);
        let end = loop {
            tokio::select! {
                // A log-in's waiter is registered before its answer can arrive.
                biased;
                c = ctl.recv() => match c {
                    None => break End::Client,
                    Some(c) => if let Some(end) = self.control(c).await {
                        break end;
                    },
                },
                out = recv(&mut self.out) => match out {
                    None => break End::Portal,
                    Some(SessionOut::Msgs(msgs)) => {
                        if !self.output(&msgs).await {
                            break End::Client;
                        }
                    }
                    Some(SessionOut::Close(why)) => break End::Server(why),
                    Some(SessionOut::HandOver) => {
                        break End::Server(Some(crate::session::RECONNECT_MSG.into()));
                    }
                    Some(SessionOut::Choices(c)) => self.term.choices = c,
                },
                () = &mut deadline, if !self.admitted => {
                    break End::Server(Some("You took too long to log in.".into()));
                }
            }
        };
        let reason = match end {
            End::Client => "closed by client",
            End::Hangup => "hung up",
            End::Portal => "dropped by portal",
            End::Server(why) => {
                if let Some(why) = why {
                    let _ = self.output(&[Msg::text(why)]).await;
                }
                "closed by server"
            }
        };
        debug!(reason, "disconnected");
        if let Some(ch) = self.shell
            && reason != "closed by client"
        {
            // The channel is closed and the client left to hang up: a client
            // told to disconnect at once (OpenSSH) drops what it has not
            // shown yet, the last words included.
            let _ = self.handle.exit_status_request(ch, self.exit_status).await;
            let _ = self.handle.eof(ch).await;
            let _ = self.handle.close(ch).await;
            let _ =
                tokio::time::timeout(HANGUP_GRACE, async { while ctl.recv().await.is_some() {} })
                    .await;
        }
        let _ = self
            .handle
            .disconnect(russh::Disconnect::ByApplication, reason.into(), "en".into())
            .await;
        if self.out.is_some() {
            let _ = self
                .params
                .hub
                .send(SessionEvent::Closed {
                    sessid: self.sessid,
                })
                .await;
        }
    }

    /// Acts on what the connection's callbacks said; `Some` ends the connection.
    async fn control(&mut self, c: Ctl) -> Option<End> {
        match c {
            Ctl::Announced(rx) => self.out = Some(rx),
            Ctl::AwaitLogin(tx) => self.pending_login = Some(tx),
            Ctl::Guest => self.admitted = true,
            Ctl::Pty { term, cols, rows } => {
                self.term.open_pty(&term, cols, rows);
                self.flags_changed().await;
            }
            Ctl::ColorTerm(v) => {
                self.term.set_colorterm(&v);
                self.flags_changed().await;
            }
            Ctl::Resize { cols, rows } => {
                self.term.resize(cols, rows);
                self.flags_changed().await;
            }
            Ctl::Shell(ch) => {
                self.shell = Some(ch);
                let waiting = std::mem::take(&mut self.waiting);
                if !self.output(&waiting).await {
                    return Some(End::Client);
                }
            }
            Ctl::Exec(ch) => {
                let _ = self
                    .handle
                    .extended_data(ch, 1, NO_EXEC_MSG.as_bytes().to_vec())
                    .await;
                self.shell = Some(ch);
                self.exit_status = 1;
                return Some(End::Server(None));
            }
            Ctl::Data(bytes) => {
                let (events, echo) = self.term.receive(&bytes);
                if !self.write(echo).await {
                    return Some(End::Client);
                }
                for ev in events {
                    match ev {
                        TermEvent::Input(msg) => {
                            let input = SessionEvent::Input {
                                sessid: self.sessid,
                                msg,
                            };
                            if self.out.is_none() || self.params.hub.send(input).await.is_err() {
                                return Some(End::Portal);
                            }
                        }
                        TermEvent::Hangup => return Some(End::Hangup),
                        TermEvent::LineTooLong => {
                            let text = tavern_shared::text::too_long_msg(self.params.max_line);
                            if !self.output(&[Msg::text(text)]).await {
                                return Some(End::Client);
                            }
                        }
                    }
                }
            }
        }
        None
    }

    async fn flags_changed(&mut self) {
        if self.out.is_some() {
            let flags = self.term.flags.clone();
            let _ = self
                .params
                .hub
                .send(SessionEvent::Flags {
                    sessid: self.sessid,
                    flags,
                })
                .await;
        }
    }

    /// The game's messages: a log-in's answer is taken here; the rest goes
    /// to the terminal once the player is in and the shell is open. False
    /// when the client is gone.
    async fn output(&mut self, msgs: &[Msg]) -> bool {
        for msg in msgs {
            if msg.cmd == tavern_shared::link::LOGIN_RESULT {
                let ok = msg
                    .args
                    .first()
                    .and_then(|a| a.get("success"))
                    .and_then(|s| s.as_bool())
                    .unwrap_or(false);
                if let Some(waiter) = self.pending_login.take() {
                    let _ = waiter.send(ok);
                }
                self.admitted |= ok;
                continue;
            }
            if self.admitted {
                self.waiting.push(msg.clone());
            }
        }
        if self.waiting.len() > MAX_WAITING {
            return false;
        }
        if self.shell.is_none() || self.waiting.is_empty() {
            return true;
        }
        let msgs = std::mem::take(&mut self.waiting);
        let bytes = self.term.render(&msgs);
        self.write(bytes).await
    }

    async fn write(&self, bytes: Vec<u8>) -> bool {
        let Some(ch) = self.shell else {
            return true;
        };
        if bytes.is_empty() {
            return true;
        }
        matches!(
            tokio::time::timeout(WRITE_TIMEOUT, self.handle.data(ch, bytes)).await,
            Ok(Ok(()))
        )
    }
}

/// The next output, once the session exists.
async fn recv(out: &mut Option<OutboxReceiver<SessionOut>>) -> Option<SessionOut> {
    match out {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
