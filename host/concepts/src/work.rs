//! What a work item asks a worker to do. The store keeps the kind as its name (`work_items.kind`);
//! the engine schedules and dispatches on it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kind of a work item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkKind {
    /// An attempt of a forward step's operation.
    Call,
    /// An attempt of a step's compensation.
    Compensate,
    /// A deadline of a step waiting for a signal.
    Wait,
    /// The end of a sleep step.
    Sleep,
}

impl WorkKind {
    /// Every kind.
    pub const ALL: &'static [Self] = &[Self::Call, Self::Compensate, Self::Wait, Self::Sleep];

    /// The kind's stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Compensate => "compensate",
            Self::Wait => "wait",
            Self::Sleep => "sleep",
        }
    }
}

impl fmt::Display for WorkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored name that is no [`WorkKind`] (a row written by a newer host, or by hand).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown work kind `{0}`")]
pub struct UnknownWorkKind(pub String);

impl FromStr for WorkKind {
    type Err = UnknownWorkKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownWorkKind(s.to_owned()))
    }
}

// How the store reads `work_items.kind`.
impl TryFrom<String> for WorkKind {
    type Error = UnknownWorkKind;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for kind in WorkKind::ALL {
            assert_eq!(kind.as_str().parse::<WorkKind>(), Ok(*kind));
        }
        assert!("nap".parse::<WorkKind>().is_err());
    }
}
