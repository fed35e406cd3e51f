//! The layers of `tavern-server` hold: each folder imports only the layers
//! it may (docs/architecture.md, "The server crate"). Read from the source,
//! so a `use` that crosses a layer fails here, with the file and the line.
//!
//! What counts is every `crate::…` path in the code of a layer's files —
//! `use` lines and paths written inline — outside test code (`tests.rs`
//! files and `#[cfg(test)] mod tests { … }` blocks, which may use the test
//! harnesses).

use std::path::{Path, PathBuf};

/// A layer: its folder under `src/`, and the `crate::` paths it may name.
struct Layer {
    dir: &'static str,
    /// Folders inside it that are a layer of their own (checked separately).
    except: &'static [&'static str],
    may: &'static [&'static str],
    /// Crates it must not use at all.
    no_crates: &'static [&'static str],
}

const LAYERS: &[Layer] = &[
    Layer {
        dir: "model",
        except: &[],
        may: &["model"],
        no_crates: &["tokio", "sea_orm", "tavern_portal"],
    },
    Layer {
        dir: "store",
        except: &[],
        may: &["model", "store"],
        no_crates: &["tavern_portal"],
    },
    Layer {
        dir: "runtime",
        except: &[],
        may: &["model", "store", "runtime", "commands", "Game", "flows"],
        no_crates: &["tavern_portal"],
    },
    Layer {
        dir: "commands",
        except: &["commands/default"],
        may: &["model", "store", "runtime", "commands"],
        no_crates: &["tavern_portal"],
    },
    Layer {
        dir: "commands/default",
        except: &[],
        may: &["model", "store", "runtime", "commands", "Game", "flows"],
        no_crates: &["tavern_portal"],
    },
];

/// Paths that are refused even where their first segment is allowed.
const NEVER: &[(&str, &str)] = &[
    ("runtime", "crate::commands::default"),
    ("commands", "crate::commands::default"),
];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The file's lines that are not test code, with their numbers.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut skip_depth: Option<i32> = None;
    let mut depth = 0i32;
    let mut cfg_test = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if skip_depth.is_none() {
            if t == "#[cfg(test)]" {
                cfg_test = true;
                continue;
            }
            if cfg_test && t.starts_with("mod ") && t.ends_with('{') {
                skip_depth = Some(depth);
            }
            if !t.is_empty() {
                cfg_test = false;
            }
        }
        let opens = line.matches('{').count() as i32;
        let closes = line.matches('}').count() as i32;
        let inside = skip_depth.is_some();
        depth += opens - closes;
        if let Some(d) = skip_depth
            && depth <= d
        {
            skip_depth = None;
            continue;
        }
        if !inside && !t.starts_with("//") {
            out.push((i + 1, line));
        }
    }
    out
}

/// Every `crate::a::b` path on a line, as "a::b…".
fn crate_paths(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        let end = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(after.len());
        out.push(after[..end].to_string());
        rest = &after[end..];
    }
    // `use crate::{a, b::c}` names several.
    if let Some(group) = line.split("crate::{").nth(1) {
        for part in group.split([',', '}']) {
            let p = part.trim();
            if !p.is_empty() {
                out.push(p.to_string());
            }
        }
    }
    out
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    let mut checked = 0;
    for layer in LAYERS {
        let mut all = Vec::new();
        files(&src.join(layer.dir), &mut all);
        for file in all {
            let rel = file
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .to_string();
            if layer.except.iter().any(|e| rel.starts_with(e))
                || file.file_name().is_some_and(|n| n == "tests.rs")
            {
                continue;
            }
            checked += 1;
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in code_lines(&text) {
                for path in crate_paths(line) {
                    let first = path.split("::").next().unwrap_or("");
                    let full = format!("crate::{path}");
                    let never = NEVER
                        .iter()
                        .any(|(l, p)| *l == layer.dir && full.starts_with(p));
                    if !layer.may.contains(&first) || never {
                        problems.push(format!("src/{rel}:{n}: {} names {full}", layer.dir));
                    }
                }
                for c in layer.no_crates {
                    if line.contains(&format!("{c}::")) || line.contains(&format!("use {c}")) {
                        problems.push(format!("src/{rel}:{n}: {} uses {c}", layer.dir));
                    }
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} files were checked");
    assert!(
        problems.is_empty(),
        "imports that cross the layers:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_sees_a_crossing_and_skips_test_code() {
    let text = "use crate::model::world::World;\nuse crate::{runtime::Server, model};\n\
                #[cfg(test)]\nmod tests {\n    use crate::testing::TestGame;\n}\nfn f() { crate::store::x(); }\n";
    let lines = code_lines(text);
    let paths: Vec<String> = lines.iter().flat_map(|(_, l)| crate_paths(l)).collect();
    assert!(paths.contains(&"runtime::Server".to_string()), "{paths:?}");
    assert!(paths.contains(&"store::x".to_string()), "{paths:?}");
    assert!(!paths.iter().any(|p| p.starts_with("testing")), "{paths:?}");
}

#[test]
fn everything_the_server_does_is_in_the_runtime_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut outside = Vec::new();
    for file in all {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .to_string();
        if rel.starts_with("runtime/") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in code_lines(&text) {
            if line.starts_with("impl Server")
                || line.starts_with("impl<'") && line.contains(" Server ")
            {
                outside.push(format!("src/{rel}:{n}"));
            }
        }
    }
    assert!(
        outside.is_empty(),
        "`impl Server` outside runtime/: {outside:?}"
    );
}
