//! Fuzzing entry points for what `shared` parses from outside: link frames and
//! markup. Each must return normally for any input. The cargo-fuzz targets in
//! `fuzz/` call these, and the stored corpora are replayed through them by
//! ordinary tests, so `cargo test` keeps every input the fuzzer ever found.

use crate::link::{
    self, Hello, HelloReply, LauncherReply, LauncherRequest, Proof, ToPortal, ToServer,
};
use crate::markup::{self, ColorMode};

/// Any bytes as a link frame: decoded as every message type; whatever decodes
/// encodes again and decodes to the same value.
pub fn link_frame(data: &[u8]) {
    fn check<T>(data: &[u8])
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        if let Ok(v) = link::decode::<T>(data) {
            let again = link::encode(&v).expect("a decoded message encodes");
            let back: T = link::decode(&again).expect("an encoded message decodes");
            assert_eq!(back, v);
        }
    }
    check::<ToServer>(data);
    check::<ToPortal>(data);
    check::<Hello>(data);
    check::<HelloReply>(data);
    check::<Proof>(data);
    check::<LauncherRequest>(data);
    check::<LauncherReply>(data);
}

/// Any text as markup: rendered every way, never with an escape the renderer did not write.
pub fn markup(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for mode in [ColorMode::Ansi, ColorMode::Xterm256, ColorMode::TrueColor] {
        let out = markup::render(&text, mode);
        // Every ESC in the output starts a colour sequence the renderer wrote.
        for (i, _) in out.match_indices('\x1b') {
            let rest = &out[i + 1..];
            assert!(rest.starts_with('['), "a raw escape got through: {out:?}");
            let end = rest.find('m').expect("SGR sequences end in m");
            assert!(
                rest[1..end]
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b';'),
                "{out:?}"
            );
        }
    }
    assert!(!markup::strip(&text).contains('\x1b'));
    // For an MXP client: the only MXP is the renderer's link tags, each in
    // temp secure mode with locked mode after it, its address escaped.
    let mxp = markup::render_with(&text, ColorMode::Ansi, true);
    for (i, _) in mxp.match_indices("\x1b[4z") {
        let rest = &mxp[i + 4..];
        let tag_end = rest.find('>').expect("a tag ends");
        let tag = &rest[..=tag_end];
        assert!(
            tag == "</SEND>"
                || tag == "</A>"
                || ((tag.starts_with("<SEND HREF=\"") || tag.starts_with("<A HREF=\""))
                    && tag.ends_with("\">")
                    && tag.matches('"').count() == 2
                    && !tag[1..].contains(['<', '\x1b'])),
            "{mxp:?}"
        );
        assert!(rest[tag_end + 1..].starts_with("\x1b[7z"), "{mxp:?}");
    }
    // Laid out: no wrapped line is wider than asked (a glyph wider than the
    // line, a tab or an indent of 4, stands alone), and no text is lost but
    // spaces at breaks.
    let w = 1 + data.first().map_or(0, |b| *b as usize % 40);
    let lines = crate::text::wrap(&text, w);
    for l in &lines {
        assert!(crate::text::width(l) <= w.max(4), "{l:?} wider than {w}");
    }
    let kept: String = lines.iter().map(|l| markup::strip(l)).collect();
    let drawn: String = markup::strip(&text);
    let squash = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .count()
    };
    assert_eq!(squash(&kept), squash(&drawn), "{text:?} at {w}");
    let mut table = crate::text::Table::new(["a", &text]);
    table.row([&text, "b"]).max_width(w + 10);
    let _ = table.render();
    let html = markup::to_html(&text);
    assert!(!html.contains('\x1b'));
    assert!(
        !html
            .replace("<span style=\"", "")
            .replace("</span>", "")
            .replace("<a href=\"#\" class=\"cmd\" data-cmd=\"", "")
            .replace(
                "<a target=\"_blank\" rel=\"noopener noreferrer\" href=\"",
                ""
            )
            .replace("</a>", "")
            .replace("\">", "")
            .contains('<'),
        "{html}"
    );
    assert_eq!(html.matches("<a ").count(), html.matches("</a>").count());
}

/// Any bytes as a player's text, made fit for the game's lines and rendered
/// for the webclient: it holds no line break, keeps few styles, and its
/// HTML stays small and holds no tag but the renderer's spans.
pub fn markup_html(data: &[u8]) {
    let text = crate::text::clean_input(&String::from_utf8_lossy(data));
    let said = markup::player_text(&text);
    assert!(
        !markup::render(&said, ColorMode::Plain).contains('\n'),
        "{said:?}"
    );
    let html = markup::to_html(&said);
    let spans = html.matches("<span").count();
    assert!(
        spans <= markup::MAX_PLAYER_STYLES + 2,
        "{spans} spans: {said:?}"
    );
    assert!(
        !html
            .replace("<span style=\"", "")
            .replace("</span>", "")
            .replace("\">", "")
            .contains('<'),
        "{html}"
    );
    // Escaped, it shows as typed.
    assert_eq!(markup::strip(&markup::escape(&text)), text);
}

/// Replays a stored corpus (`fuzz/corpus/<target>/`) through `f`.
pub fn replay(target: &str, f: impl Fn(&[u8])) -> usize {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut n = 0;
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            if let Ok(data) = std::fs::read(e.path()) {
                f(&data);
                n += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod html_tests {
    #[test]
    fn the_markup_html_corpus_replays() {
        assert!(super::replay("markup_html", super::markup_html) > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_corpus_replays() {
        assert!(
            replay("link_frame", link_frame) > 0,
            "the corpus is in the repository"
        );
    }

    #[test]
    fn the_markup_corpus_replays() {
        assert!(
            replay("markup", markup) > 0,
            "the corpus is in the repository"
        );
    }
}

#[cfg(test)]
mod seeds {
    /// Writes encoded link messages into the seed corpus. Run by hand:
    /// `cargo test -p tavern-shared write_link_seeds -- --ignored`.
    #[test]
    #[ignore]
    fn write_link_seeds() {
        use crate::link::*;
        use crate::session::SessionSync;
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/link_frame");
        std::fs::create_dir_all(&dir).unwrap();
        let sync = SessionSync {
            sessid: 3,
            address: "127.0.0.1:1".into(),
            ..Default::default()
        };
        let frames: Vec<(&str, bytes::Bytes)> = vec![
            ("hello", encode(&Hello::new(Role::Server)).unwrap()),
            (
                "challenge",
                encode(&HelloReply::Challenge {
                    proof: vec![2; 64],
                    nonce: vec![1, 2, 3],
                })
                .unwrap(),
            ),
            (
                "sync",
                encode(&ToServer::Sync {
                    portal_instance: 9,
                    portal_id: 0,
                    start_mode: StartMode::Reload,
                    sessions: vec![sync.clone()],
                })
                .unwrap(),
            ),
            (
                "input",
                encode(&ToServer::Input {
                    sessid: 3,
                    seq: 1,
                    msg: crate::Msg::text("look").kwarg("k", serde_json::json!([1, {"a": null}])),
                })
                .unwrap(),
            ),
            (
                "batch",
                encode(&ToPortal::Batch {
                    ops: vec![
                        PortalOp::Output {
                            sessid: 3,
                            msgs: vec![crate::Msg::text("hi")],
                        },
                        PortalOp::SyncSession(Box::new(sync)),
                        PortalOp::Disconnect {
                            sessid: 3,
                            reason: None,
                        },
                    ],
                    acks: vec![(3, 1)],
                })
                .unwrap(),
            ),
            (
                "launcher",
                encode(&LauncherRequest::Stop {
                    mode: StopMode::Reset,
                })
                .unwrap(),
            ),
        ];
        for (name, f) in frames {
            std::fs::write(dir.join(name), &f).unwrap();
        }
    }
}
