//! The workflow definitions the engine knows: the current ones by name, and every pinned
//! version by content hash. A run executes the definition it started with, even after the
//! file changed; a definition missing from memory is re-read from the store.

use super::error::{EngineError, EngineResult};
use crate::event::CloudEvent;
use crate::ids::RunId;
use crate::store::Store;
use crate::workflow::{self, TemplateError, Workflow};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

pub struct Registry {
    current: Vec<Arc<Workflow>>,
    pinned: RwLock<HashMap<String, Arc<Workflow>>>,
}

impl Registry {
    pub fn new(workflows: Vec<Workflow>) -> Self {
        let current: Vec<Arc<Workflow>> = workflows.into_iter().map(Arc::new).collect();
        let pinned = current
            .iter()
            .map(|w| (w.hash.clone(), w.clone()))
            .collect();
        Registry {
            current,
            pinned: RwLock::new(pinned),
        }
    }

    pub fn current(&self) -> &[Arc<Workflow>] {
        &self.current
    }

    /// The current workflows an event triggers.
    pub fn triggered(
        &self,
        event: &CloudEvent,
        now: DateTime<Utc>,
    ) -> Result<Vec<Arc<Workflow>>, TemplateError> {
        let mut out = Vec::new();
        for w in &self.current {
            if w.triggered_by(event, now)? {
                out.push(w.clone());
            }
        }
        Ok(out)
    }

    /// The definition a run is pinned to.
    pub fn pinned(&self, store: &Store, run: RunId, hash: &str) -> EngineResult<Arc<Workflow>> {
        if let Ok(map) = self.pinned.read()
            && let Some(w) = map.get(hash)
        {
            return Ok(w.clone());
        }
        let pinned_err = |message: String| EngineError::Pinned {
            run,
            hash: hash.to_string(),
            message,
        };
        let source = store
            .workflow_source(hash)?
            .ok_or_else(|| pinned_err("its source is not in the store".into()))?;
        let path = Path::new("pinned").join(format!("{hash}.toml"));
        let w = workflow::parse(&path, &source).map_err(|problems| {
            pinned_err(
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let w = Arc::new(w);
        if let Ok(mut map) = self.pinned.write() {
            map.insert(hash.to_string(), w.clone());
        }
        Ok(w)
    }
}
