//! The Microsoft 365 connector: the [`Tenant`](crate::tenant::Tenant) trait over Microsoft
//! Graph, the Exchange admin API (InvokeCommand) and Partner Center, exactly to
//! `docs/microsoft-365-api.md`. The only module that imports reqwest. Retries happen here, at
//! the HTTP layer: do not wrap a `GraphTenant` in `Retrying`.

mod assertion;
mod backoff;
mod batch;
mod client;
mod config;
mod directory;
mod drive;
mod errors;
mod exchange;
mod http;
mod limiter;
mod mailboxes;
mod memberships;
mod paging;
mod partner;
mod path;
mod sandbox;
mod secret;
mod tenant;
mod tenant_impl;
mod token;
mod wire;

pub use assertion::ClientCertificate;
pub use client::install_crypto_provider;
pub use config::{Credential, GraphConfig, GraphConfigError, HttpPolicy};
pub use limiter::{Family, LimiterConfig, Rate};
pub use sandbox::{Sandbox, SandboxError, SandboxState};
pub use secret::Secret;
pub use tenant::GraphTenant;
