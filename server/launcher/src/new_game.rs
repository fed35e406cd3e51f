//! `tavern new PATH [--name NAME]`: a new game crate, outside this repository,
//! made from the template game.
//!
//! The template's sources are compiled into every game binary, so `new` works
//! from any game, anywhere; the new crate depends on the framework by path, on
//! the checkout the binary lives in (else the one it was built from; or
//! `--framework DIR`), and says which.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// The framework checkout for a new game: the one the running binary lives
/// in (`<checkout>/target/release/tavern`, a copy of the checkout elsewhere
/// included), else the one it was built from.
pub fn framework_of_this_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| checkout_above(&exe))
        .unwrap_or_else(built_from)
}

/// The nearest directory above `path` that is a Tavern checkout.
fn checkout_above(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .find(|d| is_checkout(d))
        .map(Path::to_path_buf)
}

fn is_checkout(dir: &Path) -> bool {
    dir.join("server").join("Cargo.toml").is_file()
        && dir.join("game_template").join("Cargo.toml").is_file()
}

/// The framework checkout this binary was built from (this crate lives in
/// its `server/launcher`).
pub fn built_from() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The template game, as `tavern new` copies it.
const TEMPLATE: &[(&str, &str)] = &[
    (
        "src/main.rs",
        include_str!("../../../game_template/src/main.rs"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../game_template/src/lib.rs"),
    ),
    (
        "src/commands.rs",
        include_str!("../../../game_template/src/commands.rs"),
    ),
    (
        "src/combat.rs",
        include_str!("../../../game_template/src/combat.rs"),
    ),
    (
        "src/feeds.rs",
        include_str!("../../../game_template/src/feeds.rs"),
    ),
    (
        "src/flows.rs",
        include_str!("../../../game_template/src/flows.rs"),
    ),
    (
        "src/timers.rs",
        include_str!("../../../game_template/src/timers.rs"),
    ),
    (
        "src/menus.rs",
        include_str!("../../../game_template/src/menus.rs"),
    ),
    (
        "prototypes/creatures.toml",
        include_str!("../../../game_template/prototypes/creatures.toml"),
    ),
    (
        "flows/barkeep.toml",
        include_str!("../../../game_template/flows/barkeep.toml"),
    ),
    (
        "world/tavern.ev",
        include_str!("../../../game_template/world/tavern.ev"),
    ),
    (
        "webclient/bell.js",
        include_str!("../../../game_template/webclient/bell.js"),
    ),
    (
        "src/typeclasses.rs",
        include_str!("../../../game_template/src/typeclasses.rs"),
    ),
    (
        "src/world.rs",
        include_str!("../../../game_template/src/world.rs"),
    ),
    (
        "tests/game.rs",
        include_str!("../../../game_template/tests/game.rs"),
    ),
];

/// The framework's lock file: a new game starts on the versions Tavern is tested with.
const LOCK_FILE: &str = include_str!("../../../Cargo.lock");
/// The framework's manifest, for its build profiles.
const WORKSPACE_MANIFEST: &str = include_str!("../../../Cargo.toml");

/// Why a game could not be made.
#[derive(Debug, Error)]
pub enum NewGameError {
    /// The directory exists and has files in it.
    #[error("{0} already exists and is not empty; choose a new directory")]
    NotEmpty(PathBuf),
    /// No crate name can be made from the name.
    #[error(
        "{0:?} is not a usable game name: it needs a letter, and only letters, digits, spaces, '-' or '_'"
    )]
    BadName(String),
    /// `--framework` (or the checkout this binary was built from) is not a Tavern checkout.
    #[error(
        "{0} is not a Tavern checkout (no server/Cargo.toml); pass --framework with the path of one"
    )]
    NoFramework(PathBuf),
    /// Writing a file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// What `tavern new` makes.
#[derive(Debug, Clone)]
pub struct NewGame {
    /// The game's name as players see it ("Hearth Inn").
    pub name: String,
    /// The crate and binary name ("hearth-inn").
    pub crate_name: String,
    /// The directory of the new crate.
    pub path: PathBuf,
    /// The Tavern checkout the game depends on.
    pub framework: PathBuf,
}

/// A crate name from a game name: lowercase, words joined by '-'.
pub fn crate_name(name: &str) -> Result<String, NewGameError> {
    let bad = || NewGameError::BadName(name.to_string());
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_'))
    {
        return Err(bad());
    }
    let words: Vec<String> = name
        .split([' ', '-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let joined = words.join("-");
    match joined.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => Ok(joined),
        _ => Err(bad()),
    }
}

impl NewGame {
    /// Plans a game at `path`, named `name` (default: the directory's name).
    pub fn plan(
        path: &Path,
        name: Option<&str>,
        framework: Option<&Path>,
    ) -> Result<Self, NewGameError> {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let name = match name {
            Some(n) => n.trim().to_string(),
            None => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        let crate_name = crate_name(&name)?;
        let framework = framework
            .map(Path::to_path_buf)
            .unwrap_or_else(framework_of_this_binary);
        let framework = std::path::absolute(&framework).unwrap_or(framework);
        if !framework.join("server").join("Cargo.toml").is_file() {
            return Err(NewGameError::NoFramework(framework));
        }
        Ok(NewGame {
            name,
            crate_name,
            path,
            framework,
        })
    }

    /// Every file of the new crate, by path relative to it.
    pub fn files(&self) -> Vec<(PathBuf, String)> {
        let mut files: Vec<(PathBuf, String)> = TEMPLATE
            .iter()
            .map(|(p, text)| (PathBuf::from(p), text.to_string()))
            .collect();
        files.push(("Cargo.toml".into(), self.manifest()));
        files.push(("Cargo.lock".into(), LOCK_FILE.to_string()));
        files.push(("settings.toml".into(), self.settings()));
        files.push(("README.md".into(), self.readme()));
        files.push((".gitignore".into(), "/target\n/data\n".to_string()));
        files
    }

    /// Writes the crate; refuses a directory that has files in it.
    pub fn write(&self) -> Result<(), NewGameError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| NewGameError::Io { path, source }
        };
        if let Ok(mut entries) = std::fs::read_dir(&self.path)
            && entries.next().is_some()
        {
            return Err(NewGameError::NotEmpty(self.path.clone()));
        }
        for (rel, text) in self.files() {
            let path = self.path.join(rel);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io(dir))?;
            }
            std::fs::write(&path, text).map_err(io(&path))?;
        }
        Ok(())
    }

    fn manifest(&self) -> String {
        let server = self.framework.join("server");
        let launcher = server.join("launcher");
        let profiles = WORKSPACE_MANIFEST
            .find("\n[profile.")
            .map(|at| WORKSPACE_MANIFEST[at + 1..].trim_end())
            .unwrap_or("");
        format!(
            r#"[package]
name = "{crate_name}"
description = "{name}: a game made with Tavern."
version = "0.1.0"
edition = "2024"
publish = false

# The game itself, as a library its binary and tests share.
[lib]
name = "game"
path = "src/lib.rs"

[[bin]]
name = "{crate_name}"
path = "src/main.rs"

[dependencies]
# The Tavern framework, from the checkout this game was made with. To follow
# the framework's repository instead, replace the path with its git address:
#   tavern-server = {{ git = "https://example.org/tavern.git", branch = "main" }}
# tavern-server is what the game is written against; tavern-launcher runs it
# (its binary's `main`).
tavern-server = {{ path = {server:?} }}
tavern-launcher = {{ path = {launcher:?} }}
serde_json = "1"
tracing = "0.1"

# This crate is a workspace of its own, wherever it lives.
[workspace]

# Tavern's build profiles: password hashing and compression are optimized even
# in debug builds, so tests and `cargo run` stay quick.
{profiles}
"#,
            crate_name = self.crate_name,
            name = self.name.replace('"', ""),
            server = server.display().to_string(),
            launcher = launcher.display().to_string(),
        )
    }

    fn settings(&self) -> String {
        format!(
            r#"# {name}'s settings: only what differs from Tavern's defaults. The game
# reads this file when it is started from this directory (or any file given
# with --settings). Every setting, with its default, is documented in
# {defaults}.

[game]
name = "{name}"
"#,
            name = self.name,
            defaults = self.framework.join("settings.toml").display()
        )
    }

    fn readme(&self) -> String {
        format!(
            r#"# {name}

A text game made with [Tavern](file://{framework}).

```sh
cargo run --release -- start    # telnet localhost 4000, or http://localhost:4001/
cargo test                      # the game's tests
```

Change the code, then `cargo build --release && ./target/release/{crate_name} reload`:
the server restarts with the new code and nobody is disconnected.
`{crate_name} --help` lists the other commands (`stop`, `status`, `account create`, ...).

- `src/lib.rs` — what the game is made of: commands, kinds of objects, the world.
- `src/commands.rs`, `src/typeclasses.rs`, `src/feeds.rs`, `src/flows.rs`, `src/world.rs` — each of those.
- `world/tavern.ev` — the world, as a batch command file built at the first start.
- `webclient/` — the game's webclient plugins (`bell.js`: a pane for the bell).
- `flows/` — flow definitions builders write (TOML), read at every start and reload.
- `tests/game.rs` — the game's commands tested in process, no sockets needed.
- `settings.toml` — settings that differ from Tavern's defaults.

Tavern's guides are in {docs}: start with `getting-started.md`.
"#,
            name = self.name,
            crate_name = self.crate_name,
            framework = self.framework.display(),
            docs = self.framework.join("docs").display(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_template_is_copied() {
        let template = built_from().join("game_template");
        let mut files = Vec::new();
        for dir in ["src", "flows", "prototypes", "world", "webclient"] {
            for e in std::fs::read_dir(template.join(dir)).unwrap() {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                files.push(format!("{dir}/{name}"));
            }
        }
        files.push("tests/game.rs".into());
        for f in files {
            assert!(
                TEMPLATE.iter().any(|(p, _)| *p == f),
                "game_template/{f} is not in new_game::TEMPLATE"
            );
        }
    }

    #[test]
    fn the_checkout_a_binary_lives_in_is_found_above_it() {
        let root = std::env::temp_dir().join(format!("tavern-co-{:08x}", rand::random::<u32>()));
        let bin = root.join("target").join("release");
        std::fs::create_dir_all(&bin).unwrap();
        assert_eq!(
            checkout_above(&bin.join("tavern")),
            None,
            "not a checkout yet"
        );
        for krate in ["server", "game_template"] {
            std::fs::create_dir_all(root.join(krate)).unwrap();
            std::fs::write(root.join(krate).join("Cargo.toml"), "").unwrap();
        }
        assert_eq!(checkout_above(&bin.join("tavern")), Some(root.clone()));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn crate_names_from_game_names() {
        assert_eq!(crate_name("Hearth").unwrap(), "hearth");
        assert_eq!(crate_name("Hearth Inn").unwrap(), "hearth-inn");
        assert_eq!(crate_name("my_game-2").unwrap(), "my-game-2");
        assert!(crate_name("2fast").is_err());
        assert!(crate_name("").is_err());
        assert!(crate_name("   ").is_err());
        assert!(crate_name("a/b").is_err());
        assert!(crate_name("café").is_err());
    }

    #[test]
    fn a_new_game_depends_on_this_checkout_and_refuses_a_full_directory() {
        let dir = std::env::temp_dir().join(format!("tavern-new-{:08x}", rand::random::<u32>()));
        let game = NewGame::plan(&dir.join("Hearth Inn"), None, None).unwrap();
        assert_eq!(game.name, "Hearth Inn");
        assert_eq!(game.crate_name, "hearth-inn");
        game.write().unwrap();
        let manifest = std::fs::read_to_string(game.path.join("Cargo.toml")).unwrap();
        let parsed: toml::Table = manifest.parse().expect("a valid manifest");
        let dep = &parsed["dependencies"]["tavern-server"]["path"];
        assert_eq!(
            Path::new(dep.as_str().unwrap()),
            built_from().join("server")
        );
        assert!(parsed["profile"]["dev"]["package"]["argon2"].is_table());
        let settings =
            tavern_shared::Settings::load(Some(&game.path.join("settings.toml"))).unwrap();
        assert_eq!(settings.game.name, "Hearth Inn");
        for f in [
            "src/main.rs",
            "tests/game.rs",
            "Cargo.lock",
            ".gitignore",
            "README.md",
        ] {
            assert!(game.path.join(f).is_file(), "{f} missing");
        }
        match game.write() {
            Err(NewGameError::NotEmpty(p)) => assert_eq!(p, game.path),
            other => panic!("wrote over an existing game: {other:?}"),
        }
        let err = NewGame::plan(&dir.join("x"), Some("x"), Some(&dir)).unwrap_err();
        assert!(matches!(err, NewGameError::NoFramework(_)), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
