//! Engine errors, by what the caller should do next.

use weft_definition::DefinitionError;
use weft_store::StoreError;

/// Why an engine call failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The tenant, run, definition or plugin does not exist: fix the request.
    #[error("not found: {0}")]
    NotFound(String),
    /// The definition does not validate; each error names its line and field.
    #[error("invalid definition:\n{}", .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    InvalidDefinition(Vec<DefinitionError>),
    /// The request is malformed or not allowed in the run's current state: fix it.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The plugin file was refused.
    #[error(transparent)]
    Plugin(#[from] weft_runtime::LoadError),
    /// Storage failed: retry later, or call an operator if it persists.
    #[error(transparent)]
    Store(StoreError),
    /// A step's result could not be committed; its item runs again when its lease ends.
    #[error("commit failed: {0}")]
    Commit(String),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::NotFound(what),
            other => Self::Store(other),
        }
    }
}

impl From<sqlx::Error> for EngineError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}
