//! `call:` steps: the operation (checked against the tenant's [`Catalog`]), `input:`, `retry:`,
//! `timeout:` and `compensate:`.
//!
//! [`Catalog`]: crate::Catalog

use std::time::Duration;

use weft_concepts::OutcomeClass;

use super::{Checker, Fields, Scope, optional};
use crate::duration;
use crate::model::{Call, OperationRef, RetryPolicy};
use crate::parse::{Node, Value, index_path};

/// The keys of a `call` step besides `id` and `when`.
pub(super) const KEYS: &[&str] = &["call", "input", "retry", "timeout", "compensate"];

/// Most attempts a policy may ask for. Each attempt writes history and audit rows and holds a
/// worker slot; past a hundred, a step is not going to succeed by being tried again.
const MAX_ATTEMPTS: u32 = 100;

/// Shortest first delay when a step is retried at all. A retry due at once is leased straight back
/// to the worker that failed, so without a floor a failing remote keeps one slot busy in a loop.
const MIN_BACKOFF: Duration = Duration::from_millis(100);

/// Largest `multiplier`: delays already reach `max` within a few attempts at 10.
const MAX_MULTIPLIER: f64 = 10.0;

const RETRY_KEYS: &[&str] = &[
    "max_attempts",
    "initial",
    "multiplier",
    "max",
    "jitter",
    "non_retryable",
];

impl Checker<'_> {
    pub(super) fn call(&mut self, fields: &Fields<'_>, index: usize) -> Option<Call> {
        let call_path = fields.path("call");
        let operation = fields
            .get("call")
            .and_then(|node| self.operation(node, &call_path));
        // What the manifest says undoes this operation; only used when `compensate:` is absent.
        let manifest_compensation = operation.as_ref().and_then(|(op, node)| {
            match self.catalog.operation(&op.plugin, &op.operation) {
                Ok(compensated_by) => Some(compensated_by),
                Err(message) => {
                    self.error(node.line, &call_path, message);
                    None
                }
            }
        });
        let input = match fields.get("input") {
            Some(node) => self.template(node, &fields.path("input"), Scope::Before(index)),
            None => serde_json::Value::Object(serde_json::Map::new()),
        };
        let retry = match fields.get("retry") {
            Some(node) => self.retry(node, &fields.path("retry")),
            None => Some(RetryPolicy::default()),
        };
        let timeout = optional(fields.get("timeout"), |node| {
            let path = fields.path("timeout");
            self.duration(node, &path, duration::positive, &duration::STEP_TIMEOUT)
        });
        let compensate = match fields.get("compensate") {
            Some(node) => self.compensate(node, &fields.path("compensate")),
            None => match (&operation, manifest_compensation) {
                (Some((op, node)), Some(Some(by))) => {
                    self.manifest_compensation(op, by, node, &call_path)
                }
                _ => Some(None),
            },
        };
        let (operation, _) = operation?;
        Some(Call {
            plugin: operation.plugin,
            operation: operation.operation,
            input,
            retry: retry?,
            timeout: timeout?,
            compensate: compensate?,
        })
    }

    /// `plugin.operation`, split at the first `.` (operation names may contain dots).
    fn operation<'n>(&mut self, node: &'n Node, path: &str) -> Option<(OperationRef, &'n Node)> {
        let text = self.string(node, path)?;
        match text.split_once('.') {
            Some((plugin, operation)) if !plugin.is_empty() && !operation.is_empty() => Some((
                OperationRef {
                    plugin: plugin.to_owned(),
                    operation: operation.to_owned(),
                },
                node,
            )),
            _ => {
                self.error(
                    node.line,
                    path,
                    format!("expected `plugin.operation`, found `{text}`"),
                );
                None
            }
        }
    }

    /// An explicit `compensate:`, which must exist like the call itself.
    fn compensate(&mut self, node: &Node, path: &str) -> Option<Option<OperationRef>> {
        let (op, node) = self.operation(node, path)?;
        match self.catalog.operation(&op.plugin, &op.operation) {
            Ok(_) => Some(Some(op)),
            Err(message) => {
                self.error(node.line, path, message);
                None
            }
        }
    }

    /// The manifest's `compensated-by`, an operation of the same plugin. Checked too: a
    /// compensation that cannot run would only be found out when a run needs it most.
    fn manifest_compensation(
        &mut self,
        call: &OperationRef,
        by: String,
        node: &Node,
        path: &str,
    ) -> Option<Option<OperationRef>> {
        let op = OperationRef {
            plugin: call.plugin.clone(),
            operation: by,
        };
        match self.catalog.operation(&op.plugin, &op.operation) {
            Ok(_) => Some(Some(op)),
            Err(message) => {
                self.error(
                    node.line,
                    path,
                    format!(
                        "the manifest names `{op}` as the compensation of `{call}`, but: {message}"
                    ),
                );
                None
            }
        }
    }

    fn retry(&mut self, node: &Node, path: &str) -> Option<RetryPolicy> {
        let fields = self.mapping(node, path, RETRY_KEYS, "in `retry`")?;
        let defaults = RetryPolicy::default();
        let mut ok = true;
        let mut policy = defaults.clone();
        if let Some(node) = fields.get("max_attempts") {
            match &node.value {
                Value::Int(n) if (1..=i64::from(MAX_ATTEMPTS)).contains(n) => {
                    policy.max_attempts = u32::try_from(*n).unwrap_or(MAX_ATTEMPTS);
                }
                _ => {
                    let message = format!(
                        "must be a whole number from 1 (the first attempt counts) to \
                         {MAX_ATTEMPTS}"
                    );
                    ok &= self.fail(node, &fields.path("max_attempts"), &message);
                }
            }
        }
        for key in ["initial", "max"] {
            if let Some(node) = fields.get(key) {
                let path = fields.path(key);
                match self.duration(node, &path, duration::duration, &duration::DELAY) {
                    Some(d) if key == "initial" => policy.initial = d,
                    Some(d) => policy.max = d,
                    None => ok = false,
                }
            }
        }
        if let Some(node) = fields.get("multiplier") {
            match number(node) {
                Some(m) if (1.0..=MAX_MULTIPLIER).contains(&m) => policy.multiplier = m,
                _ => {
                    let message = format!("must be a number from 1 to {MAX_MULTIPLIER}");
                    ok &= self.fail(node, &fields.path("multiplier"), &message);
                }
            }
        }
        if let Some(node) = fields.get("jitter") {
            match number(node) {
                Some(j) if (0.0..=1.0).contains(&j) => policy.jitter = j,
                _ => {
                    let message = "must be a number from 0 to 1 (a fraction of each delay)";
                    ok &= self.fail(node, &fields.path("jitter"), message);
                }
            }
        }
        if let Some(node) = fields.get("non_retryable") {
            match self.classes(node, &fields.path("non_retryable")) {
                Some(classes) => policy.non_retryable = classes,
                None => ok = false,
            }
        }
        // Compared only when both are known, with the default standing in for an absent one.
        if ok && policy.initial > policy.max {
            let (node, key) = match fields.get("initial") {
                Some(node) => (node, "initial"),
                None => (fields.get("max")?, "max"),
            };
            let shown = |d: Duration, given: bool| {
                let d = duration::format(d);
                if given {
                    format!("`{d}`")
                } else {
                    format!("`{d}`, the default")
                }
            };
            let message = format!(
                "initial ({}) is longer than max ({})",
                shown(policy.initial, fields.get("initial").is_some()),
                shown(policy.max, fields.get("max").is_some()),
            );
            ok &= self.fail(node, &fields.path(key), &message);
        }
        if ok
            && policy.max_attempts > 1
            && policy.initial < MIN_BACKOFF
            && let Some(node) = fields.get("initial")
        {
            let message = format!(
                "must be at least `{}` when the step is retried (max_attempts > 1), so that a \
                 failing remote is not called in a tight loop",
                duration::format(MIN_BACKOFF)
            );
            ok &= self.fail(node, &fields.path("initial"), &message);
        }
        ok.then_some(policy)
    }

    fn classes(&mut self, node: &Node, path: &str) -> Option<Vec<OutcomeClass>> {
        let Value::Seq(items) = &node.value else {
            let found = node.value.kind();
            self.error(
                node.line,
                path,
                format!("expected a list of outcome classes, found {found}"),
            );
            return None;
        };
        let mut classes: Vec<OutcomeClass> = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let item_path = index_path(path, i);
            let Some(class) = self.string(item, &item_path) else {
                ok = false;
                continue;
            };
            let message = match class.parse::<OutcomeClass>() {
                Ok(c) if c.never_retried() => {
                    format!("`{class}` is never retried anyway; remove it")
                }
                Ok(c) if RetryPolicy::CLASSES.contains(&c) => {
                    if classes.contains(&c) {
                        format!("`{class}` is listed twice")
                    } else {
                        classes.push(c);
                        continue;
                    }
                }
                // Engine classes (`internal`, ...) and `ok` are no choice of a policy either.
                _ => {
                    let allowed: Vec<&str> =
                        RetryPolicy::CLASSES.iter().map(|c| c.as_str()).collect();
                    let allowed = allowed.join(", ");
                    format!("unknown outcome class `{class}`; allowed: {allowed}")
                }
            };
            ok &= self.fail(item, &item_path, &message);
        }
        ok.then_some(classes)
    }

    /// Records an error; returns `false` so callers can write `ok &= self.fail(..)`.
    fn fail(&mut self, node: &Node, path: &str, message: &str) -> bool {
        self.error(node.line, path, message);
        false
    }
}

/// Integers and floats alike: `multiplier: 2` and `multiplier: 2.0` mean the same.
fn number(node: &Node) -> Option<f64> {
    match node.value {
        // Inexact only above 2^53, far beyond any sensible multiplier or jitter.
        Value::Int(i) => Some(i as f64),
        Value::Float(f) => Some(f),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
