//! Store errors. These are never the user's fault: they mean the disk or the data directory
//! needs a person.

pub type StoreResult<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store at {path} could not be opened: {source}. Is another offboard process using it?"
    )]
    Open { path: String, source: sled::Error },
    #[error("store I/O failed: {0}")]
    Sled(#[from] sled::Error),
    #[error("a stored {what} could not be decoded: {reason}")]
    Decode { what: &'static str, reason: String },
    #[error("the store's flusher has stopped; the process is shutting down")]
    FlusherGone,
    /// A write that failed for several callers at once (each gets this copy).
    #[error("store write failed: {0}")]
    Write(String),
}
