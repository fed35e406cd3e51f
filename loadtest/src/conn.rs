//! One bot's connection: telnet (with [`crate::telnet`]) or a browser's
//! websocket (with [`crate::webwire`]). Either way, what the server sends
//! ends up as plain text in [`Conn::text`], and what the bot sends is a line
//! of input or an out-of-band `echo` call.

use std::net::SocketAddr;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::telnet::{self, ClientOptions, ClientTelnet};
use crate::webwire;

/// Where the bots connect, and how.
#[derive(Debug, Clone)]
pub enum Transport {
    /// A telnet port.
    Telnet(SocketAddr),
    /// Several telnet ports (a game's several portals): bot `i` connects to
    /// port `i` modulo their number.
    TelnetSpread(Vec<SocketAddr>),
    /// A websocket URL (`ws://host:port/ws`), speaking `v1.evennia.com`.
    Websocket(String),
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Telnet(a) => write!(f, "telnet://{a}"),
            Transport::TelnetSpread(all) => {
                let all: Vec<String> = all.iter().map(|a| a.to_string()).collect();
                write!(f, "telnet://{}", all.join("+"))
            }
            Transport::Websocket(u) => write!(f, "{u}"),
        }
    }
}

/// What a bot sends.
#[derive(Debug, Clone, Copy)]
pub enum Out<'a> {
    /// A line typed.
    Line(&'a str),
    /// Evennia's `echo` input function (GMCP `Core.Echo` over telnet): the
    /// server answers with text holding the argument.
    Echo(&'a str),
}

/// A connection failure.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// The socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The websocket failed.
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    /// The server's bytes made no sense.
    #[error("{0}")]
    Telnet(#[from] telnet::TelnetError),
}

enum Inner {
    Telnet {
        stream: TcpStream,
        proto: ClientTelnet,
        buf: Box<[u8]>,
        /// Negotiation answers not yet written (the socket was full).
        reply: Vec<u8>,
    },
    Ws(Box<WebSocketStream<MaybeTlsStream<TcpStream>>>),
}

/// One open connection.
pub struct Conn {
    inner: Inner,
    /// Text received and not yet consumed by the bot.
    pub text: Vec<u8>,
    /// Bytes received from the server, on the wire.
    pub bytes_in: u64,
}

impl Transport {
    /// Where bot `i` connects.
    pub fn for_bot(&self, i: usize) -> Transport {
        match self {
            Transport::TelnetSpread(all) if !all.is_empty() => {
                Transport::Telnet(all[i % all.len()])
            }
            other => other.clone(),
        }
    }
}

impl Conn {
    /// Connects; `opts` says which telnet options to take.
    pub async fn open(to: &Transport, opts: ClientOptions) -> Result<Conn, ConnError> {
        let inner = match to {
            Transport::Telnet(addr) => {
                let stream = TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                Inner::Telnet {
                    stream,
                    proto: ClientTelnet::new(opts),
                    buf: vec![0u8; 16 * 1024].into_boxed_slice(),
                    reply: Vec::new(),
                }
            }
            Transport::TelnetSpread(_) => {
                return Box::pin(Conn::open(&to.for_bot(0), opts)).await;
            }
            Transport::Websocket(url) => {
                let mut req = url.as_str().into_client_request()?;
                req.headers_mut().insert(
                    "Sec-WebSocket-Protocol",
                    webwire::SUBPROTOCOL.parse().expect("a valid header value"),
                );
                let (ws, _) = tokio_tungstenite::connect_async_with_config(req, None, true).await?;
                Inner::Ws(Box::new(ws))
            }
        };
        Ok(Conn {
            inner,
            text: Vec::with_capacity(4096),
            bytes_in: 0,
        })
    }

    /// Whether out-of-band `echo` calls can be sent (a websocket always; telnet once GMCP is on).
    pub fn can_echo(&self) -> bool {
        match &self.inner {
            Inner::Telnet { proto, .. } => proto.gmcp_on(),
            Inner::Ws(_) => true,
        }
    }

    /// Sends `items` together (one write on telnet).
    pub async fn send(&mut self, items: &[Out<'_>]) -> Result<(), ConnError> {
        match &mut self.inner {
            Inner::Telnet { stream, reply, .. } => {
                let mut bytes = std::mem::take(reply);
                for item in items {
                    match item {
                        Out::Line(l) => bytes.extend(telnet::line(l)),
                        Out::Echo(m) => bytes.extend(telnet::gmcp(
                            "Core.Echo",
                            &serde_json::Value::String(m.to_string()).to_string(),
                        )),
                    }
                }
                stream.write_all(&bytes).await?;
            }
            Inner::Ws(ws) => {
                for item in items {
                    let frame = match item {
                        Out::Line(l) => webwire::text_frame(l),
                        Out::Echo(m) => webwire::call_frame("echo", &[m]),
                    };
                    ws.feed(Message::text(frame)).await?;
                }
                ws.flush().await?;
            }
        }
        Ok(())
    }

    /// Reads what the server sent next into [`Conn::text`]; false when it closed.
    /// Cancel-safe: nothing is lost if the future is dropped before it completes.
    pub async fn read(&mut self) -> Result<bool, ConnError> {
        match &mut self.inner {
            Inner::Telnet {
                stream,
                proto,
                buf,
                reply,
            } => {
                let n = stream.read(buf).await?;
                if n == 0 {
                    return Ok(false);
                }
                self.bytes_in += n as u64;
                proto.feed(&buf[..n], &mut self.text, reply)?;
                // Written without waiting, so that this stays cancel-safe; what
                // does not fit goes out with the next send.
                while !reply.is_empty() {
                    match stream.try_write(reply) {
                        Ok(n) => {
                            reply.drain(..n);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(true)
            }
            Inner::Ws(ws) => loop {
                match ws.next().await {
                    None | Some(Ok(Message::Close(_))) => return Ok(false),
                    Some(Err(e)) => return Err(e.into()),
                    Some(Ok(Message::Text(t))) => {
                        self.bytes_in += t.len() as u64;
                        if let Some(text) = webwire::frame_text(&t) {
                            self.text.extend_from_slice(text.as_bytes());
                        }
                        return Ok(true);
                    }
                    Some(Ok(Message::Binary(b))) => {
                        self.bytes_in += b.len() as u64;
                        return Ok(true);
                    }
                    Some(Ok(_)) => {}
                }
            },
        }
    }

    /// Closes the connection (politely on a websocket).
    pub async fn close(mut self) {
        match &mut self.inner {
            Inner::Telnet { stream, .. } => {
                let _ = stream.shutdown().await;
            }
            Inner::Ws(ws) => {
                let _ = ws.close().await;
            }
        }
    }
}
