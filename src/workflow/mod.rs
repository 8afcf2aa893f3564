//! Workflow definitions: format, loading, templates and validation.
