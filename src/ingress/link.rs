//! One AMQP connection's life. Opening it bounds the TCP connect and the handshake (lapin's own
//! connect has no timeout). Closing it waits until its I/O thread has ended: lapin drives each
//! connection from a thread that uses the Tokio runtime, and a thread outliving the runtime
//! panics at shutdown. No auto-recovery: a lost connection ends its session and the caller
//! opens a new one, so no connection lives on unowned.

use lapin::tcp::AMQPUriTcpExt;
use lapin::uri::{AMQPScheme, AMQPUri};
use lapin::{Connection, ConnectionProperties};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::timeout;
use tracing::warn;

/// How long a TCP connect, and then the AMQP handshake, may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long closing a connection (close, close-ok, I/O thread ending) may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a connection could not be opened; every variant names the broker's address (never
/// the URL: it holds the password).
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the AMQP URL is invalid: {0}")]
    Url(String),
    #[error(
        "amqps:// (AMQP over TLS) is not supported yet: this build has no TLS provider and \
         would connect in plain text; use amqp:// (through a TLS tunnel where the network is \
         not trusted)"
    )]
    Tls,
    #[error("connecting to {host}: {source}")]
    Connect { host: String, source: io::Error },
    #[error("connecting to {host} timed out after {} s", CONNECT_TIMEOUT.as_secs())]
    ConnectTimeout { host: String },
    #[error("the AMQP handshake with {host} failed: {source}")]
    Handshake { host: String, source: lapin::Error },
    #[error("the AMQP handshake with {host} timed out after {} s", CONNECT_TIMEOUT.as_secs())]
    HandshakeTimeout { host: String },
    #[error("starting the AMQP client: {0}")]
    Client(#[from] lapin::Error),
}

/// Checks `url` before anything connects: a URL that does not parse, or a scheme this build
/// cannot honour, is refused (never downgraded).
pub fn check_url(url: &str) -> Result<(), LinkError> {
    parse(url).map(|_| ())
}

fn parse(url: &str) -> Result<AMQPUri, LinkError> {
    let uri: AMQPUri = url.parse().map_err(LinkError::Url)?;
    match uri.scheme {
        AMQPScheme::AMQP => Ok(uri),
        AMQPScheme::AMQPS => Err(LinkError::Tls),
    }
}

/// Opens a connection to `url`, shown to the broker as `name`. The TCP connection is made
/// here (with a timeout, abandoned if `stop` resolves first: then `Ok(None)`) and handed to
/// lapin, so a broker that is down or unreachable leaves no lapin thread or task behind. The
/// handshake that follows is not abandoned (it is bounded): the caller gets the connection
/// and closes it properly.
pub async fn connect(
    url: &str,
    name: &str,
    stop: Pin<&mut impl Future<Output = ()>>,
) -> Result<Option<Connection>, LinkError> {
    let uri = parse(url)?;
    let host = format!("{}:{}", uri.authority.host, uri.authority.port);
    let runtime = lapin::runtime::default_runtime()?;
    let reach = timeout(CONNECT_TIMEOUT, uri.connect_async(&runtime));
    let reached = tokio::select! {
        () = stop => return Ok(None),
        r = reach => r,
    };
    let stream = match reached {
        Ok(Ok(stream)) => stream,
        Ok(Err(source)) => return Err(LinkError::Connect { host, source }),
        Err(_) => return Err(LinkError::ConnectTimeout { host }),
    };
    let slot = Arc::new(Mutex::new(Some(stream)));
    let props = ConnectionProperties::default().with_connection_name(name.into());
    let handshake = Connection::connector(
        uri,
        runtime,
        async move |_, _| {
            // Called once: lapin retries a connect only with auto-recovery, which is off.
            let stream = slot.lock().ok().and_then(|mut s| s.take());
            stream.ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotConnected, "the TCP connection was used").into()
            })
        },
        props,
    );
    match timeout(CONNECT_TIMEOUT, handshake).await {
        Ok(Ok(conn)) => Ok(Some(conn)),
        Ok(Err(source)) => Err(LinkError::Handshake { host, source }),
        Err(_) => Err(LinkError::HandshakeTimeout { host }),
    }
}

/// Closes `conn` (if it is still open) and waits, at most a few seconds, for its I/O thread
/// to end.
pub async fn close(conn: Connection, why: &str) {
    if conn.status().connected() {
        let _ = timeout(CLOSE_TIMEOUT, conn.close(200, why.into())).await;
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    // `Connection::run` joins the I/O thread; a plain thread, so a join that never ends
    // cannot hold the runtime's shutdown the way a blocking task would.
    let joiner = std::thread::Builder::new()
        .name("offboard-amqp-close".into())
        .spawn(move || {
            let _ = conn.run();
            let _ = tx.send(());
        });
    if joiner.is_ok() && timeout(CLOSE_TIMEOUT, rx).await.is_err() {
        warn!("An AMQP connection's I/O thread did not end after closing it.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amqps_is_refused_rather_than_downgraded() {
        assert!(check_url("amqp://guest:guest@127.0.0.1:5672/%2f").is_ok());
        let tls = check_url("amqps://svc:pw@mq.example.com:5671/%2f").unwrap_err();
        assert!(tls.to_string().contains("amqps://"), "{tls}");
        assert!(matches!(check_url("http://mq"), Err(LinkError::Url(_))));
    }
}
