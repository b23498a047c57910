//! Checking an output against its declared schema: host work done for the plugin, so it runs
//! within the attempt's remaining wall time, and on threads with a large stack kept for it, so
//! that however the schema recurses (bounded at load, see [`crate::schema_bounds`]) it cannot
//! overflow the stack of a thread the host's other work runs on. The threads are started once:
//! one started per check cost more than the rest of an attempt (about 150 µs).

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::outcome::{Outcome, cap_message};

/// Schema violations listed in a bad-output message.
const MAX_SCHEMA_ERRORS: usize = 3;
/// Stack of a validation thread. Reserved, not committed: only the pages a deep validation
/// touches cost memory.
const VALIDATION_STACK_BYTES: usize = 64 << 20;

/// Outputs up to this size and nesting are checked on the attempt's own thread: a hand-off to a
/// checking thread costs more (about 85 µs) than checking them. The check's recursion is then
/// bounded by the schema's depth (at most 64, see [`crate::schema_bounds`]) plus this nesting,
/// well within any thread's stack, and its time by the small output (and by the regex engine's
/// backtracking limit).
const INLINE_OUTPUT_BYTES: usize = 16 << 10;
/// See [`INLINE_OUTPUT_BYTES`].
const INLINE_OUTPUT_DEPTH: usize = 32;

/// A check to run: it sends its own result.
type Job = Box<dyn FnOnce() + Send>;

/// The threads that check outputs.
pub(crate) struct Checkers {
    jobs: Mutex<Sender<Job>>,
}

impl Checkers {
    /// `threads` checking threads (at least one), each with a large stack.
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name("weft-validate".into())
                .stack_size(VALIDATION_STACK_BYTES)
                .spawn(move || work(&queue))?;
        }
        Ok(Self {
            jobs: Mutex::new(jobs),
        })
    }

    fn submit(&self, job: Job) -> bool {
        self.jobs
            .lock()
            .map(|jobs| jobs.send(job).is_ok())
            .unwrap_or(false)
    }
}

/// Runs jobs until the runtime (holding the sender) is dropped.
fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// Validates `value` (the parsed `output`) with `validator` on one of `checkers`, within
/// `remaining` of the attempt's wall time (`limit`). `redact` is applied to the violation
/// message, which quotes the output.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site, each argument named there"
)]
pub(crate) async fn validate_output(
    checkers: &Checkers,
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
    if output.len() <= INLINE_OUTPUT_BYTES && nesting_within(&value, INLINE_OUTPUT_DEPTH) {
        let errors = violations(&validator, &value);
        return verdict(operation, output, errors, redact);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let submitted = checkers.submit(Box::new(move || {
        let _ = tx.send(violations(&validator, &value));
    }));
    if !submitted {
        return Outcome::PluginRetryable {
            message: "the host could not check the output; retry later".into(),
            retry_after: None,
        };
    }
    // Past the deadline the check finishes on its own; the attempt does not wait for it.
    match tokio::time::timeout(remaining, rx).await {
        Err(_) => Outcome::Timeout { limit },
        Ok(Err(_)) => Outcome::PluginRetryable {
            message: "the host's check of the output stopped; retry later".into(),
            retry_after: None,
        },
        Ok(Ok(errors)) => verdict(operation, output, errors, redact),
    }
}

fn violations(validator: &jsonschema::Validator, value: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .take(MAX_SCHEMA_ERRORS)
        .map(|e| format!("at `{}`: {e}", e.instance_path()))
        .collect()
}

fn verdict(
    operation: &str,
    output: String,
    errors: Vec<String>,
    redact: impl FnOnce(String) -> String,
) -> Outcome {
    if errors.is_empty() {
        return Outcome::Ok { output };
    }
    Outcome::BadOutput {
        message: cap_message(redact(format!(
            "output does not match the declared schema of `{operation}`: {}",
            errors.join("; ")
        ))),
    }
}

/// Whether `value` nests at most `max` arrays and objects deep (walked without recursion).
fn nesting_within(value: &serde_json::Value, max: usize) -> bool {
    let mut pending = vec![(value, 0usize)];
    while let Some((v, depth)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &serde_json::Value>> = match v {
            serde_json::Value::Array(items) => Box::new(items.iter()),
            serde_json::Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth >= max {
            return false;
        }
        pending.extend(children.map(|c| (c, depth + 1)));
    }
    true
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nesting_is_measured_without_recursion() {
        assert!(nesting_within(&json!({"a": [1, {"b": 2}]}), 3));
        assert!(!nesting_within(&json!({"a": [1, {"b": [3]}]}), 3));
        let mut deep = json!(0);
        for _ in 0..1_000 {
            deep = json!([deep]);
        }
        assert!(!nesting_within(&deep, INLINE_OUTPUT_DEPTH));
    }
}
