//! The CloudEvent envelope (structured JSON mode), the lifecycle payload, and the limits every
//! entrance (HTTP, AMQP, CLI) enforces on them. Decoding never panics: every problem becomes an
//! [`EventError`] that names the field.

mod envelope;
mod lifecycle;
mod limits;
mod subject;

pub use envelope::{CloudEvent, EVENT_TYPES, EventError};
pub use lifecycle::{LifecycleData, MailboxChoice, OneDriveChoice, parse_instant};
pub use limits::{
    MAX_AUTO_REPLY_BYTES, MAX_DATA_BYTES, MAX_DATA_FIELDS, MAX_EVENT_BYTES, MAX_FIELD_BYTES,
    MAX_ID_BYTES, MAX_SOURCE_BYTES, shown,
};
pub use subject::{MAX_UPN_CHARS, SubjectKind, is_object_id, is_upn, subject_kind};
