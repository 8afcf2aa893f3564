//! HTTP servers; the only module that imports axum (DESIGN.md §4). `admin` is the admin API
//! of `offboard serve`; `sim_graph` serves the simulated tenant over the Microsoft 365 HTTP
//! API (ms365-api.md).

pub mod admin;
pub mod sim_graph;
