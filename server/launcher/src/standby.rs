//! A reload's standby server: started by the portal while the old server
//! still serves, it reads the world's objects (the slow half of a start),
//! then waits on the link ([`Role::Standby`]) until the old server has
//! stopped. The portal then hands it the objects the old server wrote since
//! it was marked ([`StandbyGo`]); those are read again, the rest of the
//! world (accounts, flows, timers, channels, ...) is loaded, and the server
//! goes on as any starting server: it links and takes the sessions over.
//!
//! Correct because the old server made everything durable before it was
//! marked, and the standby was started after that: its snapshot holds
//! every write before the mark, and every object written after it is in
//! the list.

use std::time::Instant;

use anyhow::Context;
use tavern_server::model::world::World;
use tavern_server::store;
use tavern_shared::Settings;
use tavern_shared::link::{LinkStream, Role, StandbyGo};
use tokio::net::TcpStream;
use tracing::info;

/// Whether this server process was started as a reload's standby.
pub(crate) fn is_standby() -> bool {
    std::env::var_os(tavern_shared::link::STANDBY_ENV).is_some()
}

/// Loads the world as a standby: the objects now, the rest once the old
/// server has stopped.
pub(crate) async fn load(settings: &Settings, db: &store::Db) -> anyhow::Result<World> {
    let t0 = Instant::now();
    // A world file merge waiting for the start changes the objects first:
    // nothing is read ahead of it.
    let snapshot = if store::world_file::import_pending(db).await? {
        info!("standby: a world file merge waits; the world is loaded after it");
        None
    } else {
        let s = store::load_object_snapshot(db).await?;
        info!(
            took_ms = t0.elapsed().as_millis() as u64,
            "standby: objects loaded; waiting for the old server to stop"
        );
        Some(s)
    };
    let go = wait_for_go(settings).await?;
    let t_go = Instant::now();
    let merge = store::world_file::import_pending(db).await?;
    store::world_file::apply_pending_import(db)
        .await
        .context("cannot read the server's settings from the database")?;
    match (snapshot, go.changed) {
        (Some(mut snapshot), Some(ids)) if !merge => {
            let read = store::catch_up(db, &mut snapshot, &ids).await?;
            info!(
                noted = ids.len(),
                read,
                took_ms = t_go.elapsed().as_millis() as u64,
                "standby: read again what the old server wrote since its mark"
            );
            let mut world = store::load_rest(db, snapshot, t_go).await?;
            let found = store::read_missing_characters(db, &mut world).await?;
            if found > 0 {
                info!(
                    found,
                    "standby: read the characters of accounts made meanwhile"
                );
            }
            Ok(world)
        }
        _ => {
            info!("standby: what changed is not known; loading the whole world");
            Ok(store::load_world(db).await?)
        }
    }
}

/// Tells the portal the objects are loaded, and waits for its word that
/// the old server stopped.
async fn wait_for_go(settings: &Settings) -> anyhow::Result<StandbyGo> {
    let addr = crate::server_process::link_address(settings);
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("a standby cannot reach the portal's link at {addr}"))?;
    let _ = stream.set_nodelay(true);
    let mut ls = LinkStream::new(stream, settings.link.max_frame_bytes);
    let secret = tavern_shared::link::secret::load(settings)?;
    ls.handshake(Role::Standby, &secret)
        .await
        .context("the portal refused the standby")?;
    ls.recv::<StandbyGo>()
        .await
        .context("the portal let the standby go before the old server stopped")
}
