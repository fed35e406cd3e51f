//! Logging: tracing to stderr and to `data_dir/logs/<role>.log`. `RUST_LOG`
//! chooses what is shown (default: info). Colour only on a terminal, and
//! never in the file.

use std::fs::OpenOptions;
use std::sync::Mutex;

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
fn file_layer<S>(file: std::fs::File) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .fmt_fields(PlainFields::default())
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_target(false)
}

/// Keeps logging alive for the life of the process.
pub(crate) struct LogGuard;

pub(crate) fn init(role: &str, settings: &Settings) -> anyhow::Result<LogGuard> {
    let dir = settings.log_dir();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create log dir {}", dir.display()))?;
    let path = dir.join(format!("{role}.log"));
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open log file {}", path.display()))?;
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .with_filter(filter());
    let file = file_layer(file).with_filter(filter());
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
    use super::*;

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
            .with(file_layer(file));
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
