//! HTTP servers; the only module that imports axum (README "Architecture"). `admin` is the admin
//! API of `offboard serve`; `sim_graph` serves the simulated tenant over the Microsoft 365 HTTP
//! API (docs/microsoft-365-api.md); `client` is the admin API's client used by the commands (with
//! `tenant::graph`, the only reqwest user).

pub mod admin;
pub mod client;
pub mod sim_graph;
