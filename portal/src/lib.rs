//! # tavern-portal
//!
//! The portal process: it holds every player connection (telnet, telnet over
//! TLS, SSH, the webclient's websocket), runs the protocol codecs, and supervises the game
//! server process, which it reaches over the link. The server can be reloaded,
//! reset or can crash without any player being disconnected: the portal keeps
//! the sockets, queues what players type, and hands everything to the next server.
//!
//! This crate must not depend on `tavern-server` or on any game code: it knows
//! sessions, bytes and link messages, never the world.

mod fanout;
mod gate;
mod handler;
mod headroom;
mod link;
mod outbox;
mod session;
mod ssh;
mod stats;
mod supervisor;
mod telnet_session;
mod tls;
mod upgrade;
mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use tavern_shared::Settings;
use tavern_shared::session::now_millis;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::handler::{Hub, Inbox};
use crate::session::SessionEvent;
use crate::stats::PortalStats;
use crate::supervisor::Supervisor;
use crate::telnet_session::TelnetParams;
use tavern_shared::RuntimeInfo;

/// How the portal was started.
pub struct PortalConfig {
    /// The settings (defaults with the game's overlay).
    pub settings: Settings,
    /// The overlay file, passed on to the server process.
    pub settings_file: Option<PathBuf>,
    /// The game binary, resolved when the launcher started: the server is spawned from this path.
    pub exe: PathBuf,
    /// Take over from a portal process handing over at this socket (`tavern upgrade-portal`).
    pub take_over: Option<PathBuf>,
}

/// The path of the running binary, as it was on disk. After a rebuild Linux
/// reports the old inode as "PATH (deleted)"; the path itself is what we want.
pub fn current_exe_on_disk() -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let s = exe.to_string_lossy();
    Ok(match s.strip_suffix(" (deleted)") {
        Some(p) => PathBuf::from(p),
        None => exe,
    })
}

/// Whether a process with this pid runs (exists, and is not a zombie).
pub fn pid_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    if pid == 0 || unsafe { libc::kill(pid as i32, 0) } != 0 {
        return false;
    }
    // A zombie (exited, not yet reaped by its parent) runs no more.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                != Some("Z")
        }
        Err(_) => true,
    }
}

/// How many connections may wait to be accepted. The kernel caps it at
/// `net.core.somaxconn` (4096 on current Linux). With the default of 1,024 a
/// burst of new players overflows the queue, and the overflow waits a
/// second or more for the retransmitted handshake.
pub const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `addr` (`host:port`) with a deep accept queue.
pub async fn listen(addr: &str) -> std::io::Result<TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(a).and_then(|()| socket.listen(LISTEN_BACKLOG)) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            format!("no address for {addr}"),
        )
    }))
}

/// Runs the portal until it is shut down (SIGINT, SIGTERM, `tavern stop`,
/// in-game `shutdown`) or has handed over to a new portal process.
pub async fn run(cfg: PortalConfig) -> anyhow::Result<()> {
    let settings = cfg.settings;
    let loose = tavern_shared::data_dir::prepare(&settings.game.data_dir).with_context(|| {
        format!(
            "cannot create data dir {}",
            settings.game.data_dir.display()
        )
    })?;
    for w in loose {
        warn!("{w}");
    }
    let link_secret =
        tavern_shared::link::secret::ensure(&settings).context("cannot make the link secret")?;
    let runtime_file = settings.runtime_file();
    let portal_id = settings.portal.id;
    // An extra portal links to the running server of the game's main portal.
    let server_address = match (portal_id, settings.server_address()) {
        (0, _) => None,
        (_, Some(addr)) => Some(addr),
        (id, None) => bail!(
            "this is extra portal {id} ([portal] id): set [link] server to the address \
             the game's server accepts portals at (its [link] portals)"
        ),
    };
    // Started by a portal that hands over to us (`tavern upgrade-portal`).
    let taken = match &cfg.take_over {
        Some(path) => Some(upgrade::take_over(path).with_context(|| {
            format!("cannot take over from the old portal at {}", path.display())
        })?),
        None => None,
    };
    let mut adopt = None;
    if let Some(t) = &taken {
        adopt = t.state.server_pid.filter(|&pid| pid_alive(pid));
    } else if let Some(rt) = RuntimeInfo::read(&runtime_file) {
        if rt.portal_pid != std::process::id() && pid_alive(rt.portal_pid) {
            bail!(
                "a portal is already running for this game (pid {}, link {}); `tavern stop` stops it",
                rt.portal_pid,
                rt.link_address
            );
        }
        // The last portal died and left its server running: take it over.
        adopt = rt
            .server_pid
            .filter(|_| server_address.is_none())
            .filter(|&pid| supervisor::is_server_process(pid, &cfg.exe));
    }

    let bound = match &taken {
        Some(t) => Bound::from_fds(&t.listeners, &settings)?,
        None => Bound::bind(&settings).await?,
    };
    let Bound {
        telnet: telnet_listeners,
        tls: tls_listeners,
        ssh: ssh_listeners,
        web: web_listener,
        link: link_listener,
    } = bound;
    // Copies of every listener, for a hand-over to a new process.
    let copies = upgrade::Listeners {
        telnet: telnet_listeners
            .iter()
            .map(upgrade::copy_of)
            .collect::<Result<_, _>>()?,
        tls: tls_listeners
            .iter()
            .map(|(l, _)| upgrade::copy_of(l))
            .collect::<Result<_, _>>()?,
        ssh: ssh_listeners
            .iter()
            .map(|(l, _)| upgrade::copy_of(l))
            .collect::<Result<_, _>>()?,
        web: upgrade::copy_of(&web_listener)?,
        link: upgrade::copy_of(&link_listener)?,
    };
    let tls_ports = ports_of(tls_listeners.iter().map(|(l, _)| l));
    let ssh_ports = ports_of(ssh_listeners.iter().map(|(l, _)| l));
    let web_port = web_listener.local_addr()?.port();
    let link_address: SocketAddr = link_listener.local_addr()?;
    let telnet_ports = ports_of(telnet_listeners.iter());

    let instance: u64 = taken
        .as_ref()
        .map(|t| t.state.instance)
        .unwrap_or_else(rand::random);
    let runtime = RuntimeInfo {
        game: settings.game.name.clone(),
        portal_pid: std::process::id(),
        server_pid: None,
        link_address,
        telnet_ports: telnet_ports.clone(),
        tls_ports: tls_ports.clone(),
        ssh_ports: ssh_ports.clone(),
        web_port,
        started_unix_ms: now_millis(),
    };
    let (process_tx, processes) = mpsc::channel(64);
    let mut supervisor = Supervisor::new(
        cfg.exe.clone(),
        cfg.settings_file.clone(),
        runtime_file.clone(),
        runtime,
        instance,
        process_tx.clone(),
    );
    if server_address.is_some() {
        supervisor = supervisor.remote();
    }
    supervisor.write_runtime(None);
    info!(
        game = %settings.game.name,
        ?telnet_ports,
        ?tls_ports,
        ?ssh_ports,
        web_port,
        %link_address,
        portal_id,
        instance = format!("{instance:016x}"),
        taken_over = taken.is_some(),
        "portal listening"
    );

    let stats = Arc::new({
        let mut s = PortalStats::new(
            settings.game.name.clone(),
            telnet_ports.first().copied().unwrap_or(0),
            instance,
        );
        s.multisession_mode = settings.server.multisession_mode;
        s.max_nr_simultaneous_puppets = settings.server.max_nr_simultaneous_puppets;
        s
    });
    let gate = gate::ConnectionGate::new(
        settings.security.max_connections_per_address,
        settings.security.max_new_connections_per_minute,
    );
    let (hub_tx, sessions) = mpsc::channel(16 * 1024);
    let (link_tx, links) = mpsc::channel(1024);
    let (terminate_tx, terminate) = mpsc::channel(4);
    // Accepting pauses while the portal hands over to a new process.
    let (pause, paused) = tokio::sync::watch::channel(false);
    let listener = |l| upgrade::Listener::new(l, paused.clone());
    // A session's id carries its portal's: the game's portals never share one.
    let next_sessid = Arc::new(AtomicU64::new(
        taken
            .as_ref()
            .map(|t| t.state.next_sessid)
            .unwrap_or(tavern_shared::session::sessids_of(portal_id).start + 1),
    ));
    let telnet_params = |protocol| TelnetParams {
        max_line: settings.portal.max_line_length,
        max_queued_output: settings.portal.max_queued_output,
        protocol,
        stats: stats.clone(),
        keepalive: (settings.portal.keepalive_secs > 0)
            .then(|| std::time::Duration::from_secs(settings.portal.keepalive_secs)),
    };
    for l in telnet_listeners {
        tokio::spawn(accept_telnet(
            listener(l),
            None,
            gate.clone(),
            hub_tx.clone(),
            next_sessid.clone(),
            telnet_params("telnet"),
        ));
    }
    for (l, acceptor) in tls_listeners {
        tokio::spawn(accept_telnet(
            listener(l),
            Some(acceptor),
            gate.clone(),
            hub_tx.clone(),
            next_sessid.clone(),
            telnet_params("telnet/ssl"),
        ));
    }
    for (l, config) in ssh_listeners {
        tokio::spawn(ssh::accept(
            listener(l),
            gate.clone(),
            next_sessid.clone(),
            ssh::SshParams {
                config,
                hub: hub_tx.clone(),
                max_line: settings.portal.max_line_length,
                max_queued_output: settings.portal.max_queued_output,
            },
        ));
    }
    tokio::spawn(web::serve(
        listener(web_listener),
        web::WebState {
            hub: hub_tx.clone(),
            next_sessid: next_sessid.clone(),
            max_line: settings.portal.max_line_length,
            max_queued_output: settings.portal.max_queued_output,
            gate: gate.clone(),
            header_timeout: std::time::Duration::from_secs(
                settings.portal.header_timeout_secs.max(1),
            ),
            metrics: settings
                .metrics
                .enabled
                .then(|| (stats.clone(), settings.metrics.token.clone())),
            plugins: Arc::new(web::load_plugins(&settings.portal.webclient_plugins)),
            admin: Arc::new(web::admin::AdminSite::new(
                hub_tx.clone(),
                settings.log_dir(),
                match portal_id {
                    0 => "portal".to_string(),
                    id => format!("portal-{id}"),
                },
                settings.metrics.enabled.then(|| stats.clone()),
            )),
            admin_on: settings.portal.web_admin,
        },
    ));
    let me = link::PortalIdentity {
        instance,
        id: portal_id,
        max_frame: settings.link.max_frame_bytes,
        secret: link_secret,
    };
    if let Some(addr) = server_address {
        info!(%addr, "linking to the game's server as an extra portal");
        tokio::spawn(link::dial(addr, link_tx.clone(), me.clone()));
    }
    tokio::spawn(link::serve(
        listener(link_listener),
        link_tx,
        me,
        server_address.is_none(),
    ));
    tokio::spawn(forward_signals(terminate_tx));

    if let Some(pid) = adopt {
        supervisor.adopt(pid);
    }
    let resumer = Resumer {
        hub: hub_tx.clone(),
        params: telnet_params("telnet"),
    };
    drop(hub_tx);
    let kit = upgrade::UpgradeKit {
        listeners: copies,
        pause,
        successor: upgrade::Successor {
            exe: cfg.exe,
            settings_file: cfg.settings_file,
            data_dir: settings.game.data_dir.clone(),
        },
        resumer,
        events: process_tx,
        next_sessid,
    };
    let mut hub = Hub::new(settings, instance, supervisor, stats, kit);
    if let Some(t) = taken {
        let upgrade::TakenOver {
            state,
            connections,
            sock,
            ..
        } = t;
        let kept = state.sessions.len();
        hub.take_over(state.connect_screen, state.sessions, connections);
        // The old process exits once told: everything is ours now.
        upgrade::confirm(sock).context("cannot tell the old portal it may go")?;
        info!(sessions = kept, "took over from the old portal process");
    }
    let handed_over = hub
        .run(Inbox {
            sessions,
            links,
            processes,
            terminate,
        })
        .await;
    // A portal that handed over leaves the runtime file to its successor,
    // once the launcher that asked has its answer.
    if handed_over {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while link::launchers_connected() && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    } else {
        let _ = std::fs::remove_file(&runtime_file);
    }
    Ok(())
}

/// The portal's listeners, bound or taken over.
struct Bound {
    telnet: Vec<TcpListener>,
    tls: Vec<(TcpListener, tokio_rustls::TlsAcceptor)>,
    ssh: Vec<(TcpListener, Arc<russh::server::Config>)>,
    web: TcpListener,
    link: TcpListener,
}

impl Bound {
    /// Binds every listener the settings ask for.
    async fn bind(settings: &Settings) -> anyhow::Result<Self> {
        let telnet = listen_on(
            settings,
            &settings.portal.telnet_ports,
            "telnet",
            "telnet_ports",
        )
        .await?;
        let mut tls = Vec::new();
        if !settings.portal.tls_ports.is_empty() {
            let acceptor = tls::acceptor(settings).context("cannot set up telnet over TLS")?;
            let ports = &settings.portal.tls_ports;
            for l in listen_on(settings, ports, "telnet over TLS", "tls_ports").await? {
                tls.push((l, acceptor.clone()));
            }
        }
        let mut ssh = Vec::new();
        if !settings.portal.ssh_ports.is_empty() {
            let config = ssh_config(settings)?;
            for l in listen_on(settings, &settings.portal.ssh_ports, "SSH", "ssh_ports").await? {
                ssh.push((l, config.clone()));
            }
        }
        let web_addr = format!("{}:{}", settings.portal.interface, settings.portal.web_port);
        let web = listen(&web_addr).await.with_context(|| {
            format!(
                "cannot listen for the webclient on {web_addr}{}",
                in_use_hint("[portal] web_port")
            )
        })?;
        let link = TcpListener::bind(settings.link.address)
            .await
            .with_context(|| {
                format!(
                    "cannot listen for the link on {}{}",
                    settings.link.address,
                    in_use_hint("[link] address")
                )
            })?;
        Ok(Self {
            telnet,
            tls,
            ssh,
            web,
            link,
        })
    }

    /// The listeners an old portal process handed over.
    fn from_fds(fds: &upgrade::Listeners, settings: &Settings) -> anyhow::Result<Self> {
        let take = |fd: &std::os::fd::OwnedFd| -> anyhow::Result<TcpListener> {
            Ok(upgrade::listener_from(fd.try_clone()?)?)
        };
        let telnet = fds.telnet.iter().map(take).collect::<anyhow::Result<_>>()?;
        let mut tls = Vec::new();
        if !fds.tls.is_empty() {
            let acceptor = tls::acceptor(settings).context("cannot set up telnet over TLS")?;
            for fd in &fds.tls {
                tls.push((take(fd)?, acceptor.clone()));
            }
        }
        let mut ssh = Vec::new();
        if !fds.ssh.is_empty() {
            let config = ssh_config(settings)?;
            for fd in &fds.ssh {
                ssh.push((take(fd)?, config.clone()));
            }
        }
        Ok(Self {
            telnet,
            tls,
            ssh,
            web: take(&fds.web)?,
            link: take(&fds.link)?,
        })
    }
}

fn ssh_config(settings: &Settings) -> anyhow::Result<Arc<russh::server::Config>> {
    let key = ssh::host_key(&ssh::host_key_path(settings))?;
    Ok(ssh::config(key, settings))
}

/// Starts the task of a telnet connection carried over from an old portal
/// process (or put back after a hand-over failed).
pub(crate) struct Resumer {
    hub: mpsc::Sender<SessionEvent>,
    params: TelnetParams,
}

impl Resumer {
    /// A resumer for the handler's tests.
    #[cfg(test)]
    pub(crate) fn for_tests(hub: mpsc::Sender<SessionEvent>, stats: Arc<PortalStats>) -> Self {
        Self {
            hub,
            params: TelnetParams {
                max_line: 1024,
                max_queued_output: 16,
                protocol: "telnet",
                stats,
                keepalive: None,
            },
        }
    }

    /// Starts `stream`'s task with its protocol as it was; where its output goes.
    pub(crate) fn resume(
        &self,
        sessid: tavern_shared::SessId,
        addr: SocketAddr,
        stream: std::net::TcpStream,
        telnet: tavern_protocol::telnet::protocol::SuspendedTelnet,
    ) -> Option<outbox::OutboxSender<session::SessionOut>> {
        let stream = stream
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpStream::from_std(stream));
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                warn!(sessid, "cannot resume a connection: {e}");
                return None;
            }
        };
        let (out, out_rx) = outbox::outbox(self.params.max_queued_output);
        let (proto, first) = tavern_protocol::telnet::protocol::TelnetProtocol::resume(telnet);
        let params = TelnetParams {
            max_line: self.params.max_line,
            max_queued_output: self.params.max_queued_output,
            protocol: "telnet",
            stats: self.params.stats.clone(),
            keepalive: self.params.keepalive,
        };
        let begin = telnet_session::Begin::Resumed {
            proto: Box::new(proto),
            first,
            out_rx,
        };
        tokio::spawn(telnet_session::serve(
            stream,
            addr,
            sessid,
            self.hub.clone(),
            params,
            begin,
        ));
        Some(out)
    }
}

/// How long a TLS client may take to finish its handshake.
const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn accept_telnet(
    mut listener: crate::upgrade::Listener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    gate: Arc<gate::ConnectionGate>,
    hub: mpsc::Sender<SessionEvent>,
    next_sessid: Arc<AtomicU64>,
    params: TelnetParams,
) {
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                warn!("telnet accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let Some(permit) = gate.admit(addr.ip(), std::time::Instant::now()) else {
            warn!(%addr, "refused a connection: too many from that address");
            if tls.is_none() {
                tokio::spawn(refuse(stream));
            }
            continue;
        };
        let sessid = next_sessid.fetch_add(1, Ordering::Relaxed);
        let params = TelnetParams {
            max_line: params.max_line,
            max_queued_output: params.max_queued_output,
            protocol: params.protocol,
            stats: params.stats.clone(),
            keepalive: params.keepalive,
        };
        let hub = hub.clone();
        match &tls {
            None => {
                tokio::spawn(async move {
                    let _permit = permit;
                    let begin = telnet_session::Begin::Fresh;
                    telnet_session::serve(stream, addr, sessid, hub, params, begin).await
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        Ok(Ok(tls_stream)) => {
                            let stream = telnet_session::Buffered::new(tls_stream);
                            let begin = telnet_session::Begin::Fresh;
                            telnet_session::serve(stream, addr, sessid, hub, params, begin).await
                        }
                        Ok(Err(e)) => tracing::debug!(%addr, "TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
}

/// Tells a connection over its address's limit why, then closes it.
async fn refuse(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    let text = format!("{}\r\n", gate::TOO_MANY_MSG);
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.write_all(text.as_bytes()),
    )
    .await;
    let _ = stream.shutdown().await;
}

async fn forward_signals(terminate: mpsc::Sender<()>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        warn!("cannot install signal handlers");
        return;
    };
    loop {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        if terminate.send(()).await.is_err() {
            return;
        }
    }
}

/// A listener on each of `ports` on the portal's interface; `what` and the
/// `[portal]` key `setting` name them when one cannot be had.
async fn listen_on(
    settings: &Settings,
    ports: &[u16],
    what: &str,
    setting: &str,
) -> anyhow::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    for &port in ports {
        let addr = format!("{}:{}", settings.portal.interface, port);
        let l = listen(&addr).await.with_context(|| {
            format!(
                "cannot listen for {what} on {addr}{}",
                in_use_hint(&format!("[portal] {setting}"))
            )
        })?;
        listeners.push(l);
    }
    Ok(listeners)
}

/// The ports listeners got (a configured 0 is the one the system chose).
fn ports_of<'a>(listeners: impl Iterator<Item = &'a TcpListener>) -> Vec<u16> {
    listeners
        .filter_map(|l| l.local_addr().ok().map(|a| a.port()))
        .collect()
}

/// What to tell an operator whose port is taken (another game on the
/// machine, most often): the setting to change. Port 0 picks a free port,
/// recorded in `data_dir/portal.json` for the launcher and the load tool.
fn in_use_hint(setting: &str) -> String {
    format!(
        " (is another game running on this machine? Give this one another port with \
         {setting} in its settings.toml; 0 picks a free one)"
    )
}
