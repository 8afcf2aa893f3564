//! The admin API's edges against `offboard serve` as a child process (its API on an ephemeral
//! port): half-sent requests cannot take every file descriptor, slow bodies and idle or
//! unfinished connections are cut, a web page cannot drive the API when no token is set, weak
//! tokens stop the start, and a value from outside cannot forge a log line. The deadlines are
//! generous bounds on a hang, never measures of speed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod serve_common;

use serde_json::{Value, json};
use serve_common::{ROOT, Service, event};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DANA: &str = "dana.lee@contoso.com";

fn start(env: &[(&str, &str)]) -> (tempfile::TempDir, Service) {
    let dir = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let svc = Service::start(&dir.path().join("data"), &env);
    (dir, svc)
}

fn addr(svc: &Service) -> String {
    svc.base.trim_start_matches("http://").to_string()
}

/// A leaver that waits for a last working day far ahead (nothing changes in the tenant).
fn waiting_leaver(id: &str) -> Value {
    event(
        id,
        "hr.leaver",
        DANA,
        json!({"lastWorkingDay": "2099-12-31", "mailbox": "shared", "onedrive": "none"}),
    )
}

/// Sends `request` as is on a new connection and reads until the server closes it (at most
/// `within`); the status and the JSON body.
async fn raw(addr: &str, request: &[u8], within: Duration) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut answer))
        .await
        .expect("the server neither answered nor closed the connection")
        .unwrap();
    parse(&answer)
}

fn parse(answer: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn post(host: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: {host}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn get(host: &str, path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n").into_bytes()
}

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

async fn run_count(svc: &Service) -> usize {
    let (status, body) = svc.get("/api/v1/runs?limit=1000").await;
    assert_eq!(status, 200, "{body}");
    body["runs"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_half_sent_requests_leave_healthz_and_submission_working() {
    // systemd's default limit of open files: 1,024. Before the connection limit, 2,000
    // unfinished requests took them all and the API stopped answering.
    let dir = tempfile::tempdir().unwrap();
    let svc = Service::start_with_open_files(&dir.path().join("data"), &[], 1024);
    let (status, _) = svc.get("/healthz").await;
    assert_eq!(status, 200);
    let idle = open_files(svc.pid());
    let target = addr(&svc);
    let mut held = Vec::with_capacity(2000);
    for i in 0..2000 {
        let mut s = tokio::time::timeout(Duration::from_secs(30), TcpStream::connect(&target))
            .await
            .unwrap_or_else(|_| panic!("connection {i} was never accepted"))
            .unwrap();
        // Headers that never end.
        let head = format!(
            "POST /api/v1/events HTTP/1.1\r\nHost: {target}\r\nContent-Type: application/json\r\nX-Slow-{i}: "
        );
        // The server may already have closed an old one to make room: that is the point.
        let _ = s.write_all(head.as_bytes()).await;
        held.push(s);
    }
    let within = Duration::from_secs(60);
    let (status, body) = tokio::time::timeout(within, svc.get("/healthz"))
        .await
        .expect("/healthz did not answer with 2,000 half-sent requests open");
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    let (status, body) = tokio::time::timeout(
        within,
        svc.post("/api/v1/events", &waiting_leaver("e-flood")),
    )
    .await
    .expect("event submission did not answer with 2,000 half-sent requests open");
    assert_eq!(status, 202, "{body}");
    let open = open_files(svc.pid());
    assert!(
        open <= idle + 512 + 32,
        "{open} files open (idle: {idle}) with a connection limit of 512"
    );
    drop(held);
    // The limit of 1,024 is below what the defaults can need: the service says so at start.
    assert!(
        svc.log_text()
            .contains("The process may open fewer files than the configured connections"),
        "{}",
        svc.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_gets_408_and_its_connection_is_closed() {
    let (_dir, svc) = start(&[]);
    let target = addr(&svc);
    let mut stream = TcpStream::connect(&target).await.unwrap();
    let body = serde_json::to_vec(&waiting_leaver("e-slow")).unwrap();
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: {target}\r\nContent-Type: application/cloudevents+json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // A third of the body, and then nothing (the body timeout is 30 s).
    stream.write_all(&body[..body.len() / 3]).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(120), stream.read_to_end(&mut answer))
        .await
        .expect("a stalled body was never answered nor its connection closed")
        .unwrap();
    let (status, error) = parse(&answer);
    assert_eq!(status, 408, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(error["error"], "request-timeout", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("30 s"),
        "{error}"
    );
    let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(text.contains("connection: close"), "{text}");
    assert_eq!(run_count(&svc).await, 0);
}

/// Waits until the server closes `stream` (EOF), at most `within`.
async fn closed_by_server(mut stream: TcpStream, within: Duration) -> Vec<u8> {
    let mut answer = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut answer))
        .await
        .expect("the server kept the connection open")
        .unwrap();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_headers_and_idle_keep_alive_connections_are_closed() {
    let (_dir, svc) = start(&[]);
    let target = addr(&svc);
    // Headers never finished (the header timeout is 10 s).
    let mut unfinished = TcpStream::connect(&target).await.unwrap();
    unfinished
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {target}\r\n").as_bytes())
        .await
        .unwrap();
    // A finished request on a keep-alive connection, then silence.
    let mut idle = TcpStream::connect(&target).await.unwrap();
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let within = Duration::from_secs(90);
    let (unfinished, idle) = tokio::join!(
        closed_by_server(unfinished, within),
        closed_by_server(idle, within)
    );
    assert!(
        unfinished.is_empty(),
        "{}",
        String::from_utf8_lossy(&unfinished)
    );
    let (status, body) = parse(&idle);
    assert_eq!((status, body), (200, json!({"status": "ok"})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_a_web_page_cannot_drive_the_api() {
    let (_dir, svc) = start(&[]);
    let target = addr(&svc);
    let within = Duration::from_secs(30);
    let body = serde_json::to_string(&waiting_leaver("e-rebind")).unwrap();
    // DNS rebinding from a page: a foreign name, a foreign origin, a form's lack of a type.
    let (status, error) = raw(
        &target,
        &post(
            "rebind.evil.example",
            "Origin: http://evil.example\r\n",
            &body,
        ),
        within,
    )
    .await;
    assert_eq!(status, 403, "{error}");
    assert_eq!(error["error"], "not-local", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("rebind.evil.example") && message.contains("OFFBOARD_ADMIN_TOKEN"),
        "{message}"
    );
    // Reading is refused too (a rebinding page could otherwise read every run).
    let (status, error) = raw(
        &target,
        &get("rebind.evil.example:80", "/api/v1/runs", ""),
        within,
    )
    .await;
    assert_eq!((status, &error["error"]), (403, &json!("not-local")));
    // CSRF: the right host, but sent by a page of another origin.
    let ct = "Content-Type: application/cloudevents+json\r\n";
    for extra in [
        format!("Origin: http://evil.example\r\n{ct}"),
        format!("Origin: null\r\n{ct}"),
        format!("Sec-Fetch-Site: cross-site\r\n{ct}"),
    ] {
        let (status, error) = raw(&target, &post(&target, &extra, &body), within).await;
        assert_eq!(status, 403, "{extra}: {error}");
        assert_eq!(error["error"], "cross-origin", "{error}");
    }
    // A body without a Content-Type (what a page can send without asking the browser).
    let (status, error) = raw(&target, &post(&target, "", &body), within).await;
    assert_eq!(
        (status, &error["error"]),
        (415, &json!("unsupported-media-type"))
    );
    // Liveness answers whatever the host.
    let (status, _) = raw(&target, &get("rebind.evil.example", "/healthz", ""), within).await;
    assert_eq!(status, 200);
    assert_eq!(run_count(&svc).await, 0, "a refused request created a run");

    // This machine's own tools: a loopback name, no Origin, or the API's own origin.
    let (status, answer) = raw(&target, &post(&target, ct, &body), within).await;
    assert_eq!(status, 202, "{answer}");
    let port = target.rsplit(':').next().unwrap();
    let same_origin = format!("Origin: http://localhost:{port}\r\n{ct}");
    let (status, answer) = raw(
        &target,
        &post(
            &format!("localhost:{port}"),
            &same_origin,
            &serde_json::to_string(&waiting_leaver("e-local")).unwrap(),
        ),
        within,
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(run_count(&svc).await, 2);
}

/// Runs `offboard serve` expecting it to stop at start; its exit success and stderr.
fn serve_must_stop(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_offboard"));
    cmd.current_dir(ROOT)
        .arg("serve")
        .args(args)
        .env_clear()
        .env("OFFBOARD_DATA_DIR", dir.join("data"))
        .env("OFFBOARD_WORKFLOWS_DIR", Path::new(ROOT).join("workflows"))
        .env("OFFBOARD_HTTP_ADDR", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "offboard serve did not stop at start: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_short_or_empty_admin_token_stops_serve_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for (addr, token) in [("0.0.0.0:0", "x"), ("127.0.0.1:0", "fifteen-chars!!")] {
        let (ok, stderr) = serve_must_stop(
            dir.path(),
            &[],
            &[
                ("OFFBOARD_HTTP_ADDR", addr),
                ("OFFBOARD_ADMIN_TOKEN", token),
            ],
        );
        assert!(!ok, "{stderr}");
        assert!(
            stderr.contains("OFFBOARD_ADMIN_TOKEN")
                && stderr.contains("at least 16")
                && stderr.contains("openssl rand -hex 32"),
            "{addr} {token}: {stderr}"
        );
        assert!(!stderr.contains(token) || token.len() < 2, "{stderr}");
    }
    let file = dir.path().join("offboard.toml");
    std::fs::write(&file, "admin_token = \"\"\n").unwrap();
    let (ok, stderr) = serve_must_stop(dir.path(), &["--config", file.to_str().unwrap()], &[]);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("offboard.toml")
            && stderr.contains("admin_token")
            && stderr.contains("empty")
            && stderr.contains("openssl rand -hex 32"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_log_line_cannot_start_a_line_of_its_own() {
    let forged = "2026-11-01T09:00:00.000000Z  INFO offboard::engine: Run succeeded.";
    let newline_id = format!("e-forged\n{forged}\u{0}");
    let huge_id = format!("e-huge-{}\u{0}\n{forged}", "x".repeat(200_000));
    for format in ["text", "json"] {
        let (_dir, mut svc) = start(&[("OFFBOARD_LOG_FORMAT", format)]);
        let mut admitted = Vec::new();
        for id in [&newline_id, &huge_id] {
            // Whether the API admits such an id is the input checks' business; what it
            // admits must not forge the log.
            let (status, body) = svc.post("/api/v1/events", &waiting_leaver(id)).await;
            assert!([202, 400, 413, 422].contains(&status), "{status}: {body}");
            admitted.push(status == 202);
        }
        svc.terminate();
        assert!(svc.wait_exit(Duration::from_secs(60)).success());
        let log = svc.log_text();
        for line in log.lines() {
            assert!(!line.starts_with(forged), "a forged line: {line}");
            assert!(!line.contains('\0'), "a raw NUL: {line}");
            assert!(line.len() < 16 * 1024, "a record of {} bytes", line.len());
            if format == "json" {
                let v: Value =
                    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                if line.contains("e-huge-") {
                    assert_eq!(v["cut"], true, "{line}");
                }
            }
        }
        if format == "text" && admitted[0] {
            assert!(
                log.contains(&format!("e-forged\\n{forged}\\x00")),
                "the escaped id is not in the log:\n{log}"
            );
        }
        if admitted[1] {
            assert!(log.contains("e-huge-xxxx"), "{log}");
        }
    }
}

/// A POST of `event` that the server is answering: it asked for the body (`100 Continue`,
/// sent once the handler reads it) and has half of it. The connection and the other half.
async fn request_in_progress(target: &str, event: &Value) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(target).await.unwrap();
    let body = serde_json::to_vec(event).unwrap();
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: {target}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut interim = Vec::new();
    while !interim.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut byte))
            .await
            .expect("no 100 Continue")
            .unwrap();
        assert_eq!(n, 1, "closed before 100 Continue");
        interim.push(byte[0]);
    }
    let interim = String::from_utf8_lossy(&interim);
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
    let (first, rest) = body.split_at(body.len() / 2);
    stream.write_all(first).await.unwrap();
    (stream, rest.to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_finishes_the_request_in_flight_and_closes_idle_connections() {
    use common::{TestEnv, example_tenant, repo_workflows};
    use offboard::api::admin::{AdminState, HttpLimits, serve_with};
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let state = AdminState {
        engine: env.engine.clone(),
        health: offboard::health::Health::new(),
        event_key: None,
        admin_token: None,
        metrics: offboard::metrics::Metrics::new(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_with(
        listener,
        state,
        HttpLimits::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    // A request in flight: inside the handler, half its body received.
    let (mut in_flight, rest) = request_in_progress(&target, &waiting_leaver("e-in-flight")).await;
    // A keep-alive connection between requests.
    let mut idle = TcpStream::connect(&target).await.unwrap();
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = [0u8; 1024];
    let n = idle.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"));

    stop.send(()).unwrap();
    // Once nothing new is accepted, the rest of the body still gets its answer.
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(&target).await.is_ok() {
        assert!(Instant::now() < deadline, "the listener stayed open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let idle = closed_by_server(idle, Duration::from_secs(30)).await;
    assert!(idle.is_empty(), "{}", String::from_utf8_lossy(&idle));
    in_flight.write_all(&rest).await.unwrap();
    let answer = closed_by_server(in_flight, Duration::from_secs(30)).await;
    let (status, body) = parse(&answer);
    assert_eq!(status, 202, "{body}");
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("serve_with did not return after its requests ended")
        .unwrap()
        .unwrap();
    assert_eq!(env.engine.list_runs(None, None, None).unwrap().len(), 1);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_limit_idle_connections_make_room_and_requests_in_progress_never_do() {
    use common::{TestEnv, example_tenant, repo_workflows};
    use offboard::api::admin::{AdminState, HttpLimits, serve_with};
    let env = TestEnv::start(repo_workflows(), example_tenant()).await;
    let state = AdminState {
        engine: env.engine.clone(),
        health: offboard::health::Health::new(),
        event_key: None,
        admin_token: None,
        metrics: offboard::metrics::Metrics::new(),
    };
    // Timeouts far beyond the test: only making room can free a connection.
    let limits = HttpLimits {
        header_read: Duration::from_secs(3600),
        body_read: Duration::from_secs(3600),
        max_connections: 2,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_with(listener, state, limits, async move {
        let _ = stopped.await;
    }));
    let within = Duration::from_secs(30);
    // A request in progress: inside the handler, half its body received.
    let (mut busy, rest) = request_in_progress(&target, &waiting_leaver("e-busy")).await;
    let mut half_sent = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(&target).await.unwrap();
        s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {target}\r\n").as_bytes())
            .await
            .unwrap();
        half_sent.push(s);
    }
    let (status, _) = raw(&target, &get(&target, "/healthz", ""), within).await;
    assert_eq!(status, 200);
    // The request in progress kept its connection and finishes.
    busy.write_all(&rest).await.unwrap();
    let answer = closed_by_server(busy, within).await;
    let (status, body) = parse(&answer);
    assert_eq!(status, 202, "{body}");
    // Most of the half-sent ones were closed to make room (all but the newest).
    let mut closed = 0;
    for mut s in half_sent {
        let mut buf = [0u8; 64];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await
        {
            closed += 1;
        }
    }
    assert!(
        closed >= 18,
        "only {closed} of 20 half-sent connections were closed"
    );
    stop.send(()).unwrap();
    tokio::time::timeout(within, server)
        .await
        .expect("serve_with did not return")
        .unwrap()
        .unwrap();
    env.stop().await;
}
