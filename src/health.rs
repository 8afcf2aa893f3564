//! What the service depends on and whether it works right now: the readiness endpoint reads
//! it, the ingress and the outcome publisher write it. A component that is down does not stop
//! the engine (runs need only the store and the tenant); it makes the instance not ready.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The state of one dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentState {
    pub ok: bool,
    /// What is wrong (or what is connected), for a person.
    pub detail: String,
    pub since: DateTime<Utc>,
}

/// Shared, cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Health {
    components: Arc<Mutex<BTreeMap<String, ComponentState>>>,
}

impl Health {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a component's state; `since` changes only when `ok` flips.
    pub fn set(&self, component: &str, ok: bool, detail: impl Into<String>) {
        let detail = detail.into();
        let Ok(mut map) = self.components.lock() else {
            return;
        };
        let since = match map.get(component) {
            Some(prev) if prev.ok == ok => prev.since,
            _ => Utc::now(),
        };
        map.insert(component.to_string(), ComponentState { ok, detail, since });
    }

    /// Every component's state, by name.
    pub fn snapshot(&self) -> BTreeMap<String, ComponentState> {
        self.components
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// True when every registered component is ok.
    pub fn ready(&self) -> bool {
        self.snapshot().values().all(|c| c.ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_component_is_ok_and_since_marks_the_flip() {
        let h = Health::new();
        assert!(h.ready());
        h.set("broker", false, "connecting");
        assert!(!h.ready());
        let down_since = h.snapshot()["broker"].since;
        h.set("broker", false, "connection refused");
        assert_eq!(h.snapshot()["broker"].since, down_since);
        h.set("broker", true, "connected");
        h.set("store", true, "ok");
        assert!(h.ready());
    }
}
