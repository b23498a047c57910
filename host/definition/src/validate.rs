//! From the parsed tree to a [`Definition`], collecting every error on the way.
//!
//! Each check records its problem and carries on with what it can, so one pass reports all the
//! mistakes in a definition. A part that fails yields `None` and the final [`Definition`] is only
//! built when nothing was recorded. This file has the document and the steps; plugin calls,
//! retry policies and compensation are in `validate/call.rs`, references in
//! `validate/references.rs`.

mod call;
mod references;
mod summary;

use std::time::Duration;

use crate::duration;
use crate::model::{Definition, Step, StepKind};
use crate::parse::{Entry, Node, Value, display, index_path, key_path};
use crate::{Catalog, DefinitionError};
use summary::{Summary, summary};

/// The keys every step may have, whatever it does.
const COMMON: &[&str] = &["id", "when"];
/// The keys that say what a step does; a step has exactly one.
const KINDS: &[&str] = &["call", "wait", "sleep"];

/// Which references a value may contain.
#[derive(Clone, Copy)]
enum Scope {
    /// `key:` is computed when a run starts, before any step.
    InputOnly,
    /// In step number `n` (0-based): the input and the outputs of steps before it.
    Before(usize),
}

struct Checker<'c> {
    catalog: &'c dyn Catalog,
    steps: Vec<Summary>,
    errors: Vec<DefinitionError>,
}

/// A mapping whose keys have been checked against the allowed ones.
struct Fields<'n> {
    entries: &'n [Entry],
    line: usize,
    path: String,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries.iter().find(|e| e.key == key).map(|e| &e.value)
    }

    fn path(&self, key: &str) -> String {
        key_path(&self.path, key)
    }
}

pub(crate) fn definition(
    root: &Node,
    catalog: &dyn Catalog,
) -> Result<Definition, Vec<DefinitionError>> {
    let mut checker = Checker {
        catalog,
        steps: Vec::new(),
        errors: Vec::new(),
    };
    let definition = checker.document(root);
    let mut errors = checker.errors;
    match definition {
        Some(definition) if errors.is_empty() => Ok(definition),
        _ => {
            // Stable, so errors on one line keep the order they were found in.
            errors.sort_by_key(|e| e.line);
            Err(errors)
        }
    }
}

impl Checker<'_> {
    fn error(&mut self, line: usize, field: &str, message: impl Into<String>) {
        self.errors
            .push(DefinitionError::new(line, display(field), message));
    }

    /// Checks that `node` is a mapping with only `allowed` keys; `what` names it in messages.
    fn mapping<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        allowed: &[&str],
        what: &str,
    ) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            self.error(
                node.line,
                path,
                format!("expected a mapping, found {}", node.value.kind()),
            );
            return None;
        };
        for entry in entries {
            if !allowed.contains(&entry.key.as_str()) {
                self.error(
                    entry.key_line,
                    &key_path(path, &entry.key),
                    format!(
                        "unknown key `{}`; allowed {what}: {}",
                        entry.key,
                        allowed.join(", ")
                    ),
                );
            }
        }
        Some(Fields {
            entries,
            line: node.line,
            path: path.to_owned(),
        })
    }

    /// A key that must be present; a missing one is reported on the mapping's line.
    fn required<'n>(&mut self, fields: &Fields<'n>, key: &str) -> Option<&'n Node> {
        let node = fields.get(key);
        if node.is_none() {
            self.error(fields.line, &fields.path(key), format!("missing `{key}`"));
        }
        node
    }

    fn string<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n str> {
        if let Value::Str(s) = &node.value {
            Some(s)
        } else {
            let found = node.value.kind();
            self.error(node.line, path, format!("expected a string, found {found}"));
            None
        }
    }

    /// A string of `allowed` characters (`rule` describes them), not empty.
    fn name<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        allowed: fn(char) -> bool,
        rule: &str,
    ) -> Option<&'n str> {
        let s = self.string(node, path)?;
        if !s.is_empty() && s.chars().all(allowed) {
            Some(s)
        } else {
            self.error(node.line, path, format!("`{s}` is not valid: use {rule}"));
            None
        }
    }

    fn document(&mut self, root: &Node) -> Option<Definition> {
        let allowed = ["name", "version", "key", "steps"];
        let Value::Map(_) = root.value else {
            let found = root.value.kind();
            self.error(
                root.line,
                "",
                format!("a definition is a mapping with `name` and `steps`, found {found}"),
            );
            return None;
        };
        let fields = self.mapping(root, "", &allowed, "at the top level")?;
        let name = self.required(&fields, "name").and_then(|node| {
            let lower = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
            self.name(node, "name", lower, "lower-case letters, digits and `-`")
        });
        // Versions are assigned when a definition is applied; the key is accepted because
        // published examples carry it, and otherwise ignored.
        if let Some(node) = fields.get("version")
            && !matches!(node.value, Value::Int(_))
        {
            let message = "expected a whole number \
                 (it is ignored: versions are assigned when a definition is applied)";
            self.error(node.line, "version", message);
        }
        let key = optional(fields.get("key"), |node| {
            self.reference(node, "key", Scope::InputOnly)
        });
        let steps = self
            .required(&fields, "steps")
            .and_then(|node| self.steps(node));
        Some(Definition {
            name: name?.to_owned(),
            key: key?,
            steps: steps?,
        })
    }

    fn steps(&mut self, node: &Node) -> Option<Vec<Step>> {
        let Value::Seq(items) = &node.value else {
            let found = node.value.kind();
            self.error(
                node.line,
                "steps",
                format!("expected a list of steps, found {found}"),
            );
            return None;
        };
        if items.is_empty() {
            self.error(node.line, "steps", "a definition needs at least one step");
            return None;
        }
        self.steps = items.iter().map(summary).collect();
        let steps: Vec<Option<Step>> = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.step(i, item))
            .collect();
        steps.into_iter().collect()
    }

    fn step(&mut self, index: usize, node: &Node) -> Option<Step> {
        let path = index_path("steps", index);
        let Value::Map(entries) = &node.value else {
            let found = node.value.kind();
            let message = format!(
                "expected a step (a mapping with `id` and one of `call`, `wait`, `sleep`), \
                 found {found}"
            );
            self.error(node.line, &path, message);
            return None;
        };
        let present: Vec<&str> = KINDS
            .iter()
            .copied()
            .filter(|k| entries.iter().any(|e| e.key == *k))
            .collect();
        // The allowed keys follow what the step does, so `input:` on a `sleep` step is flagged;
        // when that is unclear, any step key is accepted to avoid a pile of follow-on errors.
        let mut allowed = COMMON.to_vec();
        let kinds = if present.is_empty() {
            KINDS
        } else {
            &present[..]
        };
        for kind in kinds {
            match *kind {
                "call" => allowed.extend(call::KEYS),
                kind => allowed.push(kind),
            }
        }
        let what = match present[..] {
            [kind] => format!("in a `{kind}` step"),
            _ => "in a step".to_owned(),
        };
        let fields = self.mapping(node, &path, &allowed, &what)?;
        match present[..] {
            [] => self.error(
                node.line,
                &path,
                "a step needs one of `call`, `wait` or `sleep`",
            ),
            [_] => {}
            _ => self.error(
                node.line,
                &path,
                format!(
                    "a step does one thing: `call`, `wait` or `sleep`; this one has `{}`",
                    present.join("` and `")
                ),
            ),
        }
        let id = self.step_id(index, &fields);
        let when = optional(fields.get("when"), |node| {
            self.reference(node, &fields.path("when"), Scope::Before(index))
        });
        // Check every kind present, even when there are several, to report all their errors.
        let kinds: Vec<Option<StepKind>> = present
            .iter()
            .map(|kind| match *kind {
                "call" => self.call(&fields, index).map(StepKind::Call),
                "wait" => self.wait(&fields),
                _ => self.sleep(&fields),
            })
            .collect();
        let mut kinds = kinds.into_iter();
        let (Some(Some(kind)), None) = (kinds.next(), kinds.next()) else {
            return None;
        };
        Some(Step {
            id: id?,
            line: node.line,
            when: when?,
            kind,
        })
    }

    fn step_id(&mut self, index: usize, fields: &Fields<'_>) -> Option<String> {
        let path = fields.path("id");
        let node = self.required(fields, "id")?;
        let rule = "letters, digits, `_` and `-`";
        let id = self.name(node, &path, is_id_char, rule)?.to_owned();
        let first = self.steps[..index]
            .iter()
            .find(|s| s.id.as_deref() == Some(id.as_str()));
        if let Some(first) = first {
            let message = format!("duplicate step id `{id}` (first on line {})", first.line);
            self.error(node.line, &path, message);
            return None;
        }
        Some(id)
    }

    fn wait(&mut self, fields: &Fields<'_>) -> Option<StepKind> {
        let path = fields.path("wait");
        let node = fields.get("wait")?;
        let wait = self.mapping(node, &path, &["signal", "timeout"], "in `wait`")?;
        let signal = self.required(&wait, "signal").and_then(|node| {
            let lower =
                |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
            let rule = "lower-case letters, digits, `_` and `-`";
            self.name(node, &wait.path("signal"), lower, rule)
        });
        let timeout = optional(wait.get("timeout"), |node| {
            let path = wait.path("timeout");
            self.duration(node, &path, duration::positive, &duration::DELAY)
        });
        Some(StepKind::Wait {
            signal: signal?.to_owned(),
            timeout: timeout?,
        })
    }

    fn sleep(&mut self, fields: &Fields<'_>) -> Option<StepKind> {
        let node = fields.get("sleep")?;
        let path = fields.path("sleep");
        let duration = self.duration(node, &path, duration::positive, &duration::DELAY)?;
        Some(StepKind::Sleep { duration })
    }

    /// A duration read with `read` ([`duration::duration`] or [`duration::positive`]), no
    /// longer than `ceiling`.
    fn duration(
        &mut self,
        node: &Node,
        path: &str,
        read: fn(&Node) -> Result<Duration, String>,
        ceiling: &duration::Ceiling,
    ) -> Option<Duration> {
        match read(node).and_then(|d| duration::at_most(d, ceiling)) {
            Ok(d) => Some(d),
            Err(message) => {
                self.error(node.line, path, message);
                None
            }
        }
    }
}

/// An optional key: `Some(None)` when absent, `Some(Some(value))` when valid, `None` when
/// invalid (the error is recorded), so that `?` on the result stops building the step.
fn optional<'n, T>(
    node: Option<&'n Node>,
    check: impl FnOnce(&'n Node) -> Option<T>,
) -> Option<Option<T>> {
    match node {
        None => Some(None),
        Some(node) => check(node).map(Some),
    }
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

#[cfg(test)]
mod tests;
