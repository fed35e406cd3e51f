//! Byte-exact transcripts of each option, as a client would send them.

use std::io::Read;

use serde_json::json;

use super::*;
use crate::telnet::{DO, DONT, WILL, WONT, msdp as m};

fn no_mssp() -> Vec<(String, String)> {
    vec![
        ("NAME".into(), "Test".into()),
        ("PLAYERS".into(), "2".into()),
    ]
}

fn proto() -> TelnetProtocol {
    let mut p = TelnetProtocol::new(1024);
    p.start();
    p
}

fn recv(p: &mut TelnetProtocol, bytes: &[u8]) -> (Vec<ProtoEvent>, Vec<u8>) {
    p.receive(bytes, &no_mssp)
}

fn sb(opt: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![IAC, SB, opt];
    v.extend_from_slice(data);
    v.extend_from_slice(&[IAC, SE]);
    v
}

fn inputs(events: &[ProtoEvent]) -> Vec<Msg> {
    events
        .iter()
        .filter_map(|e| match e {
            ProtoEvent::Input(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_server_offers_every_option_once() {
    let mut p = TelnetProtocol::new(1024);
    assert_eq!(
        p.start(),
        vec![
            IAC,
            WILL,
            Opt::SGA,
            IAC,
            WILL,
            Opt::EOR,
            IAC,
            WILL,
            Opt::CHARSET,
            IAC,
            WILL,
            Opt::MSDP,
            IAC,
            WILL,
            Opt::MSSP,
            IAC,
            WILL,
            Opt::MCCP2,
            IAC,
            WILL,
            Opt::MXP,
            IAC,
            WILL,
            Opt::GMCP,
            IAC,
            DO,
            Opt::TTYPE,
            IAC,
            DO,
            Opt::NAWS,
        ]
    );
}

#[test]
fn ttype_cycles_three_times_and_sets_the_flags() {
    let mut p = proto();
    let (_, out) = recv(&mut p, &[IAC, WILL, Opt::TTYPE]);
    assert_eq!(out, mtts::send_request());
    let (_, out) = recv(&mut p, &sb(Opt::TTYPE, b"\0MUDLET"));
    assert_eq!(out, mtts::send_request());
    assert_eq!(p.flags.client_name.as_deref(), Some("MUDLET"));
    let (_, out) = recv(&mut p, &sb(Opt::TTYPE, b"\0XTERM-256COLOR"));
    assert_eq!(out, mtts::send_request());
    let (ev, out) = recv(&mut p, &sb(Opt::TTYPE, b"\0MTTS 2317"));
    assert!(out.is_empty(), "the cycle is over");
    assert!(ev.contains(&ProtoEvent::FlagsChanged));
    assert!(p.flags.truecolor && p.flags.utf8);
    assert_eq!(p.color_mode(), ColorMode::TrueColor);
}

#[test]
fn naws_updates_the_window_size() {
    let mut p = proto();
    let mut bytes = vec![IAC, WILL, Opt::NAWS];
    bytes.extend(sb(Opt::NAWS, &[0, 132, 0, 50]));
    let (ev, _) = recv(&mut p, &bytes);
    assert!(ev.contains(&ProtoEvent::FlagsChanged));
    assert_eq!(
        (p.flags.screen_width, p.flags.screen_height),
        (Some(132), Some(50))
    );
    assert!(p.flags.options.contains(&"NAWS".to_string()));
}

#[test]
fn prompts_end_with_eor_or_ga_as_negotiated() {
    let prompt = [Msg::prompt("HP 10> ")];
    let mut p = proto();
    // Neither EOR nor SGA accepted yet: a prompt ends with GA.
    assert_eq!(
        p.render(&prompt),
        [b"HP 10> ".as_slice(), &[IAC, GA]].concat()
    );
    recv(&mut p, &[IAC, DO, Opt::SGA]);
    assert_eq!(
        p.render(&prompt),
        b"HP 10> ".to_vec(),
        "go-ahead suppressed"
    );
    recv(&mut p, &[IAC, DO, Opt::EOR]);
    assert_eq!(
        p.render(&prompt),
        [b"HP 10> ".as_slice(), &[IAC, EOR_CMD]].concat()
    );
    // Text is never followed by either.
    assert_eq!(p.render(&[Msg::text("hi")]), b"hi\r\n".to_vec());
}

#[test]
fn echo_is_turned_off_and_on_for_hidden_input() {
    let mut p = proto();
    let hide = Msg::prompt("Password: ").kwarg("options", json!({"echo": false}));
    let out = p.render(&[hide]);
    assert!(out.ends_with(&[IAC, WILL, Opt::ECHO]), "{out:?}");
    recv(&mut p, &[IAC, DO, Opt::ECHO]);
    let show = Msg::text("").kwarg("options", json!({"echo": true}));
    assert!(p.render(&[show]).ends_with(&[IAC, WONT, Opt::ECHO]));
}

#[test]
fn mccp2_compresses_everything_after_the_marker() {
    let mut p = proto();
    let (_, out) = recv(&mut p, &[IAC, DO, Opt::MCCP2]);
    assert_eq!(out, vec![IAC, SB, Opt::MCCP2, IAC, SE]);
    assert!(p.compressing());
    let mut wire = Vec::new();
    let big = "The quick brown fox. ".repeat(2000);
    wire.extend(p.render(&[Msg::text("hello")]));
    wire.extend(p.render(&[Msg::text(big.clone())]));
    wire.extend(p.render(&[Msg::prompt("> ")]));
    assert!(
        wire.len() < big.len() / 10,
        "compressed: {} bytes",
        wire.len()
    );
    // A client inflates the stream as it arrives: every render is flushed.
    let mut z = flate2::read::ZlibDecoder::new(&wire[..]);
    let mut plain = Vec::new();
    let _ = z.read_to_end(&mut plain);
    let expected = format!("hello\r\n{}\r\n> ", big);
    assert!(
        plain.starts_with(expected.as_bytes()),
        "inflated {} bytes",
        plain.len()
    );
    // A client that turns it off gets the end of the stream, then plain bytes.
    recv(&mut p, &[IAC, DONT, Opt::MCCP2]);
    assert!(!p.compressing());
    assert_eq!(p.render(&[Msg::text("plain")]), b"plain\r\n".to_vec());
}

#[test]
fn negotiation_answers_after_the_marker_are_compressed_too() {
    let mut p = proto();
    let mut wire = recv(&mut p, &[IAC, DO, Opt::MCCP2]).1;
    let marker = wire.len();
    // An option nobody offered, and a window size: answered and heard
    // inside the compressed stream, never as raw bytes in it.
    wire.extend(recv(&mut p, &[IAC, DO, 99]).1);
    wire.extend(p.render(&[Msg::text("after")]));
    assert!(
        !wire[marker..].windows(3).any(|w| w == [IAC, WONT, 99]),
        "a raw answer would break the client's zlib stream"
    );
    let mut z = flate2::read::ZlibDecoder::new(&wire[marker..]);
    let mut plain = Vec::new();
    let _ = z.read_to_end(&mut plain);
    let mut want = vec![IAC, WONT, 99];
    want.extend(b"after\r\n");
    assert_eq!(
        plain, want,
        "one well-formed stream: the refusal, then the text"
    );
}

#[test]
fn the_deflater_exists_only_for_sessions_that_accept_mccp2() {
    let mut p = proto();
    recv(&mut p, &[IAC, DONT, Opt::MCCP2, IAC, DO, Opt::GMCP]);
    assert!(!p.compressing());
}

#[test]
fn mssp_is_sent_when_asked_for() {
    let mut p = proto();
    let (_, out) = recv(&mut p, &[IAC, DO, Opt::MSSP]);
    assert_eq!(out, mssp::encode(&no_mssp()));
}

#[test]
fn gmcp_hello_supports_and_ping_are_handled_by_the_portal() {
    let mut p = proto();
    recv(&mut p, &[IAC, DO, Opt::GMCP]);
    let (ev, _) = recv(
        &mut p,
        &sb(
            Opt::GMCP,
            br#"Core.Hello {"client":"Mudlet","version":"4.19.1"}"#,
        ),
    );
    assert!(inputs(&ev).is_empty());
    assert_eq!(p.flags.client_name.as_deref(), Some("Mudlet 4.19.1"));
    recv(
        &mut p,
        &sb(Opt::GMCP, br#"Core.Supports.Set ["Char 1", "Room 1"]"#),
    );
    recv(&mut p, &sb(Opt::GMCP, br#"Core.Supports.Add ["Comm 1"]"#));
    recv(&mut p, &sb(Opt::GMCP, br#"Core.Supports.Remove ["Room"]"#));
    assert_eq!(p.flags.oob_supports, vec!["Char 1", "Comm 1"]);
    let (_, out) = recv(&mut p, &sb(Opt::GMCP, b"Core.Ping"));
    assert_eq!(out, sb(Opt::GMCP, b"Core.Ping"));
    let (ev, _) = recv(&mut p, &sb(Opt::GMCP, br#"Char.Skills.Get {"group":"x"}"#));
    assert_eq!(inputs(&ev)[0].cmd, "char_skills_get");
}

#[test]
fn oob_output_goes_out_as_gmcp_and_msdp_when_accepted() {
    let vitals = Msg::new("Char.Vitals").kwarg("hp", json!(7));
    let mut p = proto();
    assert!(
        p.render(std::slice::from_ref(&vitals)).is_empty(),
        "nothing negotiated, nothing sent"
    );
    recv(&mut p, &[IAC, DO, Opt::GMCP]);
    assert_eq!(
        p.render(std::slice::from_ref(&vitals)),
        sb(Opt::GMCP, br#"Char.Vitals {"hp":7}"#)
    );
    recv(&mut p, &[IAC, DO, Opt::MSDP]);
    let out = p.render(&[Msg::new("HEALTH").arg(json!(7))]);
    let mut want = sb(Opt::GMCP, b"Core.HEALTH 7");
    want.extend(sb(
        Opt::MSDP,
        &[&[m::VAR][..], b"HEALTH", &[m::VAL], b"7"].concat(),
    ));
    assert_eq!(out, want);
}

#[test]
fn msdp_input_goes_to_the_server() {
    let mut p = proto();
    recv(&mut p, &[IAC, DO, Opt::MSDP]);
    let data = [&[m::VAR][..], b"REPORT", &[m::VAL], b"HEALTH"].concat();
    let (ev, _) = recv(&mut p, &sb(Opt::MSDP, &data));
    let msgs = inputs(&ev);
    assert_eq!(msgs[0].cmd, "msdp_report");
    assert_eq!(msgs[0].args, vec![json!("HEALTH")]);
}

#[test]
fn charset_negotiates_latin1_both_ways() {
    let mut p = proto();
    let (_, out) = recv(&mut p, &[IAC, DO, Opt::CHARSET]);
    assert_eq!(out, sb(Opt::CHARSET, b"\x01;UTF-8;ISO-8859-1"));
    recv(&mut p, &sb(Opt::CHARSET, b"\x02ISO-8859-1"));
    assert_eq!(p.flags.encoding, "latin-1");
    let (ev, _) = recv(&mut p, b"say caf\xe9\r\n");
    assert_eq!(inputs(&ev)[0].first_str(), Some("say café"));
    assert_eq!(p.render(&[Msg::text("café ☕")]), b"caf\xe9 ?\r\n".to_vec());
}

#[test]
fn colours_follow_the_client() {
    let mut p = proto();
    assert_eq!(
        p.render(&[Msg::text("|rX")]),
        b"\x1b[0;1;31mX\x1b[0m\r\n".to_vec()
    );
    p.flags.screenreader = true;
    assert_eq!(p.render(&[Msg::text("|rX")]), b"X\r\n".to_vec());
}

#[test]
fn a_whole_client_handshake_split_at_every_byte_gives_the_same_result() {
    let mut input = vec![
        IAC,
        WILL,
        Opt::TTYPE,
        IAC,
        WILL,
        Opt::NAWS,
        IAC,
        DO,
        Opt::GMCP,
        IAC,
        DO,
        Opt::EOR,
    ];
    input.extend(sb(Opt::NAWS, &[0, 80, 0, 24]));
    input.extend(sb(Opt::TTYPE, b"\0TINTIN++"));
    input.extend(sb(Opt::GMCP, br#"Core.Hello {"client":"TinTin++"}"#));
    input.extend_from_slice(b"look\r\nsay hi\r\n");
    let whole = {
        let mut p = proto();
        let r = recv(&mut p, &input);
        (r, p.flags.clone())
    };
    for cut in 0..=input.len() {
        let mut p = proto();
        let (mut ev, mut out) = recv(&mut p, &input[..cut]);
        let (ev2, out2) = recv(&mut p, &input[cut..]);
        ev.extend(ev2);
        out.extend(out2);
        let msgs = inputs(&ev);
        assert_eq!(msgs, inputs(&whole.0.0), "split at {cut}");
        assert_eq!(out, whole.0.1, "split at {cut}");
        assert_eq!(p.flags, whole.1, "split at {cut}");
    }
    assert_eq!(
        inputs(&whole.0.0)
            .iter()
            .map(|m| m.first_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["look", "say hi"]
    );
}

#[test]
fn a_reply_meant_for_msdp_goes_out_on_msdp_only_and_without_options() {
    let mut p = proto();
    recv(&mut p, &[IAC, DO, Opt::GMCP, IAC, DO, Opt::MSDP]);
    let reply = Msg::new("COMMANDS")
        .arg(json!(["LIST", "REPORT"]))
        .kwarg("options", json!({"protocol": "msdp"}));
    let want = sb(
        Opt::MSDP,
        &[
            &[m::VAR][..],
            b"COMMANDS",
            &[m::VAL, m::ARRAY_OPEN, m::VAL],
            b"LIST",
            &[m::VAL],
            b"REPORT",
            &[m::ARRAY_CLOSE],
        ]
        .concat(),
    );
    assert_eq!(p.render(&[reply]), want);
    let gmcp_only = Msg::new("Char.Vitals")
        .kwarg("hp", json!(1))
        .kwarg("options", json!({"protocol": "gmcp"}));
    assert_eq!(
        p.render(&[gmcp_only]),
        sb(Opt::GMCP, br#"Char.Vitals {"hp":1}"#)
    );
}

#[test]
fn mxp_clients_get_links_as_send_tags_and_others_plain_text() {
    let msg = Msg::text("Exits: |lcnorth|ltnorth|le <here>");
    // Until the client accepts MXP: the link's text only.
    let mut p = proto();
    assert_eq!(
        p.render(std::slice::from_ref(&msg)),
        b"Exits: north <here>\r\n".to_vec()
    );
    // It accepts: MXP starts, in locked mode.
    let (events, out) = recv(&mut p, &[IAC, DO, Opt::MXP]);
    let mut want = sb(Opt::MXP, b"");
    want.extend_from_slice(b"\x1b[7z");
    assert_eq!(out, want);
    assert!(p.flags.options.iter().any(|o| o == "MXP"));
    assert!(events.iter().any(|e| matches!(e, ProtoEvent::FlagsChanged)));
    assert_eq!(
        p.render(std::slice::from_ref(&msg)),
        b"Exits: \x1b[4z<SEND HREF=\"north\">\x1b[7znorth\x1b[4z</SEND>\x1b[7z <here>\r\n".to_vec()
    );
    // A client that refuses it sees plain text.
    let mut q = proto();
    let (_, out) = recv(&mut q, &[IAC, DONT, Opt::MXP]);
    assert!(!out.windows(2).any(|w| w == [SB, Opt::MXP]));
    assert_eq!(
        q.render(std::slice::from_ref(&msg)),
        b"Exits: north <here>\r\n".to_vec()
    );
}

#[test]
fn a_suspended_connection_resumes_in_another_process_byte_for_byte() {
    let mut p = proto();
    // Everything the old process sends the client, from MCCP2's marker on.
    let mut wire = recv(
        &mut p,
        &[IAC, DO, Opt::MCCP2, IAC, DO, Opt::GMCP, IAC, DO, Opt::EOR],
    )
    .1;
    let marker = wire
        .windows(5)
        .position(|w| w == [IAC, SB, Opt::MCCP2, IAC, SE])
        .unwrap();
    wire.drain(..marker + 5);
    wire.extend(recv(&mut p, &[IAC, WILL, Opt::NAWS]).1);
    wire.extend(recv(&mut p, &sb(Opt::NAWS, &[0, 132, 0, 40])).1);
    wire.extend(p.render(&[Msg::text("before")]));
    // Half a line has arrived when the portal hands the connection over.
    let (events, reply) = recv(&mut p, b"say half");
    assert!(inputs(&events).is_empty());
    wire.extend(reply);
    let (last, state) = p.suspend();
    wire.extend(last);
    // The state crosses to the new process as JSON.
    let state: SuspendedTelnet =
        serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
    assert_eq!(state.flags.screen_width, Some(132));
    let (mut q, first) = TelnetProtocol::resume(state);
    assert_eq!(
        first,
        vec![IAC, SB, Opt::MCCP2, IAC, SE],
        "compression starts again"
    );
    assert!(q.compressing());
    // The rest of the line completes the half the old process read.
    let (events, reply) = recv(&mut q, b" way\r\n");
    assert_eq!(inputs(&events), vec![Msg::text("say half way")]);
    let mut next = first.clone();
    next.extend(reply);
    // Options stay negotiated: GMCP goes out, a prompt ends with EOR.
    let after = q.render(&[
        Msg::text("after"),
        Msg::new("Char.Vitals").arg(json!({"hp": 3})),
    ]);
    // The client: the first zlib stream ends, the marker comes plain, a
    // second stream holds what the new process sent.
    let mut z = flate2::Decompress::new(true);
    let mut plain = Vec::with_capacity(1024);
    let status = z
        .decompress_vec(&wire, &mut plain, flate2::FlushDecompress::Sync)
        .unwrap();
    assert_eq!(
        status,
        flate2::Status::StreamEnd,
        "the old stream is finished"
    );
    assert_eq!(z.total_in() as usize, wire.len(), "nothing after its end");
    assert!(plain.ends_with(b"before\r\n"), "{plain:?}");
    next.extend(after);
    assert_eq!(&next[..5], &[IAC, SB, Opt::MCCP2, IAC, SE]);
    let mut z = flate2::Decompress::new(true);
    let mut plain = Vec::with_capacity(1024);
    z.decompress_vec(&next[5..], &mut plain, flate2::FlushDecompress::Sync)
        .unwrap();
    let text = String::from_utf8_lossy(&plain);
    assert!(text.starts_with("after\r\n"), "{text}");
    assert!(text.contains("Char.Vitals"), "{text}");
}

#[test]
fn a_subnegotiation_doubles_every_iac_in_its_data() {
    for data in [
        &b""[..],
        b"Char.Vitals {}",
        &[IAC],
        &[IAC, IAC, b'x'],
        &[b'a', IAC, b'b', IAC],
    ] {
        let mut want = vec![IAC, SB, Opt::GMCP];
        for &b in data {
            want.push(b);
            if b == IAC {
                want.push(IAC);
            }
        }
        want.extend_from_slice(&[IAC, SE]);
        assert_eq!(frame_sb(Opt::GMCP, data), want, "{data:?}");
        let mut out = b"before".to_vec();
        frame_sb_into(Opt::GMCP, data, &mut out);
        assert_eq!(out, [&b"before"[..], &want].concat());
    }
}
