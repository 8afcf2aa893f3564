//! A store written in key layout 1 (subject-queue, history and line keys separated by 0x00,
//! no counters, no dedup age index) is migrated at open: every queue, history and line is
//! kept, the counters equal a recount, and a subject that extended another with 0x00 no
//! longer blocks it. The layout-1 encoding is written out here on purpose: it is frozen.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestEnv, example_tenant, workflow};
use offboard::engine::RunStatus;
use offboard::ids::RunId;
use offboard::store::{Store, WriteBatch};
use offboard::workflow::Workflow;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const QUICK: &str = r#"
name = "quick"
version = 1
family = "lifecycle"
[[triggers]]
type = "hr.mover"
[[steps]]
id = "disable"
action = "user.disable"
"#;

const WAITER: &str = r#"
name = "waiter"
version = 1
family = "lifecycle"
[[triggers]]
type = "hr.leaver"
[[steps]]
id = "cool-off"
wait = "1000days"
[[steps]]
id = "disable"
action = "user.disable"
"#;

const VICTIM: &str = "bo.nilsen@contoso.com";

fn workflows() -> Vec<Workflow> {
    vec![workflow(QUICK), workflow(WAITER)]
}

/// `p family 0x00 subject 0x00 seq` (layout 1).
fn v1_family_subject(prefix: u8, family: &[u8], subject: &[u8], seq: u64) -> Vec<u8> {
    let mut k = vec![prefix];
    k.extend_from_slice(family);
    k.push(0);
    k.extend_from_slice(subject);
    k.push(0);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Splits a layout-2 `p len family len subject seq` key.
fn v2_parts(key: &[u8]) -> (Vec<Vec<u8>>, u64) {
    let mut rest = &key[1..];
    let mut parts = Vec::new();
    while rest.len() > 8 {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        parts.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    (parts, u64::from_be_bytes(rest.try_into().unwrap()))
}

fn open_raw(dir: &Path) -> sled::Db {
    for _ in 0..100 {
        match sled::Config::new().path(dir.join("store")).open() {
            Ok(db) => return db,
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    panic!("the store stayed locked");
}

/// Rewrites a layout-2 store as layout 1 would have stored the same data, leaving the first
/// history key in layout 2 (a migration interrupted half-way), and adds a layout-1 queue and
/// history entry for `VICTIM + "\0x"` holding `squatter`.
fn rewrite_as_layout_1(dir: &Path, squatter: RunId) {
    let db = open_raw(dir);
    let tree = db.open_tree("offboard").unwrap();
    let mut kept_one_history_key = false;
    for item in tree.iter() {
        let (k, v) = item.unwrap();
        match k[0] {
            b'S' | b'H' => {
                if k[0] == b'H' && !kept_one_history_key {
                    kept_one_history_key = true;
                    continue;
                }
                let (parts, seq) = v2_parts(&k);
                tree.insert(v1_family_subject(k[0], &parts[0], &parts[1], seq), v)
                    .unwrap();
                tree.remove(k).unwrap();
            }
            b'L' => {
                let (parts, seq) = v2_parts(&k);
                let mut old = vec![b'L'];
                old.extend_from_slice(&parts[0]);
                old.push(0);
                old.extend_from_slice(&seq.to_be_bytes());
                tree.insert(old, v).unwrap();
                tree.remove(k).unwrap();
            }
            b'N' | b'V' => {
                tree.remove(k).unwrap();
            }
            _ => {}
        }
    }
    assert!(kept_one_history_key);
    let mut attacker = VICTIM.as_bytes().to_vec();
    attacker.extend_from_slice(b"\0x");
    // A seq whose bytes contain 0x00 too.
    let seq = 1 << 40;
    for p in [b'S', b'H'] {
        tree.insert(
            v1_family_subject(p, b"lifecycle", &attacker, seq),
            squatter.as_bytes().to_vec(),
        )
        .unwrap();
    }
    tree.insert("Mschema", vec![1u8]).unwrap();
    db.flush().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layout_1_store_keeps_its_queues_and_gets_exact_counters_at_open() {
    let env = TestEnv::start(workflows(), example_tenant()).await;
    let waiting = env
        .submit_one("l-fred", "hr.leaver", "fred.fischer@contoso.com", json!({}))
        .await;
    env.wait_status(waiting, RunStatus::Waiting).await;
    let queued = env
        .submit_one("m-fred", "hr.mover", "Fred.Fischer@contoso.com", json!({}))
        .await;
    let done = env
        .submit_one("m-dana", "hr.mover", "dana.lee@contoso.com", json!({}))
        .await;
    env.wait_for(done, |r| r.status.is_terminal()).await;
    let store = env.engine.store().clone();
    let mut batch = WriteBatch::new();
    batch.join_line("seat/sku-1", 10, &waiting);
    batch.join_line("seat/sku-10", 5, &done);
    store.commit(batch).await.unwrap();
    let queue = store
        .subject_queue("lifecycle", "fred.fischer@contoso.com")
        .unwrap();
    assert_eq!(queue.len(), 2);
    let fred_history = store
        .subject_history("lifecycle", "fred.fischer@contoso.com")
        .unwrap();
    let dana_history = store
        .subject_history("lifecycle", "dana.lee@contoso.com")
        .unwrap();
    let counts = store.recount().unwrap();
    assert_eq!(store.counts().unwrap(), counts);
    assert_eq!(counts.timers, 1);
    drop(store);
    let tmp = env.stop().await;

    rewrite_as_layout_1(tmp.as_ref().unwrap().path(), waiting);

    let dir = tmp.as_ref().unwrap().path().to_path_buf();
    let env = TestEnv::start_in(&dir, workflows(), example_tenant()).await;
    let store = env.engine.store().clone();
    assert_eq!(
        store
            .subject_queue("lifecycle", "fred.fischer@contoso.com")
            .unwrap(),
        queue
    );
    assert_eq!(
        store
            .subject_history("lifecycle", "fred.fischer@contoso.com")
            .unwrap(),
        fred_history
    );
    assert_eq!(
        store
            .subject_history("lifecycle", "dana.lee@contoso.com")
            .unwrap(),
        dana_history
    );
    assert_eq!(store.line_ahead("seat/sku-1", 11).unwrap(), 1);
    assert_eq!(store.line_ahead("seat/sku-10", 11).unwrap(), 1);
    assert_eq!(store.counts().unwrap(), counts);
    assert_eq!(store.recount().unwrap(), counts);
    // Every dedup record is in the age index.
    let indexed = store.events_received_before(u64::MAX, None, 100).unwrap();
    let ids: Vec<&str> = indexed.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    for id in ["l-fred", "m-fred", "m-dana"] {
        assert!(ids.contains(&id), "{id}");
    }
    // The squatter's entry moved to its own subject; the real person's queue is empty, so
    // their run starts at once instead of waiting behind a leaver due in 1000 days.
    let attacker = format!("{VICTIM}\0x");
    assert_eq!(
        store.subject_queue("lifecycle", &attacker).unwrap(),
        vec![(1 << 40, waiting)]
    );
    assert!(store.subject_queue("lifecycle", VICTIM).unwrap().is_empty());
    let bo = env.submit_one("m-bo", "hr.mover", VICTIM, json!({})).await;
    let bo = env.wait_for(bo, |r| r.status.is_terminal()).await;
    assert_ne!(bo.status, RunStatus::Pending);

    // Fred's waiting leaver ends; the mover queued behind it runs, counters stay exact.
    env.engine.cancel(waiting).await.unwrap();
    env.wait_for(queued, |r| r.status.is_terminal()).await;
    assert_eq!(store.counts().unwrap(), store.recount().unwrap());
    drop(store);
    let tmp2 = env.stop().await;
    assert!(tmp2.is_none());

    // Opening again does not migrate again.
    let again = Store::open(&dir).unwrap();
    assert_eq!(again.counts().unwrap(), again.recount().unwrap());
    assert_eq!(
        again
            .subject_queue("lifecycle", "fred.fischer@contoso.com")
            .unwrap(),
        vec![]
    );
    drop(tmp);
}
