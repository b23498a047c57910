//! The errors an operation returns, classified by what the host should do next.

use std::fmt;
use std::time::Duration;

/// Why an operation failed. The class decides what the host does: retry later, give up and
/// compensate, or report bad input. Pick the class by asking "could the same call succeed later?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginError {
    /// A passing failure (network, 429, 503, a lock): the host retries per the step's policy.
    Retryable {
        /// What went wrong, for the operator.
        message: String,
        /// The remote asked us to wait at least this long (e.g. `Retry-After`).
        retry_after: Option<Duration>,
    },
    /// The call can never succeed as it is (access denied, a business rule, a missing record).
    Permanent {
        /// A short machine-readable code, e.g. `http-403` or `odoo.exceptions.ValidationError`.
        code: String,
        /// What went wrong, for the operator.
        message: String,
    },
    /// The input does not fit the operation.
    InvalidInput {
        /// What is wrong with it.
        message: String,
        /// Where, as a path like `order.lines[2].qty`.
        field: Option<String>,
    },
}

impl PluginError {
    /// A failure worth retrying.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::Retryable {
            message: message.into(),
            retry_after: None,
        }
    }

    /// A failure worth retrying, not before `after`.
    pub fn retry_after(message: impl Into<String>, after: Duration) -> Self {
        Self::Retryable {
            message: message.into(),
            retry_after: Some(after),
        }
    }

    /// A failure that retrying cannot fix.
    pub fn permanent(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Permanent {
            code: code.into(),
            message: message.into(),
        }
    }

    /// Bad input, not tied to one field.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::InvalidInput {
            message: message.into(),
            field: None,
        }
    }

    /// Bad input in one field (a path like `order.lines[2].qty`).
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// Whether the host would retry this error.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable { .. })
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Retryable {
                message,
                retry_after: Some(after),
            } => {
                write!(f, "retryable (after {}ms): {message}", after.as_millis())
            }
            Self::Retryable {
                message,
                retry_after: None,
            } => write!(f, "retryable: {message}"),
            Self::Permanent { code, message } => write!(f, "permanent [{code}]: {message}"),
            Self::InvalidInput {
                message,
                field: Some(field),
            } => {
                write!(f, "invalid input at {field}: {message}")
            }
            Self::InvalidInput {
                message,
                field: None,
            } => write!(f, "invalid input: {message}"),
        }
    }
}

impl std::error::Error for PluginError {}

impl From<serde_json::Error> for PluginError {
    /// A JSON (de)serialization failure inside the plugin is a bug in it, not the caller's input:
    /// input errors are reported with their field path before the operation runs.
    fn from(e: serde_json::Error) -> Self {
        Self::permanent("json", e.to_string())
    }
}
