//! `tavern new`, and the getting-started tutorial, end to end: a new game is
//! made outside the repository, built against this checkout, started and
//! played over telnet; then every edit `docs/getting-started.md` shows is
//! applied, the game is rebuilt and reloaded under a connected player, and the
//! tutorial's command, kind of object and room are used in the same
//! connection. Finally the new game's own tests (with the tutorial's) run.
//!
//! The new game builds into this workspace's target directory, so only the
//! framework crates and the game itself compile (cargo does not hold its lock
//! while tests run). It builds in the debug profile; the tutorial's
//! `--release` changes nothing else.

use std::path::{Path, PathBuf};
use std::process::Command;

use tavern_tests::{BIN, LiveGame, TEST_SETTINGS, merge_toml};

/// How an edit of the tutorial changes a file.
#[derive(Debug)]
enum Place {
    Append,
    After(String),
    Before(String),
    Replace(String),
}

#[derive(Debug)]
struct Edit {
    file: String,
    place: Place,
    code: String,
}

const TUTORIAL: &str = include_str!("../../docs/getting-started.md");

/// The edits of the tutorial: each `<!-- edit FILE: HOW ["ANCHOR"] -->`
/// marker and the code block that follows it.
fn tutorial_edits() -> Vec<Edit> {
    let marker = regex::Regex::new(
        r#"^<!-- edit (\S+): (append|after|before|replace)(?: "((?:[^"\\]|\\.)*)")? -->$"#,
    )
    .unwrap();
    let mut edits = Vec::new();
    let mut lines = TUTORIAL.lines();
    while let Some(line) = lines.next() {
        let Some(m) = marker.captures(line) else {
            assert!(
                !line.starts_with("<!-- edit"),
                "a malformed edit marker in the tutorial: {line}"
            );
            continue;
        };
        let anchor = m.get(3).map(|a| a.as_str().replace("\\\"", "\""));
        let place = match (&m[2], anchor) {
            ("append", None) => Place::Append,
            ("after", Some(a)) => Place::After(a),
            ("before", Some(a)) => Place::Before(a),
            ("replace", Some(a)) => Place::Replace(a),
            (how, a) => panic!("edit marker {how} with anchor {a:?}: {line}"),
        };
        assert_eq!(lines.next(), Some("```rust"), "no code block after {line}");
        let mut code = String::new();
        for l in lines.by_ref() {
            if l == "```" {
                break;
            }
            code.push_str(l);
            code.push('\n');
        }
        edits.push(Edit {
            file: m[1].to_string(),
            place,
            code,
        });
    }
    edits
}

fn apply(dir: &Path, edit: &Edit) {
    let path = dir.join(&edit.file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", edit.file));
    let anchored = |anchor: &str| {
        let found = text.matches(anchor).count();
        assert_eq!(
            found, 1,
            "the tutorial's anchor {anchor:?} is in {} {found} times, not once",
            edit.file
        );
        text.find(anchor).unwrap()
    };
    let new = match &edit.place {
        Place::Append => format!("{}\n{}", text.trim_end(), "\n".to_string() + &edit.code),
        Place::After(a) => {
            let at = anchored(a) + a.len();
            let line_end = at + text[at..].find('\n').map_or(text.len() - at, |n| n + 1);
            format!("{}{}{}", &text[..line_end], edit.code, &text[line_end..])
        }
        Place::Before(a) => {
            let at = anchored(a);
            let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
            format!(
                "{}{}{}",
                &text[..line_start],
                edit.code,
                &text[line_start..]
            )
        }
        Place::Replace(a) => {
            let at = anchored(a);
            format!(
                "{}{}{}",
                &text[..at],
                edit.code.trim_end(),
                &text[at + a.len()..]
            )
        }
    };
    std::fs::write(&path, new).unwrap();
}

/// This workspace's target directory (the test binary lives in it).
fn target_dir() -> PathBuf {
    BIN.as_path()
        .parent()
        .and_then(Path::parent)
        .expect("the tavern binary is in target/<profile>/")
        .to_path_buf()
}

/// Runs cargo in the new game; fails the test with cargo's output if it fails.
fn cargo(game_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .arg("--offline")
        .current_dir(game_dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("run cargo");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "cargo {args:?} failed:\n{text}");
    text
}

/// The new game's own binary, run from its directory without `--settings`.
fn game_cmd(bin: &Path, game_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .current_dir(game_dir)
        .env_remove("TAVERN_LINK_ADDRESS")
        .output()
        .expect("run the new game's binary");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?} failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn the_tutorial_markers_cover_every_step() {
    let edits = tutorial_edits();
    let files: Vec<&str> = edits.iter().map(|e| e.file.as_str()).collect();
    for f in [
        "src/commands.rs",
        "src/lib.rs",
        "src/typeclasses.rs",
        "src/world.rs",
        "tests/game.rs",
    ] {
        assert!(files.contains(&f), "the tutorial no longer edits {f}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_game_builds_starts_and_takes_the_tutorial_live() {
    let mut game = LiveGame::new("new-game", "");
    let game_dir = game.dir.join("hearth");

    // tavern new
    let out = Command::new(&*BIN)
        .arg("new")
        .arg(&game_dir)
        .args(["--name", "Hearth"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tavern new failed: {said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("Made the game 'Hearth'"), "{said}");
    // A second `new` into the same place refuses rather than overwrite.
    let again = Command::new(&*BIN)
        .arg("new")
        .arg(&game_dir)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    // The test's ports and data dir, added to the game's own settings.toml,
    // which the game reads from its working directory.
    let settings = game_dir.join("settings.toml");
    let data_dir = format!(
        "[game]\ndata_dir = {:?}\n",
        game.dir.join("data").display().to_string()
    );
    let own = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(
        &settings,
        merge_toml(&merge_toml(&own, TEST_SETTINGS), &data_dir),
    )
    .unwrap();

    cargo(&game_dir, &["build"]);
    game.bin = target_dir().join("debug").join("hearth");
    game.settings = settings;
    let game = game.start();
    let status = game_cmd(&game.bin, &game_dir, &["status"]);
    assert!(status.contains("Game:     Hearth"), "{status}");
    // From another directory, naming the settings file by a relative path:
    // the same game, the same database, and the running game knows at once.
    let elsewhere = game_cmd(
        &game.bin,
        &game.dir,
        &["--settings", "hearth/settings.toml", "status"],
    );
    assert!(elsewhere.contains("Game:     Hearth"), "{elsewhere}");
    // A player in the game first: the server is up and linked, so the
    // account made next is known to it at once.
    let mut c = game.login("Anna", "a-long-password").await;
    let made = game_cmd(
        &game.bin,
        &game.dir,
        &[
            "--settings",
            "hearth/settings.toml",
            "account",
            "create",
            "Bert",
            "bert-password",
        ],
    );
    assert!(made.contains("The running game knows it now."), "{made}");

    c.send("note it works").await;
    c.expect("Noted: it works").await;
    c.send("toast me").await;
    c.expect("Command 'toast' is not available.").await;

    // The tutorial, applied while Anna is connected; then build and reload.
    for edit in tutorial_edits() {
        apply(&game_dir, &edit);
    }
    cargo(&game_dir, &["build"]);
    let reloaded = game_cmd(&game.bin, &game_dir, &["reload"]);
    assert!(reloaded.contains("Reloading"), "{reloaded}");
    c.expect("... Server restarted.").await;

    c.send("tavern").await;
    c.expect("The Common Room").await;
    c.send("garden").await;
    c.expect("The Herb Garden").await;
    c.send("look cat").await;
    c.expect("considers you, Anna, and purrs.").await;
    c.send("toast cat").await;
    c.expect("You raise your mug to ginger cat.").await;
    c.send("get cat").await;
    c.expect("You can't get that.").await;
    c.send("note").await;
    c.expect("Your note: it works").await;

    // The game's own tests, the tutorial's among them.
    let tested = cargo(&game_dir, &["test"]);
    assert!(
        tested.contains("anna_toasts_bert_and_the_garden_cat_purrs ... ok"),
        "{tested}"
    );
}
