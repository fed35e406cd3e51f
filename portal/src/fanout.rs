//! Messages on their way to one connection or to many (a line said in a
//! crowded room), and the renders made of them, shared between the
//! connections whose clients show text alike.
//!
//! A line heard by 500 players reaches 500 connection tasks. Each used to
//! render it for its own client: markup to colour codes, the text to the
//! client's charset, the GMCP copy to JSON — the same bytes again and again,
//! for most clients render alike (colour mode, MXP, charset, the options
//! they took). The first connection of each [`RenderLook`] now renders it
//! and leaves the bytes here; the others copy them. Compression (MCCP2)
//! keeps a stream per connection, so it comes after, per connection.

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use tavern_protocol::telnet::protocol::{RenderLook, renders_alike};
use tavern_shared::Msg;

/// How many looks one message keeps renders for (a crowd's clients rarely
/// differ in more ways; the rest render for themselves).
const MAX_LOOKS: usize = 8;

/// Messages the hub hands to one connection or to many.
pub(crate) struct Outgoing {
    msgs: Box<[Msg]>,
    /// Renders are kept: the messages go to several connections and render
    /// the same for connections that look alike.
    share: bool,
    renders: Mutex<Vec<(RenderLook, Arc<[u8]>)>>,
}

impl Outgoing {
    /// Messages for one connection: rendered by it alone.
    pub(crate) fn one(msgs: impl Into<Box<[Msg]>>) -> Arc<Self> {
        Self::new(msgs.into(), false)
    }

    /// Messages for several connections.
    pub(crate) fn many(msgs: impl Into<Box<[Msg]>>) -> Arc<Self> {
        Self::new(msgs.into(), true)
    }

    fn new(msgs: Box<[Msg]>, many: bool) -> Arc<Self> {
        let share = many && msgs.iter().all(renders_alike);
        Arc::new(Self {
            msgs,
            share,
            renders: Mutex::new(Vec::new()),
        })
    }

    /// Whether connections that look alike share the renders of these
    /// messages (they go to several, and change none of them).
    pub(crate) fn shared(&self) -> bool {
        self.share
    }

    /// Appends the messages rendered for a connection of `look` to `out`:
    /// the bytes another connection of that look made, or what `render`
    /// makes (kept for the others). `look` is asked only of shared ones.
    pub(crate) fn render_into(
        &self,
        look: Option<&RenderLook>,
        out: &mut Vec<u8>,
        render: impl FnOnce(&[Msg]) -> Vec<u8>,
    ) {
        let (true, Some(look)) = (self.share, look) else {
            out.extend(render(&self.msgs));
            return;
        };
        let found = self
            .lock()
            .iter()
            .find(|(l, _)| l == look)
            .map(|(_, bytes)| bytes.clone());
        if let Some(bytes) = found {
            out.extend_from_slice(&bytes);
            return;
        }
        // Rendered outside the lock: connections of other looks render meanwhile.
        let bytes: Arc<[u8]> = render(&self.msgs).into();
        out.extend_from_slice(&bytes);
        let mut renders = self.lock();
        if renders.len() < MAX_LOOKS && !renders.iter().any(|(l, _)| l == look) {
            renders.push((look.clone(), bytes));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(RenderLook, Arc<[u8]>)>> {
        self.renders.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.msgs.iter()).finish()
    }
}

impl Deref for Outgoing {
    type Target = [Msg];

    fn deref(&self) -> &[Msg] {
        &self.msgs
    }
}

#[cfg(test)]
mod tests {
    use tavern_protocol::telnet::protocol::TelnetProtocol;

    use super::*;

    fn said() -> Vec<Msg> {
        vec![
            Msg::text("|cAnna|n says, \"|wHello, everyone|n.\""),
            Msg::new("Comm.Channel.Text").arg(serde_json::json!({"channel": "say"})),
        ]
    }

    #[test]
    fn a_line_for_many_is_rendered_once_for_each_look_and_the_bytes_are_each_ones_own() {
        let line = Outgoing::many(said());
        let mut renders = 0;
        let mut plain = TelnetProtocol::new(1024);
        plain.flags.nocolor = true;
        let coloured = TelnetProtocol::new(1024);
        assert_ne!(plain.look(), coloured.look());
        let mut protos = [plain, coloured];
        let mut outs = Vec::new();
        for i in [0, 1, 0, 1, 0] {
            let proto = &mut protos[i];
            let mut out = Vec::new();
            let look = proto.look();
            line.render_into(Some(&look), &mut out, |m| {
                renders += 1;
                proto.render_plain(m)
            });
            // Each gets what it would have rendered itself.
            assert_eq!(out, proto.render_plain(&said()));
            outs.push(out);
        }
        assert_eq!(renders, 2, "once per look");
        assert_ne!(
            outs[0], outs[1],
            "colour codes for the one that shows colour"
        );
    }

    #[test]
    fn a_line_for_one_or_one_that_changes_the_connection_is_not_shared() {
        let mut proto = TelnetProtocol::new(1024);
        let look = proto.look();
        let mut renders = 0;
        let mut render = |m: &[Msg]| {
            renders += 1;
            proto.render_plain(m)
        };
        let one = Outgoing::one(said());
        one.render_into(Some(&look), &mut Vec::new(), &mut render);
        one.render_into(Some(&look), &mut Vec::new(), &mut render);
        let hide = Outgoing::many(vec![
            Msg::text("Password:").kwarg("options", serde_json::json!({"echo": false})),
        ]);
        hide.render_into(Some(&look), &mut Vec::new(), &mut render);
        hide.render_into(Some(&look), &mut Vec::new(), &mut render);
        assert_eq!(renders, 4, "each connection renders its own");
    }
}
