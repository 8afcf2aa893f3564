//! The key layout, in one place. Everything lives in one sled tree; the first byte says what
//! a key holds. Numbers are big-endian so byte order is numeric order.
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `M` | `schema` | schema version (u8) |
//! | `R` | run id (16) | RunRecord |
//! | `J` | run id (16) · step index (u16) · attempt (u32) | AttemptRecord |
//! | `E` | event id (utf-8) | EventRecord |
//! | `T` | due ms (u64) · run id (16) | empty: timer |
//! | `Q` | run id (16) | empty: the run is runnable now |
//! | `C` | run id (16) | cancel requested: the reason (utf-8) |
//! | `S` | family · 0x00 · subject · 0x00 · seq (u64) | run id (16): subject queue |
//! | `W` | workflow hash (hex) | workflow source text |
//! | `O` | seq (u64) | Outcome |
//! | `H` | family · 0x00 · subject · 0x00 · seq (u64) | run id (16): every run of a subject |
//! | `F` | fact key (utf-8) | JSON value recorded by a step |
//! | `L` | line (utf-8) · 0x00 · seq (u64) | run id (16): runs waiting in a line |
//! | `K` | workflow name (utf-8) | last schedule occurrence fired (ms, u64) |
//! | `A` | delivery key (utf-8: AMQP message id, event id or body hash) | processing attempts (u32) |
//! | `G` | admitted ms (u64) · run id (16) | subject (utf-8): a leaver run in the quarantine window |

use crate::ids::RunId;

pub const SCHEMA: &[u8] = b"Mschema";
pub const RUN: u8 = b'R';
pub const JOURNAL: u8 = b'J';
pub const EVENT: u8 = b'E';
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

fn with_run(prefix: u8, run: &RunId) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(prefix);
    k.extend_from_slice(run.as_bytes());
    k
}

pub fn run(run: &RunId) -> Vec<u8> {
    with_run(RUN, run)
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
    k.extend_from_slice(line.as_bytes());
    k.push(0);
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

fn family_subject(prefix: u8, family: &str, subject: &str) -> Vec<u8> {
    let mut k = vec![prefix];
    k.extend_from_slice(family.as_bytes());
    k.push(0);
    k.extend_from_slice(subject.to_lowercase().as_bytes());
    k.push(0);
    k
}

pub fn subject(family: &str, subject: &str, seq: u64) -> Vec<u8> {
    let mut k = subject_prefix(family, subject);
    k.extend_from_slice(&seq.to_be_bytes());
    k
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
    }

    #[test]
    fn journal_keys_order_by_step_then_attempt() {
        let r = RunId::new();
        assert!(journal(&r, 1, 9) < journal(&r, 2, 1));
        assert!(journal(&r, 2, 1) < journal(&r, 2, 2));
        assert!(journal(&r, 3, 1).starts_with(&journal_prefix(&r)));
    }
}
