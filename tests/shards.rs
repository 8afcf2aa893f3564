//! Sharding (README "Several instances") with two `offboard serve` processes on their own data dirs
//! and the real broker: 1,000 events for 200 users are admitted exactly once, each user only by the
//! instance owning the queue the consistent-hash exchange put the user in, each user's events
//! in order; one instance SIGKILLed mid-stream and restarted on its data dir loses nothing and
//! duplicates nothing; a message whose subject header is not the lowercased subject is
//! dead-lettered as `bad-shard-key`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_common;

use lapin::options::{BasicAckOptions, BasicGetOptions, BasicPublishOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use offboard::ingress::Topology;
use offboard::shard::{SUBJECT_HEADER, Shards, subject_key};
use serde_json::{Value, json};
use serve_common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

const USERS: usize = 200;
const PER_USER: usize = 5;

fn user(u: usize) -> String {
    format!("Shard.User{u:03}@contoso.com")
}

/// The k-th leaver event of user u: each one a correction of the last with a later date.
fn leaver(u: usize, k: usize) -> Value {
    event(
        &format!("shards-u{u}-k{k}"),
        "hr.leaver",
        &user(u),
        json!({"lastWorkingDay": format!("2099-01-{:02}", k + 1)}),
    )
}

/// The broker needs the consistent-hash exchange plugin (idempotent).
fn enable_hash_plugin() {
    let out = Command::new("rabbitmq-plugins")
        .args(["enable", "rabbitmq_consistent_hash_exchange"])
        .output();
    if let Ok(o) = out
        && !o.status.success()
    {
        eprintln!(
            "rabbitmq-plugins enable failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

async fn publish(ch: &Channel, topology: &Topology, ev: &Value, key: &str) {
    let mut headers = FieldTable::default();
    headers.insert(
        SUBJECT_HEADER.into(),
        AMQPValue::LongString(LongString::from(key)),
    );
    let confirm = ch
        .basic_publish(
            topology.events_exchange.as_str().into(),
            ev["type"].as_str().unwrap().into(),
            BasicPublishOptions::default(),
            &serde_json::to_vec(ev).unwrap(),
            BasicProperties::default()
                .with_delivery_mode(2)
                .with_headers(headers),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(confirm.is_ack(), "the broker refused a test message");
}

/// Which shard queue the exchange puts each user in: one probe per user, read back.
async fn ring(ch: &Channel, topology: &Topology) -> BTreeMap<String, u32> {
    for u in 0..USERS {
        let probe = json!({"type": "probe", "subject": user(u)});
        publish(ch, topology, &probe, &subject_key(&user(u))).await;
    }
    let mut owner = BTreeMap::new();
    for shard in 0..2 {
        let q = topology.shard_queue(shard);
        while let Some(m) = ch
            .basic_get(q.as_str().into(), BasicGetOptions::default())
            .await
            .unwrap()
        {
            let body: Value = serde_json::from_slice(&m.delivery.data).unwrap();
            m.delivery.ack(BasicAckOptions::default()).await.unwrap();
            owner.insert(body["subject"].as_str().unwrap().to_string(), shard);
        }
    }
    assert_eq!(owner.len(), USERS, "every probe lands in one shard queue");
    owner
}

/// Every run of a service: (subject, eventId, status).
async fn runs(svc: &Service) -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    let mut after = String::new();
    loop {
        let (status, page) = svc.get(&format!("/api/v1/runs?limit=1000{after}")).await;
        assert_eq!(status, 200, "{page}");
        for r in page["runs"].as_array().unwrap() {
            all.push((
                r["subject"].as_str().unwrap().to_string(),
                r["eventId"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            ));
        }
        match page["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => return all,
        }
    }
}

async fn depth(ch: &Channel, queue: &str) -> u32 {
    ch.queue_declare(
        queue.into(),
        lapin::options::QueueDeclareOptions {
            passive: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap()
    .message_count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_users_and_a_killed_one_resumes_its_shard() {
    enable_hash_plugin();
    let prefix = unique_prefix("shards");
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("RabbitMQ must listen at OFFBOARD_TEST_AMQP_URL");
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(Default::default()).await.unwrap();
    let mut topology = Topology::prefixed(&prefix);
    topology.shards = Some(Shards {
        total: 2,
        mine: vec![0, 1],
    });
    topology
        .declare(&ch)
        .await
        .expect("declaring the sharded topology (is rabbitmq_consistent_hash_exchange enabled?)");
    let owner = ring(&ch, &topology).await;
    for shard in 0..2 {
        assert!(
            owner.values().any(|&s| s == shard),
            "shard {shard} got no user"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let env = |shard: &str| -> Vec<(String, String)> {
        [
            ("OFFBOARD_AMQP_URL", amqp_url()),
            ("OFFBOARD_AMQP_PREFIX", prefix.clone()),
            ("OFFBOARD_SHARDS", "2".into()),
            ("OFFBOARD_SHARD", shard.into()),
            ("OFFBOARD_QUARANTINE_THRESHOLD", "0".into()),
            ("OFFBOARD_QUARANTINE_PERCENT", "0".into()),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .to_vec()
    };
    let (dir0, dir1) = (dir.path().join("a"), dir.path().join("b"));
    // A StatefulSet pod name names the shard as well as a number does.
    let a = Service::start(&dir0, &env("offboard-0"));
    let b = Service::start(&dir1, &env("1"));

    // First half of the stream, round by round (each user's k-th event before its k+1-th).
    let events: Vec<Value> = (0..PER_USER)
        .flat_map(|k| (0..USERS).map(move |u| leaver(u, k)))
        .collect();
    let (first, second) = events.split_at(events.len() / 2);
    for ev in first {
        publish(
            &ch,
            &topology,
            ev,
            &subject_key(ev["subject"].as_str().unwrap()),
        )
        .await;
    }
    // Instance 1 dies while its shard is being worked on.
    let deadline = Instant::now() + Duration::from_secs(60);
    while runs(&b).await.is_empty() {
        assert!(Instant::now() < deadline, "instance 1 admitted nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(b); // SIGKILL
    let waiting = depth(&ch, &topology.shard_queue(1)).await;
    eprintln!("instance 1 killed with {waiting} of its first-half events still in its queue");
    for ev in second {
        publish(
            &ch,
            &topology,
            ev,
            &subject_key(ev["subject"].as_str().unwrap()),
        )
        .await;
    }
    // A publisher that does not lowercase the key could split a person across shards.
    let bad = event(
        "shards-bad-key",
        "hr.leaver",
        "Bad.Key@contoso.com",
        json!({"lastWorkingDay": "2099-01-01"}),
    );
    publish(&ch, &topology, &bad, "Bad.Key@contoso.com").await;
    assert!(
        depth(&ch, &topology.shard_queue(1)).await > 0,
        "while instance 1 is down its shard's events wait in its queue"
    );
    let b = Service::start(&dir1, &env("1"));

    let deadline = Instant::now() + Duration::from_secs(180);
    let (mut got0, mut got1);
    loop {
        got0 = runs(&a).await;
        got1 = runs(&b).await;
        let empty = depth(&ch, &topology.shard_queue(0)).await == 0
            && depth(&ch, &topology.shard_queue(1)).await == 0;
        if got0.len() + got1.len() >= USERS * PER_USER && empty {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {} + {} runs admitted\n--- instance 0\n{}\n--- instance 1\n{}",
            got0.len(),
            got1.len(),
            a.log_text(),
            b.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A user's last correction starts (pending → waiting for its day) once the executor gets
    // to it; on a loaded machine that can trail the admission by a while.
    let settle = Instant::now() + Duration::from_secs(60);
    while got0.iter().chain(&got1).any(|(_, _, s)| s == "pending") && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(200)).await;
        got0 = runs(&a).await;
        got1 = runs(&b).await;
    }

    // Exactly once across both instances.
    let mut ids = BTreeMap::new();
    for (_, id, _) in got0.iter().chain(&got1) {
        *ids.entry(id.clone()).or_insert(0) += 1;
    }
    let want: BTreeSet<String> = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.keys().cloned().collect::<BTreeSet<_>>(), want);
    assert!(ids.values().all(|&n| n == 1), "an event admitted twice");

    // Each user only by the owner of its queue, its last event the one left waiting.
    for (shard, got) in [(0u32, &got0), (1, &got1)] {
        let mut by_user: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        for (subject, id, status) in got {
            by_user.entry(subject).or_default().push((id, status));
        }
        for (subject, runs) in by_user {
            assert_eq!(
                owner[subject], shard,
                "{subject} was admitted by instance {shard}"
            );
            assert_eq!(runs.len(), PER_USER, "{subject}: {runs:?}");
            let live: Vec<_> = runs.iter().filter(|(_, s)| *s != "cancelled").collect();
            if live.len() != 1 {
                let svc = if shard == 0 { &a } else { &b };
                let (_, detail) = svc.get(&format!("/api/v1/runs?subject={subject}")).await;
                panic!("instance {shard}, {subject}: {detail:#}");
            }
            assert!(
                live[0].0.ends_with(&format!("-k{}", PER_USER - 1)),
                "{subject}'s current run is not its last correction: {runs:?}"
            );
            assert_eq!(live[0].1, "waiting", "{subject}: {runs:?}");
        }
    }

    // The bad key went to the dead-letter queue with its reason.
    let deadline = Instant::now() + Duration::from_secs(30);
    let dead = loop {
        if let Some(m) = ch
            .basic_get(
                topology.dead_queue.as_str().into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
        {
            break m.delivery;
        }
        assert!(
            Instant::now() < deadline,
            "the bad key was not dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let reason = dead
        .properties
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get("x-offboard-reason").cloned());
    assert_eq!(
        reason,
        Some(AMQPValue::LongString(LongString::from("bad-shard-key")))
    );
    assert!(!ids.contains_key("shards-bad-key"));

    drop((a, b));
    topology.delete(&ch).await.unwrap();
    let _ = conn.close(200, "test done".into()).await;
}
