//! [`GraphTenant`]: a cheap handle on the shared client, built from the `OFFBOARD_*`
//! configuration.

use super::client::{Audience, Client};
use super::config::{GraphConfig, GraphConfigError};
use super::limiter::Family;
use crate::config::Config;
use std::fmt;
use std::sync::Arc;

#[derive(Clone)]
pub struct GraphTenant {
    pub(super) client: Arc<Client>,
}

impl fmt::Debug for GraphTenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cfg = &self.client.cfg;
        f.debug_struct("GraphTenant")
            .field("tenant_id", &cfg.tenant_id)
            .field("client_id", &cfg.client_id)
            .field("credential", &cfg.credential)
            .field("graph_url", &cfg.graph_url)
            .finish_non_exhaustive()
    }
}

impl GraphTenant {
    pub fn new(cfg: GraphConfig) -> Result<Self, GraphConfigError> {
        Ok(GraphTenant {
            client: Arc::new(Client::new(cfg)?),
        })
    }

    /// Like [`GraphTenant::new`], counting throttled responses in `metrics`.
    pub fn with_metrics(
        cfg: GraphConfig,
        metrics: crate::metrics::Metrics,
    ) -> Result<Self, GraphConfigError> {
        let mut client = Client::new(cfg)?;
        client.metrics = Some(metrics);
        Ok(GraphTenant {
            client: Arc::new(client),
        })
    }

    /// `OFFBOARD_TENANT=graph`: the connector the configuration describes. The error names
    /// the variable that is missing or wrong.
    pub fn from_config(cfg: &Config) -> Result<Self, GraphConfigError> {
        Self::new(GraphConfig::from_config(cfg)?)
    }

    pub fn config(&self) -> &GraphConfig {
        &self.client.cfg
    }

    /// Tokens fetched so far for Graph, Exchange and Partner Center (diagnostics, tests).
    pub fn token_fetches(&self) -> [u64; 3] {
        [Audience::Graph, Audience::Exchange, Audience::PartnerCenter]
            .map(|a| self.client.cache(a).fetches())
    }

    /// The current client-side rate of a family (tokens per second).
    pub fn current_rate(&self, family: Family) -> f64 {
        self.client.limiters.rate(family)
    }
}
