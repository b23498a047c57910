//! Turning what happened in an attempt into its one classified [`Outcome`].

use std::time::Duration;

use wasmtime::Trap;

use crate::bindings::types::PluginError;
use crate::limits::Limits;
use crate::outcome::{Outcome, cap_message};
use crate::plugin::LoadedPlugin;
use crate::runtime::AttemptRequest;
use crate::state::AttemptState;
use crate::storable::{storable_text, unstorable_at};

/// Schema violations listed in a bad-output message.
const MAX_SCHEMA_ERRORS: usize = 3;

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
        let known: Vec<&str> = plugin
            .manifest
            .operations
            .iter()
            .map(|o| o.name.as_str())
            .collect();
        return Some(Outcome::InvalidInput {
            message: format!(
                "plugin {} has no operation `{}`; it has: {}",
                plugin.id(),
                request.operation,
                known.join(", ")
            ),
            field: None,
        });
    }
    None
}

/// A trap, or a limit breach surfacing as one. The meters say which limit, if any.
pub(crate) fn trap_outcome(state: &AttemptState, error: &wasmtime::Error) -> Outcome {
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

/// An error the plugin returned itself.
pub(crate) fn plugin_error(e: PluginError) -> Outcome {
    match e {
        PluginError::Retryable(r) => Outcome::PluginRetryable {
            message: cap_message(r.message),
            retry_after: r.retry_after_ms.map(Duration::from_millis),
        },
        PluginError::Permanent(p) => Outcome::PluginPermanent {
            code: cap_message(p.code),
            message: cap_message(p.message),
        },
        PluginError::InvalidInput(i) => Outcome::InvalidInput {
            message: cap_message(i.message),
            field: i.field.map(cap_message),
        },
    }
}

/// Output must fit the limit, be JSON, and match the operation's declared schema.
pub(crate) fn check_output(
    plugin: &LoadedPlugin,
    operation: &str,
    output: String,
    state: &AttemptState,
) -> Outcome {
    let size = output.len() as u64;
    let limit = state.limits.max_output_bytes;
    if size > limit {
        return Outcome::OutputTooLarge { size, limit };
    }
    let output = state.grants.redact(output);
    let value: serde_json::Value = match serde_json::from_str(&output) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::BadOutput {
                message: format!("output is not JSON: {e}"),
            };
        }
    };
    // In JSON text the character can only appear escaped; most outputs need no walk.
    if output.contains("\\u0000")
        && let Some(at) = unstorable_at(&value)
    {
        return Outcome::BadOutput {
            message: format!(
                "output holds the character U+0000 at `{}`, which cannot be stored; \
                 remove it or encode the data (base64)",
                storable_text(at)
            ),
        };
    }
    if let Some(validator) = plugin.validators.get(operation) {
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .take(MAX_SCHEMA_ERRORS)
            .map(|e| format!("at `{}`: {e}", e.instance_path()))
            .collect();
        if !errors.is_empty() {
            return Outcome::BadOutput {
                message: cap_message(format!(
                    "output does not match the declared schema of `{operation}`: {}",
                    errors.join("; ")
                )),
            };
        }
    }
    Outcome::Ok { output }
}

/// An error and its causes on one line.
pub(crate) fn chain(e: &wasmtime::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}
