//! Where the server accepts the game's extra portals (`[link] portals`):
//! each connection proves it knows the link secret (the same handshake the
//! server makes with the main portal, the server asking) and says its
//! `[portal] id`; the process loop then puts it in service.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tavern_server::runtime::ServerEvent;
use tavern_shared::Settings;
use tavern_shared::link::{self, LinkStream, Role};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::server_process::{LinkNews, PortalLink, start_link};

/// How long a portal may take over its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How many handshakes may be under way at once; more connections are closed.
const MAX_HANDSHAKES: usize = 16;

/// Listens at `addr` for extra portals.
pub(crate) async fn listen(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    let l = TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen for extra portals on {addr} (is [link] portals free?)")
    })?;
    info!(%addr, "accepting extra portals");
    Ok(l)
}

/// Accepts extra portals until the server stops; each one that proves the
/// secret goes to `linked`.
pub(crate) async fn accept(
    listener: TcpListener,
    settings: Arc<Settings>,
    events: mpsc::Sender<ServerEvent>,
    closed: mpsc::UnboundedSender<LinkNews>,
    linked: mpsc::Sender<PortalLink>,
) {
    let handshakes = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                warn!("accepting a portal failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = handshakes.clone().try_acquire_owned() else {
            warn!(%addr, "closed a portal connection: {MAX_HANDSHAKES} handshakes are under way");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (settings, events, closed, linked) = (
            settings.clone(),
            events.clone(),
            closed.clone(),
            linked.clone(),
        );
        tokio::spawn(async move {
            let mut ls = LinkStream::new(stream, link::PRE_AUTH_MAX_FRAME);
            let shake = async {
                let secret = link::secret::load(&settings)?;
                anyhow::Ok(ls.handshake(Role::Server, &secret).await?)
            };
            let welcome = match tokio::time::timeout(HANDSHAKE_TIMEOUT, shake).await {
                Ok(Ok(w)) => w,
                Ok(Err(e)) => {
                    warn!(%addr, "refused a portal: {e:#}");
                    return;
                }
                Err(_) => {
                    warn!(%addr, "dropped a portal that did not finish the handshake in time");
                    return;
                }
            };
            drop(permit);
            if welcome.portal_id == 0 {
                warn!(
                    %addr,
                    "refused a portal with [portal] id 0: that is the main portal's; give each extra portal an id of its own"
                );
                return;
            }
            ls.set_max_frame(settings.link.max_frame_bytes);
            info!(
                %addr,
                portal = welcome.portal_id,
                pid = welcome.portal_pid,
                "an extra portal linked"
            );
            let l = start_link(ls, welcome, addr.to_string(), events, closed);
            let _ = linked.send(l).await;
        });
    }
}
