//! The undo half of a saga: compensations of what took effect, latest first, durable steps
//! themselves, ending the run `compensated`, `failed`, `cancelled` or parked.

use weft_concepts::{OutcomeClass, WorkKind};

use super::{Failure, Retried, Transition};
use weft_definition::StepKind;

use crate::events::Event;
use crate::state::{Phase, Reason, RunCore};

impl Transition<'_> {
    /// Begins undoing completed steps in reverse order.
    pub fn start_compensation(&mut self, reason: Reason) {
        self.emit(Event::CompensationStarted { reason });
        self.next_compensation();
    }

    /// Schedules the next compensation, or ends the run when none is left: `cancelled` when an
    /// operator cancelled it, `compensated` when something was undone, else `failed`. Steps that
    /// completed and steps whose attempts may have taken effect are undone, latest first.
    pub fn next_compensation(&mut self) {
        let core: &RunCore = &self.run.core;
        let next = core.completed.iter().rev().find(|id| {
            !core.compensated.contains(id)
                && matches!(self.step(id).map(|s| &s.kind), Some(StepKind::Call(c)) if c.compensate.is_some())
        });
        if let Some(id) = next.cloned() {
            let now = self.now;
            self.schedule(WorkKind::Compensate, &id, 1, now);
            return;
        }
        let cancelled = self
            .run
            .core
            .reason
            .as_ref()
            .is_some_and(|r| r.class == OutcomeClass::Cancelled);
        if cancelled {
            self.emit(Event::RunCancelled);
        } else if self.run.core.compensated.is_empty() {
            let message = self
                .run
                .core
                .reason
                .as_ref()
                .map(|r| r.message.clone())
                .unwrap_or_default();
            self.emit(Event::RunFailed { message });
        } else {
            self.emit(Event::RunCompensated);
        }
    }

    /// A compensation completed with `output`.
    pub fn compensation_succeeded(&mut self, step: &str, attempt: i32, output: serde_json::Value) {
        self.emit(Event::CompensationCompleted {
            step: step.to_owned(),
            attempt,
            output,
        });
        self.next_compensation();
    }

    /// A compensation attempt failed: retry per the step's policy, or park the run.
    pub fn compensation_failed(&mut self, step: &str, attempt: i32, failure: Failure) {
        let failure =
            match self.record_failure_and_retry(WorkKind::Compensate, step, attempt, &failure) {
                Some(Retried::Yes) => return,
                Some(Retried::Park(why)) => Failure {
                    message: why,
                    ..failure
                },
                None => failure,
            };
        self.emit(Event::CompensationFailed {
            step: step.to_owned(),
            class: failure.class,
            message: failure.message.clone(),
        });
        self.park_compensation(step, failure);
    }

    /// Stops a compensating run for an operator: the compensation of `step` cannot finish. The
    /// reason keeps the forward step that failed, for a later compensate or abandon.
    pub fn park_compensation(&mut self, step: &str, failure: Failure) {
        let current = self.run.core.reason.as_ref();
        let failed_step = current.map(|r| r.failed_step.clone()).unwrap_or_default();
        let compensation_reached =
            failure.reached || current.is_some_and(|r| r.compensation_reached);
        self.emit(Event::RunParked {
            reason: Reason {
                step: step.to_owned(),
                class: failure.class,
                message: failure.message,
                phase: Phase::Compensation,
                failed_step,
                compensation_reached,
            },
        });
    }

    /// Schedules a compensation again (an operator's compensate after a park in compensation).
    pub fn reschedule_compensation(&mut self, step: &str) {
        let now = self.now;
        self.schedule(WorkKind::Compensate, step, 1, now);
    }
}
