//! HTTP servers; the only module that imports axum (DESIGN.md §4). `sim_graph` serves the
//! simulated tenant over the Microsoft 365 HTTP API (ms365-api.md).

pub mod sim_graph;
