//! Helpers of the `offboard serve` tests: the service as a child process (its admin API on an
//! ephemeral port), a sim-graph sandbox process, the real broker (unique names per test) and
//! a TCP proxy in front of it that a test can cut and restore.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use offboard::ingress::Topology;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

pub fn amqp_url() -> String {
    std::env::var("OFFBOARD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A unique prefix for one test's exchanges and queues.
pub fn unique_prefix(test: &str) -> String {
    format!("test.serve.{test}.{}.", uuid::Uuid::now_v7().simple())
}

/// A CloudEvent as JSON.
pub fn event(id: &str, kind: &str, subject: &str, data: Value) -> Value {
    json!({"specversion": "1.0", "id": id, "source": "tests", "type": kind,
        "subject": subject, "time": "2026-11-01T09:00:00Z", "data": data})
}

/// `offboard serve` in its own process.
pub struct Service {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    pub log: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

impl Service {
    /// Starts the service on `data_dir` with the repository's workflows, the example tenant
    /// and `env` on top; waits until its admin API listens.
    pub fn start(data_dir: &Path, env: &[(String, String)]) -> Service {
        Self::start_command(Command::new(env!("CARGO_BIN_EXE_offboard")), data_dir, env)
    }

    /// [`Service::start`] with the soft and hard limit of open files set to `open_files`
    /// (through bash's `ulimit -n`), e.g. systemd's default of 1,024.
    pub fn start_with_open_files(
        data_dir: &Path,
        env: &[(String, String)],
        open_files: u64,
    ) -> Service {
        let mut cmd = Command::new("bash");
        cmd.args([
            "-c",
            &format!("ulimit -n {open_files} && exec \"$0\" \"$@\""),
        ])
        .arg(env!("CARGO_BIN_EXE_offboard"));
        Self::start_command(cmd, data_dir, env)
    }

    fn start_command(mut cmd: Command, data_dir: &Path, env: &[(String, String)]) -> Service {
        cmd.current_dir(ROOT)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("OFFBOARD_DATA_DIR", data_dir)
            .env("OFFBOARD_WORKFLOWS_DIR", Path::new(ROOT).join("workflows"))
            .env(
                "OFFBOARD_SIM_SCENARIO",
                Path::new(ROOT).join("examples/tenant.json"),
            )
            .env("OFFBOARD_HTTP_ADDR", "127.0.0.1:0")
            .env("OFFBOARD_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // The line as is in text, the `message` of an object in JSON.
                let message = serde_json::from_str::<Value>(&line)
                    .ok()
                    .and_then(|v| v["fields"]["message"].as_str().map(str::to_string))
                    .unwrap_or_else(|| line.clone());
                if let Some(url) = message.strip_prefix("offboard: admin API listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "offboard serve did not start:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        // reqwest is built with rustls but without a default crypto provider.
        offboard::tenant::graph::install_crypto_provider();
        Service {
            child,
            base,
            data_dir: data_dir.to_path_buf(),
            log,
            http: reqwest::Client::new(),
        }
    }

    /// The process id (after `start_with_open_files`, the service itself: bash `exec`s it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM failed");
    }

    /// Waits for the process to end; panics (with its log) after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "offboard serve did not stop within {within:?}:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/cloudevents+json")
            .body(serde_json::to_vec(body).unwrap())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Submits an event over HTTP and returns its one run id.
    pub async fn submit_one(&self, event: &Value) -> String {
        let (status, body) = self.post("/api/v1/events", event).await;
        assert_eq!(status, 202, "{body}");
        let runs = body["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1, "{body}");
        runs[0].as_str().unwrap().to_string()
    }

    /// Polls a run until `done(run)` holds; panics with the run and the log after `within`.
    pub async fn wait_run(
        &self,
        id: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let (status, run) = self.get(&format!("/api/v1/runs/{id}")).await;
            if status == 200 && done(&run) {
                return run;
            }
            if Instant::now() > deadline {
                panic!("run {id} never got there: {run:#}\n{}", self.log_text());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls `/readyz` until its answer has `ready == want`.
    pub async fn wait_ready(&self, want: bool, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let (status, body) = self.get("/readyz").await;
            if (status == 200) == want && body["ready"] == json!(want) {
                return body;
            }
            if Instant::now() > deadline {
                panic!(
                    "readiness never became {want}: {status} {body}\n{}",
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a run JSON has ended in `status`.
pub fn has_status(run: &Value, status: &str) -> bool {
    run["status"] == status
}

/// An `offboard sim-graph` process with the example tenant.
pub struct SimGraph {
    child: Child,
    pub url: String,
    /// The variables that point offboard at it (OFFBOARD_TENANT=graph included).
    pub env: Vec<(String, String)>,
}

impl SimGraph {
    pub fn start(dir: &Path, latency_ms: u64) -> SimGraph {
        Self::start_with(dir, latency_ms, &[])
    }

    /// With more `offboard sim-graph` arguments (e.g. `--partner-tenant-id`).
    pub fn start_with(dir: &Path, latency_ms: u64, args: &[&str]) -> SimGraph {
        let mut child = Command::new(env!("CARGO_BIN_EXE_offboard"))
            .current_dir(ROOT)
            .args(["sim-graph", "--port", "0", "--latency-ms"])
            .arg(latency_ms.to_string())
            .arg("--state")
            .arg(dir.join("sim-graph-state.json"))
            .args(args)
            .env("OFFBOARD_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut env = vec![
            ("OFFBOARD_TENANT".to_string(), "graph".to_string()),
            (
                "OFFBOARD_CLIENT_SECRET".to_string(),
                "sim-graph-secret".to_string(),
            ),
        ];
        let mut url = String::new();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.split(" on ").nth(1).filter(|_| url.is_empty()) {
                url = rest.trim().to_string();
            }
            if let Some((k, v)) = line
                .split_once('=')
                .filter(|(k, _)| k.starts_with("OFFBOARD_"))
            {
                env.push((k.to_string(), v.to_string()));
                if k == "OFFBOARD_CLIENT_ID" {
                    break;
                }
            }
        }
        assert!(
            url.starts_with("http://"),
            "sim-graph did not say where it serves"
        );
        std::thread::spawn(move || for _ in lines {});
        SimGraph { child, url, env }
    }

    /// The sandbox's state (`/_sim/state`): users, damage, ...
    pub async fn state(&self) -> Value {
        offboard::tenant::graph::install_crypto_provider();
        reqwest::get(format!("{}/_sim/state", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for SimGraph {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test's own connection to the broker: publishes events, collects outcomes.
pub struct Broker {
    pub conn: Connection,
    pub ch: Channel,
    pub topology: Topology,
    /// A queue bound to the outcomes exchange with `#`.
    pub outcomes_queue: String,
}

impl Broker {
    /// Declares the topology for `prefix` and an outcomes queue before the service starts.
    pub async fn connect(prefix: &str) -> Broker {
        let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("RabbitMQ must listen at OFFBOARD_TEST_AMQP_URL");
        let ch = conn.create_channel().await.unwrap();
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        let topology = Topology::prefixed(prefix);
        topology.declare(&ch).await.unwrap();
        let outcomes_queue = format!("{prefix}test-outcomes");
        ch.queue_declare(
            outcomes_queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
        ch.queue_bind(
            outcomes_queue.as_str().into(),
            topology.outcomes_exchange.as_str().into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
        Broker {
            conn,
            ch,
            topology,
            outcomes_queue,
        }
    }

    /// Publishes a structured-mode event (persistent, confirmed).
    pub async fn publish(&self, event: &Value) {
        let confirm = self
            .ch
            .basic_publish(
                self.topology.events_exchange.as_str().into(),
                event["type"].as_str().unwrap().into(),
                BasicPublishOptions::default(),
                &serde_json::to_vec(event).unwrap(),
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(confirm.is_ack(), "the broker refused a test message");
    }

    /// Messages ready in a queue.
    pub async fn depth(&self, queue: &str) -> u32 {
        self.ch
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap()
            .message_count()
    }

    /// Takes outcomes (acked) until `enough(all so far)` holds; panics after `within`.
    pub async fn outcomes_until(
        &self,
        got: &mut Vec<Received>,
        within: Duration,
        enough: impl Fn(&[Received]) -> bool,
    ) {
        let deadline = Instant::now() + within;
        while !enough(got) {
            let msg = self
                .ch
                .basic_get(
                    self.outcomes_queue.as_str().into(),
                    BasicGetOptions { no_ack: true },
                )
                .await
                .unwrap();
            match msg {
                Some(m) => {
                    let d = m.delivery;
                    got.push(Received {
                        routing_key: d.routing_key.to_string(),
                        message_id: d.properties.message_id().as_ref().map(|s| s.to_string()),
                        persistent: *d.properties.delivery_mode() == Some(2),
                        body: serde_json::from_slice(&d.data).unwrap(),
                    });
                }
                None => {
                    if Instant::now() > deadline {
                        panic!(
                            "the expected outcomes did not arrive; got {} outcomes",
                            got.len()
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    /// Deletes everything this test declared.
    pub async fn cleanup(self) {
        let _ = self
            .ch
            .queue_delete(
                self.outcomes_queue.as_str().into(),
                QueueDeleteOptions::default(),
            )
            .await;
        let _ = self.topology.delete(&self.ch).await;
        let _ = self.conn.close(200, "test done".into()).await;
    }
}

/// One outcome message as a consumer sees it.
#[derive(Debug, Clone)]
pub struct Received {
    pub routing_key: String,
    pub message_id: Option<String>,
    pub persistent: bool,
    pub body: Value,
}

/// A TCP proxy to the broker that a test can cut (listener and every connection) and restore
/// on the same port: a broker outage as the service sees it, without stopping the shared
/// broker.
pub struct Proxy {
    pub port: u16,
    target: String,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    pub async fn start(target: &str) -> Proxy {
        let mut p = Proxy {
            port: 0,
            target: target.to_string(),
            task: None,
        };
        p.listen().await;
        p
    }

    /// The broker URL through this proxy.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    async fn listen(&mut self) {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket
            .bind(format!("127.0.0.1:{}", self.port).parse().unwrap())
            .unwrap();
        let listener = socket.listen(64).unwrap();
        self.port = listener.local_addr().unwrap().port();
        let target = self.target.clone();
        self.task = Some(tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let target = target.clone();
                conns.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    /// Closes the listener and every proxied connection.
    pub async fn cut(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }

    /// Listens again on the same port.
    pub async fn restore(&mut self) {
        self.listen().await;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
