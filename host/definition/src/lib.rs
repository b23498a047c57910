//! Workflow definitions: YAML in, a validated [`Definition`] out, with every error naming its
//! line and field.
//!
//! [`compile`] is the entry point: it parses the YAML (keeping line numbers), checks the grammar
//! and every reference, asks a [`Catalog`] whether each plugin operation exists for the tenant,
//! and returns either the [`Definition`] the engine executes or *all* the problems found, so an
//! author fixes a definition in one round trip.
//!
//! At run time the engine uses [`resolve`] to fill a step's `input:` from the run's input and
//! earlier outputs, and [`resolve_reference`] with [`is_truthy`] to decide `when:`.

mod duration;
mod model;
mod parse;
mod reference;
mod validate;

pub use model::*;
pub use parse::MAX_SOURCE_BYTES;
pub use reference::{
    ReferenceError, ResolveError, Scope, StepOutputs, is_truthy, resolve, resolve_reference,
};

use serde::{Deserialize, Serialize};

/// What the tenant's pinned plugins offer; [`compile`] asks it about every `call:` and
/// `compensate:`.
pub trait Catalog {
    /// `Ok(compensated_by)` — the operation's compensating operation from the plugin's manifest,
    /// if any (an operation of the same plugin) — or `Err(message)` when the plugin is not pinned
    /// for the tenant or has no such operation. The message is shown to the author as is.
    fn operation(&self, plugin: &str, operation: &str) -> Result<Option<String>, String>;
}

/// One problem in a definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[error("line {line}: {field}: {message}")]
pub struct DefinitionError {
    /// 1-based line of the offending node: the value of the key at fault, or the enclosing
    /// mapping when a required key is missing.
    pub line: usize,
    /// Where in the definition, as a path such as `steps[2].retry.initial`; `(yaml)` for YAML
    /// syntax errors and `(definition)` for the document as a whole.
    pub field: String,
    /// What is wrong, and when it helps, how to fix it.
    pub message: String,
}

impl DefinitionError {
    pub(crate) fn new(line: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            line,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Parses and validates a definition.
///
/// # Errors
///
/// Every problem found, ordered by line: YAML syntax (then nothing else is checked, since the
/// tree is not trustworthy), unknown or missing keys, malformed values, references to unknown or
/// later steps, and operations the [`Catalog`] does not know.
pub fn compile(source: &str, catalog: &dyn Catalog) -> Result<Definition, Vec<DefinitionError>> {
    let tree = parse::parse(source)?;
    validate::definition(&tree, catalog)
}
