//! The class of how an attempt ended, or why a run parked: one name per class, shared by the
//! runtime (which classifies attempts), definitions (whose retry policies name classes) and the
//! engine (which decides retries and records classes in history).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Every class an attempt's outcome or a run's failure can have. Stored (history, events) as
/// its kebab-case name, e.g. `cpu-exceeded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeClass {
    /// The attempt completed with valid output.
    Ok,
    /// The plugin said: try again later.
    PluginRetryable,
    /// The plugin said: this will never work as it is.
    PluginPermanent,
    /// The input was refused (by the host, the plugin, or the step's input mapping).
    InvalidInput,
    /// The plugin crashed.
    Trap,
    /// The plugin executed longer than its CPU budget.
    CpuExceeded,
    /// The plugin tried to grow its memory past its limit.
    MemoryExceeded,
    /// The attempt took longer than its wall-clock limit.
    Timeout,
    /// The output is larger than allowed.
    OutputTooLarge,
    /// The output is not JSON, or does not match the operation's output schema.
    BadOutput,
    /// The engine: the step's work item was claimed too many times without a result.
    ClaimsExhausted,
    /// The engine: a fault of the host itself.
    Internal,
    /// The engine: the step's plugin is not published, pinned or loadable.
    PluginUnavailable,
    /// The engine: an operator cancelled the run.
    Cancelled,
    /// The engine: the run's history reached its ceiling.
    HistoryFull,
}

impl OutcomeClass {
    /// Every class, in declaration order.
    pub const ALL: &'static [Self] = &[
        Self::Ok,
        Self::PluginRetryable,
        Self::PluginPermanent,
        Self::InvalidInput,
        Self::Trap,
        Self::CpuExceeded,
        Self::MemoryExceeded,
        Self::Timeout,
        Self::OutputTooLarge,
        Self::BadOutput,
        Self::ClaimsExhausted,
        Self::Internal,
        Self::PluginUnavailable,
        Self::Cancelled,
        Self::HistoryFull,
    ];

    /// The class's name as operators see it and history stores it, e.g. `cpu-exceeded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::PluginRetryable => "plugin-retryable",
            Self::PluginPermanent => "plugin-permanent",
            Self::InvalidInput => "invalid-input",
            Self::Trap => "trap",
            Self::CpuExceeded => "cpu-exceeded",
            Self::MemoryExceeded => "memory-exceeded",
            Self::Timeout => "timeout",
            Self::OutputTooLarge => "output-too-large",
            Self::BadOutput => "bad-output",
            Self::ClaimsExhausted => "claims-exhausted",
            Self::Internal => "internal",
            Self::PluginUnavailable => "plugin-unavailable",
            Self::Cancelled => "cancelled",
            Self::HistoryFull => "history-full",
        }
    }

    /// Classes that retrying cannot fix, whatever a retry policy says.
    pub fn never_retried(self) -> bool {
        matches!(self, Self::PluginPermanent | Self::InvalidInput)
    }
}

impl fmt::Display for OutcomeClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no [`OutcomeClass`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown outcome class `{0}`")]
pub struct UnknownClass(pub String);

impl FromStr for OutcomeClass {
    type Err = UnknownClass;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownClass(s.to_owned()))
    }
}

// Compared with names, as operators and tests write them.
impl PartialEq<str> for OutcomeClass {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for OutcomeClass {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_serialize_as_stored() {
        for class in OutcomeClass::ALL {
            assert_eq!(class.as_str().parse::<OutcomeClass>(), Ok(*class));
            let json = serde_json::to_string(class).unwrap();
            assert_eq!(json, format!("\"{}\"", class.as_str()));
            assert_eq!(serde_json::from_str::<OutcomeClass>(&json).unwrap(), *class);
        }
        assert_eq!(
            "oops".parse::<OutcomeClass>(),
            Err(UnknownClass("oops".to_owned()))
        );
    }
}
