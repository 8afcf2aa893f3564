//! deploy/: the sandbox's pieces point at each other (compose), the Kubernetes manifests keep
//! the contracts of the service (sharding, volume, non-root, placeholders), and the RabbitMQ
//! definitions declare what `Topology::default()` declares — checked on the real broker,
//! where any difference in a queue's arguments makes offboard's declare fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod deploy_common;

use base64::Engine as _;
use deploy_common::*;
use lapin::options::{ExchangeDeclareOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Connection, ConnectionProperties, ExchangeKind};
use offboard::ingress::Topology;
use serde_json::Value;
use sha2::{Digest, Sha256};

const DEFINITIONS: &str = "deploy/rabbitmq/definitions.json";

fn compose() -> Value {
    yaml("deploy/docker-compose.yml").remove(0)
}

fn env_of(service: &Value) -> std::collections::BTreeMap<String, String> {
    let env = service["environment"].as_object().unwrap();
    env.iter().map(|(k, v)| (k.clone(), text(v))).collect()
}

/// The value that follows `flag` in a command line.
fn flag(args: &[String], flag: &str) -> String {
    let at = args
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("no {flag}"));
    args[at + 1].clone()
}

#[test]
fn the_sandbox_points_offboard_at_sim_graph_and_the_broker() {
    let c = compose();
    let services = &c["services"];
    let sim = &services["sim-graph"];
    let args: Vec<String> = sim["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert_eq!(args[0], "sim-graph");
    assert_eq!(flag(&args, "--bind"), "0.0.0.0");
    let base = format!("http://sim-graph:{}", flag(&args, "--port"));
    let docker = dockerfile_env(&dockerfile("deploy/Dockerfile"));
    assert_eq!(flag(&args, "--scenario"), docker["OFFBOARD_SIM_SCENARIO"]);
    assert!(flag(&args, "--state").starts_with(&docker["OFFBOARD_DATA_DIR"]));

    let sim_env = env_of(sim);
    let env = env_of(&services["offboard"]);
    assert_eq!(env["OFFBOARD_TENANT"], "graph");
    for (var, suffix) in [
        ("OFFBOARD_LOGIN_URL", "/login"),
        ("OFFBOARD_GRAPH_URL", "/graph"),
        ("OFFBOARD_EXCHANGE_URL", "/exchange"),
        ("OFFBOARD_PARTNER_CENTER_URL", "/partner"),
    ] {
        assert_eq!(env[var], format!("{base}{suffix}"), "{var}");
    }
    for var in [
        "OFFBOARD_TENANT_ID",
        "OFFBOARD_CLIENT_ID",
        "OFFBOARD_CLIENT_SECRET",
    ] {
        assert_eq!(
            env[var], sim_env[var],
            "{var} differs between sim-graph and offboard"
        );
    }
    assert!(
        !env["OFFBOARD_ADMIN_TOKEN"].is_empty(),
        "0.0.0.0 needs a token"
    );

    // The AMQP URL names the rabbitmq service and a user the definitions create with
    // exactly that password (RabbitMQ's salted SHA-256 hash).
    let url = &env["OFFBOARD_AMQP_URL"];
    let rest = url.strip_prefix("amqp://").unwrap();
    let (userinfo, hostpart) = rest.split_once('@').unwrap();
    let (user, password) = userinfo.split_once(':').unwrap();
    assert!(hostpart.starts_with("rabbitmq:5672/"), "{url}");
    assert!(services["rabbitmq"].is_object());
    let defs = json(DEFINITIONS);
    let u = defs["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == user)
        .unwrap_or_else(|| panic!("the definitions create no user {user}"));
    assert_eq!(u["hashing_algorithm"], "rabbit_password_hashing_sha256");
    let hash = base64::engine::general_purpose::STANDARD
        .decode(text(&u["password_hash"]))
        .unwrap();
    let (salt, digest) = hash.split_at(4);
    let expected = Sha256::digest([salt, password.as_bytes()].concat());
    assert_eq!(
        digest,
        expected.as_slice(),
        "{user}'s password hash is not the URL's password"
    );
    let mounts: Vec<String> = services["rabbitmq"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    for file in ["rabbitmq.conf", "definitions.json", "enabled_plugins"] {
        let m = mounts
            .iter()
            .find(|m| m.starts_with(&format!("./rabbitmq/{file}:")));
        assert!(m.is_some(), "compose does not mount {file}");
    }
    let conf = read("deploy/rabbitmq/rabbitmq.conf");
    assert!(conf.contains("definitions.local.path = /etc/rabbitmq/definitions.json"));
    assert!(read("deploy/rabbitmq/enabled_plugins").contains("rabbitmq_consistent_hash_exchange"));
}

#[test]
fn the_statefulset_keeps_one_volume_and_one_shard_per_pod() {
    let sts = yaml("deploy/k8s/statefulset.yaml").remove(0);
    let cm = yaml("deploy/k8s/configmap.yaml").remove(0)["data"].clone();
    let spec = &sts["spec"];
    assert_eq!(text(&spec["replicas"]), text(&cm["OFFBOARD_SHARDS"]));
    let pod = &spec["template"]["spec"];
    let c = &pod["containers"][0];
    let shard = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "OFFBOARD_SHARD")
        .expect("OFFBOARD_SHARD is not set");
    assert_eq!(shard["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name");
    let claim = text(&spec["volumeClaimTemplates"][0]["metadata"]["name"]);
    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| text(&m["name"]) == claim)
        .expect("the claim is not mounted");
    assert_eq!(text(&mount["mountPath"]), text(&cm["OFFBOARD_DATA_DIR"]));
    let docker = dockerfile("deploy/Dockerfile");
    assert_eq!(last(&docker, "VOLUME"), text(&cm["OFFBOARD_DATA_DIR"]));
    let uid = last(&docker, "USER").split(':').next().unwrap().to_string();
    assert_eq!(text(&pod["securityContext"]["runAsUser"]), uid);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    let from: Vec<String> = c["envFrom"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| match e["configMapRef"].is_object() {
            true => text(&e["configMapRef"]["name"]),
            false => text(&e["secretRef"]["name"]),
        })
        .collect();
    let secret = yaml("deploy/k8s/secret.yaml").remove(0);
    let cm_name = yaml("deploy/k8s/configmap.yaml").remove(0)["metadata"]["name"].clone();
    assert!(from.contains(&text(&cm_name)) && from.contains(&text(&secret["metadata"]["name"])));
    for (k, v) in secret["stringData"].as_object().unwrap() {
        assert!(
            text(v).contains("REPLACE-ME"),
            "secret.yaml {k} looks like a real value"
        );
    }
    let headless = yaml("deploy/k8s/service.yaml")
        .into_iter()
        .find(|s| s["spec"]["clusterIP"] == "None")
        .expect("no headless Service");
    assert_eq!(spec["serviceName"], headless["metadata"]["name"]);
}

fn amqp_url() -> String {
    std::env::var("OFFBOARD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn list<'a>(defs: &'a Value, key: &str) -> &'a Vec<Value> {
    defs[key]
        .as_array()
        .unwrap_or_else(|| panic!("the definitions have no {key}"))
}

#[test]
fn the_definitions_name_the_default_topology_and_policies_do_not_touch_its_arguments() {
    let t = Topology::default();
    let defs = json(DEFINITIONS);
    let names = |key: &str| -> Vec<String> {
        let mut v: Vec<String> = list(&defs, key).iter().map(|x| text(&x["name"])).collect();
        v.sort();
        v
    };
    let mut exchanges = vec![
        t.events_exchange.clone(),
        t.dead_exchange.clone(),
        t.outcomes_exchange.clone(),
    ];
    exchanges.sort();
    assert_eq!(names("exchanges"), exchanges);
    let mut queues = vec![t.events_queue.clone(), t.dead_queue.clone()];
    queues.sort();
    assert_eq!(names("queues"), queues);
    let mut bindings: Vec<(String, String, String)> = list(&defs, "bindings")
        .iter()
        .map(|b| {
            assert_eq!(b["destination_type"], "queue");
            (
                text(&b["destination"]),
                text(&b["source"]),
                text(&b["routing_key"]),
            )
        })
        .collect();
    bindings.sort();
    let mut expected = vec![
        (
            t.events_queue.clone(),
            t.events_exchange.clone(),
            "#".to_string(),
        ),
        (
            t.dead_queue.clone(),
            t.dead_exchange.clone(),
            "#".to_string(),
        ),
    ];
    expected.sort();
    assert_eq!(bindings, expected);
    let events = list(&defs, "queues")
        .iter()
        .find(|q| q["name"] == t.events_queue.as_str())
        .unwrap();
    assert_eq!(events["arguments"]["x-delivery-limit"], t.delivery_limit);
    for x in list(&defs, "exchanges").iter().chain(list(&defs, "queues")) {
        assert_eq!(x["vhost"], "/");
    }
    let declared: Vec<String> = list(&defs, "queues")
        .iter()
        .chain(list(&defs, "exchanges"))
        .flat_map(|x| {
            x["arguments"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        })
        .map(|k| k.trim_start_matches("x-").to_string())
        .collect();
    for p in list(&defs, "policies") {
        for key in p["definition"].as_object().unwrap().keys() {
            assert!(
                !declared.contains(key),
                "policy {} sets {key}, which offboard declares",
                p["name"]
            );
        }
    }
}

/// Declares the definitions' exchanges and queues with every name (and every argument that
/// names an exchange) prefixed; `tamper` adds 1 to `x-delivery-limit`.
async fn declare_definitions(ch: &lapin::Channel, prefix: &str, tamper: bool) {
    let defs = json(DEFINITIONS);
    let exchanges: Vec<String> = list(&defs, "exchanges")
        .iter()
        .map(|x| text(&x["name"]))
        .collect();
    for x in list(&defs, "exchanges") {
        let kind = match text(&x["type"]).as_str() {
            "topic" => ExchangeKind::Topic,
            other => ExchangeKind::Custom(other.into()),
        };
        let opts = ExchangeDeclareOptions {
            durable: x["durable"] == true,
            auto_delete: x["auto_delete"] == true,
            internal: x["internal"] == true,
            ..ExchangeDeclareOptions::default()
        };
        let name = format!("{prefix}{}", text(&x["name"]));
        ch.exchange_declare(name.as_str().into(), kind, opts, FieldTable::default())
            .await
            .unwrap();
    }
    for q in list(&defs, "queues") {
        let mut args = FieldTable::default();
        for (k, v) in q["arguments"].as_object().unwrap() {
            let value = match v {
                Value::String(s) if exchanges.contains(s) => {
                    AMQPValue::LongString(LongString::from(format!("{prefix}{s}").as_str()))
                }
                Value::String(s) => AMQPValue::LongString(LongString::from(s.as_str())),
                Value::Number(n) if tamper && k == "x-delivery-limit" => {
                    AMQPValue::LongLongInt(n.as_i64().unwrap() + 1)
                }
                Value::Number(n) => AMQPValue::LongLongInt(n.as_i64().unwrap()),
                Value::Bool(b) => AMQPValue::Boolean(*b),
                other => panic!("{k}: {other} is not a queue argument this test knows"),
            };
            args.insert(k.as_str().into(), value);
        }
        let opts = QueueDeclareOptions {
            durable: q["durable"] == true,
            auto_delete: q["auto_delete"] == true,
            ..QueueDeclareOptions::default()
        };
        let name = format!("{prefix}{}", text(&q["name"]));
        ch.queue_declare(name.as_str().into(), opts, args)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn offboard_declares_its_topology_on_a_broker_that_imported_the_definitions() {
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("RabbitMQ must listen at OFFBOARD_TEST_AMQP_URL");
    let unique = uuid::Uuid::now_v7().simple().to_string();
    let same = format!("test.deploy.{unique}.same.");
    let ch = conn.create_channel().await.unwrap();
    declare_definitions(&ch, &same, false).await;
    let result = Topology::prefixed(&same).declare(&ch).await;
    Topology::prefixed(&same)
        .delete(&conn.create_channel().await.unwrap())
        .await
        .unwrap();
    result.expect("offboard's declare refused the definitions' topology");

    // The check can fail: one differing argument and offboard's declare is refused.
    let tampered = format!("test.deploy.{unique}.tampered.");
    let ch = conn.create_channel().await.unwrap();
    declare_definitions(&ch, &tampered, true).await;
    let result = Topology::prefixed(&tampered).declare(&ch).await;
    Topology::prefixed(&tampered)
        .delete(&conn.create_channel().await.unwrap())
        .await
        .unwrap();
    assert!(result.is_err(), "a different x-delivery-limit was accepted");
    let _ = conn.close(200, "test done".into()).await;
}
