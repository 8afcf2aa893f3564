//! One method per admin API endpoint (README "Admin HTTP API"). Answers are the server's
//! JSON; the commands render them.

use super::error::ClientError;
use super::http::{AdminClient, Payload};
use crate::signature::SIGNATURE_HEADER;
use reqwest::Method;
use serde_json::{Value, json};

/// A CloudEvent body with its signature header, when one was made.
fn event_payload(body: Vec<u8>, signature: Option<String>) -> Payload {
    Payload {
        bytes: body,
        content_type: "application/cloudevents+json",
        headers: signature
            .map(|s| vec![(SIGNATURE_HEADER, s)])
            .unwrap_or_default(),
    }
}

fn json_payload(v: &Value) -> Payload {
    Payload {
        bytes: v.to_string().into_bytes(),
        content_type: "application/json",
        headers: Vec::new(),
    }
}

fn run_path(id: &str, action: &str) -> String {
    format!("api/v1/runs/{}/{action}", id.trim())
}

impl AdminClient {
    /// `POST /api/v1/events` with the exact `body` (and its `x-offboard-signature`).
    pub async fn submit_event(
        &self,
        body: Vec<u8>,
        signature: Option<String>,
    ) -> Result<Value, ClientError> {
        let p = event_payload(body, signature);
        self.call(Method::POST, "api/v1/events", &[], Some(p)).await
    }

    /// `GET /api/v1/runs` with the given filters (`status`, `subject`, ..., `after`).
    pub async fn list_runs(&self, query: &[(&str, &str)]) -> Result<Value, ClientError> {
        self.call(Method::GET, "api/v1/runs", query, None).await
    }

    /// `GET /api/v1/runs/{id}`: the run with its event and journal.
    pub async fn run(&self, id: &str) -> Result<Value, ClientError> {
        let path = format!("api/v1/runs/{}", id.trim());
        self.call(Method::GET, &path, &[], None).await
    }

    /// `POST /api/v1/runs/{id}/restart`.
    pub async fn restart(
        &self,
        id: &str,
        from_step: Option<&str>,
        allow_protected: bool,
    ) -> Result<Value, ClientError> {
        let body = json!({ "fromStep": from_step, "allowProtected": allow_protected });
        let p = json_payload(&body);
        self.call(Method::POST, &run_path(id, "restart"), &[], Some(p))
            .await
    }

    /// `POST /api/v1/runs/{id}/cancel`.
    pub async fn cancel(&self, id: &str) -> Result<Value, ClientError> {
        self.call(Method::POST, &run_path(id, "cancel"), &[], None)
            .await
    }

    /// `POST /api/v1/runs/{id}/approve`.
    pub async fn approve(&self, id: &str) -> Result<Value, ClientError> {
        self.call(Method::POST, &run_path(id, "approve"), &[], None)
            .await
    }

    /// `GET /api/v1/quarantine`: the mass-offboarding brake.
    pub async fn quarantine(&self) -> Result<Value, ClientError> {
        self.call(Method::GET, "api/v1/quarantine", &[], None).await
    }

    /// `POST /api/v1/quarantine/approve` or `/cancel`: releases or cancels every held run.
    pub async fn quarantine_action(&self, approve: bool) -> Result<Value, ClientError> {
        let path = if approve {
            "api/v1/quarantine/approve"
        } else {
            "api/v1/quarantine/cancel"
        };
        self.call(Method::POST, path, &[], None).await
    }

    /// `GET /api/v1/users?k=v&...`: the tenant's users matching every filter.
    pub async fn users(&self, filter: &[(&str, &str)]) -> Result<Value, ClientError> {
        self.call(Method::GET, "api/v1/users", filter, None).await
    }

    /// `GET /api/v1/licenses`: the tenant's plans with enabled, consumed and free units.
    pub async fn licenses(&self) -> Result<Value, ClientError> {
        self.call(Method::GET, "api/v1/licenses", &[], None).await
    }

    /// `POST /api/v1/plan` with a CloudEvent: what the event would do, changing nothing.
    pub async fn plan(
        &self,
        body: Vec<u8>,
        signature: Option<String>,
    ) -> Result<Value, ClientError> {
        let p = event_payload(body, signature);
        self.call(Method::POST, "api/v1/plan", &[], Some(p)).await
    }

    /// `GET /api/v1/workflows`: the current workflow definitions.
    pub async fn workflows(&self) -> Result<Value, ClientError> {
        self.call(Method::GET, "api/v1/workflows", &[], None).await
    }
}
