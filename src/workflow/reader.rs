//! Typed, spanned access to a parsed TOML document that records every problem (with its
//! line) instead of stopping at the first one.

use super::Problem;
use serde_json::{Map, Number, Value};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub(crate) type Item<'i> = Spanned<DeValue<'i>>;

/// Collects problems for one file.
pub(crate) struct Reader<'a> {
    path: &'a Path,
    text: &'a str,
    pub problems: Vec<Problem>,
}

impl<'a> Reader<'a> {
    pub fn new(path: &'a Path, text: &'a str) -> Self {
        Reader {
            path,
            text,
            problems: Vec::new(),
        }
    }

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        1 + self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
    }

    pub fn at_line(&mut self, line: usize, message: impl Into<String>) {
        self.problems
            .push(Problem::new(self.path, line.max(1), message));
    }

    pub fn at(&mut self, span: Range<usize>, message: impl Into<String>) {
        let line = self.line(span.start);
        self.at_line(line, message);
    }

    /// Reports every key of `table` that is not in `allowed`.
    pub fn unknown_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], whose: &str) {
        for key in table.keys() {
            if !allowed.contains(&key.get_ref().as_ref()) {
                self.at(
                    key.span(),
                    format!(
                        "unknown key `{}` in {whose}; allowed keys: {}",
                        key.get_ref(),
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    fn wrong_type(&mut self, item: &Item<'_>, key: &str, whose: &str, expected: &str) {
        self.at(
            item.span(),
            format!(
                "`{key}` in {whose} must be {expected}, not {}",
                type_name(item.get_ref())
            ),
        );
    }

    pub fn string(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        whose: &str,
    ) -> Option<(String, usize)> {
        let item = table.get(key)?;
        match item.get_ref() {
            DeValue::String(s) => Some((s.to_string(), self.line(item.span().start))),
            _ => {
                self.wrong_type(item, key, whose, "a string");
                None
            }
        }
    }

    pub fn integer(&mut self, table: &DeTable<'_>, key: &str, whose: &str) -> Option<(i64, usize)> {
        let item = table.get(key)?;
        let line = self.line(item.span().start);
        match item.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some((n, line)),
                Err(_) => {
                    self.at_line(line, format!("`{key}` in {whose} is out of range"));
                    None
                }
            },
            _ => {
                self.wrong_type(item, key, whose, "an integer");
                None
            }
        }
    }

    pub fn boolean(&mut self, table: &DeTable<'_>, key: &str, whose: &str) -> Option<bool> {
        let item = table.get(key)?;
        match item.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(item, key, whose, "true or false");
                None
            }
        }
    }

    /// A humantime duration such as `"90s"`, `"5m"` or `"1h 30m"`.
    pub fn duration(&mut self, table: &DeTable<'_>, key: &str, whose: &str) -> Option<Duration> {
        let (text, line) = self.string(table, key, whose)?;
        match humantime::parse_duration(text.trim()) {
            Ok(d) => Some(d),
            Err(e) => {
                self.at_line(
                    line,
                    format!(
                        "`{key}` in {whose}: `{text}` is not a duration ({e}); \
                         write e.g. \"30s\", \"5m\" or \"1h 30m\""
                    ),
                );
                None
            }
        }
    }

    pub fn table<'t, 'i>(
        &mut self,
        table: &'t DeTable<'i>,
        key: &str,
        whose: &str,
    ) -> Option<(&'t DeTable<'i>, usize)> {
        let item = table.get(key)?;
        match item.get_ref() {
            DeValue::Table(t) => Some((t, self.line(item.span().start))),
            _ => {
                self.wrong_type(item, key, whose, "a table");
                None
            }
        }
    }

    /// An array of tables (`[[key]]`), each with its line.
    pub fn tables<'t, 'i>(
        &mut self,
        table: &'t DeTable<'i>,
        key: &str,
        whose: &str,
    ) -> Vec<(&'t DeTable<'i>, usize)> {
        let Some(item) = table.get(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = item.get_ref() else {
            self.wrong_type(item, key, whose, "an array of tables");
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in items.iter() {
            match entry.get_ref() {
                DeValue::Table(t) => out.push((t, self.line(entry.span().start))),
                _ => self.wrong_type(entry, key, whose, "an array of tables"),
            }
        }
        out
    }

    /// Converts a TOML value to JSON (datetimes become strings).
    pub fn json_value(&mut self, item: &Item<'_>, whose: &str) -> Option<Value> {
        Some(match item.get_ref() {
            DeValue::String(s) => Value::String(s.to_string()),
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Value::from(n),
                Err(_) => {
                    self.at(
                        item.span(),
                        format!("an integer in {whose} is out of range"),
                    );
                    return None;
                }
            },
            DeValue::Float(f) => {
                match f
                    .as_str()
                    .replace('_', "")
                    .parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                {
                    Some(n) => Value::Number(n),
                    None => {
                        self.at(
                            item.span(),
                            format!("`{}` in {whose} is not a finite number", f.as_str()),
                        );
                        return None;
                    }
                }
            }
            DeValue::Boolean(b) => Value::Bool(*b),
            DeValue::Datetime(d) => Value::String(d.to_string()),
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for entry in items.iter() {
                    out.push(self.json_value(entry, whose)?);
                }
                Value::Array(out)
            }
            DeValue::Table(t) => {
                let mut out = Map::new();
                for (k, v) in t.iter() {
                    out.insert(k.get_ref().to_string(), self.json_value(v, whose)?);
                }
                Value::Object(out)
            }
        })
    }
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// `[a-z0-9-]+`.
pub(crate) fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
