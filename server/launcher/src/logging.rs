//! Logging: tracing to stderr and to the log files in `data_dir/logs`,
//! one per process role, rotated daily or hourly with `[logs] keep` kept
//! (tracing-appender), as text or (`[logs] json`) JSON lines. `RUST_LOG`
//! chooses what is shown (default: info). Colour only on a terminal, and
//! never in a file.

use anyhow::Context;
use tavern_shared::Settings;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The default field formatter under a type of its own, for the file:
/// tracing-subscriber keeps a span's formatted fields once per formatter
/// type, so with the same type as the terminal's layer the file would get
/// the terminal's colour codes (`link{\x1b[3maddr\x1b[0m...`).
#[derive(Default)]
struct PlainFields(tracing_subscriber::fmt::format::DefaultFields);

impl<'w> tracing_subscriber::fmt::FormatFields<'w> for PlainFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        writer: tracing_subscriber::fmt::format::Writer<'w>,
        fields: R,
    ) -> std::fmt::Result {
        self.0.format_fields(writer, fields)
    }
}

/// What writes the log file: plain text, whatever the terminal shows.
fn file_layer<S, W>(writer: W) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .fmt_fields(PlainFields::default())
        .with_writer(writer)
        .with_ansi(false)
        .with_target(false)
}

/// The rotating file of a role, as the settings say.
pub(crate) fn appender(
    dir: &std::path::Path,
    role: &str,
    settings: &tavern_shared::settings::LogSettings,
) -> anyhow::Result<tracing_appender::rolling::RollingFileAppender> {
    use tracing_appender::rolling::{Builder, Rotation};
    let rotation = match settings.rotation.as_str() {
        "hourly" => Rotation::HOURLY,
        "never" => Rotation::NEVER,
        _ => Rotation::DAILY,
    };
    Builder::new()
        .rotation(rotation)
        .filename_prefix(role)
        .filename_suffix("log")
        .max_log_files(settings.keep.max(1))
        .build(dir)
        .with_context(|| format!("cannot open the {role} log in {}", dir.display()))
}

/// Keeps logging alive for the life of the process.
pub(crate) struct LogGuard;

pub(crate) fn init(role: &str, settings: &Settings) -> anyhow::Result<LogGuard> {
    let dir = settings.log_dir();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create log dir {}", dir.display()))?;
    let files = appender(&dir, role, &settings.logs)?;
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .with_filter(filter());
    let file = if settings.logs.json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(files)
            .with_current_span(true)
            .with_filter(filter())
            .boxed()
    } else {
        file_layer(files).with_filter(filter()).boxed()
    };
    tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init()
        .ok();
    tracing::info!(role, pid = std::process::id(), "log started");
    Ok(LogGuard)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn log_files_rotate_by_the_settings_and_can_be_json() {
        let dir = std::env::temp_dir().join(format!("tavern-logrot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut s = tavern_shared::Settings::defaults().logs;
        assert_eq!((s.rotation.as_str(), s.keep, s.json), ("daily", 14, false));
        let daily = appender(&dir, "server", &s).unwrap();
        s.rotation = "never".into();
        let never = appender(&dir, "portal", &s).unwrap();
        let subscriber = tracing_subscriber::registry()
            .with(file_layer(daily))
            .with(tracing_subscriber::fmt::layer().json().with_writer(never));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(sessid = 7, "hello");
        });
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 2, "{names:?}");
        assert_eq!(names[0], "portal.log");
        let dated = &names[1];
        assert!(
            dated.starts_with("server.20") && dated.ends_with(".log"),
            "{dated}"
        );
        let json = std::fs::read_to_string(dir.join("portal.log")).unwrap();
        let v: serde_json::Value = serde_json::from_str(json.trim()).expect("a JSON line");
        assert_eq!(v["fields"]["message"], "hello");
        assert_eq!(v["fields"]["sessid"], 7);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_log_file_has_no_colour_codes_when_the_terminal_has_them() {
        let dir = std::env::temp_dir().join(format!("tavern-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (term_path, file_path) = (dir.join("term"), dir.join("file"));
        let term = std::fs::File::create(&term_path).unwrap();
        let file = std::fs::File::create(&file_path).unwrap();
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(Mutex::new(term))
                    .with_ansi(true),
            )
            .with(file_layer(Mutex::new(file)));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("link", addr = "127.0.0.1:4006");
            let _in = span.enter();
            tracing::info!(sessid = 7, "hello");
        });
        let term = std::fs::read_to_string(&term_path).unwrap();
        let file = std::fs::read_to_string(&file_path).unwrap();
        assert!(term.contains('\x1b'), "the terminal is coloured: {term:?}");
        assert!(file.contains("link{addr=\"127.0.0.1:4006\"}"), "{file:?}");
        assert!(!file.contains('\x1b'), "{file:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
