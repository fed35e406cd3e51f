//! The portal ↔ server link: length-delimited frames of MessagePack-encoded serde messages.
//!
//! Every connection opens with a handshake in which both sides prove they
//! know the game's link secret ([`secret`]), without sending it: the
//! connecting side (the server, or a launcher) sends a [`Hello`] with a
//! random nonce; the portal answers with a [`HelloReply::Challenge`] — its
//! own nonce, and its proof over the peer's; the peer checks that proof and
//! answers with its [`Proof`]; the portal checks it and says
//! [`HelloReply::Accepted`]. A peer speaking another protocol version, or
//! proving nothing, is refused with a reason both sides log. After that the
//! frames are [`ToServer`]/[`ToPortal`] (server role) or
//! [`LauncherRequest`]/[`LauncherReply`] (launcher role).
//!
//! The codec is sans-IO: [`encode`] and [`decode`] work on bytes; [`LinkStream`]
//! puts them on any tokio stream with a maximum frame size.

pub mod admin;
mod message;
pub mod secret;

pub use message::*;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// Bumped on any change an older peer could not decode. 2: the handshake
/// authenticates both sides, always.
pub const LINK_PROTOCOL_VERSION: u32 = 2;

/// The largest frame accepted before a peer has proved it knows the secret.
pub const PRE_AUTH_MAX_FRAME: usize = 4096;
/// The first field of every Hello, so a stray client is told apart from a peer of another version.
pub const LINK_MAGIC: &str = "tavern-link";

/// A link failure.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The socket failed.
    #[error("link i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A message could not be encoded.
    #[error("link frame could not be encoded: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    /// A frame could not be decoded.
    #[error("link frame could not be decoded: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
    /// The peer closed the link.
    #[error("link closed")]
    Closed,
    /// The portal refused this peer.
    #[error("link peer refused: {0}")]
    Refused(String),
    /// The handshake went wrong.
    #[error("link handshake: {0}")]
    Handshake(String),
}

/// Who is connecting to the portal's link port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// A game server.
    Server,
    /// A launcher command (`reload`, `status`, ...).
    Launcher,
    /// A new server started for a reload while the old one still serves:
    /// it has loaded the world's objects and waits for [`StandbyGo`].
    Standby,
}

/// Set in the environment of a server process the portal starts as a
/// reload's standby (the portal sets it, the server reads it).
pub const STANDBY_ENV: &str = "TAVERN_STANDBY";

/// The portal's word to a standby server (on its [`Role::Standby`]
/// connection) that the old server has stopped: what the old one wrote
/// since the standby's snapshot, then the standby links as the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandbyGo {
    /// The objects the old server wrote, created or deleted after it was
    /// marked ([`ToServer::Mark`]); `None`: not known, load everything again.
    pub changed: Option<Vec<i64>>,
}

/// The first frame a peer sends the portal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// Tells a Tavern peer from anything else.
    pub magic: String,
    /// The link protocol version.
    pub version: u32,
    /// What the peer is.
    pub role: Role,
    /// The peer's pid.
    pub pid: u32,
    /// The crate version of the binary, for the logs.
    pub build: String,
    /// The peer's challenge to the portal: the portal proves it knows the
    /// secret over these bytes.
    #[serde(default)]
    pub nonce: Vec<u8>,
    /// A server that answers [`ToServer::Mark`], so that a reload can load
    /// the next server's world while it serves (absent from older builds).
    #[serde(default)]
    pub marks: bool,
}

impl Hello {
    /// This process's hello, with a fresh nonce.
    pub fn new(role: Role) -> Self {
        Self {
            magic: LINK_MAGIC.into(),
            version: LINK_PROTOCOL_VERSION,
            role,
            pid: std::process::id(),
            build: env!("CARGO_PKG_VERSION").into(),
            nonce: new_nonce(),
            marks: role == Role::Server,
        }
    }

    /// Why the portal must refuse this hello, if it must.
    pub fn refusal(&self) -> Option<String> {
        if self.magic != LINK_MAGIC {
            return Some("not a Tavern link peer".into());
        }
        if self.version != LINK_PROTOCOL_VERSION {
            return Some(format!(
                "link protocol version mismatch: peer speaks {}, portal speaks {} (build {}): \
                 restart the portal with `tavern stop` and `tavern start` to run the same build on both sides",
                self.version,
                LINK_PROTOCOL_VERSION,
                env!("CARGO_PKG_VERSION")
            ));
        }
        None
    }
}

/// The portal's answer to a hello.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum HelloReply {
    /// Welcome.
    Accepted {
        /// Which portal process this is.
        portal_instance: u64,
        /// Its pid.
        portal_pid: u32,
        /// It reads [`PortalOp::OutputMany`]
        /// (absent from older portals, which do not).
        #[serde(default)]
        output_many: bool,
        /// It reads [`ToPortal::Metrics`] (absent from older portals).
        #[serde(default)]
        metrics: bool,
        /// Its `[portal] id` (0, the main portal, for one that does not say).
        #[serde(default)]
        portal_id: crate::session::PortalId,
    },
    /// Go away.
    Refused {
        /// Why.
        reason: String,
    },
    /// Prove you know the link secret by answering with a [`Proof`]; the
    /// portal has proved it knows it already.
    Challenge {
        /// Random bytes the peer must prove the secret with.
        nonce: Vec<u8>,
        /// The portal's proof over the peer's nonce.
        #[serde(default)]
        proof: Vec<u8>,
    },
}

/// What a portal said when it accepted a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Welcome {
    /// Which portal process this is.
    pub portal_instance: u64,
    /// Its pid.
    pub portal_pid: u32,
    /// It reads [`PortalOp::OutputMany`].
    pub output_many: bool,
    /// It reads [`ToPortal::Metrics`].
    pub metrics: bool,
    /// Its `[portal] id`.
    pub portal_id: crate::session::PortalId,
}

/// The answer to a [`HelloReply::Challenge`]: a MAC of the nonce, keyed by the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proof {
    /// HMAC of the nonce under the shared secret.
    pub mac: Vec<u8>,
}

/// Who proves: a peer in a role, or the portal.
#[derive(Debug, Clone, Copy)]
enum Prover {
    Peer(Role),
    Portal,
}

fn link_mac(secret: &str, nonce: &[u8], who: Prover) -> blake2::Blake2bMac512 {
    use blake2::digest::{Digest, KeyInit, Mac};
    let key = blake2::Blake2b512::digest(secret.as_bytes());
    let mut mac = <blake2::Blake2bMac512 as KeyInit>::new_from_slice(&key)
        .expect("a 64-byte key fits BLAKE2b");
    match who {
        Prover::Peer(role) => {
            mac.update(b"tavern-link-proof");
            mac.update(&[role as u8]);
        }
        Prover::Portal => mac.update(b"tavern-link-portal"),
    }
    mac.update(nonce);
    mac
}

/// The proof that a peer in `role` knows `secret`, for this `nonce`. The secret
/// itself never crosses the link.
pub fn link_proof(secret: &str, nonce: &[u8], role: Role) -> Vec<u8> {
    use blake2::digest::Mac;
    link_mac(secret, nonce, Prover::Peer(role))
        .finalize()
        .into_bytes()
        .to_vec()
}

/// Checks a peer's proof in constant time.
pub fn verify_proof(secret: &str, nonce: &[u8], role: Role, proof: &[u8]) -> bool {
    use blake2::digest::Mac;
    link_mac(secret, nonce, Prover::Peer(role))
        .verify_slice(proof)
        .is_ok()
}

/// The portal's proof that it knows `secret`, over the peer's `nonce`.
pub fn portal_proof(secret: &str, nonce: &[u8]) -> Vec<u8> {
    use blake2::digest::Mac;
    link_mac(secret, nonce, Prover::Portal)
        .finalize()
        .into_bytes()
        .to_vec()
}

/// Checks the portal's proof in constant time.
pub fn verify_portal_proof(secret: &str, nonce: &[u8], proof: &[u8]) -> bool {
    use blake2::digest::Mac;
    link_mac(secret, nonce, Prover::Portal)
        .verify_slice(proof)
        .is_ok()
}

/// A fresh random challenge.
pub fn new_nonce() -> Vec<u8> {
    (0..32).map(|_| rand::random::<u8>()).collect()
}

/// Encodes one message as a frame body (MessagePack with named fields).
pub fn encode<T: Serialize>(msg: &T) -> Result<Bytes, LinkError> {
    Ok(Bytes::from(rmp_serde::to_vec_named(msg)?))
}

/// How deeply arrays and maps may nest in a frame. Above what a player's
/// GMCP can carry (serde_json stops at 128) plus the envelope, and far below
/// what would overflow a thread's stack: a frame of nested arrays is a
/// decode error, never a crash.
pub const MAX_FRAME_DEPTH: usize = 160;

/// Decodes one frame body (nesting bounded by [`MAX_FRAME_DEPTH`]).
pub fn decode<T: DeserializeOwned>(frame: &[u8]) -> Result<T, LinkError> {
    let mut de = rmp_serde::Deserializer::from_read_ref(frame);
    de.set_max_depth(MAX_FRAME_DEPTH);
    Ok(T::deserialize(&mut de)?)
}

/// The length-delimited framing, with the frame size capped.
pub fn codec(max_frame_bytes: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(4)
        .max_frame_length(max_frame_bytes)
        .new_codec()
}

/// A framed link connection.
pub struct LinkStream<S> {
    framed: Framed<S, LengthDelimitedCodec>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> LinkStream<S> {
    /// A link over `io`, refusing frames above `max_frame_bytes`.
    pub fn new(io: S, max_frame_bytes: usize) -> Self {
        Self {
            framed: Framed::new(io, codec(max_frame_bytes)),
        }
    }

    /// Sends one message.
    pub async fn send<T: Serialize>(&mut self, msg: &T) -> Result<(), LinkError> {
        self.framed.send(encode(msg)?).await?;
        Ok(())
    }

    /// The next message; `Err(Closed)` at end of stream. An oversized frame is an error.
    pub async fn recv<T: DeserializeOwned>(&mut self) -> Result<T, LinkError> {
        match self.framed.next().await {
            Some(Ok(frame)) => decode(&frame),
            Some(Err(e)) => Err(e.into()),
            None => Err(LinkError::Closed),
        }
    }

    /// Changes the largest frame accepted (raised once the peer is trusted).
    pub fn set_max_frame(&mut self, max_frame_bytes: usize) {
        self.framed
            .codec_mut()
            .set_max_frame_length(max_frame_bytes);
    }

    /// The framed stream, for a reader/writer split.
    pub fn into_framed(self) -> Framed<S, LengthDelimitedCodec> {
        self.framed
    }

    /// The connecting side's handshake: send our Hello, check the portal's
    /// proof that it knows `secret`, prove we do, read the portal's answer.
    /// A portal that proves nothing is not trusted: nothing is sent to it.
    pub async fn handshake(&mut self, role: Role, secret: &str) -> Result<Welcome, LinkError> {
        let hello = Hello::new(role);
        self.send(&hello).await?;
        match self.recv::<HelloReply>().await? {
            HelloReply::Challenge { nonce, proof } => {
                if !verify_portal_proof(secret, &hello.nonce, &proof) {
                    return Err(LinkError::Handshake(
                        "the portal does not know this game's link secret".into(),
                    ));
                }
                self.send(&Proof {
                    mac: link_proof(secret, &nonce, role),
                })
                .await?;
            }
            HelloReply::Refused { reason } => return Err(LinkError::Refused(reason)),
            HelloReply::Accepted { .. } => {
                return Err(LinkError::Handshake(
                    "the portal did not prove it knows the link secret".into(),
                ));
            }
        }
        match self.recv::<HelloReply>().await? {
            HelloReply::Accepted {
                portal_instance,
                portal_pid,
                output_many,
                metrics,
                portal_id,
            } => Ok(Welcome {
                portal_instance,
                portal_pid,
                output_many,
                metrics,
                portal_id,
            }),
            HelloReply::Refused { reason } => Err(LinkError::Refused(reason)),
            HelloReply::Challenge { .. } => Err(LinkError::Handshake("challenged twice".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionSync;

    #[test]
    fn a_frame_is_split_by_the_portal_each_session_is_on() {
        use crate::session::sessids_of;
        let a = sessids_of(0).start + 5;
        let b = sessids_of(2).start + 1;
        let b2 = sessids_of(2).start + 9;
        let gone = sessids_of(3).start + 1;
        let msgs = vec![Msg::text("Bob says, \"hi\"")];
        let frame = ToPortal::Batch {
            ops: vec![
                PortalOp::Output {
                    sessid: a,
                    msgs: msgs.clone(),
                },
                PortalOp::OutputMany {
                    sessids: vec![a, b, gone, b2],
                    msgs: msgs.clone(),
                },
                PortalOp::ConnectScreen("Welcome".into()),
                PortalOp::Disconnect {
                    sessid: b2,
                    reason: None,
                },
            ],
            acks: vec![(a, 3), (b, 7), (gone, 1)],
        };
        let parts = frame.clone().split_by_portal(&[0, 2]);
        assert_eq!(
            parts,
            vec![
                (
                    0,
                    ToPortal::Batch {
                        ops: vec![
                            PortalOp::Output {
                                sessid: a,
                                msgs: msgs.clone()
                            },
                            PortalOp::OutputMany {
                                sessids: vec![a],
                                msgs: msgs.clone()
                            },
                            PortalOp::ConnectScreen("Welcome".into()),
                        ],
                        acks: vec![(a, 3)],
                    }
                ),
                (
                    2,
                    ToPortal::Batch {
                        ops: vec![
                            PortalOp::OutputMany {
                                sessids: vec![b, b2],
                                msgs: msgs.clone()
                            },
                            PortalOp::ConnectScreen("Welcome".into()),
                            PortalOp::Disconnect {
                                sessid: b2,
                                reason: None
                            },
                        ],
                        acks: vec![(b, 7)],
                    }
                ),
            ],
            "each portal hears its own sessions; the unlinked portal 3's are dropped"
        );
        // One portal: the frame goes whole, as it always did.
        assert_eq!(frame.clone().split_by_portal(&[0]), vec![(0, frame)]);
        // A stop request is the main portal's; with none linked it goes nowhere.
        let ask = ToPortal::Request {
            mode: StopMode::Reload,
        };
        assert_eq!(ask.clone().split_by_portal(&[0, 1]), vec![(0, ask.clone())]);
        assert_eq!(ask.clone().split_by_portal(&[1]), vec![]);
        assert_eq!(ask.clone().split_by_portal(&[1, 2]), vec![]);
        let stopped = ToPortal::Stopped {
            mode: StopMode::Reload,
            changed: None,
        };
        assert_eq!(stopped.clone().split_by_portal(&[0, 1]).len(), 2);
        assert_eq!(
            ToPortal::Marked.split_by_portal(&[0, 1]),
            vec![(0, ToPortal::Marked)]
        );
    }

    #[test]
    fn a_standby_reload_is_spoken_only_between_builds_that_know_it() {
        // A server's hello says it answers a mark; a launcher's does not.
        assert!(Hello::new(Role::Server).marks);
        assert!(!Hello::new(Role::Launcher).marks);
        // An older server's hello (no `marks`) reads as one that does not.
        #[derive(Serialize)]
        struct OldHello {
            magic: String,
            version: u32,
            role: Role,
            pid: u32,
            build: String,
            nonce: Vec<u8>,
        }
        let old = encode(&OldHello {
            magic: LINK_MAGIC.into(),
            version: LINK_PROTOCOL_VERSION,
            role: Role::Server,
            pid: 9,
            build: "0.1.0".into(),
            nonce: vec![1, 2],
        })
        .unwrap();
        assert!(!decode::<Hello>(&old).unwrap().marks);
        // An older server's `Stopped` carries no list: the standby loads everything.
        #[derive(Serialize)]
        enum OldToPortal {
            Stopped { mode: StopMode },
        }
        let old = encode(&OldToPortal::Stopped {
            mode: StopMode::Reload,
        })
        .unwrap();
        assert_eq!(
            decode::<ToPortal>(&old).unwrap(),
            ToPortal::Stopped {
                mode: StopMode::Reload,
                changed: None
            }
        );
        // And the list itself, and the standby's go, cross the link whole.
        let stopped = ToPortal::Stopped {
            mode: StopMode::Reload,
            changed: Some(vec![3, 1 << 40, -1]),
        };
        assert_eq!(
            decode::<ToPortal>(&encode(&stopped).unwrap()).unwrap(),
            stopped
        );
        let go = StandbyGo {
            changed: Some(vec![5, 6]),
        };
        assert_eq!(decode::<StandbyGo>(&encode(&go).unwrap()).unwrap(), go);
        // Proofs are bound to the role: a standby's proof is no server's.
        let nonce = new_nonce();
        let proof = link_proof("s", &nonce, Role::Standby);
        assert!(verify_proof("s", &nonce, Role::Standby, &proof));
        assert!(!verify_proof("s", &nonce, Role::Server, &proof));
    }

    #[test]
    fn every_message_round_trips() {
        let sync = SessionSync {
            sessid: 7,
            address: "127.0.0.1:9".into(),
            account_name: Some("Anna Bell".into()),
            ..Default::default()
        };
        let msgs = vec![
            ToServer::Sync {
                portal_instance: 42,
                portal_id: 3,
                start_mode: StartMode::Reload,
                sessions: vec![sync.clone()],
            },
            ToServer::Input {
                sessid: 7,
                seq: 3,
                msg: Msg::text("say hi").kwarg("options", serde_json::json!({"x": [1, 2]})),
            },
            ToServer::Stop {
                mode: StopMode::Reset,
            },
            ToServer::Mark,
        ];
        for m in msgs {
            let back: ToServer = decode(&encode(&m).unwrap()).unwrap();
            assert_eq!(back, m);
        }
        let out = ToPortal::Batch {
            ops: vec![
                PortalOp::Output {
                    sessid: 7,
                    msgs: vec![Msg::text("hello"), Msg::prompt(">")],
                },
                PortalOp::SyncSession(Box::new(sync)),
                PortalOp::Disconnect {
                    sessid: 7,
                    reason: Some("bye".into()),
                },
                PortalOp::OutputMany {
                    sessids: vec![7, 8, 9],
                    msgs: vec![Msg::text("Anna says, \"hi\"")],
                },
            ],
            acks: vec![(7, 3)],
        };
        assert_eq!(decode::<ToPortal>(&encode(&out).unwrap()).unwrap(), out);
        let mut figures = crate::metrics::ServerMetrics::default();
        figures.command_seconds.observe(0.003);
        let out = ToPortal::Metrics(Box::new(figures));
        assert_eq!(decode::<ToPortal>(&encode(&out).unwrap()).unwrap(), out);
        let out = ToPortal::Marked;
        assert_eq!(decode::<ToPortal>(&encode(&out).unwrap()).unwrap(), out);
    }

    #[test]
    fn an_older_portal_is_sent_one_output_per_session_in_order() {
        // An older portal's welcome has no `output_many`: it reads as false.
        #[derive(Serialize)]
        enum OldReply {
            Accepted {
                portal_instance: u64,
                portal_pid: u32,
            },
        }
        let old = encode(&OldReply::Accepted {
            portal_instance: 1,
            portal_pid: 2,
        })
        .unwrap();
        assert_eq!(
            decode::<HelloReply>(&old).unwrap(),
            HelloReply::Accepted {
                portal_instance: 1,
                portal_pid: 2,
                output_many: false,
                metrics: false,
                portal_id: 0,
            }
        );
        let said = |s: &str| vec![Msg::text(s)];
        let batch = ToPortal::Batch {
            ops: vec![
                PortalOp::Output {
                    sessid: 1,
                    msgs: said("You say, \"hi\""),
                },
                PortalOp::OutputMany {
                    sessids: vec![2, 3],
                    msgs: said("Anna says, \"hi\""),
                },
                PortalOp::Disconnect {
                    sessid: 3,
                    reason: None,
                },
            ],
            acks: vec![(1, 5)],
        };
        let spelled = ToPortal::Batch {
            ops: vec![
                PortalOp::Output {
                    sessid: 1,
                    msgs: said("You say, \"hi\""),
                },
                PortalOp::Output {
                    sessid: 2,
                    msgs: said("Anna says, \"hi\""),
                },
                PortalOp::Output {
                    sessid: 3,
                    msgs: said("Anna says, \"hi\""),
                },
                PortalOp::Disconnect {
                    sessid: 3,
                    reason: None,
                },
            ],
            acks: vec![(1, 5)],
        };
        assert_eq!(batch.without_output_many(), spelled);
    }

    #[test]
    fn a_newer_peer_field_is_ignored_and_a_missing_one_defaults() {
        // What an old portal sees when a newer server adds a field to SessionSync.
        let mut v = serde_json::to_value(SessionSync::default()).unwrap();
        v["some_new_field"] = serde_json::json!(true);
        v.as_object_mut().unwrap().remove("data");
        let bytes = rmp_serde::to_vec_named(&v).unwrap();
        let back: SessionSync = decode(&bytes).unwrap();
        assert_eq!(back, SessionSync::default());
    }

    #[test]
    fn garbage_is_a_decode_error_not_a_panic() {
        for junk in [
            &b""[..],
            b"\xff\xff\xff",
            b"GET / HTTP/1.1\r\n\r\n",
            &[0x92, 0xc1],
        ] {
            assert!(decode::<ToServer>(junk).is_err());
            assert!(decode::<Hello>(junk).is_err());
        }
    }

    /// A frame of deeply nested arrays (what a fuzzer grew) is refused
    /// without recursing to the bottom; a player's deepest JSON still decodes.
    #[test]
    fn deep_nesting_is_a_decode_error_not_a_stack_overflow() {
        let mut deep = vec![0x91u8; 1_000_000];
        deep.push(0xc0);
        assert!(decode::<ToServer>(&deep).is_err());
        assert!(decode::<serde_json::Value>(&deep).is_err());
        let mut json = serde_json::Value::Null;
        for _ in 0..128 {
            json = serde_json::Value::Array(vec![json]);
        }
        let bytes = encode(&json).unwrap();
        assert_eq!(decode::<serde_json::Value>(&bytes).unwrap(), json);
    }

    #[test]
    fn a_version_mismatch_is_refused_with_both_versions_named() {
        let mut h = Hello::new(Role::Server);
        assert_eq!(h.refusal(), None);
        h.version = LINK_PROTOCOL_VERSION + 1;
        let why = h.refusal().unwrap();
        assert!(
            why.contains(&format!("peer speaks {}", LINK_PROTOCOL_VERSION + 1)),
            "{why}"
        );
        h.magic = "http".into();
        assert!(h.refusal().unwrap().contains("not a Tavern"));
    }

    #[test]
    fn link_proofs_need_the_secret_the_nonce_and_the_role() {
        let nonce = new_nonce();
        let proof = link_proof("correct horse", &nonce, Role::Server);
        assert_eq!(proof.len(), 64);
        assert!(verify_proof("correct horse", &nonce, Role::Server, &proof));
        assert!(!verify_proof("wrong horse", &nonce, Role::Server, &proof));
        assert!(!verify_proof(
            "correct horse",
            &new_nonce(),
            Role::Server,
            &proof
        ));
        assert!(!verify_proof(
            "correct horse",
            &nonce,
            Role::Launcher,
            &proof
        ));
        assert!(!verify_proof(
            "correct horse",
            &nonce,
            Role::Server,
            &proof[..63]
        ));
        assert!(!verify_proof("correct horse", &nonce, Role::Server, b""));
        assert_ne!(new_nonce(), new_nonce());
    }

    #[tokio::test]
    async fn frames_over_the_cap_end_the_stream_with_an_error() {
        let (a, b) = tokio::io::duplex(1 << 20);
        let mut small = LinkStream::new(a, 64 * 1024);
        let mut big = LinkStream::new(b, 1 << 20);
        big.send(&Msg::text("x".repeat(100_000))).await.unwrap();
        assert!(matches!(small.recv::<Msg>().await, Err(LinkError::Io(_))));
    }

    /// A portal end over a duplex pipe that answers the hello with `reply`
    /// (made from the hello), then accepts whatever comes.
    async fn handshake_against(
        reply: impl FnOnce(&Hello) -> HelloReply + Send + 'static,
    ) -> (Result<Welcome, LinkError>, Option<Proof>) {
        let (a, b) = tokio::io::duplex(1 << 16);
        let portal = tokio::spawn(async move {
            let mut ls = LinkStream::new(b, 1 << 16);
            let hello: Hello = ls.recv().await.unwrap();
            ls.send(&reply(&hello)).await.unwrap();
            let proof = ls.recv::<Proof>().await.ok();
            let _ = ls
                .send(&HelloReply::Accepted {
                    portal_instance: 1,
                    portal_pid: 2,
                    output_many: true,
                    metrics: true,
                    portal_id: 0,
                })
                .await;
            proof
        });
        let mut peer = LinkStream::new(a, 1 << 16);
        let r = peer.handshake(Role::Server, "s3cret").await;
        drop(peer);
        (r, portal.await.unwrap())
    }

    #[tokio::test]
    async fn a_peer_proves_itself_only_to_a_portal_that_proved_itself() {
        let (ok, proof) = handshake_against(|h| HelloReply::Challenge {
            nonce: vec![7; 32],
            proof: portal_proof("s3cret", &h.nonce),
        })
        .await;
        assert!(ok.is_ok(), "{ok:?}");
        let proof = proof.expect("the peer proved itself");
        assert!(verify_proof("s3cret", &[7; 32], Role::Server, &proof.mac));
        // A portal that asks nothing (or proves with another secret) is not trusted,
        // and is sent no proof.
        let (r, proof) = handshake_against(|_| HelloReply::Accepted {
            portal_instance: 1,
            portal_pid: 2,
            output_many: true,
            metrics: true,
            portal_id: 0,
        })
        .await;
        assert!(matches!(r, Err(LinkError::Handshake(_))), "{r:?}");
        assert!(proof.is_none());
        let (r, proof) = handshake_against(|h| HelloReply::Challenge {
            nonce: vec![7; 32],
            proof: portal_proof("another", &h.nonce),
        })
        .await;
        assert!(matches!(r, Err(LinkError::Handshake(_))), "{r:?}");
        assert!(proof.is_none());
        // The portal's proof is over the peer's own nonce: a replayed one fails.
        let (r, _) = handshake_against(|_| HelloReply::Challenge {
            nonce: vec![7; 32],
            proof: portal_proof("s3cret", &[1; 32]),
        })
        .await;
        assert!(r.is_err());
    }
}
