//! The client of the admin API (`offboard` commands other than `serve` talk to the service
//! through it). One of the two places allowed to import reqwest; knows nothing of the engine.

mod error;
mod http;
mod methods;

pub use error::ClientError;
pub use http::AdminClient;
