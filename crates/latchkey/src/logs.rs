//! Where the command's words go: the log (text or JSON lines, on stderr) and the few lines it
//! says itself (a fatal error, the migrate report), written the same way.

use crate::cli::LogFormat;

/// Logs to stderr, filtered by `filter` (already checked by the command line's parser), as text
/// or as one JSON object a line.
pub fn init_logs(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::builder().parse_lossy(filter);
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
}

/// Tells the person or the log collector at `level` (`ERROR`: why the command failed), on
/// stderr, whatever the log filter: a line of text, or with JSON logs a JSON line like the
/// log's, so that every line a collector reads parses.
pub fn say(format: LogFormat, level: &str, message: &str) {
    match format {
        LogFormat::Text if level == "ERROR" => eprintln!("error: {message}"),
        LogFormat::Text => eprintln!("{message}"),
        LogFormat::Json => {
            let now = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            let line = serde_json::json!({
                "timestamp": now,
                "level": level,
                "message": message,
                "target": "latchkey",
            });
            eprintln!("{line}");
        }
    }
}
