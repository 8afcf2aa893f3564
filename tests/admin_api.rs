//! The admin HTTP API (`offboard::api::admin`) served on port 0 in front of a `TestEnv`
//! engine with the repository's workflows and the example tenant, spoken to with reqwest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestEnv, example_tenant, repo_workflows};
use offboard::api::admin::{AdminState, MAX_EVENT_BYTES, serve};
use offboard::engine::RunStatus;
use offboard::health::Health;
use offboard::ids::RunId;
use offboard::signature::{EventKey, SIGNATURE_HEADER};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

const DANA: &str = "dana.lee@contoso.com";
const SAM: &str = "sam.ortiz@contoso.com";
const FRED: &str = "fred.fischer@contoso.com";
const LENA: &str = "lena.hofmann@contoso.com";
const SUBJECTS: [&str; 8] = [
    DANA,
    SAM,
    FRED,
    LENA,
    "max.berg@contoso.com",
    "ari.khan@contoso.com",
    "sid.meyer@contoso.com",
    "gina.rossi@contoso.com",
];

struct Api {
    env: TestEnv,
    health: Health,
    base: String,
    client: Client,
    token: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Api {
    async fn start(token: Option<&str>, key: Option<&str>) -> Api {
        let env = TestEnv::start(repo_workflows(), example_tenant()).await;
        let health = Health::new();
        let state = AdminState {
            engine: env.engine.clone(),
            health: health.clone(),
            event_key: key.and_then(EventKey::new),
            admin_token: token.map(str::to_string),
            metrics: offboard::metrics::Metrics::new(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, rx) = oneshot::channel();
        let server = tokio::spawn(serve(listener, state, async move {
            let _ = rx.await;
        }));
        // reqwest is built without a TLS crypto provider of its own (see the Graph connector).
        offboard::tenant::graph::install_crypto_provider();
        Api {
            env,
            health,
            base,
            client: Client::new(),
            token: token.map(str::to_string),
            stop: Some(stop),
            server: Some(server),
        }
    }

    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let b = self.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => b.bearer_auth(t),
            None => b,
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        parts(self.req(Method::GET, path).send().await.unwrap()).await
    }

    async fn post_event(&self, event: &Value) -> (StatusCode, Value) {
        let body = serde_json::to_vec(event).unwrap();
        self.post_raw(body, Some("application/cloudevents+json"), None)
            .await
    }

    async fn post_raw(
        &self,
        body: Vec<u8>,
        content_type: Option<&str>,
        signature: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut b = self.req(Method::POST, "/api/v1/events").body(body);
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        if let Some(sig) = signature {
            b = b.header(SIGNATURE_HEADER, sig);
        }
        parts(b.send().await.unwrap()).await
    }

    /// Submits a leaver that waits (last working day in 2030) and returns its run once waiting.
    async fn waiting_leaver(&self, event_id: &str, subject: &str) -> RunId {
        let (status, body) = self.post_event(&leaver(event_id, subject)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let run = run_id(&body["runs"][0]);
        self.env.wait_status(run, RunStatus::Waiting).await;
        run
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.unwrap().unwrap();
        }
        self.env.stop().await;
    }
}

async fn parts(resp: Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {text}"));
    (status, body)
}

fn run_id(v: &Value) -> RunId {
    RunId::parse(v.as_str().unwrap_or_else(|| panic!("not a run id: {v}"))).unwrap()
}

fn leaver(id: &str, subject: &str) -> Value {
    json!({"specversion": "1.0", "id": id, "source": "tests", "type": "hr.leaver",
           "subject": subject, "time": "2026-11-01T09:00:00Z",
           "data": {"lastWorkingDay": "2030-01-01"}})
}

fn cancel(id: &str, run: RunId) -> Value {
    json!({"specversion": "1.0", "id": id, "source": "tests", "type": "ops.run.cancel",
           "subject": "ops", "time": "2026-11-01T09:00:00Z", "data": {"runId": run}})
}

fn assert_error(resp: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(resp.0.as_u16(), status, "{}", resp.1);
    assert_eq!(resp.1["error"], code, "{}", resp.1);
    let message = resp.1["message"].as_str().unwrap_or("");
    assert!(message.len() > 10, "no useful message: {}", resp.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_event_is_accepted_and_its_duplicate_returns_the_same_runs() {
    let api = Api::start(None, None).await;
    let (status, first) = api.post_event(&leaver("e-dup", DANA)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    assert_eq!(first["eventId"], "e-dup");
    assert_eq!(first["runs"].as_array().unwrap().len(), 1);
    let (status, again) = api.post_event(&leaver("e-dup", DANA)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["runs"], first["runs"]);
    let (_, list) = api.get("/api/v1/runs").await;
    assert_eq!(list["runs"].as_array().unwrap().len(), 1);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_carries_the_note_and_engine_refusals_are_422() {
    let api = Api::start(None, None).await;
    let run = api.waiting_leaver("e-l", DANA).await;
    let (status, body) = api.post_event(&cancel("e-c", run)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, dup) = api.post_event(&cancel("e-c", run)).await;
    assert_eq!(status, StatusCode::OK, "{dup}");
    assert_eq!(dup["duplicate"], true);
    assert_eq!(dup["runs"], json!([run]));
    assert!(
        dup["note"].as_str().unwrap().contains("ops.run.cancel"),
        "{dup}"
    );
    let unknown = api.post_event(&cancel("e-c2", RunId::new())).await;
    assert_error(&unknown, 422, "rejected");
    assert!(
        unknown.1["message"]
            .as_str()
            .unwrap()
            .contains("does not exist")
    );
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_undecodable_event_is_400_with_its_code_and_starts_nothing() {
    let api = Api::start(None, None).await;
    let raw = |b: &str| b.as_bytes().to_vec();
    let ct = Some("application/json");
    assert_error(
        &api.post_raw(raw("{not json"), ct, None).await,
        400,
        "invalid-json",
    );
    let mut missing = leaver("e1", DANA);
    missing.as_object_mut().unwrap().remove("subject");
    let r = api.post_event(&missing).await;
    assert_error(&r, 400, "missing-attribute");
    assert!(r.1["message"].as_str().unwrap().contains("subject"));
    let mut invalid = leaver("e2", DANA);
    invalid["time"] = json!("yesterday");
    assert_error(&api.post_event(&invalid).await, 400, "invalid-attribute");
    let mut unknown = leaver("e3", DANA);
    unknown["type"] = json!("hr.fired");
    let r = api.post_event(&unknown).await;
    assert_error(&r, 400, "unknown-type");
    assert!(r.1["message"].as_str().unwrap().contains("hr.leaver"));
    let (_, list) = api.get("/api/v1/runs").await;
    assert_eq!(list["runs"], json!([]));
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_and_media_type_are_checked() {
    let api = Api::start(None, None).await;
    let mut big = leaver("e-big", DANA);
    big["data"]["autoReply"] = json!("x".repeat(MAX_EVENT_BYTES));
    let body = serde_json::to_vec(&big).unwrap();
    let ct = Some("application/cloudevents+json");
    assert_error(&api.post_raw(body, ct, None).await, 413, "too-large");
    let body = serde_json::to_vec(&leaver("e-ct", DANA)).unwrap();
    let r = api.post_raw(body.clone(), Some("text/plain"), None).await;
    assert_error(&r, 415, "unsupported-media-type");
    let (status, b) = api
        .post_raw(body.clone(), Some("application/json; charset=utf-8"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{b}");
    // No Content-Type at all is refused too (a cross-site page can send that without asking).
    let body = serde_json::to_vec(&leaver("e-none", SAM)).unwrap();
    let r = api.post_raw(body, None, None).await;
    assert_error(&r, 415, "unsupported-media-type");
    assert!(
        r.1["message"].as_str().unwrap().contains("no Content-Type"),
        "{}",
        r.1
    );
    let (_, list) = api.get("/api/v1/runs").await;
    assert_eq!(list["runs"].as_array().unwrap().len(), 1, "{list}");
    api.stop().await;
}

/// A chunked body has no `Content-Length`: the limit is enforced while reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_over_1_mib_is_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let api = Api::start(None, None).await;
    let addr = api.base.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let chunk = vec![b' '; 64 * 1024];
    let writer = tokio::spawn(async move {
        let head = format!(
            "POST /api/v1/events HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        wr.write_all(head.as_bytes()).await?;
        for _ in 0..(MAX_EVENT_BYTES / chunk.len() + 2) {
            wr.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            wr.write_all(&chunk).await?;
            wr.write_all(b"\r\n").await?;
        }
        wr.write_all(b"0\r\n\r\n").await
    });
    let mut answer = Vec::new();
    // The server closes the connection after refusing; the timeout only bounds a hang.
    let read = rd.read_to_end(&mut answer);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), read).await;
    let _ = writer.await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains(r#""error":"too-large""#), "{text}");
    let (_, list) = api.get("/api/v1/runs").await;
    assert_eq!(list["runs"], json!([]));
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_event_key_only_correctly_signed_events_are_admitted() {
    let api = Api::start(None, Some("s3cret")).await;
    let body = serde_json::to_vec(&leaver("e-sig", DANA)).unwrap();
    let ct = Some("application/cloudevents+json");
    let unsigned = api.post_raw(body.clone(), ct, None).await;
    assert_error(&unsigned, 403, "unsigned");
    let forged = EventKey::new("guess").unwrap().sign(&body);
    assert_error(
        &api.post_raw(body.clone(), ct, Some(&forged)).await,
        403,
        "bad-signature",
    );
    let malformed = api.post_raw(body.clone(), ct, Some("sha256=zz")).await;
    assert_error(&malformed, 403, "bad-signature");
    // The signature covers the exact bytes: the same event re-serialised does not match.
    let good = EventKey::new("s3cret").unwrap().sign(&body);
    let spaced = serde_json::to_vec_pretty(&leaver("e-sig", DANA)).unwrap();
    assert_error(
        &api.post_raw(spaced, ct, Some(&good)).await,
        403,
        "bad-signature",
    );
    // Signature before parsing: an unsigned broken body is refused as unsigned.
    let r = api.post_raw(b"{not json".to_vec(), ct, None).await;
    assert_error(&r, 403, "unsigned");
    let (_, list) = api.get("/api/v1/runs").await;
    assert_eq!(list["runs"], json!([]));
    let (status, b) = api.post_raw(body, ct, Some(&good)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{b}");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_admin_token_everything_but_healthz_needs_it() {
    let api = Api::start(Some("t0ken-t0ken-t0ken"), None).await;
    let url = |p: &str| format!("{}{p}", api.base);
    let anon = |m: Method, p: &str| api.client.request(m, url(p));
    for (method, path) in [
        (Method::GET, "/api/v1/runs"),
        (Method::GET, "/readyz"),
        (Method::POST, "/api/v1/events"),
        (Method::GET, "/nowhere"),
    ] {
        let resp = anon(method.clone(), path).send().await.unwrap();
        let challenge = resp.headers().get("www-authenticate").cloned();
        let r = parts(resp).await;
        assert_error(&r, 401, "unauthorized");
        assert_eq!(challenge.unwrap(), "Bearer", "{method} {path}");
    }
    let wrong = anon(Method::GET, "/api/v1/runs").bearer_auth("t0ken-t0ken-t0ken-2");
    assert_error(
        &parts(wrong.send().await.unwrap()).await,
        401,
        "unauthorized",
    );
    let basic =
        anon(Method::GET, "/api/v1/runs").header("authorization", "Basic t0ken-t0ken-t0ken");
    assert_error(
        &parts(basic.send().await.unwrap()).await,
        401,
        "unauthorized",
    );
    let (status, body) = parts(anon(Method::GET, "/healthz").send().await.unwrap()).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    let (status, body) = api.get("/api/v1/runs").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api.post_event(&leaver("e-auth", DANA)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_filters_by_status_subject_and_workflow() {
    let api = Api::start(None, None).await;
    let dana = api.waiting_leaver("e-dana", DANA).await;
    let sam = api.waiting_leaver("e-sam", SAM).await;
    let fred = api.waiting_leaver("e-fred", FRED).await;
    let (status, _) = api.post_event(&cancel("e-cancel", sam)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    api.env.wait_status(sam, RunStatus::Cancelled).await;
    let mover = json!({"specversion": "1.0", "id": "e-move", "source": "tests",
        "type": "hr.mover", "subject": LENA, "time": "2026-11-01T09:00:00Z",
        "data": {"from": "SPE_E3", "to": "SPE_E5"}});
    let (status, body) = api.post_event(&mover).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let moved = run_id(&body["runs"][0]);
    let ids = |v: &Value| -> Vec<RunId> {
        v["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| run_id(&r["id"]))
            .collect()
    };
    let (_, all) = api.get("/api/v1/runs").await;
    assert_eq!(ids(&all), vec![dana, sam, fred, moved]);
    assert_eq!(all["next"], Value::Null);
    let (_, waiting) = api.get("/api/v1/runs?status=waiting&workflow=leaver").await;
    assert_eq!(ids(&waiting), vec![dana, fred]);
    let (_, cancelled) = api.get("/api/v1/runs?status=cancelled").await;
    assert_eq!(ids(&cancelled), vec![sam]);
    let (_, by_subject) = api
        .get("/api/v1/runs?subject=FRED.Fischer@contoso.com")
        .await;
    assert_eq!(ids(&by_subject), vec![fred]);
    let (_, movers) = api.get("/api/v1/runs?workflow=mover").await;
    assert_eq!(ids(&movers), vec![moved]);
    let (_, none) = api.get("/api/v1/runs?workflow=joiner").await;
    assert_eq!(ids(&none), Vec::<RunId>::new());
    // A listed run is small: its event id, not its event.
    let first = &all["runs"][0];
    assert_eq!(first["eventId"], "e-dana");
    assert_eq!(first["workflow"], "leaver");
    assert_eq!(first["status"], "waiting");
    assert!(first.get("event").is_none(), "{first}");
    assert!(first["steps"].as_array().unwrap().len() > 3);
    let bad = api.get("/api/v1/runs?status=done").await;
    assert_error(&bad, 400, "bad-query");
    assert!(bad.1["message"].as_str().unwrap().contains("cancelled"));
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_with_limit_and_after_visits_every_run_once_in_order() {
    let api = Api::start(None, None).await;
    let mut expected = Vec::new();
    for (i, subject) in SUBJECTS.iter().take(7).enumerate() {
        let (status, body) = api.post_event(&leaver(&format!("e-{i}"), subject)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        expected.push(run_id(&body["runs"][0]));
    }
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut path = "/api/v1/runs?limit=3".to_string();
    loop {
        let (status, page) = api.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let runs = page["runs"].as_array().unwrap();
        sizes.push(runs.len());
        seen.extend(runs.iter().map(|r| run_id(&r["id"])));
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(run_id(&json!(next)), *seen.last().unwrap());
                path = format!("/api/v1/runs?limit=3&after={next}");
            }
            None => break,
        }
        assert!(sizes.len() < 10, "paging does not end");
    }
    assert_eq!(sizes, vec![3, 3, 1]);
    assert_eq!(seen, expected);
    // Exactly a page's worth left: no further page is promised.
    let (_, last) = api
        .get(&format!("/api/v1/runs?limit=1&after={}", expected[5]))
        .await;
    assert_eq!(last["runs"].as_array().unwrap().len(), 1);
    assert_eq!(last["next"], Value::Null);
    assert_error(&api.get("/api/v1/runs?limit=1001").await, 400, "bad-query");
    assert_error(&api.get("/api/v1/runs?limit=0").await, 400, "bad-query");
    assert_error(&api.get("/api/v1/runs?limit=ten").await, 400, "bad-query");
    assert_error(&api.get("/api/v1/runs?after=nope").await, 400, "bad-query");
    assert_error(
        &api.get("/api/v1/runs?state=waiting").await,
        400,
        "bad-query",
    );
    let (status, max) = api.get("/api/v1/runs?limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{max}");
    assert_eq!(max["runs"].as_array().unwrap().len(), 7);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_shown_with_its_event_and_journal() {
    let api = Api::start(None, None).await;
    let event = json!({"specversion": "1.0", "id": "e-now", "source": "tests",
        "type": "hr.leaver", "subject": DANA, "time": "2026-11-01T09:00:00Z"});
    let (status, body) = api.post_event(&event).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let run = run_id(&body["runs"][0]);
    api.env.settle().await;
    let (status, shown) = api.get(&format!("/api/v1/runs/{run}")).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(run_id(&shown["id"]), run);
    assert_eq!(shown["eventId"], "e-now");
    assert_eq!(shown["event"]["id"], "e-now");
    assert_eq!(shown["event"]["subject"], DANA);
    assert_eq!(shown["status"], "succeeded");
    assert_eq!(shown["workflowVersion"], 1);
    let journal = shown["journal"].as_array().unwrap();
    assert!(!journal.is_empty(), "{shown}");
    assert!(journal[0]["stepIndex"].is_u64(), "{}", journal[0]);
    assert!(journal[0]["outcome"].is_string(), "{}", journal[0]);
    let unknown = api.get(&format!("/api/v1/runs/{}", RunId::new())).await;
    assert_error(&unknown, 404, "not-found");
    assert_error(&api.get("/api/v1/runs/not-a-run").await, 400, "bad-run-id");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_methods_answer_json() {
    let api = Api::start(None, None).await;
    assert_error(&api.get("/api/v2/runs").await, 404, "not-found");
    assert_error(&api.get("/").await, 404, "not-found");
    let resp = api
        .req(Method::DELETE, "/api/v1/runs")
        .send()
        .await
        .unwrap();
    let allow = resp.headers().get("allow").cloned();
    assert_error(&parts(resp).await, 405, "method-not-allowed");
    assert!(allow.unwrap().to_str().unwrap().contains("GET"));
    let r = parts(api.req(Method::GET, "/api/v1/events").send().await.unwrap()).await;
    assert_error(&r, 405, "method-not-allowed");
    let r = parts(api.req(Method::POST, "/healthz").send().await.unwrap()).await;
    assert_error(&r, 405, "method-not-allowed");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_store_and_every_registered_component() {
    let api = Api::start(None, None).await;
    let (status, body) = api.get("/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ready"], true);
    assert_eq!(body["checks"]["store"]["ok"], true);
    assert!(body["checks"]["store"]["since"].is_string(), "{body}");
    api.health.set("broker", false, "connection refused");
    let (status, body) = api.get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["ready"], false);
    assert_eq!(body["checks"]["broker"]["ok"], false);
    assert_eq!(body["checks"]["broker"]["detail"], "connection refused");
    assert_eq!(body["checks"]["store"]["ok"], true);
    api.health.set("broker", true, "connected");
    let (status, _) = api.get("/readyz").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api.get("/healthz").await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    api.stop().await;
}
