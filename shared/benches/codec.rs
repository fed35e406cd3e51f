//! What the pieces both processes share cost: the link's frames (MessagePack)
//! and the `|` markup rendered for each kind of client.
//!
//! Run: `cargo bench -p tavern-shared --bench codec`

use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};
use tavern_shared::Msg;
use tavern_shared::link::{self, PortalOp, ToPortal, ToServer};
use tavern_shared::markup::{self, ColorMode};

fn main() {
    divan::main();
}

/// A room as `look` shows it: a coloured name, a description, exits and who is there.
const ROOM: &str = "|cThe Common Room|n\nLow beams, a long oak bar and a fire that never quite goes out. \
A |ybrass bell|n hangs by the door.\n|wExits:|n |glimbo|n, |gdown|n\n|wCharacters:|n |cAnna|n, |cBram|n, \
|[500|555Cedric|n and |#ff8800Dora|n\n|wYou see:|n a brass bell";

/// A batch as the server sends it under load: 32 players' answers and acks.
fn batch() -> ToPortal {
    ToPortal::Batch {
        ops: (0..32)
            .map(|i| PortalOp::Output {
                sessid: 1000 + i,
                msgs: vec![
                    Msg::text(ROOM),
                    Msg::text(format!("Echo returns: ltm{i}-17-123456")),
                ],
            })
            .collect(),
        acks: (0..32).map(|i| (1000 + i, 17)).collect(),
    }
}

fn input() -> ToServer {
    ToServer::Input {
        sessid: 1234,
        seq: 99,
        msg: Msg::text("say Hello there, how are you all doing tonight?"),
    }
}

#[divan::bench]
fn link_encode_batch_of_32(b: Bencher<'_, '_>) {
    let msg = batch();
    let len = link::encode(&msg).unwrap().len();
    b.counter(BytesCount::new(len))
        .bench(|| link::encode(black_box(&msg)).unwrap());
}

#[divan::bench]
fn link_decode_batch_of_32(b: Bencher<'_, '_>) {
    let frame = link::encode(&batch()).unwrap();
    b.counter(BytesCount::new(frame.len()))
        .bench(|| link::decode::<ToPortal>(black_box(&frame)).unwrap());
}

#[divan::bench]
fn link_encode_input(b: Bencher<'_, '_>) {
    let msg = input();
    b.counter(ItemsCount::new(1usize))
        .bench(|| link::encode(black_box(&msg)).unwrap());
}

#[divan::bench]
fn link_decode_input(b: Bencher<'_, '_>) {
    let frame = link::encode(&input()).unwrap();
    b.counter(ItemsCount::new(1usize))
        .bench(|| link::decode::<ToServer>(black_box(&frame)).unwrap());
}

#[divan::bench(args = [ColorMode::TrueColor, ColorMode::Xterm256, ColorMode::Ansi, ColorMode::Plain])]
fn markup_render_room(b: Bencher<'_, '_>, mode: ColorMode) {
    b.counter(BytesCount::of_str(ROOM))
        .bench(|| markup::render(black_box(ROOM), mode));
}

#[divan::bench]
fn markup_to_html_room(b: Bencher<'_, '_>) {
    b.counter(BytesCount::of_str(ROOM))
        .bench(|| markup::to_html(black_box(ROOM)));
}
