//! What every log record goes through on its way to stderr. tracing-subscriber formats one
//! event into one buffer and writes it with one writer; [`Records`] hands out that writer,
//! which keeps the record and, when dropped, writes it out finished: in the text format with
//! every control character escaped (C0 but the record's final newline, DEL, C1, U+2028 and
//! U+2029), so a value from outside (an event id with a newline) cannot start a line of its
//! own; in both formats cut at [`MAX_RECORD_BYTES`], saying so (a JSON record stays one valid
//! object).

use super::logging::LogFormat;
use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use tracing_subscriber::fmt::MakeWriter;

/// The longest record written, its newline included.
pub const MAX_RECORD_BYTES: usize = 16 * 1024;

/// The [`MakeWriter`] of the fmt layer.
#[derive(Clone)]
pub struct Records {
    format: LogFormat,
    /// Text only: keep the formatter's colour sequences (`ESC [ … m`); set when stderr is a
    /// terminal. Values from outside cannot carry an ESC: tracing-subscriber escapes it in
    /// field values, and this writer escapes every other control character.
    colours: bool,
    out: Out,
}

#[derive(Clone)]
enum Out {
    Stderr,
    /// For tests: every finished record appended.
    Memory(Arc<Mutex<Vec<u8>>>),
}

impl Records {
    pub fn stderr(format: LogFormat, colours: bool) -> Self {
        Records {
            format,
            colours,
            out: Out::Stderr,
        }
    }

    /// Records written to `buffer` instead of stderr.
    pub fn memory(format: LogFormat, buffer: Arc<Mutex<Vec<u8>>>) -> Self {
        Records {
            format,
            colours: false,
            out: Out::Memory(buffer),
        }
    }
}

impl<'a> MakeWriter<'a> for Records {
    type Writer = Record;

    fn make_writer(&'a self) -> Record {
        Record {
            buf: Vec::new(),
            records: self.clone(),
        }
    }
}

/// One record being formatted; written out, finished, when dropped.
pub struct Record {
    buf: Vec<u8>,
    records: Records,
}

impl Write for Record {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let line = match self.records.format {
            LogFormat::Text => finish_text(&text, self.records.colours),
            LogFormat::Json => finish_json(&text),
        };
        // Nothing sensible is left to do when stderr fails.
        match &self.records.out {
            Out::Stderr => {
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
            }
            Out::Memory(buffer) => buffer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(line.as_bytes()),
        }
    }
}

/// A text record as one line: control characters escaped, one final newline, at most
/// [`MAX_RECORD_BYTES`].
pub fn finish_text(record: &str, colours: bool) -> String {
    let body = record.strip_suffix('\n').unwrap_or(record);
    let mut out = String::with_capacity(body.len() + 1);
    let mut rest = body;
    while let Some(c) = rest.chars().next() {
        if colours && c == '\x1b' {
            let n = colour_sequence(rest);
            if n > 0 {
                out.push_str(&rest[..n]);
                rest = &rest[n..];
                continue;
            }
        }
        escape_char(c, &mut out);
        rest = &rest[c.len_utf8()..];
    }
    out.push('\n');
    cut_text(out)
}

/// The length of the SGR sequence `ESC [ digits-and-semicolons m` at the start of `s`, or 0.
fn colour_sequence(s: &str) -> usize {
    let Some(params) = s.strip_prefix("\x1b[") else {
        return 0;
    };
    let n = params
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    if n <= 16 && params.as_bytes().get(n) == Some(&b'm') {
        2 + n + 1
    } else {
        0
    }
}

fn escape_char(c: char, out: &mut String) {
    use std::fmt::Write as _;
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0'..='\x1f' | '\x7f' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// `line` (ending in a newline) cut to [`MAX_RECORD_BYTES`] with a note of what was left out.
fn cut_text(line: String) -> String {
    if line.len() <= MAX_RECORD_BYTES {
        return line;
    }
    // Room for the note: " … [log record cut: 18446744073709551615 more bytes]\n".
    let mut keep = MAX_RECORD_BYTES - 64;
    while !line.is_char_boundary(keep) {
        keep -= 1;
    }
    let left_out = line.len() - 1 - keep;
    format!(
        "{} … [log record cut: {left_out} more bytes]\n",
        &line[..keep]
    )
}

/// A JSON record as is when short enough; otherwise the same object with its long strings
/// shortened (each saying how much was cut) and `"cut": true`, at most [`MAX_RECORD_BYTES`].
pub fn finish_json(record: &str) -> String {
    let body = record.strip_suffix('\n').unwrap_or(record);
    if body.len() < MAX_RECORD_BYTES && !body.contains('\n') {
        return format!("{body}\n");
    }
    let Ok(original) = serde_json::from_str::<Value>(body) else {
        // Not JSON after all (never seen): keep it one escaped, bounded line.
        return finish_text(body, false);
    };
    let mut longest = 4096;
    while longest >= 16 {
        let mut v = original.clone();
        shorten_strings(&mut v, longest);
        if let Value::Object(map) = &mut v {
            map.insert("cut".into(), Value::Bool(true));
        }
        let line = v.to_string();
        if line.len() < MAX_RECORD_BYTES {
            return line + "\n";
        }
        longest /= 4;
    }
    // Too many fields to fit at all: say so with what identifies the record.
    let mut short = serde_json::Map::new();
    for key in ["timestamp", "level", "target"] {
        if let Some(v) = original.get(key) {
            short.insert(key.into(), v.clone());
        }
    }
    short.insert(
        "fields".into(),
        serde_json::json!({ "message": format!("log record of {} bytes left out: too large", body.len()) }),
    );
    short.insert("cut".into(), Value::Bool(true));
    let mut v = Value::Object(short);
    shorten_strings(&mut v, 256);
    v.to_string() + "\n"
}

fn shorten_strings(v: &mut Value, longest: usize) {
    match v {
        Value::String(s) if s.len() > longest => {
            let mut keep = longest;
            while !s.is_char_boundary(keep) {
                keep -= 1;
            }
            let left_out = s.len() - keep;
            s.truncate(keep);
            s.push_str(&format!(" … [cut: {left_out} more bytes]"));
        }
        Value::Array(items) => items.iter_mut().for_each(|i| shorten_strings(i, longest)),
        Value::Object(map) => map.values_mut().for_each(|i| shorten_strings(i, longest)),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tracing_subscriber::fmt;

    #[test]
    fn control_characters_are_escaped_and_one_newline_ends_the_record() {
        let line = finish_text(
            "INFO id=a\nINFO Run succeeded.\r\0\t\x07\x1b[31m\x7f\u{85}\u{9f}\u{2028}\u{2029} é ✓\n",
            false,
        );
        assert_eq!(
            line,
            "INFO id=a\\nINFO Run succeeded.\\r\\x00\\t\\x07\\x1b[31m\\x7f\\u{85}\\u{9f}\\u{2028}\\u{2029} é ✓\n"
        );
        assert_eq!(finish_text("no newline", false), "no newline\n");
        assert_eq!(finish_text("two\n\n", false), "two\\n\n");
    }

    #[test]
    fn colour_sequences_stay_only_when_asked_for() {
        let record =
            "\x1b[2m2026\x1b[0m \x1b[32m INFO\x1b[0m x\x1b[9999999999999999999m\x1b]0;t\x07\n";
        assert_eq!(
            finish_text(record, true),
            "\x1b[2m2026\x1b[0m \x1b[32m INFO\x1b[0m x\\x1b[9999999999999999999m\\x1b]0;t\\x07\n"
        );
        assert!(!finish_text(record, false).contains('\x1b'));
    }

    #[test]
    fn long_text_records_are_cut_saying_so() {
        let record = format!("INFO id={}\n", "é".repeat(500_000));
        let line = finish_text(&record, false);
        assert!(line.len() <= MAX_RECORD_BYTES, "{}", line.len());
        assert!(
            line.ends_with(" more bytes]\n"),
            "{}",
            &line[line.len() - 80..]
        );
        assert!(line.contains("[log record cut: "));
        assert_eq!(line.matches('\n').count(), 1);
        // Escaping can make a record longer than it was: the cut applies after it.
        let line = finish_text(&"\0".repeat(10_000), false);
        assert!(line.len() <= MAX_RECORD_BYTES && line.contains("[log record cut: "));
    }

    #[test]
    fn long_json_records_stay_valid_json_and_say_they_were_cut() {
        let short = r#"{"level":"INFO","fields":{"message":"ok"}}"#;
        assert_eq!(finish_json(&format!("{short}\n")), format!("{short}\n"));
        let big = serde_json::json!({
            "timestamp": "2026-11-01T09:00:00Z", "level": "INFO", "target": "offboard",
            "fields": {"message": "Event admitted.", "event_id": "x".repeat(900_000)},
        });
        let line = finish_json(&format!("{big}\n"));
        assert!(line.len() <= MAX_RECORD_BYTES, "{}", line.len());
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["cut"], true);
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["fields"]["message"], "Event admitted.");
        let id = v["fields"]["event_id"].as_str().unwrap();
        assert!(
            id.ends_with("[cut: 895904 more bytes]"),
            "{}",
            &id[id.len() - 40..]
        );
        // Thousands of fields: the record is replaced by one that says so.
        let many: serde_json::Map<String, Value> = (0..5000)
            .map(|i| (format!("field{i}"), Value::from(i)))
            .collect();
        let line = finish_json(&format!(
            "{}\n",
            serde_json::json!({"level": "WARN", "fields": many})
        ));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "WARN");
        assert!(
            v["fields"]["message"]
                .as_str()
                .unwrap()
                .contains("left out")
        );
    }

    /// The fmt layer as `logging::init` builds it, into memory.
    fn log_with(format: LogFormat, f: impl FnOnce()) -> String {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Records::memory(format, buffer.clone());
        let builder = fmt().with_writer(writer).with_ansi(false);
        match format {
            LogFormat::Text => tracing::subscriber::with_default(builder.finish(), f),
            LogFormat::Json => tracing::subscriber::with_default(builder.json().finish(), f),
        }
        let bytes = buffer.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn a_forged_line_in_a_field_stays_inside_its_record() {
        let forged = "e1\n2026-11-01T09:00:00.000000Z  INFO offboard::engine: Run succeeded.\0";
        let out = log_with(LogFormat::Text, || {
            tracing::info!(event_id = %forged, "Event admitted.");
            tracing::warn!("{forged}");
        });
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines[0].contains("event_id=e1\\n2026-11-01"), "{out}");
        assert!(
            lines
                .iter()
                .all(|l| !l.starts_with("2026-11-01T09:00:00.000000Z"))
        );
        assert!(!out.contains('\0'));

        let out = log_with(LogFormat::Json, || {
            tracing::info!(event_id = %"x".repeat(100_000), "Event admitted.");
        });
        assert_eq!(out.lines().count(), 1);
        assert!(out.len() <= MAX_RECORD_BYTES);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["cut"], true);
    }
}
