//! Fuzzing entry points for what the portal parses from clients: the telnet
//! stream with every option, and out-of-band payloads (GMCP, MSDP, websocket
//! frames). Each must return normally for any input; see `tavern_shared::fuzz`.

use tavern_shared::Msg;

use crate::telnet::protocol::TelnetProtocol;
use crate::telnet::{gmcp, msdp};
use crate::web::wire::WireFormat;

/// Any bytes as a telnet stream, cut into chunks of sizes taken from the data itself.
pub fn telnet(data: &[u8]) {
    let mut p = TelnetProtocol::new(512);
    p.start();
    let mssp = || vec![("NAME".to_string(), "fuzz".to_string())];
    let mut rest = data;
    while !rest.is_empty() {
        let n = (rest[0] as usize % 64 + 1).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        let (events, _reply) = p.receive(chunk, &mssp);
        for e in &events {
            if let crate::telnet::protocol::ProtoEvent::Input(m) = e {
                let _ = p.render(std::slice::from_ref(m));
            }
        }
        rest = tail;
    }
    let _ = p.render(&[Msg::text(String::from_utf8_lossy(data)), Msg::prompt("> ")]);
}

/// Any bytes as keys typed into an SSH terminal (with a pseudo-terminal or
/// without, by the first byte), in chunks; every line that comes out is
/// clean and bounded, and the game's output in between renders.
pub fn terminal(data: &[u8]) {
    const MAX_LINE: usize = 64;
    let mut t = crate::terminal::Terminal::new(MAX_LINE);
    if data.first().is_some_and(|b| b & 1 == 0) {
        t.open_pty("xterm-256color", 80, 24);
    }
    let mut rest = data;
    while !rest.is_empty() {
        let n = (rest[0] as usize % 16 + 1).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        let (events, _echo) = t.receive(chunk);
        for e in events {
            if let crate::terminal::TermEvent::Input(m) = e {
                let line = m.first_str().unwrap_or_default();
                assert!(line.len() <= MAX_LINE, "{line:?}");
                assert!(!line.chars().any(char::is_control), "{line:?}");
            }
        }
        // The game answers in between: a prompt that hides or shows typing.
        let echo = chunk[0] & 2 == 0;
        let _ = t.render(&[
            Msg::text(String::from_utf8_lossy(chunk)),
            Msg::prompt("> ").kwarg("options", serde_json::json!({ "echo": echo })),
        ]);
        rest = tail;
    }
}

/// Any bytes as GMCP, MSDP and websocket payloads; whatever decodes encodes again.
pub fn oob(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let g = gmcp::decode(&text);
    let _ = gmcp::encode(&g);
    for m in msdp::decode(data) {
        let _ = msdp::encode(&m);
        let _ = gmcp::encode(&m);
    }
    for f in WireFormat::ALL {
        for m in f
            .decode_text(&text)
            .into_iter()
            .chain(f.decode_binary(data))
        {
            let _ = f.encode(&m, tavern_shared::markup::ColorMode::TrueColor);
            let _ = f.encode(&m, tavern_shared::markup::ColorMode::Plain);
        }
    }
}

/// Any bytes as a frame of every websocket wire format, then through what
/// the portal does with a client's message (cleaning and bounding it); what
/// is left is clean and bounded, and encodes again.
pub fn ws_wire(data: &[u8]) {
    const MAX_LINE: usize = 512;
    let text = String::from_utf8_lossy(data);
    let mut flags = tavern_shared::session::ProtocolFlags::new();
    for f in WireFormat::ALL {
        for m in f
            .decode_text(&text)
            .into_iter()
            .chain(f.decode_binary(data))
        {
            let m = match gmcp::portal_input(m, &mut flags) {
                gmcp::PortalInput::Forward(m) => m,
                gmcp::PortalInput::Handled { .. } => continue,
            };
            if let Ok(m) = tavern_shared::text::bound_input(m, MAX_LINE)
                && m.cmd == "text"
            {
                let line = m.first_str().unwrap_or("");
                assert!(line.len() <= MAX_LINE);
                assert!(!line.chars().any(char::is_control), "{line:?}");
            }
        }
        let _ = f.encode(
            &Msg::text(text.clone()),
            tavern_shared::markup::ColorMode::Plain,
        );
    }
    assert!(flags.oob_supports.len() <= gmcp::MAX_SUPPORTS);
}

/// Any bytes as GMCP, fed twice into one session's flags: the portal's own
/// packages stay bounded whatever arrives, and a message re-encodes to the
/// package it came as.
pub fn gmcp(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut flags = tavern_shared::session::ProtocolFlags::new();
    for _ in 0..2 {
        let m = gmcp::decode(&text);
        // A package of plain words encodes back to itself.
        let plain_words = !m.cmd.is_empty()
            && m.cmd
                .split('_')
                .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()));
        if plain_words {
            let again = gmcp::decode(&gmcp::encode(&m));
            assert_eq!(again.cmd, m.cmd, "{text:?}");
        }
        let _ = gmcp::portal_input(m, &mut flags);
    }
    assert!(flags.oob_supports.len() <= gmcp::MAX_SUPPORTS);
    assert!(
        flags
            .oob_supports
            .iter()
            .all(|s| s.len() <= gmcp::MAX_SUPPORT_LEN)
    );
    assert!(
        flags
            .client_name
            .as_ref()
            .is_none_or(|n| n.chars().count() <= gmcp::MAX_CLIENT_NAME)
    );
}

#[cfg(test)]
mod tests {
    use tavern_shared::fuzz::replay;

    #[test]
    fn the_ws_wire_corpus_replays() {
        assert!(replay("ws_wire", super::ws_wire) > 0);
    }

    #[test]
    fn the_gmcp_corpus_replays() {
        assert!(replay("gmcp", super::gmcp) > 0);
    }

    #[test]
    fn the_telnet_corpus_replays() {
        assert!(
            replay("telnet", super::telnet) > 0,
            "the corpus is in the repository"
        );
    }

    #[test]
    fn the_terminal_corpus_replays() {
        assert!(
            replay("terminal", super::terminal) > 0,
            "the corpus is in the repository"
        );
    }

    #[test]
    fn the_oob_corpus_replays() {
        assert!(
            replay("oob", super::oob) > 0,
            "the corpus is in the repository"
        );
    }
}
