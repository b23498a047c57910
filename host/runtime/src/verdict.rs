//! Turning what happened in an attempt into its one classified [`Outcome`].

use std::sync::Arc;
use std::time::Duration;

use wasmtime::Trap;

use crate::bindings::types::PluginError;
use crate::limits::Limits;
use crate::outcome::{Outcome, cap_message, cut_text};
use crate::plugin::LoadedPlugin;
use crate::runtime::AttemptRequest;
use crate::state::{AttemptState, Grants};
use crate::storable::{storable_text, unstorable_at};

/// Operations listed when an unknown one is asked for.
const MAX_LISTED_OPERATIONS: usize = 20;

/// Refusals decided before any instance is made: oversized input, unknown operation.
pub(crate) fn refuse_early(
    plugin: &LoadedPlugin,
    request: &AttemptRequest,
    limits: &Limits,
) -> Option<Outcome> {
    let size = request.input.len() as u64;
    if size > limits.max_input_bytes {
        return Some(Outcome::InvalidInput {
            message: format!(
                "input is {size} bytes; the limit is {} (max_input_bytes)",
                limits.max_input_bytes
            ),
            field: None,
        });
    }
    if plugin.operation(&request.operation).is_none() {
        let ops = &plugin.manifest.operations;
        let mut known: Vec<&str> = ops
            .iter()
            .take(MAX_LISTED_OPERATIONS)
            .map(|o| o.name.as_str())
            .collect();
        let more = format!(
            "and {} more",
            ops.len().saturating_sub(MAX_LISTED_OPERATIONS)
        );
        if ops.len() > MAX_LISTED_OPERATIONS {
            known.push(&more);
        }
        return Some(Outcome::InvalidInput {
            message: cap_message(format!(
                "plugin {} has no operation `{}`; it has: {}",
                plugin.id(),
                cut_text(request.operation.clone(), 128),
                known.join(", ")
            )),
            field: None,
        });
    }
    None
}

/// A trap, or a limit breach surfacing as one. The meters say which limit, if any.
pub(crate) fn trap_outcome(state: &AttemptState, error: &wasmtime::Error) -> Outcome {
    // A host call that ended the attempt said why.
    if let Some(outcome) = &state.ended {
        return outcome.clone();
    }
    if state.memory.exceeded {
        return Outcome::MemoryExceeded {
            limit: state.memory.limit,
        };
    }
    if state.cpu.exceeded {
        return Outcome::CpuExceeded {
            limit: state.cpu.limit,
        };
    }
    let what = match error.downcast_ref::<Trap>() {
        Some(Trap::StackOverflow) => "stack overflow (recursion too deep)".to_owned(),
        Some(trap) => trap.to_string(),
        None => format!("host error: {}", chain(error)),
    };
    let message = match state.stderr_text() {
        // Rust prints the panic message to stderr before aborting; that is what the operator
        // needs, more than "unreachable".
        Some(stderr) => format!("{}; {what}", panic_text(&stderr)),
        None => what,
    };
    Outcome::Trap {
        message: cap_message(message),
    }
}

/// The panic lines of a Rust guest's stderr, without the backtrace hint.
fn panic_text(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An error the plugin returned itself. Its texts are redacted as outputs are: a plugin that
/// reassembled a secret must not store it in the run's history or reason.
pub(crate) fn plugin_error(e: PluginError, grants: &Grants) -> Outcome {
    let text = |t: String| cap_message(grants.redact(t));
    match e {
        PluginError::Retryable(r) => Outcome::PluginRetryable {
            message: text(r.message),
            retry_after: r.retry_after_ms.map(Duration::from_millis),
        },
        PluginError::Permanent(p) => Outcome::PluginPermanent {
            code: text(p.code),
            message: text(p.message),
        },
        PluginError::InvalidInput(i) => Outcome::InvalidInput {
            message: text(i.message),
            field: i.field.map(text),
        },
    }
}

/// What the checks of an output done on the attempt's task decided: an outcome, or a schema
/// validation still to run (see [`crate::validate`]).
pub(crate) enum Checked {
    Done(Outcome),
    Validate {
        output: String,
        value: serde_json::Value,
        validator: Arc<jsonschema::Validator>,
    },
}

/// Output must fit the limit, be JSON, and match the operation's declared schema; the schema
/// check is left to the caller.
pub(crate) fn check_output(
    plugin: &LoadedPlugin,
    operation: &str,
    output: String,
    state: &AttemptState,
) -> Checked {
    match check_output_text(plugin, operation, output, state) {
        Ok((output, value, Some(validator))) => Checked::Validate {
            output,
            value,
            validator,
        },
        Ok((output, _, None)) => Checked::Done(Outcome::Ok { output }),
        Err(outcome) => Checked::Done(outcome),
    }
}

type Parsed = (
    String,
    serde_json::Value,
    Option<Arc<jsonschema::Validator>>,
);

fn check_output_text(
    plugin: &LoadedPlugin,
    operation: &str,
    output: String,
    state: &AttemptState,
) -> Result<Parsed, Outcome> {
    let size = output.len() as u64;
    let limit = state.limits.max_output_bytes;
    if size > limit {
        return Err(Outcome::OutputTooLarge { size, limit });
    }
    // Outputs reach later steps, which a plugin controls: only the secrets this attempt sent
    // are searched for, so that redaction reveals nothing about the others (see `redact`).
    let output = state.grants.redact_for_plugin(output);
    let mut value: serde_json::Value = match serde_json::from_str(&output) {
        Ok(v) => v,
        Err(e) => {
            return Err(Outcome::BadOutput {
                message: format!("output is not JSON: {e}"),
            });
        }
    };
    // In JSON text the character can only appear escaped; most outputs need no walk.
    if output.contains("\\u0000")
        && let Some(at) = unstorable_at(&value)
    {
        return Err(Outcome::BadOutput {
            message: format!(
                "output holds the character U+0000 at `{}`, which cannot be stored; \
                 remove it or encode the data (base64)",
                storable_text(at)
            ),
        });
    }
    // The text is redacted above; a string may also spell a secret with `\u` escapes, which
    // only the decoded value shows.
    let output = if redact_strings(&mut value, &state.grants) {
        serde_json::to_string(&value).unwrap_or(output)
    } else {
        output
    };
    let validator = plugin.validators.get(operation).cloned();
    Ok((output, value, validator))
}

/// Redacts every string and key of `value` in place; returns whether anything changed. The
/// value was parsed from JSON, so its depth is at most 128.
fn redact_strings(value: &mut serde_json::Value, grants: &Grants) -> bool {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            let redacted = grants.redact_for_plugin(s.clone());
            let changed = redacted != *s;
            *s = redacted;
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| redact_strings(v, grants) | changed),
        Value::Object(map) => {
            let mut changed = false;
            let entries = std::mem::take(map);
            for (key, mut v) in entries {
                let redacted = grants.redact_for_plugin(key.clone());
                changed |= redacted != key;
                changed |= redact_strings(&mut v, grants);
                map.insert(redacted, v);
            }
            changed
        }
        _ => false,
    }
}

/// An error and its causes on one line.
pub(crate) fn chain(e: &wasmtime::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}
