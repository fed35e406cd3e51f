use super::*;

fn telnet() -> Telnet {
    Telnet::new(64, 32, &[Opt::SGA, Opt::ECHO], &[Opt::NAWS])
}

fn lines(f: &Feed) -> Vec<String> {
    f.events
        .iter()
        .filter_map(|e| match e {
            TelnetEvent::Line(l) => Some(String::from_utf8_lossy(l).into_owned()),
            _ => None,
        })
        .collect()
}

/// Feeds `input` split at every offset (and byte by byte) and checks the result never changes.
fn feed_split_everywhere(input: &[u8]) -> Feed {
    let mut whole = telnet();
    whole.start();
    let expected = whole.feed(input);
    for cut in 0..=input.len() {
        let mut t = telnet();
        t.start();
        let mut a = t.feed(&input[..cut]);
        let b = t.feed(&input[cut..]);
        a.events.extend(b.events);
        a.reply.extend(b.reply);
        assert_eq!(a, expected, "split at {cut}");
    }
    let mut t = telnet();
    t.start();
    let mut bytewise = Feed::default();
    for &b in input {
        let f = t.feed(&[b]);
        bytewise.events.extend(f.events);
        bytewise.reply.extend(f.reply);
    }
    assert_eq!(bytewise, expected, "byte by byte");
    expected
}

#[test]
fn every_line_end_is_understood() {
    let f = feed_split_everywhere(b"one\r\ntwo\r\0three\nfour\rfive\r\n\r\nsix");
    assert_eq!(lines(&f), vec!["one", "two", "three", "four", "five", ""]);
}

#[test]
fn doubled_iac_is_a_data_byte_and_commands_vanish_from_data() {
    let f = feed_split_everywhere(&[b'a', IAC, IAC, b'b', IAC, NOP, b'c', IAC, GA, b'\n']);
    assert_eq!(
        f.events,
        vec![TelnetEvent::Line(vec![b'a', IAC, b'b', b'c'])]
    );
}

#[test]
fn start_offers_what_we_support_but_not_echo() {
    let mut t = telnet();
    assert_eq!(
        t.start(),
        vec![IAC, WILL, Opt::SGA, IAC, DO, Opt::NAWS],
        "ECHO is only offered on demand"
    );
}

#[test]
fn naws_arrives_as_a_window_size_even_split() {
    let mut input = vec![
        IAC,
        WILL,
        Opt::NAWS,
        IAC,
        SB,
        Opt::NAWS,
        0,
        120,
        0,
        40,
        IAC,
        SE,
    ];
    input.extend_from_slice(b"look\n");
    let f = feed_split_everywhere(&input);
    assert_eq!(
        f.events,
        vec![
            TelnetEvent::Enabled(Side::Theirs, Opt::NAWS),
            TelnetEvent::WindowSize {
                width: 120,
                height: 40
            },
            TelnetEvent::Line(b"look".to_vec()),
        ]
    );
    assert!(
        f.reply.is_empty(),
        "a WILL we asked for needs no answer: {:?}",
        f.reply
    );
}

#[test]
fn naws_with_a_doubled_iac_in_the_size() {
    let input = [
        IAC,
        WILL,
        Opt::NAWS,
        IAC,
        SB,
        Opt::NAWS,
        0,
        IAC,
        IAC,
        0,
        24,
        IAC,
        SE,
    ];
    let f = feed_split_everywhere(&input);
    assert!(f.events.contains(&TelnetEvent::WindowSize {
        width: 255,
        height: 24
    }));
}

#[test]
fn unsupported_options_are_refused_once_and_never_loop() {
    let mut t = telnet();
    t.start();
    let f = t.feed(&[IAC, WILL, Opt::GMCP, IAC, DO, Opt::MCCP2]);
    assert_eq!(f.reply, vec![IAC, DONT, Opt::GMCP, IAC, WONT, Opt::MCCP2]);
    // The client acknowledges the refusal: silence, not another refusal.
    let f = t.feed(&[IAC, WONT, Opt::GMCP, IAC, DONT, Opt::MCCP2]);
    assert!(f.reply.is_empty());
    // A client repeating itself forever gets the same single answer each time, never a storm.
    for _ in 0..100 {
        let f = t.feed(&[IAC, WILL, Opt::GMCP]);
        assert_eq!(f.reply, vec![IAC, DONT, Opt::GMCP]);
    }
}

#[test]
fn repeated_agreement_is_not_answered_again() {
    let mut t = telnet();
    t.start();
    let f = t.feed(&[IAC, DO, Opt::SGA, IAC, DO, Opt::SGA, IAC, DO, Opt::SGA]);
    assert!(f.reply.is_empty(), "{:?}", f.reply);
    assert_eq!(f.events, vec![TelnetEvent::Enabled(Side::Ours, Opt::SGA)]);
    assert!(t.is_enabled(Side::Ours, Opt::SGA));
}

#[test]
fn echo_on_demand_follows_the_q_method() {
    let mut t = telnet();
    t.start();
    assert_eq!(t.set_local(Opt::ECHO, true), vec![IAC, WILL, Opt::ECHO]);
    // Asking again while the answer is pending sends nothing.
    assert!(t.set_local(Opt::ECHO, true).is_empty());
    let f = t.feed(&[IAC, DO, Opt::ECHO]);
    assert!(f.reply.is_empty());
    assert!(t.is_enabled(Side::Ours, Opt::ECHO));
    assert_eq!(t.set_local(Opt::ECHO, false), vec![IAC, WONT, Opt::ECHO]);
    // We change our mind before the answer: queued, then carried out once the DONT arrives.
    assert!(t.set_local(Opt::ECHO, true).is_empty());
    let f = t.feed(&[IAC, DONT, Opt::ECHO]);
    assert_eq!(f.reply, vec![IAC, WILL, Opt::ECHO]);
}

#[test]
fn the_client_refusing_an_option_we_asked_for_ends_the_matter() {
    let mut t = telnet();
    t.start();
    let f = t.feed(&[IAC, WONT, Opt::NAWS]);
    assert!(f.reply.is_empty());
    assert!(!t.is_enabled(Side::Theirs, Opt::NAWS));
}

#[test]
fn an_overlong_line_is_reported_once_and_the_next_line_is_fine() {
    let mut input = vec![b'x'; 200];
    input.extend_from_slice(b"\r\nok\r\n");
    let f = feed_split_everywhere(&input);
    assert_eq!(
        f.events,
        vec![TelnetEvent::LineTooLong, TelnetEvent::Line(b"ok".to_vec())]
    );
}

#[test]
fn an_overlong_subnegotiation_is_discarded_until_its_end() {
    let mut input = vec![IAC, WILL, Opt::NAWS, IAC, SB, Opt::NAWS];
    input.extend(std::iter::repeat_n(7u8, 100));
    input.extend_from_slice(&[IAC, SE]);
    input.extend_from_slice(b"hi\n");
    let f = feed_split_everywhere(&input);
    assert_eq!(
        f.events,
        vec![
            TelnetEvent::Enabled(Side::Theirs, Opt::NAWS),
            TelnetEvent::SubnegTooLong(Opt::NAWS),
            TelnetEvent::Line(b"hi".to_vec()),
        ]
    );
}

#[test]
fn a_megabyte_of_unterminated_subnegotiation_keeps_memory_bounded() {
    let mut t = telnet();
    t.start();
    t.feed(&[IAC, SB, Opt::NAWS]);
    for _ in 0..16 {
        t.feed(&[1u8; 65536]);
    }
    assert!(
        t.sb.capacity() <= 64,
        "subnegotiation buffer grew to {}",
        t.sb.capacity()
    );
    assert!(t.line.capacity() <= 128);
}

#[test]
fn subnegotiation_for_an_option_not_enabled_is_ignored() {
    let f = feed_split_everywhere(&[IAC, SB, Opt::NAWS, 0, 80, 0, 24, IAC, SE, b'a', b'\n']);
    assert_eq!(f.events, vec![TelnetEvent::Line(b"a".to_vec())]);
}

#[test]
fn text_encoding_doubles_iac_and_uses_crlf() {
    let mut out = Vec::new();
    encode_text(&[b'a', b'\n', IAC, b'b', b'\r', b'\n'], &mut out);
    assert_eq!(out, vec![b'a', b'\r', b'\n', IAC, IAC, b'b', b'\r', b'\n']);
}

#[test]
fn text_encoding_copies_runs_exactly_as_byte_by_byte() {
    // What the wire must hold, one byte at a time.
    fn reference(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in text {
            match b {
                b'\n' => out.extend_from_slice(b"\r\n"),
                b'\r' => {}
                IAC => out.extend_from_slice(&[IAC, IAC]),
                b => out.push(b),
            }
        }
        out
    }
    // Special bytes at the start, the end, side by side, alone, and none.
    let pieces: [&[u8]; 7] = [b"", b"abc", b"\n", b"\r", &[IAC], &[IAC, IAC], b"\r\n"];
    for a in pieces {
        for b in pieces {
            for c in pieces {
                let text = [a, b, c].concat();
                let mut out = b"kept".to_vec();
                encode_text(&text, &mut out);
                assert_eq!(&out[..4], b"kept", "appends");
                assert_eq!(out[4..], reference(&text), "{text:?}");
            }
        }
    }
    let long: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let mut out = Vec::new();
    encode_text(&long, &mut out);
    assert_eq!(out, reference(&long));
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap deterministic sweep of every byte pair after every state-entering prefix.
    let prefixes: [&[u8]; 6] = [
        b"",
        &[IAC],
        &[IAC, SB],
        &[IAC, SB, Opt::NAWS],
        &[IAC, SB, Opt::NAWS, IAC],
        b"\r",
    ];
    for p in prefixes {
        for a in 0..=255u8 {
            for b in [0u8, 10, 13, IAC, SE, SB, WILL, DO, 65] {
                let mut t = telnet();
                t.feed(p);
                t.feed(&[a, b, a]);
            }
        }
    }
}
