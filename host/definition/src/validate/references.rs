//! References in a definition: `key:` and `when:` (exactly one reference each) and the strings
//! of a call's `input:`. The rule that matters is that a reference only reaches what exists when
//! it is resolved: the run's input always, a step's output only if the step comes earlier, is not
//! a `sleep` (which has no output), and never for `key:`, which is computed before any step.

use super::{Checker, Scope};
use crate::model::Reference;
use crate::parse::{Node, Value, index_path, key_path};
use crate::reference::{Text, classify};

impl Checker<'_> {
    /// A value that must be exactly one reference (`key:`, `when:`).
    pub(super) fn reference(&mut self, node: &Node, path: &str, scope: Scope) -> Option<Reference> {
        let Value::Str(text) = &node.value else {
            // `key: {input.code}` (the `$` forgotten) parses as a mapping: say what was meant.
            let found = node.value.kind();
            let message = format!(
                "expected one reference such as `${{input.x}}`, found {found}; \
                 inside `{{ }}` or `[ ]`, quote it: `\"${{input.x}}\"`"
            );
            self.error(node.line, path, message);
            return None;
        };
        match classify(text) {
            Text::Reference(Ok(reference)) => {
                self.check_reference(&reference, node.line, path, scope)?;
                Some(reference)
            }
            Text::Reference(Err(e)) => {
                self.error(node.line, path, e.to_string());
                None
            }
            Text::Literal | Text::Embedded => {
                self.error(
                    node.line,
                    path,
                    format!("expected one reference such as `${{input.x}}`, found `{text}`"),
                );
                None
            }
        }
    }

    /// Checks that a reference only reaches what exists when it is resolved.
    pub(super) fn check_reference(
        &mut self,
        reference: &Reference,
        line: usize,
        path: &str,
        scope: Scope,
    ) -> Option<()> {
        let Some(id) = reference.step() else {
            return Some(());
        };
        let message = match scope {
            Scope::InputOnly => format!(
                "`{reference}`: `key:` may only reference `input`; \
                 it is computed before any step runs"
            ),
            Scope::Before(index) => {
                match self.steps.iter().position(|s| s.id.as_deref() == Some(id)) {
                    Some(i) if i < index && self.steps[i].kind == Some("sleep") => {
                        format!("`{reference}`: step `{id}` is a `sleep` step, which has no output")
                    }
                    Some(i) if i < index => return Some(()),
                    Some(i) if i == index => {
                        format!("`{reference}`: a step cannot use its own output")
                    }
                    Some(i) => format!(
                        "`{reference}`: step `{id}` comes later (line {}); \
                         a step can only use the outputs of earlier steps",
                        self.steps[i].line
                    ),
                    None => format!("`{reference}`: there is no step `{id}`"),
                }
            }
        };
        self.error(line, path, message);
        None
    }

    /// YAML to JSON for `input:`, checking every string that mentions `${`.
    pub(super) fn template(&mut self, node: &Node, path: &str, scope: Scope) -> serde_json::Value {
        use serde_json::Value as Json;
        match &node.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            // Finite: parse rejects NaN and infinities.
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Str(s) => {
                match classify(s) {
                    Text::Literal => {}
                    Text::Reference(Ok(reference)) => {
                        let _ = self.check_reference(&reference, node.line, path, scope);
                    }
                    Text::Reference(Err(e)) => self.error(node.line, path, e.to_string()),
                    Text::Embedded => self.error(
                        node.line,
                        path,
                        "a reference must be the whole value; put formatting in a mapping plugin",
                    ),
                }
                Json::String(s.clone())
            }
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.template(item, &index_path(path, i), scope))
                .collect(),
            Value::Map(entries) => {
                let mut map = serde_json::Map::new();
                for entry in entries {
                    let child = key_path(path, &entry.key);
                    if entry.key.contains("${") {
                        self.error(
                            entry.key_line,
                            &child,
                            "references are only replaced in values, not in keys",
                        );
                    }
                    let value = self.template(&entry.value, &child, scope);
                    map.insert(entry.key.clone(), value);
                }
                Json::Object(map)
            }
        }
    }
}

#[cfg(test)]
mod tests;
