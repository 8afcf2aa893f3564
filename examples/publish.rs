//! Publishes CloudEvents to offboard's RabbitMQ exchange and waits for every publisher confirm:
//! event files or folders (e.g. `examples/samples/`), or a generated batch for load tests.
//! Signs with `OFFBOARD_EVENT_KEY` exactly as the ingress checks it (README "RabbitMQ ingress").
//!
//! `cargo run --example publish -- [FILE|DIR ...] [--generate N --type T --subjects K]
//! [--binary] [--url URL] [--prefix P]`

use anyhow::{Context, Result, bail};
use chrono::{Duration, Utc};
use clap::Parser;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Confirmation, Connection, ConnectionProperties, ExchangeKind};
use offboard::ingress::{BINARY_PREFIX, Topology, signed_bytes};
use offboard::signature::{EventKey, SIGNATURE_HEADER};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// The header the sharding exchange routes on: the subject, lowercased.
const SUBJECT_HEADER: &str = "x-offboard-subject";

#[derive(Parser)]
#[command(about = "Publish CloudEvents to offboard's events exchange, with publisher confirms")]
struct Args {
    /// Event files (one CloudEvent JSON each) or folders of `*.json` files.
    paths: Vec<PathBuf>,
    /// Also publish N generated events.
    #[arg(long, value_name = "N")]
    generate: Option<usize>,
    /// Type of the generated events.
    #[arg(long = "type", default_value = "hr.leaver")]
    event_type: String,
    /// Spread the generated events over K subjects `user{k}@contoso.com` (default: N).
    #[arg(long, value_name = "K")]
    subjects: Option<usize>,
    /// Binary mode: attributes in `cloudEvents:*` headers, `data` as the body.
    #[arg(long)]
    binary: bool,
    /// Broker URL.
    #[arg(
        long,
        env = "OFFBOARD_AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    url: String,
    /// Prefix of the exchange name (as `OFFBOARD_AMQP_PREFIX` of the service).
    #[arg(long, env = "OFFBOARD_AMQP_PREFIX", default_value = "")]
    prefix: String,
}

/// One message ready to publish.
struct Message {
    id: String,
    routing_key: String,
    body: Vec<u8>,
    headers: FieldTable,
    content_type: &'static str,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("publish: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    let mut events = Vec::new();
    for path in &args.paths {
        events.extend(read_events(path)?);
    }
    if let Some(n) = args.generate {
        events.extend(generate(n, &args.event_type, args.subjects.unwrap_or(n))?);
    }
    if events.is_empty() {
        bail!("nothing to publish: name event files or folders, or use --generate N");
    }
    let key = std::env::var("OFFBOARD_EVENT_KEY")
        .ok()
        .and_then(|k| EventKey::new(&k));
    let messages = events
        .iter()
        .map(|(origin, e)| {
            message(e, args.binary, key.as_ref())
                .with_context(|| format!("{origin}: cannot publish"))
        })
        .collect::<Result<Vec<_>>>()?;

    let exchange = Topology::prefixed(&args.prefix).events_exchange;
    let redacted = offboard::config::redact_url(&args.url);
    let conn = Connection::connect(&args.url, ConnectionProperties::default())
        .await
        .with_context(|| format!("cannot connect to {redacted}; is RabbitMQ running?"))?;
    // A passive declare fails (and closes its channel) when the exchange is missing, which a
    // publish would only report as a closed channel.
    let probe = conn
        .create_channel()
        .await
        .context("cannot open a channel")?;
    probe
        .exchange_declare(
            exchange.as_str().into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                passive: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .with_context(|| {
            format!(
                "the exchange `{exchange}` does not exist on the broker: check --prefix, or start \
                 `offboard serve` once with the same OFFBOARD_AMQP_PREFIX (it declares it)"
            )
        })?;
    let ch = conn
        .create_channel()
        .await
        .context("cannot open a channel")?;
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .context("the broker refused publisher confirms")?;

    let started = Instant::now();
    let mut pending = Vec::with_capacity(messages.len());
    for m in &messages {
        let props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_message_id(m.id.as_str().into())
            .with_content_type(m.content_type.into())
            .with_headers(m.headers.clone());
        let confirm = ch
            .basic_publish(
                exchange.as_str().into(),
                m.routing_key.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &m.body,
                props,
            )
            .await
            .with_context(|| format!("publishing event {} to `{exchange}` failed", m.id))?;
        pending.push((m.id.as_str(), confirm));
    }
    let published = pending.len();
    let mut failed = Vec::new();
    for (id, confirm) in pending {
        match confirm.await {
            Ok(Confirmation::Ack(None)) => {}
            Ok(Confirmation::Ack(Some(_))) => {
                failed.push(format!("{id} (unroutable: no queue bound)"))
            }
            Ok(Confirmation::Nack(_)) => failed.push(format!("{id} (nacked by the broker)")),
            Ok(Confirmation::NotRequested) => failed.push(format!("{id} (no confirm)")),
            Err(e) => failed.push(format!("{id} ({e})")),
        }
    }
    let confirmed = published - failed.len();
    eprintln!(
        "published {published}, confirmed {confirmed}, {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let _ = conn.close(200, "done".into()).await;
    if !failed.is_empty() {
        bail!(
            "{} event(s) not confirmed; publish them again (ids dedup): {}",
            failed.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

/// The events of a file, or of every `*.json` file in a folder (sorted by name).
fn read_events(path: &Path) -> Result<Vec<(String, Value)>> {
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read the folder {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read(&f).with_context(|| format!("cannot read {}", f.display()))?;
            let v: Value = serde_json::from_slice(&text)
                .with_context(|| format!("{} is not JSON", f.display()))?;
            Ok((f.display().to_string(), v))
        })
        .collect()
}

/// `n` events of `kind` for `k` subjects `user{k}@contoso.com`, each with a fresh id.
fn generate(n: usize, kind: &str, k: usize) -> Result<Vec<(String, Value)>> {
    if k == 0 {
        bail!("--subjects must be at least 1");
    }
    let day = (Utc::now() + Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let data = match kind {
        "hr.leaver" => json!({"lastWorkingDay": day, "mailbox": "shared", "onedrive": "backup"}),
        "hr.joiner" => json!({"usageLocation": "US", "licenses": ["SPE_E3"]}),
        "hr.mover" => json!({"from": "SPE_E3", "to": "SPE_E5"}),
        "hr.restore" => json!({}),
        other => bail!(
            "--generate makes hr.leaver, hr.joiner, hr.mover or hr.restore events, not `{other}`"
        ),
    };
    let now = Utc::now().to_rfc3339();
    Ok((0..n)
        .map(|i| {
            let id = uuid::Uuid::now_v7().to_string();
            let event = json!({"specversion": "1.0", "id": id, "source": "/examples/publish",
                "type": kind, "subject": format!("user{}@contoso.com", i % k + 1), "time": now,
                "datacontenttype": "application/json", "data": data});
            (format!("generated event {}", i + 1), event)
        })
        .collect())
}

/// The AMQP message of `event`: structured (the event JSON is the body) or binary mode, with
/// the subject header and, with a key, the signature over what the ingress checks.
fn message(event: &Value, binary: bool, key: Option<&EventKey>) -> Result<Message> {
    let obj = event
        .as_object()
        .context("the event is not a JSON object")?;
    let text = |name: &str| -> Result<String> {
        obj.get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .with_context(|| format!("the event has no string attribute `{name}`"))
    };
    let (id, kind, subject) = (text("id")?, text("type")?, text("subject")?);
    let mut headers = FieldTable::default();
    let (body, content_type) = if binary {
        let mut attrs: Map<String, Value> = obj.clone();
        let data = attrs.remove("data").unwrap_or(Value::Null);
        for (name, value) in attrs {
            let value = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            headers.insert(
                format!("{BINARY_PREFIX}{name}").into(),
                AMQPValue::LongString(LongString::from(value)),
            );
        }
        let body = if data.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(&data)?
        };
        (body, "application/json")
    } else {
        (serde_json::to_vec(event)?, "application/cloudevents+json")
    };
    if let Some(key) = key {
        let signature = key.sign(&signed_bytes(Some(&headers), &body));
        headers.insert(
            SIGNATURE_HEADER.into(),
            AMQPValue::LongString(signature.into()),
        );
    }
    headers.insert(
        SUBJECT_HEADER.into(),
        AMQPValue::LongString(subject.to_lowercase().into()),
    );
    Ok(Message {
        id,
        routing_key: kind,
        body,
        headers,
        content_type,
    })
}
