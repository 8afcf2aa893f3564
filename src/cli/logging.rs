//! Logging set-up for every subcommand: `--log-format text|json` (`OFFBOARD_LOG_FORMAT`),
//! level from `OFFBOARD_LOG`, on stderr. In JSON every line is one object with `timestamp`,
//! `level`, `target`, `fields` and the span fields (`span`, `spans`); [`announce`] and
//! [`report_error`] keep the service's own stderr lines in the same format. Records are
//! escaped and bounded by [`log_record`](super::log_record).

use super::log_record::Records;
use std::io::IsTerminal;
use std::sync::OnceLock;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The variable with the log level filter (`info`, `offboard=debug`, ...).
pub const LEVEL_VAR: &str = "OFFBOARD_LOG";
/// The variable that sets `--log-format`.
pub const FORMAT_VAR: &str = "OFFBOARD_LOG_FORMAT";

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Installs the global subscriber; `default_level` applies when `OFFBOARD_LOG` is unset.
/// Every record goes through [`Records`]: escaped (text) and bounded (both formats). Text is
/// coloured only on a terminal (and not with `NO_COLOR` set), never in a journal or a file.
pub fn init(format: LogFormat, default_level: &str) {
    let _ = FORMAT.set(format);
    let filter = tracing_subscriber::EnvFilter::try_from_env(LEVEL_VAR)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let colours = format == LogFormat::Text
        && std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colours)
        .with_writer(Records::stderr(format, colours));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}

/// A line for people and scripts that must appear whatever the log level (the admin API's
/// address): as is in text, as an `INFO` object with the `message` field in JSON.
pub fn announce(message: &str) {
    eprintln!("{}", line("INFO", message));
}

/// The one-line reason of a failed command.
pub fn report_error(message: &str) {
    eprintln!("{}", line("ERROR", message));
}

fn line(level: &str, message: &str) -> String {
    match FORMAT.get().copied().unwrap_or_default() {
        LogFormat::Text => message.to_string(),
        LogFormat::Json => serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "level": level,
            "fields": { "message": message },
            "target": "offboard",
        })
        .to_string(),
    }
}
