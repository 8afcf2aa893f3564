//! The store's indexes behind the steps' ledger: waiting lines in arrival order, facts by
//! prefix, and a subject's history surviving the end of its runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use offboard::ids::RunId;
use offboard::store::{Store, WriteBatch};
use serde_json::json;

#[tokio::test]
async fn lines_count_who_arrived_earlier_and_forget_who_left() {
    let store = Store::temporary().unwrap();
    let (a, b, c) = (RunId::new(), RunId::new(), RunId::new());
    let mut batch = WriteBatch::new();
    batch.join_line("seat/sku-1", 10, &a);
    batch.join_line("seat/sku-1", 30, &c);
    batch.join_line("seat/sku-10", 5, &b); // another line whose name extends the first
    store.commit(batch).await.unwrap();
    assert_eq!(store.line_ahead("seat/sku-1", 10).unwrap(), 0);
    assert_eq!(store.line_ahead("seat/sku-1", 20).unwrap(), 1);
    assert_eq!(store.line_ahead("seat/sku-1", 31).unwrap(), 2);
    assert_eq!(store.line_ahead("seat/sku-10", 31).unwrap(), 1);
    let mut batch = WriteBatch::new();
    batch.leave_line("seat/sku-1", 10);
    store.commit(batch).await.unwrap();
    assert_eq!(store.line_ahead("seat/sku-1", 31).unwrap(), 1);
}

#[tokio::test]
async fn facts_are_found_by_prefix_and_removed() {
    let store = Store::temporary().unwrap();
    let mut batch = WriteBatch::new();
    batch.put_fact("purge/u1", &json!({"days": 7}));
    batch.put_fact("purge/u2", &json!({"days": 0}));
    batch.put_fact("purgeX/u3", &json!(1));
    batch.put_fact("backup/u1", &json!({"verified": true}));
    store.commit(batch).await.unwrap();
    let purge = store.facts("purge/").unwrap();
    assert_eq!(purge.len(), 2);
    assert_eq!(purge[0], ("purge/u1".to_string(), json!({"days": 7})));
    let mut batch = WriteBatch::new();
    batch.remove_fact("purge/u1");
    store.commit(batch).await.unwrap();
    assert_eq!(store.facts("purge/").unwrap().len(), 1);
}

#[tokio::test]
async fn history_keeps_every_run_of_a_subject_in_arrival_order() {
    let store = Store::temporary().unwrap();
    let (a, b) = (RunId::new(), RunId::new());
    let mut batch = WriteBatch::new();
    batch.record_history("lifecycle", "Dana@Contoso.com", 4, &a);
    batch.record_history("lifecycle", "dana@contoso.com", 9, &b);
    batch.record_history("lifecycle", "dan@contoso.com", 5, &RunId::new());
    store.commit(batch).await.unwrap();
    let h = store
        .subject_history("lifecycle", "DANA@contoso.com")
        .unwrap();
    assert_eq!(h, vec![(4, a), (9, b)]);
}

/// A subject that extends another by one character (every separator byte 0x00–0x7F, and the
/// characters U+0080–U+00FF) never shares its queue, history or a line (issue 13: a
/// leaver for `"bo.nilsen@contoso.com\u0000x"` waiting until 2099 blocked the real person).
#[tokio::test]
async fn a_subject_extending_another_never_shares_its_queue_or_history() {
    let store = Store::temporary().unwrap();
    let victim = "bo.nilsen@contoso.com";
    let mine = RunId::new();
    let mut batch = WriteBatch::new();
    batch.enqueue_subject("lifecycle", victim, 1_000, &mine);
    batch.record_history("lifecycle", victim, 1_000, &mine);
    batch.join_line("seat/sku", 1_000, &mine);
    store.commit(batch).await.unwrap();
    let mut others = Vec::new();
    for sep in 0u32..=255 {
        let c = char::from_u32(sep).unwrap();
        for other in [format!("{victim}{c}x"), format!("{victim}{c}")] {
            let theirs = RunId::new();
            // Seqs whose bytes contain the separator, before and after the victim's.
            let seq = u64::from(sep) | (u64::from(sep) << 40);
            let mut batch = WriteBatch::new();
            batch.enqueue_subject("lifecycle", &other, seq, &theirs);
            batch.record_history("lifecycle", &other, seq, &theirs);
            batch.join_line(&format!("seat/sku{c}"), seq, &theirs);
            store.commit(batch).await.unwrap();
            others.push((other, seq, theirs));
        }
    }
    assert_eq!(
        store.subject_queue("lifecycle", victim).unwrap(),
        vec![(1_000, mine)]
    );
    assert_eq!(
        store.subject_history("lifecycle", victim).unwrap(),
        vec![(1_000, mine)]
    );
    assert_eq!(store.line_ahead("seat/sku", u64::MAX).unwrap(), 1);
    for (other, seq, theirs) in &others {
        // Upper-case Latin-1 letters fold to the lower-case ones: one subject, two runs.
        let queue = store.subject_queue("lifecycle", other).unwrap();
        assert!(queue.contains(&(*seq, *theirs)), "{other:?}");
        assert!(!queue.iter().any(|(_, r)| *r == mine), "{other:?}");
        let history = store.subject_history("lifecycle", other).unwrap();
        assert!(!history.iter().any(|(_, r)| *r == mine), "{other:?}");
    }
}
