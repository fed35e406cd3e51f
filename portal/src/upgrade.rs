//! `tavern upgrade-portal`: the running portal hands its listening sockets
//! and its players' telnet connections — each with its protocol state — to
//! a new portal process started from the binary on disk, over a Unix socket
//! (`SCM_RIGHTS`); the new process takes over and the old one exits. Telnet
//! players see nothing: no byte is lost either way (what they type waits in
//! the socket; what the server sends meanwhile waits in the server).
//!
//! What cannot move: TLS connections (their keys live in rustls in the old
//! process) and SSH sessions (likewise in russh) are told to connect again
//! and closed; websocket sessions are closed, and the webclient reconnects
//! and resumes by itself. MCCP2 streams are finished and restarted fresh.
//!
//! The order of the file descriptors that cross: telnet listeners, TLS
//! listeners, SSH listeners, the web listener, the link listener, then one
//! connection per handed session, in the order of [`Handover::sessions`].

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use serde::{Deserialize, Serialize};
use tavern_protocol::telnet::protocol::SuspendedTelnet;
use tavern_shared::{Msg, SessionSync};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A connection stopped in this process, to go on in the next.
pub(crate) struct HandedConnection {
    /// Its socket (what the client sent since waits in it).
    pub stream: std::net::TcpStream,
    /// The client's address.
    pub addr: SocketAddr,
    /// Its telnet state.
    pub telnet: SuspendedTelnet,
}

/// One session as it crosses.
#[derive(Serialize, Deserialize)]
pub(crate) struct HandedSession {
    /// The session's data (as the portal keeps it).
    pub sync: SessionSync,
    /// Input the server has not acknowledged: the new process replays it.
    pub unacked: Vec<(u64, Msg)>,
    /// The number of its last input.
    pub last_seq: u64,
    /// It has been greeted.
    pub greeted: bool,
    /// The client's address.
    pub addr: SocketAddr,
    /// Its telnet state.
    pub telnet: SuspendedTelnet,
}

/// How many listeners of each kind cross (one web and one link listener follow).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ListenerCounts {
    telnet: usize,
    tls: usize,
    ssh: usize,
}

/// Everything the new process needs besides the sockets.
#[derive(Serialize, Deserialize)]
pub(crate) struct Handover {
    /// The portal instance: the server takes the new process for the same
    /// portal, linking again, and keeps every session.
    pub instance: u64,
    /// The next session id to hand out.
    pub next_sessid: u64,
    /// The server's connection screen.
    pub connect_screen: Option<String>,
    /// The server process, which the new portal adopts.
    pub server_pid: Option<u32>,
    /// The listeners that cross.
    pub listeners: ListenerCounts,
    /// The sessions that cross.
    pub sessions: Vec<HandedSession>,
}

/// The portal's listening sockets (copies of them: the accept loops hold
/// the others), kept to hand over.
pub(crate) struct Listeners {
    pub telnet: Vec<OwnedFd>,
    pub tls: Vec<OwnedFd>,
    pub ssh: Vec<OwnedFd>,
    pub web: OwnedFd,
    pub link: OwnedFd,
}

impl Listeners {
    /// How many of each.
    pub(crate) fn counts(&self) -> ListenerCounts {
        ListenerCounts {
            telnet: self.telnet.len(),
            tls: self.tls.len(),
            ssh: self.ssh.len(),
        }
    }

    /// Their descriptors, in the order they cross.
    pub(crate) fn raw(&self) -> Vec<RawFd> {
        self.telnet
            .iter()
            .chain(&self.tls)
            .chain(&self.ssh)
            .chain([&self.web, &self.link])
            .map(AsRawFd::as_raw_fd)
            .collect()
    }

    fn take(counts: ListenerCounts, fds: &mut impl Iterator<Item = OwnedFd>) -> Option<Self> {
        let mut n = |k| fds.take(k).collect::<Vec<_>>();
        let telnet = n(counts.telnet);
        let tls = n(counts.tls);
        let ssh = n(counts.ssh);
        let mut rest = n(2);
        if telnet.len() != counts.telnet || tls.len() != counts.tls || ssh.len() != counts.ssh {
            return None;
        }
        let link = rest.pop()?;
        let web = rest.pop()?;
        Some(Self {
            telnet,
            tls,
            ssh,
            web,
            link,
        })
    }
}

/// A copy of a listener's descriptor, to hand over later.
pub(crate) fn copy_of(l: &TcpListener) -> std::io::Result<OwnedFd> {
    // SAFETY: dup(2) of a descriptor this listener owns; the copy is owned here.
    let fd = unsafe { libc::fcntl(l.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just made and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A listener the new process got.
pub(crate) fn listener_from(fd: OwnedFd) -> std::io::Result<TcpListener> {
    let l = std::net::TcpListener::from(fd);
    l.set_nonblocking(true)?;
    TcpListener::from_std(l)
}

/// A listener whose accepting can be paused while the portal hands over
/// (the connections that arrive meanwhile wait in the kernel's queue, for
/// whichever process accepts next) and resumed if the hand-over fails.
pub(crate) struct Listener {
    inner: TcpListener,
    paused: watch::Receiver<bool>,
}

impl Listener {
    /// `inner`, paused while `paused` says so.
    pub(crate) fn new(inner: TcpListener, paused: watch::Receiver<bool>) -> Self {
        Self { inner, paused }
    }

    /// The next connection, once accepting is not paused.
    pub(crate) async fn accept(&mut self) -> std::io::Result<(tokio::net::TcpStream, SocketAddr)> {
        loop {
            // An error: the pause switch is gone with the handler: accept on.
            let _ = self.paused.wait_for(|p| !*p).await;
            let paused = &mut self.paused;
            tokio::select! {
                r = self.inner.accept() => return r,
                switch_there = async { paused.wait_for(|p| *p).await.is_ok() } => {
                    if !switch_there {
                        return self.inner.accept().await;
                    }
                }
            }
        }
    }
}

/// What the handler needs to hand the portal over, or to take its
/// connections back when the hand-over fails.
pub(crate) struct UpgradeKit {
    /// Copies of the listening sockets.
    pub listeners: Listeners,
    /// Pauses (true) and resumes the accept loops.
    pub pause: watch::Sender<bool>,
    /// How to start the new process.
    pub successor: Successor,
    /// Starts a connection's task again in this process.
    pub resumer: crate::Resumer,
    /// Where the hand-over's outcome is reported.
    pub events: tokio::sync::mpsc::Sender<crate::supervisor::ProcessEvent>,
    /// The session ids handed out (stable while accepting is paused).
    pub next_sessid: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// How to start the process that takes over.
#[derive(Clone)]
pub(crate) struct Successor {
    /// The game binary on disk.
    pub exe: PathBuf,
    /// The settings file it runs with.
    pub settings_file: Option<PathBuf>,
    /// Where the hand-over socket goes (the game's data dir: its user's only).
    pub data_dir: PathBuf,
}

/// How long the new process may take to start and take everything.
const TAKE_OVER_PATIENCE: Duration = Duration::from_secs(60);
/// The most descriptors in one message (the kernel takes at most 253).
const FDS_PER_MESSAGE: usize = 200;

/// Starts the new portal process and hands it `state` and `fds`; its pid
/// once it says it has taken over. The descriptors must stay open until then.
pub(crate) async fn hand_over(
    successor: Successor,
    state: Handover,
    fds: Vec<RawFd>,
) -> Result<u32, String> {
    let path = successor
        .data_dir
        .join(format!("upgrade-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)
        .map_err(|e| format!("cannot make the hand-over socket {}: {e}", path.display()))?;
    let mut cmd = tokio::process::Command::new(&successor.exe);
    if let Some(f) = &successor.settings_file {
        cmd.arg("--settings").arg(f);
    }
    cmd.arg("portal")
        .arg("--take-over")
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit())
        .process_group(0)
        .kill_on_drop(false);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", successor.exe.display()))?;
    let pid = child.id().unwrap_or(0);
    let outcome = async {
        let (sock, _) = tokio::select! {
            a = tokio::time::timeout(TAKE_OVER_PATIENCE, listener.accept()) => a
                .map_err(|_| "the new portal process did not connect in time".to_string())?
                .map_err(|e| format!("the hand-over socket failed: {e}"))?,
            status = child.wait() => {
                return Err(format!("the new portal process exited at start ({})",
                    status.map(|s| s.to_string()).unwrap_or_default()));
            }
        };
        // Only the process just started may take the game's sockets.
        let peer = sock.peer_cred().ok().and_then(|c| c.pid());
        if peer != Some(pid as i32) {
            return Err(format!(
                "a process other than the new portal ({peer:?}) connected"
            ));
        }
        let sock = sock
            .into_std()
            .map_err(|e| format!("the hand-over socket: {e}"))?;
        tokio::task::spawn_blocking(move || send(sock, &state, &fds))
            .await
            .map_err(|e| format!("the hand-over failed: {e}"))?
            .map_err(|e| format!("the hand-over failed: {e}"))
    }
    .await;
    let _ = std::fs::remove_file(&path);
    match outcome {
        Ok(()) => Ok(pid),
        Err(e) => {
            // A process that took part of it and failed must not keep it.
            if pid > 0 {
                // SAFETY: kill(2) of the process just started.
                unsafe {
                    libc::kill(pid as i32, libc::SIGKILL);
                }
            }
            Err(e)
        }
    }
}

/// Sends the state, then the descriptors; waits for the new process to say
/// it has taken over.
fn send(mut sock: UnixStream, state: &Handover, fds: &[RawFd]) -> std::io::Result<()> {
    sock.set_nonblocking(false)?;
    sock.set_read_timeout(Some(TAKE_OVER_PATIENCE))?;
    sock.set_write_timeout(Some(TAKE_OVER_PATIENCE))?;
    let json = serde_json::to_vec(state).map_err(std::io::Error::other)?;
    sock.write_all(&(json.len() as u64).to_le_bytes())?;
    sock.write_all(&(fds.len() as u64).to_le_bytes())?;
    sock.write_all(&json)?;
    for chunk in fds.chunks(FDS_PER_MESSAGE) {
        let cmsg = [ControlMessage::ScmRights(chunk)];
        sendmsg::<()>(
            sock.as_raw_fd(),
            &[IoSlice::new(b"F")],
            &cmsg,
            MsgFlags::empty(),
            None,
        )?;
    }
    let mut ok = [0u8; 1];
    sock.read_exact(&mut ok)?;
    if ok != *b"K" {
        return Err(std::io::Error::other("the new portal did not take over"));
    }
    Ok(())
}

/// What the new process received.
pub(crate) struct TakenOver {
    /// The state.
    pub state: Handover,
    /// The listeners.
    pub listeners: Listeners,
    /// Each session's connection, in the order of `state.sessions`.
    pub connections: Vec<std::net::TcpStream>,
    /// Where to say it is done ([`confirm`]).
    pub sock: UnixStream,
}

/// The most state the new process reads (JSON): 10,000 sessions take a few MiB.
const MAX_STATE: u64 = 1 << 30;

/// The new process: takes the state and the sockets from the old one.
pub(crate) fn take_over(path: &Path) -> std::io::Result<TakenOver> {
    let mut sock = UnixStream::connect(path)?;
    sock.set_read_timeout(Some(TAKE_OVER_PATIENCE))?;
    let mut n = [0u8; 8];
    sock.read_exact(&mut n)?;
    let json_len = u64::from_le_bytes(n);
    sock.read_exact(&mut n)?;
    let fd_count = u64::from_le_bytes(n) as usize;
    if json_len > MAX_STATE {
        return Err(std::io::Error::other("the hand-over state is too large"));
    }
    let mut json = vec![0u8; json_len as usize];
    sock.read_exact(&mut json)?;
    let state: Handover = serde_json::from_slice(&json).map_err(std::io::Error::other)?;
    let mut fds: Vec<OwnedFd> = Vec::with_capacity(fd_count);
    while fds.len() < fd_count {
        let mut byte = [0u8; 1];
        let mut iov = [IoSliceMut::new(&mut byte)];
        let mut space = nix::cmsg_space!([RawFd; FDS_PER_MESSAGE]);
        let msg = recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::empty(),
        )?;
        if msg.bytes == 0 {
            return Err(std::io::Error::other(
                "the old portal closed the hand-over early",
            ));
        }
        for c in msg.cmsgs()? {
            if let ControlMessageOwned::ScmRights(got) = c {
                // SAFETY: descriptors the kernel just installed in this process.
                fds.extend(
                    got.into_iter()
                        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                );
            }
        }
    }
    let mut fds = fds.into_iter();
    let listeners = Listeners::take(state.listeners, &mut fds)
        .ok_or_else(|| std::io::Error::other("the hand-over lacks listeners"))?;
    let connections: Vec<std::net::TcpStream> = fds.map(std::net::TcpStream::from).collect();
    if connections.len() != state.sessions.len() {
        return Err(std::io::Error::other("the hand-over lacks connections"));
    }
    Ok(TakenOver {
        state,
        listeners,
        connections,
        sock,
    })
}

/// Tells the old process everything is taken: it exits.
pub(crate) fn confirm(mut sock: UnixStream) -> std::io::Result<()> {
    sock.write_all(b"K")
}
