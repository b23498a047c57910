//! Checking an output against its declared schema: host work done for the plugin, so it runs
//! within the attempt's remaining wall time, and on a thread of its own with a large stack, so
//! that however the schema recurses (bounded at load, see [`crate::schema_bounds`]) it cannot
//! overflow the stack of a thread the host's other work runs on.

use std::sync::Arc;
use std::time::Duration;

use crate::outcome::{Outcome, cap_message};

/// Schema violations listed in a bad-output message.
const MAX_SCHEMA_ERRORS: usize = 3;
/// Stack of a validation thread. Reserved, not committed: only the pages a deep validation
/// touches cost memory.
const VALIDATION_STACK_BYTES: usize = 64 << 20;

/// Validates `value` (the parsed `output`) with `validator`, within `remaining` of the attempt's
/// wall time (`limit`). `redact` is applied to the violation message, which quotes the output.
pub(crate) async fn validate_output(
    validator: Arc<jsonschema::Validator>,
    operation: &str,
    output: String,
    value: serde_json::Value,
    remaining: Duration,
    limit: Duration,
    redact: impl FnOnce(String) -> String,
) -> Outcome {
    if remaining.is_zero() {
        return Outcome::Timeout { limit };
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("weft-validate".into())
        .stack_size(VALIDATION_STACK_BYTES)
        .spawn(move || {
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .take(MAX_SCHEMA_ERRORS)
                .map(|e| format!("at `{}`: {e}", e.instance_path()))
                .collect();
            let _ = tx.send(errors);
        });
    if let Err(e) = spawned {
        return Outcome::PluginRetryable {
            message: format!("the host could not check the output ({e}); retry later"),
            retry_after: None,
        };
    }
    // Past the deadline the thread finishes on its own; the attempt does not wait for it.
    match tokio::time::timeout(remaining, rx).await {
        Err(_) => Outcome::Timeout { limit },
        Ok(Err(_)) => Outcome::PluginRetryable {
            message: "the host's check of the output stopped; retry later".into(),
            retry_after: None,
        },
        Ok(Ok(errors)) if errors.is_empty() => Outcome::Ok { output },
        Ok(Ok(errors)) => Outcome::BadOutput {
            message: cap_message(redact(format!(
                "output does not match the declared schema of `{operation}`: {}",
                errors.join("; ")
            ))),
        },
    }
}
