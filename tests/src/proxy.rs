//! A TCP proxy a test puts between two processes of a game (an extra
//! portal and its server) to cut the link between them, or to let it lose
//! what flows one way, while both processes run on.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// Forwards every connection made to [`LinkProxy::port`] to a target.
pub struct LinkProxy {
    /// Where it listens (on 127.0.0.1).
    pub port: u16,
    /// Bytes from the target back to the client are dropped while set.
    lose_replies: Arc<AtomicBool>,
    pumps: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl LinkProxy {
    /// A proxy on a free port to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a proxy");
        let port = listener.local_addr().expect("its address").port();
        let lose_replies = Arc::new(AtomicBool::new(false));
        let pumps: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (lose, kept) = (lose_replies.clone(), pumps.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                });
                let lose = lose.clone();
                let down = tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = sr.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        if !lose.load(Ordering::SeqCst) && cw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
                let mut p = kept.lock().unwrap();
                p.push(up.abort_handle());
                p.push(down.abort_handle());
            }
        })
        .abort_handle();
        Self {
            port,
            lose_replies,
            pumps,
            accept,
        }
    }

    /// Its address.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// From now on, what the target sends back is lost (the connection stays up).
    pub fn lose_replies(&self, lose: bool) {
        self.lose_replies.store(lose, Ordering::SeqCst);
    }

    /// Closes every connection through it; new ones are taken as before.
    pub fn cut(&self) {
        for p in self.pumps.lock().unwrap().drain(..) {
            p.abort();
        }
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
