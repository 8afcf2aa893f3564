//! Configuration: `offboard.toml`, then environment variables, then defaults (README
//! "Configuration"). Every key of the file can be overridden by its `OFFBOARD_*` variable.

mod checks;
mod keys;
mod load;
mod values;

pub use keys::{
    Config, DEFAULT_HTTP_MAX_CONNECTIONS, ENV_VARS, KEYS, MAX_HTTP_MAX_CONNECTIONS,
    MIN_ADMIN_TOKEN_CHARS, redact_url,
};
pub use load::ConfigError;

#[cfg(test)]
mod tests;
