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

/// Any bytes as GMCP, MSDP and websocket payloads; whatever decodes encodes again.
pub fn oob(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let g = gmcp::decode(&text);
    let _ = gmcp::encode(&g);
    for m in msdp::decode(data) {
        let _ = msdp::encode(&m);
        let _ = gmcp::encode(&m);
    }
    for f in [
        WireFormat::EvenniaV1,
        WireFormat::MudstandardsJson,
        WireFormat::MudstandardsGmcp,
        WireFormat::Terminal,
    ] {
        for m in f
            .decode_text(&text)
            .into_iter()
            .chain(f.decode_binary(data))
        {
            let _ = f.encode(&m);
        }
    }
}

#[cfg(test)]
mod tests {
    use tavern_shared::fuzz::replay;

    #[test]
    fn the_telnet_corpus_replays() {
        assert!(
            replay("telnet", super::telnet) > 0,
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
