//! Store errors, grouped by what the caller should do next.

/// What went wrong, and so what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist: fix the request.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request conflicts with the current state: read it again and decide.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A value is out of the range the store accepts: fix the request or the configuration.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Stored data could not be decoded: a bug or a manual edit; call an operator.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// Migrations failed: the database is not at a schema this host understands.
    #[error("migration failed: {0}")]
    Migration(String),
    /// The database failed or is unreachable: retry later.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        Self::Corrupt(e.to_string())
    }
}
