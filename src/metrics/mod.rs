//! Prometheus metrics without a metrics crate: labelled counters, gauges and histograms
//! rendered in the text exposition format 0.0.4, the [`Metrics`] handle with the contract
//! names, and the `offboard serve` loop that reads the tenant's licenses and credentials.
//! Plain Rust: the engine may record here; imports no sled, lapin, axum or reqwest.

mod family;
mod handle;
pub mod tenant_watch;
mod text;

pub use family::{Counter, Gauge, Histogram};
pub use handle::{Metrics, ReasonCounts, StoreFigures};
pub use text::CONTENT_TYPE;
