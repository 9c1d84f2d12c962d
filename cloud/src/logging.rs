//! How the cloud writes its log: lines for people (`--log-format text`, the default) or one
//! JSON object per line for a log pipeline (`--log-format json`).
//!
//! A JSON line is flat: `timestamp`, `level`, `target`, `message`, `span` (the name of the
//! innermost span, if any), then the fields of every span the event happened in (outermost
//! first, an inner span's field replacing an outer one of the same name) and the event's own
//! fields (which replace a span's), all at the top level. So `jq .router` works on every
//! line written inside an agent's session and `jq .request_id` on every line of an HTTP
//! request, wherever the field was set. Field names are the same in both formats and across
//! the code: `router`, `tenant`, `payment`, `seq`, `request_id`.

use std::fmt;

use clap::ValueEnum;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The log's format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One flat JSON object per line.
    Json,
}

/// Installs the global subscriber writing to standard error in `format`, filtered by
/// `RUST_LOG` (default `info`).
pub fn install(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.fmt_fields(JsonFields::new()).event_format(FlatJson).init(),
    }
}

/// Writes an event as one flat JSON object (see the module documentation). Span fields are
/// kept by the subscriber as JSON text ([`JsonFields`]) and merged here.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlatJson;

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert("timestamp".into(), humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string().into());
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("target".into(), meta.target().into());
        if let Some(scope) = ctx.event_scope() {
            let mut innermost = None;
            for span in scope.from_root() {
                innermost = Some(span.name());
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<N>>() else { continue };
                if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(fields) {
                    line.extend(fields);
                }
            }
            if let Some(name) = innermost {
                line.insert("span".into(), name.into());
            }
        }
        event.record(&mut Fields(&mut line));
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// Collects an event's fields as JSON values.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use tracing::{info, info_span};
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// The lines written, shared with the subscriber.
    #[derive(Clone, Default)]
    struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    #[test]
    fn span_fields_are_at_the_top_level_with_the_event_s() {
        let lines = Lines::default();
        let subscriber = tracing_subscriber::fmt().with_writer(lines.clone()).fmt_fields(JsonFields::new()).event_format(FlatJson).finish();
        tracing::subscriber::with_default(subscriber, || {
            let request = info_span!("request", request_id = "r-1", seq = 1u64);
            let _request = request.enter();
            let session = info_span!("agent", router = "rt-1", seq = 2u64);
            let _session = session.enter();
            info!(payment = "p-1", seq = 3u64, paid = true, "paid");
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["message"], "paid");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["span"], "agent");
        assert_eq!(line["request_id"], "r-1");
        assert_eq!(line["router"], "rt-1");
        assert_eq!(line["payment"], "p-1");
        assert_eq!(line["paid"], true);
        assert_eq!(line["seq"], 3, "the event's own field wins over its spans'");
        assert!(line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{line}");
    }
}
