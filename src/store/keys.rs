//! The key layout, in one place. Everything lives in one sled tree; the first byte says what
//! a key holds. Numbers are big-endian so byte order is numeric order. Every composite key
//! encodes its variable parts with a length prefix (u32) or puts a single one last, so no two
//! different tuples share a key or a prefix, whatever their bytes (a subject containing 0x00
//! is just bytes).
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `M` | `schema` | layout version (u8), [`LAYOUT`] |
//! | `R` | run id (16) | RunRecord |
//! | `J` | run id (16) · step index (u16) · attempt (u32) | AttemptRecord |
//! | `E` | event id (utf-8) | EventRecord |
//! | `V` | received ms (u64) · event id (utf-8) | empty: dedup records by age (retention) |
//! | `T` | due ms (u64) · run id (16) | empty: timer |
//! | `Q` | run id (16) | empty: the run is runnable now |
//! | `C` | run id (16) | cancel requested: the reason (utf-8) |
//! | `S` | len · family · len · subject (lower case) · seq (u64) | run id (16): subject queue |
//! | `W` | workflow hash (hex) | workflow source text |
//! | `O` | seq (u64) | Outcome |
//! | `H` | len · family · len · subject (lower case) · seq (u64) | run id (16): every run of a subject |
//! | `F` | fact key (utf-8) | JSON value recorded by a step |
//! | `L` | len · line (utf-8) · seq (u64) | run id (16): runs waiting in a line |
//! | `K` | workflow name (utf-8) | last schedule occurrence fired (ms, u64) |
//! | `A` | delivery key (utf-8: AMQP message id, event id or body hash) | processing attempts (u32) |
//! | `G` | admitted ms (u64) · run id (16) | subject (utf-8): a leaver run in the quarantine window |
//! | `N` | `counts` | the counters: (len · name · count (u64))*, a name being `Nr` · len · workflow · status (u8) (runs of that workflow in that status), `Nt` (timers) or `No` (outcomes in the outbox) |
//!
//! `len` is a u32 length in bytes. The counters are kept by [`super::Store::apply`] in the
//! same atomic batch as the writes that change them, in one key (one more key per batch).

use crate::engine::RunStatus;
use crate::ids::RunId;

pub const SCHEMA: &[u8] = b"Mschema";
/// The key layout version. 1: `S`/`H`/`L` separated their parts with 0x00 (a subject
/// containing 0x00 could share another's queue); no counters, no `V` index. 2: this layout.
pub const LAYOUT: u8 = 2;
pub const RUN: u8 = b'R';
pub const JOURNAL: u8 = b'J';
pub const EVENT: u8 = b'E';
pub const EVENT_AGE: u8 = b'V';
pub const TIMER: u8 = b'T';
pub const READY: u8 = b'Q';
pub const CANCEL: u8 = b'C';
pub const SUBJECT: u8 = b'S';
pub const WORKFLOW: u8 = b'W';
pub const OUTBOX: u8 = b'O';
pub const HISTORY: u8 = b'H';
pub const FACT: u8 = b'F';
pub const LINE: u8 = b'L';
pub const SCHEDULE: u8 = b'K';
pub const DELIVERY: u8 = b'A';
pub const LEAVER_WINDOW: u8 = b'G';
pub const COUNTER: u8 = b'N';
pub const COUNTS: &[u8] = b"Ncounts";

fn with_run(prefix: u8, run: &RunId) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(prefix);
    k.extend_from_slice(run.as_bytes());
    k
}

/// Appends `part` with its u32 length in front.
pub(super) fn push_part(k: &mut Vec<u8>, part: &[u8]) {
    let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
    k.extend_from_slice(&len.to_be_bytes());
    k.extend_from_slice(part);
}

/// Reads one length-prefixed part at the start of `b`: (part, rest).
pub(super) fn take_part(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_be_bytes(b.get(..4)?.try_into().ok()?) as usize;
    let part = b.get(4..4 + len)?;
    Some((part, &b[4 + len..]))
}

pub fn run(run: &RunId) -> Vec<u8> {
    with_run(RUN, run)
}

/// The first run key after `run` (exclusive start of a scan).
pub fn run_after(run: &RunId) -> Vec<u8> {
    let mut k = with_run(RUN, run);
    k.push(0);
    k
}

pub fn ready(run: &RunId) -> Vec<u8> {
    with_run(READY, run)
}

pub fn cancel(run: &RunId) -> Vec<u8> {
    with_run(CANCEL, run)
}

pub fn journal_prefix(run: &RunId) -> Vec<u8> {
    with_run(JOURNAL, run)
}

pub fn journal(run: &RunId, step: u16, attempt: u32) -> Vec<u8> {
    let mut k = journal_prefix(run);
    k.extend_from_slice(&step.to_be_bytes());
    k.extend_from_slice(&attempt.to_be_bytes());
    k
}

pub fn event(id: &str) -> Vec<u8> {
    let mut k = vec![EVENT];
    k.extend_from_slice(id.as_bytes());
    k
}

/// The age index of a dedup record: received at `ms`.
pub fn event_age(ms: u64, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + id.len());
    k.push(EVENT_AGE);
    k.extend_from_slice(&ms.to_be_bytes());
    k.extend_from_slice(id.as_bytes());
    k
}

/// (received ms, event id) of an `event_age` key.
pub fn parse_event_age(key: &[u8]) -> Option<(u64, String)> {
    let ms = u64::from_be_bytes(key.get(1..9)?.try_into().ok()?);
    let id = std::str::from_utf8(key.get(9..)?).ok()?;
    Some((ms, id.to_string()))
}

pub fn timer(due_ms: u64, run: &RunId) -> Vec<u8> {
    let mut k = Vec::with_capacity(25);
    k.push(TIMER);
    k.extend_from_slice(&due_ms.to_be_bytes());
    k.extend_from_slice(run.as_bytes());
    k
}

pub fn subject_prefix(family: &str, subject: &str) -> Vec<u8> {
    family_subject(SUBJECT, family, subject)
}

pub fn history_prefix(family: &str, subject: &str) -> Vec<u8> {
    family_subject(HISTORY, family, subject)
}

pub fn history(family: &str, subject: &str, seq: u64) -> Vec<u8> {
    let mut k = history_prefix(family, subject);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn fact(key: &str) -> Vec<u8> {
    let mut k = vec![FACT];
    k.extend_from_slice(key.as_bytes());
    k
}

pub fn line_prefix(line: &str) -> Vec<u8> {
    let mut k = vec![LINE];
    push_part(&mut k, line.as_bytes());
    k
}

pub fn line(line: &str, seq: u64) -> Vec<u8> {
    let mut k = line_prefix(line);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn schedule(workflow: &str) -> Vec<u8> {
    let mut k = vec![SCHEDULE];
    k.extend_from_slice(workflow.as_bytes());
    k
}

/// Subjects are UPNs (case-insensitive) or object ids: one queue per lower-cased subject.
fn family_subject(prefix: u8, family: &str, subject: &str) -> Vec<u8> {
    family_subject_bytes(prefix, family.as_bytes(), subject.to_lowercase().as_bytes())
}

fn family_subject_bytes(prefix: u8, family: &[u8], subject: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + family.len() + subject.len() + 8);
    k.push(prefix);
    push_part(&mut k, family);
    push_part(&mut k, subject);
    k
}

pub fn subject(family: &str, subject: &str, seq: u64) -> Vec<u8> {
    let mut k = subject_prefix(family, subject);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// (family, subject, seq) of an `S` or `H` key.
#[cfg(test)]
pub fn parse_family_subject(key: &[u8]) -> Option<(String, String, u64)> {
    let (family, rest) = take_part(key.get(1..)?)?;
    let (subject, rest) = take_part(rest)?;
    let seq = u64::from_be_bytes(rest.try_into().ok()?);
    Some((
        String::from_utf8_lossy(family).into_owned(),
        String::from_utf8_lossy(subject).into_owned(),
        seq,
    ))
}

pub fn workflow(hash: &str) -> Vec<u8> {
    let mut k = vec![WORKFLOW];
    k.extend_from_slice(hash.as_bytes());
    k
}

pub fn outbox(seq: u64) -> Vec<u8> {
    let mut k = vec![OUTBOX];
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// A leaver run admitted at `ms`, counted by the mass-offboarding quarantine.
pub fn leaver_window(ms: u64, run: &RunId) -> Vec<u8> {
    let mut k = Vec::with_capacity(25);
    k.push(LEAVER_WINDOW);
    k.extend_from_slice(&ms.to_be_bytes());
    k.extend_from_slice(run.as_bytes());
    k
}

/// Decodes the run id at the end of a `Q`/`C`/`R`/`T` key.
pub fn trailing_run(key: &[u8]) -> Option<RunId> {
    let tail: [u8; 16] = key.get(key.len().checked_sub(16)?..)?.try_into().ok()?;
    Some(RunId::from_bytes(tail))
}

/// Decodes the due time of a timer key (and the time of a leaver-window key).
pub fn timer_due(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.get(1..9)?.try_into().ok()?))
}

pub fn outbox_seq(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.get(1..9)?.try_into().ok()?))
}

/// Processing attempts of one AMQP message (see `Store::count_attempt`).
pub fn delivery(key: &str) -> Vec<u8> {
    let mut k = vec![DELIVERY];
    k.extend_from_slice(key.as_bytes());
    k
}

/// The store's counters (see the table above; [`counter`] names them).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Counter {
    Runs(String, RunStatus),
    Timers,
    Outbox,
}

const COUNT_RUNS: u8 = b'r';
const COUNT_TIMERS: u8 = b't';
const COUNT_OUTBOX: u8 = b'o';

/// The name of a counter in the `counts` value.
pub fn counter(c: &Counter) -> Vec<u8> {
    match c {
        Counter::Runs(workflow, status) => {
            let mut k = vec![COUNTER, COUNT_RUNS];
            push_part(&mut k, workflow.as_bytes());
            k.push(status_code(*status));
            k
        }
        Counter::Timers => vec![COUNTER, COUNT_TIMERS],
        Counter::Outbox => vec![COUNTER, COUNT_OUTBOX],
    }
}

pub fn parse_counter(key: &[u8]) -> Option<Counter> {
    match key.get(..2)? {
        [COUNTER, COUNT_TIMERS] if key.len() == 2 => Some(Counter::Timers),
        [COUNTER, COUNT_OUTBOX] if key.len() == 2 => Some(Counter::Outbox),
        [COUNTER, COUNT_RUNS] => {
            let (workflow, rest) = take_part(&key[2..])?;
            let [code] = rest else { return None };
            let status = *RunStatus::ALL.get(usize::from(*code))?;
            Some(Counter::Runs(
                String::from_utf8_lossy(workflow).into_owned(),
                status,
            ))
        }
        _ => None,
    }
}

/// A status as one byte: its place in [`RunStatus::ALL`].
fn status_code(s: RunStatus) -> u8 {
    RunStatus::ALL
        .iter()
        .position(|x| *x == s)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(u8::MAX)
}

/// Keys of layout 1, read only by the migration to layout 2.
pub mod v1 {
    /// (family, subject, seq) of a layout-1 `S`/`H` key `p family 0x00 subject 0x00 seq`:
    /// the seq is the last 8 bytes, families contain no 0x00, so the subject is everything
    /// between the first 0x00 and the 0x00 before the seq (it may contain 0x00 itself).
    pub fn parse_family_subject(key: &[u8]) -> Option<(Vec<u8>, Vec<u8>, u64)> {
        let body = key.get(1..key.len().checked_sub(8)?)?;
        let seq = u64::from_be_bytes(key.get(key.len() - 8..)?.try_into().ok()?);
        let body = body.strip_suffix(&[0])?;
        let nul = body.iter().position(|&b| b == 0)?;
        Some((body[..nul].to_vec(), body[nul + 1..].to_vec(), seq))
    }

    /// (line, seq) of a layout-1 `L` key `L line 0x00 seq`.
    pub fn parse_line(key: &[u8]) -> Option<(Vec<u8>, u64)> {
        let body = key.get(1..key.len().checked_sub(8)?)?;
        let seq = u64::from_be_bytes(key.get(key.len() - 8..)?.try_into().ok()?);
        Some((body.strip_suffix(&[0])?.to_vec(), seq))
    }

    /// Layout-2 `S`/`H`/`L` keys start with a u32 length below 2^24, so their second byte
    /// is 0x00; layout-1 keys start with a family or line name, never empty nor 0x00.
    pub fn is_v1(key: &[u8]) -> bool {
        key.get(1).is_some_and(|&b| b != 0)
    }
}

/// The same key rebuilt from raw parts (the migration; subjects already lower case).
pub fn family_subject_raw(prefix: u8, family: &[u8], subject: &[u8], seq: u64) -> Vec<u8> {
    let mut k = family_subject_bytes(prefix, family, subject);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn line_raw(line: &[u8], seq: u64) -> Vec<u8> {
    let mut k = vec![LINE];
    push_part(&mut k, line);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_keys_sort_by_due_time_and_round_trip() {
        let a = RunId::new();
        let b = RunId::new();
        let k1 = timer(5, &b);
        let k2 = timer(300, &a);
        assert!(k1 < k2);
        assert_eq!(timer_due(&k2), Some(300));
        assert_eq!(trailing_run(&k2), Some(a));
        assert_eq!(trailing_run(&ready(&b)), Some(b));
    }

    #[test]
    fn subject_queue_keys_keep_arrival_order_and_ignore_upn_case() {
        let p = subject_prefix("lifecycle", "Dana@Contoso.com");
        let k1 = subject("lifecycle", "dana@contoso.com", 2);
        let k2 = subject("lifecycle", "DANA@contoso.com", 10);
        assert!(k1.starts_with(&p) && k2.starts_with(&p));
        assert!(k1 < k2);
        assert!(!subject("lifecycle", "dana@contoso.co", 1).starts_with(&p));
        assert_eq!(
            parse_family_subject(&k2),
            Some(("lifecycle".into(), "dana@contoso.com".into(), 10))
        );
    }

    #[test]
    fn no_subject_shares_a_prefix_with_one_it_extends_whatever_the_separator() {
        let base = "bo.nilsen@contoso.com";
        let short = subject_prefix("lifecycle", base);
        let short_h = history_prefix("lifecycle", base);
        let short_l = line_prefix("seat/sku");
        for sep in 0u8..=255 {
            let mut longer = base.as_bytes().to_vec();
            longer.push(sep);
            longer.extend_from_slice(b"x");
            // Subjects are strings; a byte that is not UTF-8 on its own still becomes a
            // distinct (replacement) character, so test the raw-byte keys too.
            let raw = family_subject_raw(SUBJECT, b"lifecycle", &longer, u64::from(sep));
            assert!(!raw.starts_with(&short), "separator {sep:#04x}");
            let raw_h = family_subject_raw(HISTORY, b"lifecycle", &longer, 0);
            assert!(!raw_h.starts_with(&short_h), "separator {sep:#04x}");
            let mut line_name = b"seat/sku".to_vec();
            line_name.push(sep);
            assert!(!line_raw(&line_name, 0).starts_with(&short_l));
            if let Ok(text) = String::from_utf8(longer.clone()) {
                assert!(!subject("lifecycle", &text, 1).starts_with(&short));
                // Every seq of the short subject stays inside its own prefix.
                for seq in [0, u64::from(sep), u64::MAX] {
                    let theirs = subject("lifecycle", &text, seq);
                    let prefix = subject_prefix("lifecycle", &text);
                    assert!(!subject("lifecycle", base, seq).starts_with(&prefix));
                    assert!(!theirs.starts_with(&short));
                }
            }
            // A family that extends another never shares its prefix either.
            let fam = format!("lifecycle{}", char::from(sep.max(1)));
            assert!(!subject_prefix(&fam, base).starts_with(&short));
        }
    }

    #[test]
    fn layout_1_keys_parse_with_a_nul_in_the_subject_and_in_the_seq() {
        let mut k = vec![SUBJECT];
        k.extend_from_slice(b"lifecycle\0bo@contoso.com\0x\0");
        k.extend_from_slice(&0x0000_0100_0000_0000u64.to_be_bytes());
        let (f, s, seq) = v1::parse_family_subject(&k).unwrap();
        assert_eq!(
            (f.as_slice(), s.as_slice(), seq),
            (&b"lifecycle"[..], &b"bo@contoso.com\0x"[..], 1 << 40)
        );
        assert!(v1::is_v1(&k));
        assert!(!v1::is_v1(&subject("lifecycle", "bo@contoso.com", 1)));
        let mut l = vec![LINE];
        l.extend_from_slice(b"seat/sku-1\0");
        l.extend_from_slice(&7u64.to_be_bytes());
        assert_eq!(v1::parse_line(&l), Some((b"seat/sku-1".to_vec(), 7)));
        assert!(!v1::is_v1(&line("seat/sku-1", 7)));
    }

    #[test]
    fn counter_and_event_age_keys_round_trip() {
        for c in [
            Counter::Runs("leaver".into(), RunStatus::Cancelled),
            Counter::Timers,
            Counter::Outbox,
        ] {
            assert_eq!(parse_counter(&counter(&c)), Some(c));
        }
        let k = event_age(42, "ev\0ent");
        assert_eq!(parse_event_age(&k), Some((42, "ev\0ent".to_string())));
        assert!(event_age(41, "zzz") < event_age(42, "a"));
    }

    #[test]
    fn journal_keys_order_by_step_then_attempt() {
        let r = RunId::new();
        assert!(journal(&r, 1, 9) < journal(&r, 2, 1));
        assert!(journal(&r, 2, 1) < journal(&r, 2, 2));
        assert!(journal(&r, 3, 1).starts_with(&journal_prefix(&r)));
    }
}
