//! How the cloud writes its log: lines for people (`--log-format text`, the default) or one
//! JSON object per line for a log pipeline (`--log-format json`).
//!
//! A JSON line has `timestamp`, `level`, `target`, `message` and the event's own fields at
//! the top level, and the fields of the span it happened in under `span` (`span.request_id`
//! for an HTTP request, `span.router` for an agent's session). Field names are the same in
//! both formats and across the code: `router`, `tenant`, `payment`, `seq`, `request_id`.

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// The log's format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber writing to standard error in `format`, filtered by
/// `RUST_LOG` (default `info`).
pub fn install(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).init(),
    }
}
