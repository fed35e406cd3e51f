//! Logging: tracing to stderr and to `data_dir/logs/<role>.log`. `RUST_LOG`
//! chooses what is shown (default: info).

use std::fs::OpenOptions;
use std::sync::Mutex;

use anyhow::Context;
use tavern_shared::Settings;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

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
        .with_target(false)
        .with_filter(filter());
    let file = tracing_subscriber::fmt::layer()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_target(false)
        .with_filter(filter());
    tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init()
        .ok();
    tracing::info!(role, pid = std::process::id(), "log started");
    Ok(LogGuard)
}
