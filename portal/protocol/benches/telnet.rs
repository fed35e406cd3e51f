//! What one telnet connection costs the portal: decoding what a client types
//! (lines and out-of-band data, through the whole option layer), and encoding
//! output for it, plain and compressed with MCCP2.
//!
//! Run: `cargo bench -p tavern-portal --bench telnet`

use divan::counter::BytesCount;
use divan::{Bencher, black_box};
use tavern_protocol::telnet::protocol::TelnetProtocol;
use tavern_shared::Msg;

fn main() {
    divan::main();
}

const IAC: u8 = 255;
const DO: u8 = 253;
const SB: u8 = 250;
const SE: u8 = 240;
const GMCP: u8 = 201;
const MCCP2: u8 = 86;

/// 64 KiB of what players type: commands, one with a doubled IAC, and
/// now and then a GMCP message.
fn typing() -> Vec<u8> {
    let mut v = Vec::with_capacity(70_000);
    let lines = [
        "look",
        "say Hello there, how are you all doing tonight?",
        "get brass bell",
        "east",
        "pose waves at everyone in the room.",
    ];
    let mut i = 0;
    while v.len() < 64 * 1024 {
        v.extend_from_slice(lines[i % lines.len()].as_bytes());
        v.extend_from_slice(b"\r\n");
        if i % 16 == 0 {
            v.extend_from_slice(&[IAC, SB, GMCP]);
            v.extend_from_slice(b"Core.Echo \"ltm1-2-3\"");
            v.extend_from_slice(&[IAC, SE]);
        }
        i += 1;
    }
    v
}

/// A connection that has negotiated GMCP (and MCCP2 when `mccp`).
fn connection(mccp: bool) -> TelnetProtocol {
    let mut p = TelnetProtocol::new(8192);
    let _ = p.start();
    let mut answer = vec![IAC, DO, GMCP];
    if mccp {
        answer.extend_from_slice(&[IAC, DO, MCCP2]);
    }
    let _ = p.receive(&answer, &Vec::new);
    assert_eq!(p.compressing(), mccp);
    p
}

#[divan::bench]
fn decode_typing(b: Bencher<'_, '_>) {
    let input = typing();
    b.counter(BytesCount::new(input.len()))
        .with_inputs(|| connection(false))
        .bench_local_refs(|p| {
            // Read in chunks as the socket hands them over.
            for chunk in input.chunks(1460) {
                black_box(p.receive(chunk, &Vec::new));
            }
        });
}

/// A room as `look` shows it, with colour, as the server sends it.
fn room() -> Vec<Msg> {
    vec![
        Msg::text(
            "|cThe Common Room|n\nLow beams, a long oak bar and a fire that never quite goes out. \
             A |ybrass bell|n hangs by the door.\n|wExits:|n |glimbo|n, |gdown|n\n\
             |wCharacters:|n |cAnna|n, |cBram|n and |cDora|n\n|wYou see:|n a brass bell",
        ),
        Msg::new("Room.Info")
            .arg(serde_json::json!({"num": 12, "name": "The Common Room", "exits": {"limbo": 2, "down": 14}})),
    ]
}

#[divan::bench(args = [false, true])]
fn encode_room(b: Bencher<'_, '_>, mccp: bool) {
    let msgs = room();
    let plain = connection(false).render(&msgs).len();
    // Throughput is counted in uncompressed bytes, so the two compare.
    b.counter(BytesCount::new(plain * 16))
        .with_inputs(|| connection(mccp))
        .bench_local_refs(|p| {
            for _ in 0..16 {
                black_box(p.render(&msgs));
            }
        });
}
