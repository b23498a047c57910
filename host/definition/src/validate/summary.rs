//! What validation knows of each step before checking it: its id, line and kind as far as they
//! can be read, so that a reference can be told apart as "later", "unknown", or "to a step
//! without output".

use super::KINDS;
use crate::parse::{Node, Value};

/// What validation knows of a step before checking it.
pub(super) struct Summary {
    pub id: Option<String>,
    pub line: usize,
    /// Which of [`KINDS`] it has, if exactly one.
    pub kind: Option<&'static str>,
}

/// The id and kind of a step as far as they can be read, for reference checks.
pub(super) fn summary(node: &Node) -> Summary {
    let entries = match &node.value {
        Value::Map(entries) => &entries[..],
        _ => &[],
    };
    let get = |key: &str| entries.iter().find(|e| e.key == key);
    let id = match get("id").map(|e| &e.value.value) {
        Some(Value::Str(id)) => Some(id.clone()),
        _ => None,
    };
    let kinds: Vec<&'static str> = KINDS.iter().copied().filter(|k| get(k).is_some()).collect();
    Summary {
        id,
        line: node.line,
        kind: match kinds[..] {
            [kind] => Some(kind),
            _ => None,
        },
    }
}
