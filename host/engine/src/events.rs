//! History events: every transition of a run, appended in the transaction that makes it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use weft_concepts::OutcomeClass;

use crate::state::Reason;

/// One event in a run's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Event {
    /// The run was created.
    RunStarted {
        /// Definition name.
        definition: String,
        /// Definition version.
        version: i32,
        /// Business key.
        business_key: String,
        /// The run's input.
        input: serde_json::Value,
        /// Plugin name -> sha256 the run is pinned to.
        plugins: serde_json::Value,
    },
    /// A step's work was scheduled.
    StepScheduled {
        /// Step.
        step: String,
        /// Attempt number.
        attempt: i32,
        /// When it is due.
        due_at: DateTime<Utc>,
    },
    /// A step was skipped because its `when` was false.
    StepSkipped {
        /// Step.
        step: String,
    },
    /// An attempt began (recorded with its result, stamped with when it began).
    AttemptStarted {
        /// Step.
        step: String,
        /// Attempt number.
        attempt: i32,
        /// When it began.
        started_at: DateTime<Utc>,
        /// Whether it belongs to the step's compensation rather than the step itself.
        #[serde(default, skip_serializing_if = "is_false")]
        compensation: bool,
    },
    /// A host lost its lease on this work (it crashed or stalled); another took over.
    LeaseExpired {
        /// Step.
        step: String,
        /// Attempt number.
        attempt: i32,
        /// The host that held it.
        owner: String,
        /// Whether it belongs to the step's compensation rather than the step itself.
        #[serde(default, skip_serializing_if = "is_false")]
        compensation: bool,
    },
    /// A step completed.
    StepCompleted {
        /// Step.
        step: String,
        /// Attempt number.
        attempt: i32,
        /// Its output.
        output: serde_json::Value,
    },
    /// An attempt failed.
    AttemptFailed {
        /// Step.
        step: String,
        /// Attempt number.
        attempt: i32,
        /// Outcome class (`plugin-retryable`, `timeout`, ...).
        class: OutcomeClass,
        /// What went wrong.
        message: String,
        /// Whether it belongs to the step's compensation rather than the step itself.
        #[serde(default, skip_serializing_if = "is_false")]
        compensation: bool,
        /// Whether the attempt may have taken effect: it sent a request (whatever came back).
        /// A step that fails for good after such an attempt is compensated too.
        #[serde(default, skip_serializing_if = "is_false")]
        reached: bool,
    },
    /// Another attempt was scheduled.
    RetryScheduled {
        /// Step.
        step: String,
        /// The next attempt's number.
        attempt: i32,
        /// When it is due.
        due_at: DateTime<Utc>,
        /// Whether it belongs to the step's compensation rather than the step itself.
        #[serde(default, skip_serializing_if = "is_false")]
        compensation: bool,
    },
    /// A wait step started waiting for a signal.
    WaitStarted {
        /// Step.
        step: String,
        /// Signal name.
        signal: String,
        /// When it gives up, if ever.
        deadline: Option<DateTime<Utc>>,
    },
    /// A signal arrived for the run.
    SignalReceived {
        /// Signal name.
        name: String,
        /// The sender's id for it (a delivery id), when given: a repeat is taken once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// A wait step took its signal.
    SignalConsumed {
        /// Step.
        step: String,
        /// Signal name.
        name: String,
    },
    /// A wait step's deadline passed without its signal.
    WaitTimedOut {
        /// Step.
        step: String,
        /// Signal name.
        signal: String,
    },
    /// A sleep step's timer fired.
    TimerFired {
        /// Step.
        step: String,
    },
    /// The run began undoing its completed steps.
    CompensationStarted {
        /// Why: the forward step that failed for good.
        reason: Reason,
    },
    /// A step's compensation completed.
    CompensationCompleted {
        /// The step undone.
        step: String,
        /// Attempt number.
        attempt: i32,
        /// What the compensation returned (a credit note, a cancellation id).
        #[serde(default)]
        output: serde_json::Value,
    },
    /// A step's compensation failed for good.
    CompensationFailed {
        /// The step that could not be undone.
        step: String,
        /// Outcome class.
        class: OutcomeClass,
        /// What went wrong.
        message: String,
    },
    /// The run finished.
    RunCompleted,
    /// The run failed with nothing to compensate, or was abandoned.
    RunFailed {
        /// Why.
        message: String,
    },
    /// Every completed step was compensated.
    RunCompensated,
    /// The run stopped for an operator.
    RunParked {
        /// Why.
        reason: Reason,
    },
    /// The run was cancelled.
    RunCancelled,
    /// An operator acted on the run.
    OperatorAction {
        /// `retry`, `compensate`, `abandon` or `cancel`.
        action: String,
        /// Who.
        by: String,
        /// Why.
        why: String,
        /// What changed, e.g. re-pinned plugins.
        detail: serde_json::Value,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}
