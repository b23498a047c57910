//! References: `${input.order.lines[0].sku}` and `${steps.customer.output.id}`.
//!
//! Grammar, kept small on purpose (anything cleverer belongs in a mapping plugin):
//!
//! ```text
//! reference := "${" root path "}"
//! root      := "input" | "steps." name ".output"
//! path      := ( "." name | "[" index "]" )*
//! name      := [A-Za-z0-9_-]+
//! index     := "0" | [1-9][0-9]*
//! ```
//!
//! A string is replaced only when it is *exactly* one reference; validation rejects text around a
//! `${`, so there is no templating and no escaping to get wrong. Parsing and [`Display`]
//! round-trip: a reference prints as the text it was parsed from.
//!
//! [`Display`]: std::fmt::Display

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;
use std::str::FromStr;

use serde_json::Value;

use crate::model::{Reference, Root, Segment};
use crate::parse::{index_path, key_path};

/// Why a text is not a reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a valid reference: {reason}")]
pub struct ReferenceError {
    /// The text as written.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Reference {
    /// Parses `${...}`; same as `text.parse()`.
    ///
    /// # Errors
    ///
    /// When `text` is not exactly one reference of the grammar above.
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        text.parse()
    }

    /// The step whose output this refers to; `None` for `input`.
    #[must_use]
    pub fn step(&self) -> Option<&str> {
        match &self.root {
            Root::Input => None,
            Root::StepOutput(id) => Some(id),
        }
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| ReferenceError {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let body = text
            .strip_prefix("${")
            .and_then(|t| t.strip_suffix('}'))
            .ok_or_else(|| {
                fail("a reference is written `${input.path}` or `${steps.<id>.output.path}`")
            })?;
        let (root, mut rest) = if let Some(rest) = body.strip_prefix("input") {
            (Root::Input, rest)
        } else if let Some(rest) = body.strip_prefix("steps.") {
            let (id, rest) = rest.split_at(name_len(rest));
            if id.is_empty() {
                return Err(fail("`steps.` must be followed by a step id"));
            }
            let rest = rest
                .strip_prefix(".output")
                .ok_or_else(|| fail(&format!("`steps.{id}` must be followed by `.output`")))?;
            (Root::StepOutput(id.to_owned()), rest)
        } else {
            return Err(fail(
                "a reference starts with `input` or `steps.<id>.output`",
            ));
        };
        let mut path = Vec::new();
        while let Some(c) = rest.chars().next() {
            if let Some(after) = rest.strip_prefix('.') {
                let len = name_len(after);
                if len == 0 {
                    return Err(fail(
                        "`.` must be followed by a name (letters, digits, `_`, `-`)",
                    ));
                }
                path.push(Segment::Key(after[..len].to_owned()));
                rest = &after[len..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let (digits, after) =
                    after.split_at(after.chars().take_while(char::is_ascii_digit).count());
                let after = after
                    .strip_prefix(']')
                    .ok_or_else(|| fail("`[` must be followed by a whole number and `]`"))?;
                // Leading zeros would not print back as written.
                let index = match digits.parse::<usize>() {
                    Ok(i) if digits.len() == 1 || !digits.starts_with('0') => i,
                    _ => return Err(fail(&format!("`[{digits}]` is not an index"))),
                };
                path.push(Segment::Index(index));
                rest = after;
            } else {
                return Err(fail(&format!(
                    "unexpected `{c}`; a path continues with `.name` or `[index]`"
                )));
            }
        }
        Ok(Reference { root, path })
    }
}

/// Length of the leading `[A-Za-z0-9_-]+` run (ASCII, so bytes are chars).
fn name_len(text: &str) -> usize {
    text.bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
        .count()
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("${")?;
        match &self.root {
            Root::Input => f.write_str("input")?,
            Root::StepOutput(id) => write!(f, "steps.{id}.output")?,
        }
        for segment in &self.path {
            match segment {
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(i) => write!(f, "[{i}]")?,
            }
        }
        f.write_str("}")
    }
}

/// How a string in a definition relates to references; validation and [`resolve`] agree on it.
pub(crate) enum Text {
    /// No `${`: a plain string.
    Literal,
    /// Meant as a whole-value reference (it may still be malformed).
    Reference(Result<Reference, ReferenceError>),
    /// A `${` with other text around it, which is not supported.
    Embedded,
}

pub(crate) fn classify(text: &str) -> Text {
    if !text.contains("${") {
        return Text::Literal;
    }
    // `${a}-${b}` starts and ends like a reference but is two of them with text between.
    let whole = text.starts_with("${") && text.find('}').is_none_or(|i| i == text.len() - 1);
    if whole {
        Text::Reference(text.parse())
    } else {
        Text::Embedded
    }
}

/// Where the outputs of a run's finished steps come from. Implemented for maps from step id to
/// output; the engine may implement it on its own run state instead.
pub trait StepOutputs {
    /// The output of the step with this id, or `None` if it has not produced one (not run yet,
    /// skipped by `when:`, or a `sleep` step, which has no output).
    fn output(&self, step: &str) -> Option<&Value>;
}

impl StepOutputs for BTreeMap<String, Value> {
    fn output(&self, step: &str) -> Option<&Value> {
        self.get(step)
    }
}

impl<S: BuildHasher> StepOutputs for HashMap<String, Value, S> {
    fn output(&self, step: &str) -> Option<&Value> {
        self.get(step)
    }
}

/// What references resolve against: the run's input and the outputs of earlier steps.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    /// The run's input (`${input...}`).
    pub input: &'a Value,
    /// Finished steps' outputs (`${steps.<id>.output...}`), e.g. a `&BTreeMap<String, Value>`.
    pub outputs: &'a dyn StepOutputs,
}

/// Why [`resolve`] failed. The engine turns it into a permanent failure of the step: retrying
/// would read the same values again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The reference is well-formed but nothing is at its path.
    #[error("{reference}{}: {reason}", at_suffix(.at))]
    Missing {
        /// Where in the template, such as `lines[0].sku`; empty for the template itself.
        at: String,
        /// The reference, as written.
        reference: String,
        /// Where the path stopped, such as "`${steps.customer.output}` has no key `id`".
        reason: String,
    },
    /// A string looks like a reference but is not one (validation prevents this).
    #[error(transparent)]
    Invalid(#[from] ReferenceError),
}

fn at_suffix(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!(" (at {at})")
    }
}

/// The value a reference points at, or `None` when any part of the path is missing.
#[must_use]
pub fn resolve_reference<'a>(reference: &Reference, scope: &Scope<'a>) -> Option<&'a Value> {
    walk(reference, scope).ok()
}

/// Follows a reference, saying where it stopped when it does.
fn walk<'a>(reference: &Reference, scope: &Scope<'a>) -> Result<&'a Value, String> {
    let mut value = match &reference.root {
        Root::Input => scope.input,
        Root::StepOutput(id) => scope
            .outputs
            .output(id)
            .ok_or_else(|| format!("step `{id}` has no output (it did not run or was skipped)"))?,
    };
    for (depth, segment) in reference.path.iter().enumerate() {
        let here = || {
            Reference {
                root: reference.root.clone(),
                path: reference.path[..depth].to_vec(),
            }
            .to_string()
        };
        value = match (segment, value) {
            (Segment::Key(k), Value::Object(map)) => map
                .get(k)
                .ok_or_else(|| format!("`{}` has no key `{k}`", here()))?,
            (Segment::Index(i), Value::Array(items)) => items
                .get(*i)
                .ok_or_else(|| format!("`{}` has {} items, so no [{i}]", here(), items.len()))?,
            (Segment::Key(k), other) => {
                return Err(format!(
                    "`{}` is {}, so it has no key `{k}`",
                    here(),
                    kind(other)
                ));
            }
            (Segment::Index(i), other) => {
                return Err(format!(
                    "`{}` is {}, so it has no [{i}]",
                    here(),
                    kind(other)
                ));
            }
        };
    }
    Ok(value)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Copies `template`, replacing every string that is exactly one reference with the value it
/// points at (any JSON, not only strings). Mapping keys and other strings are kept as they are.
///
/// # Errors
///
/// The first reference that resolves to nothing, or a malformed one.
pub fn resolve(template: &Value, scope: &Scope<'_>) -> Result<Value, ResolveError> {
    fill(template, scope, "")
}

fn fill(template: &Value, scope: &Scope<'_>, at: &str) -> Result<Value, ResolveError> {
    Ok(match template {
        Value::String(s) => match classify(s) {
            Text::Reference(reference) => {
                let reference = reference?;
                walk(&reference, scope)
                    .map_err(|reason| ResolveError::Missing {
                        at: at.to_owned(),
                        reference: reference.to_string(),
                        reason,
                    })?
                    .clone()
            }
            Text::Literal | Text::Embedded => template.clone(),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| fill(item, scope, &index_path(at, i)))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| Ok((key.clone(), fill(item, scope, &key_path(at, key))?)))
                .collect::<Result<_, ResolveError>>()?,
        ),
        Value::Null | Value::Bool(_) | Value::Number(_) => template.clone(),
    })
}

/// Whether a `when:` value lets its step run: null, false, 0, "" and missing do not; everything
/// else does, empty lists and mappings included (they are values that exist).
#[must_use]
pub fn is_truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null | Value::Bool(false)) => false,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests;
