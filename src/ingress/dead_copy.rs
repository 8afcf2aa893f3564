//! The properties of a dead-letter copy: the original properties and headers plus the reason,
//! a bounded detail and, when needed, a note of what was left out. The copy's content-header
//! frame must never exceed the broker's `frame_max` (the broker would close the whole
//! connection), so its encoded properties are kept within half of it: original headers that do
//! not fit are dropped, largest first, and named in `x-offboard-headers-omitted`. Sizes are
//! measured with amq-protocol's own encoder. Pure, so it is unit-tested without a broker.

use lapin::BasicProperties;
use lapin::protocol::basic::gen_properties;
use lapin::types::generation::{SerializeFn, gen_value};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use std::collections::BTreeMap;

/// Header carrying the machine-readable reason a message was dead-lettered.
pub const REASON_HEADER: &str = "x-offboard-reason";
/// Header carrying the human-readable explanation (at most [`DETAIL_MAX`] bytes).
pub const DETAIL_HEADER: &str = "x-offboard-detail";
/// Header saying which original headers the copy leaves out, and why.
pub const OMITTED_HEADER: &str = "x-offboard-headers-omitted";

/// Bytes of `x-offboard-detail`, the truncation note included.
pub const DETAIL_MAX: usize = 1024;
/// Bytes of `x-offboard-headers-omitted`.
const OMITTED_MAX: usize = 1024;
/// The frame size assumed when the connection negotiated none (0 means "no limit" in AMQP;
/// this is RabbitMQ's default).
const DEFAULT_FRAME_MAX: u32 = 131_072;
/// A content-header frame besides its properties: type 1, channel 2, size 4, class 2,
/// weight 2, body size 8, frame end 1.
const HEADER_FRAME_OVERHEAD: usize = 20;

/// The properties of a dead-letter copy and what they leave out.
#[derive(Debug, Clone)]
pub struct DeadCopy {
    pub properties: BasicProperties,
    /// Names of the original headers left out.
    pub omitted: Vec<String>,
    /// Their encoded size in bytes.
    pub omitted_bytes: usize,
}

/// The most the copy's encoded properties may take: half the negotiated frame size, leaving
/// the other half as a margin for what the broker adds on the way (`x-death` and the like).
pub fn budget(frame_max: u32) -> usize {
    let frame_max = if frame_max == 0 {
        DEFAULT_FRAME_MAX
    } else {
        frame_max
    };
    usize::try_from(frame_max / 2).unwrap_or(usize::MAX)
}

/// The copy's properties for a message with `original` properties, dead-lettered with `code`
/// and `detail`, on a connection whose frame size is `frame_max`.
pub fn dead_copy(original: &BasicProperties, code: &str, detail: &str, frame_max: u32) -> DeadCopy {
    let budget = budget(frame_max);
    let mut ours = FieldTable::default();
    ours.insert(REASON_HEADER.into(), text(code));
    ours.insert(DETAIL_HEADER.into(), text(&bounded(detail, DETAIL_MAX)));
    let mut originals = original_headers(original);
    let base = original.clone().with_delivery_mode(2);
    let all = with_headers(&base, &ours, &originals, None);
    if encoded_size(&all) <= budget {
        return DeadCopy {
            properties: all,
            omitted: Vec::new(),
            omitted_bytes: 0,
        };
    }
    // Room for the original headers: the budget less everything else, the note at its
    // longest included. Entries add up: a table is its 4-byte length plus its entries.
    let note_room = text(&"x".repeat(OMITTED_MAX));
    let mut fixed = ours.clone();
    fixed.insert(OMITTED_HEADER.into(), note_room);
    let room = budget.saturating_sub(encoded_size(&base.clone().with_headers(fixed)));
    originals.sort_by_key(|(k, v)| std::cmp::Reverse(entry_size(k, v)));
    let mut kept_bytes: usize = originals.iter().map(|(k, v)| entry_size(k, v)).sum();
    let mut omitted = Vec::new();
    let mut omitted_bytes = 0;
    let mut kept = Vec::new();
    for (k, v) in originals {
        let size = entry_size(&k, &v);
        if kept_bytes > room {
            kept_bytes -= size;
            omitted_bytes += size;
            omitted.push(k.to_string());
        } else {
            kept.push((k, v));
        }
    }
    let note = omitted_note(&omitted, omitted_bytes, budget, frame_max);
    let properties = with_headers(&base, &ours, &kept, Some(&note));
    let copy = DeadCopy {
        properties,
        omitted,
        omitted_bytes,
    };
    // The other properties are short strings (at most 255 bytes each); on the smallest
    // frame size AMQP allows (4096) they could still crowd the frame, so as a last resort
    // the copy carries only what offboard adds.
    if encoded_size(&copy.properties) + HEADER_FRAME_OVERHEAD <= frame_limit(frame_max) {
        copy
    } else {
        minimal(original, &ours, frame_max)
    }
}

/// The copy with no original property at all: delivery mode, reason, detail and the note.
fn minimal(original: &BasicProperties, ours: &FieldTable, frame_max: u32) -> DeadCopy {
    let originals = original_headers(original);
    let omitted: Vec<String> = originals.iter().map(|(k, _)| k.to_string()).collect();
    let omitted_bytes = originals.iter().map(|(k, v)| entry_size(k, v)).sum();
    let note = omitted_note(&omitted, omitted_bytes, budget(frame_max), frame_max);
    let base = BasicProperties::default().with_delivery_mode(2);
    DeadCopy {
        properties: with_headers(&base, ours, &[], Some(&note)),
        omitted,
        omitted_bytes,
    }
}

/// `text` cut at a UTF-8 boundary so that, with the note saying so, it takes at most `max`
/// bytes.
pub fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let note = format!(" … [truncated; {} bytes in all]", text.len());
    let cut = text.floor_char_boundary(max.saturating_sub(note.len()));
    format!("{}{note}", &text[..cut])
}

/// The encoded size of `props` in a content-header frame, in bytes.
pub fn encoded_size(props: &BasicProperties) -> usize {
    encoded(gen_properties(props))
}

/// The largest content-header frame the broker accepts.
fn frame_limit(frame_max: u32) -> usize {
    let frame_max = if frame_max == 0 {
        DEFAULT_FRAME_MAX
    } else {
        frame_max
    };
    usize::try_from(frame_max).unwrap_or(usize::MAX)
}

/// One field-table entry: name length (1), name, then the typed value.
fn entry_size(name: &ShortString, value: &AMQPValue) -> usize {
    1 + name.as_str().len() + encoded(gen_value(value))
}

fn encoded<F: SerializeFn<Vec<u8>>>(generate: F) -> usize {
    match generate(Vec::new().into()) {
        Ok(ctx) => usize::try_from(ctx.position).unwrap_or(usize::MAX),
        // Writing to a Vec does not fail; were it to, the value counts as too big to keep.
        Err(_) => usize::MAX / 4,
    }
}

fn with_headers(
    base: &BasicProperties,
    ours: &FieldTable,
    originals: &[(ShortString, AMQPValue)],
    note: Option<&str>,
) -> BasicProperties {
    let mut headers: BTreeMap<ShortString, AMQPValue> = originals.iter().cloned().collect();
    for (k, v) in ours.inner() {
        headers.insert(k.clone(), v.clone());
    }
    if let Some(note) = note {
        headers.insert(OMITTED_HEADER.into(), text(note));
    }
    base.clone().with_headers(FieldTable::from(headers))
}

fn omitted_note(omitted: &[String], bytes: usize, budget: usize, frame_max: u32) -> String {
    let names = bounded(&omitted.join(", "), OMITTED_MAX / 2);
    bounded(
        &format!(
            "{} original header(s) of {bytes} bytes left out: the copy's properties must stay \
             within {budget} bytes (half the broker's frame_max of {}); the body is unchanged. \
             Left out: {names}",
            omitted.len(),
            frame_limit(frame_max),
        ),
        OMITTED_MAX,
    )
}

/// The original headers, less any of offboard's own (a copy dead-lettered again gets new ones).
fn original_headers(original: &BasicProperties) -> Vec<(ShortString, AMQPValue)> {
    original
        .headers()
        .as_ref()
        .map(|h| {
            h.inner()
                .iter()
                .filter(|(k, _)| !is_ours(k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn is_ours(name: &str) -> bool {
    [REASON_HEADER, DETAIL_HEADER, OMITTED_HEADER].contains(&name)
}

fn text(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn header(props: &BasicProperties, name: &str) -> Option<String> {
        match props.headers().as_ref()?.inner().get(name)? {
            AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
            other => Some(format!("{other:?}")),
        }
    }

    fn with(headers: &[(&str, usize)]) -> BasicProperties {
        let mut t = FieldTable::default();
        for (name, len) in headers {
            t.insert((*name).into(), text(&"h".repeat(*len)));
        }
        BasicProperties::default()
            .with_message_id("m-1".into())
            .with_headers(t)
    }

    #[test]
    fn small_headers_are_all_kept_with_the_reason_and_detail() {
        let original = with(&[("x-trace", 40), ("cloudEvents:id", 8)]);
        let copy = dead_copy(&original, "invalid-json", "not JSON", 131_072);
        assert!(copy.omitted.is_empty());
        let p = &copy.properties;
        assert_eq!(header(p, REASON_HEADER).unwrap(), "invalid-json");
        assert_eq!(header(p, DETAIL_HEADER).unwrap(), "not JSON");
        assert_eq!(header(p, "x-trace").unwrap().len(), 40);
        assert!(header(p, OMITTED_HEADER).is_none());
        assert_eq!(p.message_id().as_ref().unwrap().as_str(), "m-1");
        assert_eq!(*p.delivery_mode(), Some(2));
    }

    #[test]
    fn headers_over_the_budget_are_dropped_largest_first_and_named() {
        // About 130,900 bytes of headers: the message itself just fit the frame.
        let original = with(&[("x-big", 100_000), ("x-medium", 30_000), ("x-small", 20)]);
        let copy = dead_copy(&original, "invalid-json", "not JSON", 131_072);
        let p = &copy.properties;
        assert!(encoded_size(p) <= budget(131_072), "{}", encoded_size(p));
        assert_eq!(copy.omitted, ["x-big"]);
        assert!(header(p, "x-big").is_none());
        assert_eq!(header(p, "x-medium").unwrap().len(), 30_000);
        assert_eq!(header(p, "x-small").unwrap().len(), 20);
        let note = header(p, OMITTED_HEADER).unwrap();
        assert!(note.contains("x-big") && note.contains("65536"), "{note}");
        assert!(copy.omitted_bytes > 100_000);
    }

    #[test]
    fn many_headers_are_dropped_until_the_rest_fits() {
        let names: Vec<String> = (0..600).map(|i| format!("x-h-{i:03}")).collect();
        let spec: Vec<(&str, usize)> = names.iter().map(|n| (n.as_str(), 200)).collect();
        let copy = dead_copy(&with(&spec), "invalid-json", "x", 131_072);
        let p = &copy.properties;
        assert!(encoded_size(p) <= budget(131_072));
        let kept = p.headers().as_ref().unwrap().inner().len() - 3;
        assert_eq!(kept + copy.omitted.len(), 600);
        assert!(kept > 250, "too much was dropped: {kept} kept");
        assert!(header(p, OMITTED_HEADER).unwrap().len() <= OMITTED_MAX);
    }

    #[test]
    fn an_echoed_huge_value_is_truncated_in_the_detail() {
        let huge = format!("`{}` is not an RFC 3339 date-time", "9".repeat(131_000));
        let copy = dead_copy(
            &BasicProperties::default(),
            "invalid-attribute",
            &huge,
            131_072,
        );
        let detail = header(&copy.properties, DETAIL_HEADER).unwrap();
        assert!(detail.len() <= DETAIL_MAX);
        assert!(detail.starts_with("`999"));
        let total = format!("{} bytes in all", huge.len());
        assert!(
            detail.contains("truncated") && detail.contains(&total),
            "{detail}"
        );
        assert!(copy.omitted.is_empty());
    }

    #[test]
    fn truncation_cuts_at_a_character_boundary() {
        let s = "é".repeat(1000); // 2 bytes each
        let b = bounded(&s, 101);
        assert!(b.len() <= 101);
        assert!(b.starts_with('é') && b.contains("truncated; 2000 bytes in all"));
        assert_eq!(bounded("short", 101), "short");
    }

    #[test]
    fn the_smallest_frame_size_still_fits() {
        let long = "p".repeat(255);
        let original = with(&[("x-a", 3000)])
            .with_content_type(long.as_str().into())
            .with_content_encoding(long.as_str().into())
            .with_correlation_id(long.as_str().into())
            .with_reply_to(long.as_str().into())
            .with_expiration(long.as_str().into())
            .with_message_id(long.as_str().into())
            .with_type(long.as_str().into())
            .with_user_id(long.as_str().into())
            .with_app_id(long.as_str().into())
            .with_cluster_id(long.as_str().into());
        let copy = dead_copy(&original, "invalid-json", &"d".repeat(5000), 4096);
        assert!(encoded_size(&copy.properties) + HEADER_FRAME_OVERHEAD <= 4096);
        assert_eq!(
            header(&copy.properties, REASON_HEADER).unwrap(),
            "invalid-json"
        );
        assert_eq!(copy.omitted, ["x-a"]);
    }

    #[test]
    fn a_negotiated_frame_max_of_zero_means_the_default() {
        assert_eq!(budget(0), 65_536);
        assert_eq!(budget(131_072), 65_536);
        assert_eq!(budget(4096), 2048);
    }
}
