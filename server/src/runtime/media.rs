//! Sounds and music for clients that play them: Mudlet's `Client.Media`
//! GMCP (and the webclient, which plays the same messages), sent from game
//! code. A client that said which GMCP it takes and left `Client.Media`
//! out is sent nothing; telnet clients without GMCP never see it.
//!
//! ```no_run
//! # use tavern_server::{Server, SessId};
//! # use tavern_server::media::Media;
//! # fn f(server: &mut Server, sessid: SessId) {
//! server.media_play(
//!     sessid,
//!     &Media::sound("bell.ogg")
//!         .url("https://example.org/sounds/")
//!         .volume(60),
//! );
//! server.media_stop(sessid, Some("bell.ogg"));
//! # }
//! ```

use serde_json::{Map, Value, json};
use tavern_shared::SessId;

use crate::runtime::feeds::gmcp;
use crate::runtime::server::Server;

/// Whether an address may be sent to clients: the same rule as web links
/// in the markup (`http(s)://`, nothing a page could misread).
fn web_address(url: &str) -> bool {
    tavern_shared::markup::link_allowed(tavern_shared::markup::LinkKind::Url, url)
}

/// One sound or piece of music to play (`Client.Media.Play`).
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    fields: Map<String, Value>,
}

impl Media {
    fn new(name: &str, kind: &str) -> Self {
        let mut fields = Map::new();
        fields.insert("name".into(), name.into());
        fields.insert("type".into(), kind.into());
        Self { fields }
    }

    /// A sound effect: the file `name` (relative to the URL, or to the
    /// client's default URL).
    pub fn sound(name: &str) -> Self {
        Self::new(name, "sound")
    }

    /// Music.
    pub fn music(name: &str) -> Self {
        Self::new(name, "music")
    }

    /// Where the file is (an `http(s)://` base URL); others are left out.
    pub fn url(mut self, url: &str) -> Self {
        if web_address(url) {
            self.fields.insert("url".into(), url.into());
        }
        self
    }

    /// Volume, 1 to 100.
    pub fn volume(mut self, v: u8) -> Self {
        self.fields.insert("volume".into(), v.clamp(1, 100).into());
        self
    }

    /// How many times to play it (-1: until stopped).
    pub fn loops(mut self, n: i32) -> Self {
        self.fields.insert("loops".into(), n.max(-1).into());
        self
    }

    /// A key that a later play or stop names it by (one sound per key).
    pub fn key(mut self, key: &str) -> Self {
        self.fields.insert("key".into(), key.into());
        self
    }

    /// A tag grouping sounds to stop together.
    pub fn tag(mut self, tag: &str) -> Self {
        self.fields.insert("tag".into(), tag.into());
        self
    }

    /// Fade in over this many milliseconds.
    pub fn fade_in(mut self, ms: u32) -> Self {
        self.fields.insert("fadein".into(), ms.into());
        self
    }

    /// The message's payload.
    pub fn payload(&self) -> Value {
        Value::Object(self.fields.clone())
    }
}

impl Server {
    fn send_media(&mut self, sessid: SessId, package: &str, payload: Value) {
        if self.session_supports(sessid, "Client.Media") {
            self.send_msg(sessid, gmcp(package, payload));
        }
    }

    /// Plays a sound or music on the session's client.
    pub fn media_play(&mut self, sessid: SessId, media: &Media) {
        self.send_media(sessid, "Client.Media.Play", media.payload());
    }

    /// Stops what plays: the sound or key `name`, or everything.
    pub fn media_stop(&mut self, sessid: SessId, name: Option<&str>) {
        let payload = match name {
            Some(n) => json!({"name": n}),
            None => json!({}),
        };
        self.send_media(sessid, "Client.Media.Stop", payload);
    }

    /// Where the client finds media named without a URL.
    pub fn media_default_url(&mut self, sessid: SessId, url: &str) {
        if web_address(url) {
            self.send_media(sessid, "Client.Media.Default", json!({"url": url}));
        }
    }
}
