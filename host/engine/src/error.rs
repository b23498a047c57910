//! Engine errors, grouped by what the caller should do next. The operator API maps each group to
//! one status (invalid argument, failed precondition, not found, unavailable, internal).

use weft_definition::DefinitionError;
use weft_store::StoreError;

/// What the caller of a failed engine call should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Fix the request (or the definition, or the plugin file) and send it again.
    InvalidInput,
    /// The request is well formed but not allowed in the current state (a run that ended, a
    /// retry after a compensation): read the state, then choose another action.
    FailedPrecondition,
    /// The tenant, run, definition or plugin does not exist (or belongs to another tenant).
    NotFound,
    /// The database is unreachable or overloaded: retry later.
    Unavailable,
    /// A bug or corrupt stored data: call an operator; retrying will not help.
    Internal,
}

/// Why an engine call failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The tenant, run, definition or plugin does not exist: fix the request.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request is malformed (too large, unstorable, missing a key): fix it.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The definition does not validate; each error names its line and field.
    #[error("invalid definition:\n{}", .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    InvalidDefinition(Vec<DefinitionError>),
    /// The plugin file was refused.
    #[error(transparent)]
    Plugin(#[from] weft_runtime::LoadError),
    /// Not allowed in the run's current state: the message says what is allowed instead.
    #[error("failed precondition: {0}")]
    FailedPrecondition(String),
    /// Storage failed or is unreachable: retry later, or call an operator if it persists.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug, or stored data this engine cannot read: call an operator.
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    /// What the caller should do next.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::InvalidInput(_) | Self::InvalidDefinition(_) | Self::Plugin(_) => {
                ErrorKind::InvalidInput
            }
            Self::FailedPrecondition(_) => ErrorKind::FailedPrecondition,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Invalid(what) => Self::InvalidInput(what),
            StoreError::Conflict(what) => Self::FailedPrecondition(what),
            StoreError::Database(e) => Self::Unavailable(e.to_string()),
            other @ (StoreError::Corrupt(_) | StoreError::Migration(_)) => {
                Self::Internal(other.to_string())
            }
        }
    }
}

impl From<sqlx::Error> for EngineError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e).into()
    }
}
