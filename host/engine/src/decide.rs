//! How a run moves on: pure decisions from what happened to the events to append and the work to
//! schedule. The engine applies a [`Transition`] in one transaction. Every change to the run's
//! state goes through an event ([`RunCore::apply`]), so history always rebuilds the state.

use std::time::Duration;

use chrono::{DateTime, Utc};
use weft_concepts::{OutcomeClass, WorkKind};
use weft_definition::{Definition, Scope, Step, StepKind, is_truthy, resolve_reference};
use weft_store::work::NewWork;

use crate::events::Event;
use crate::state::{Phase, Reason, Run, RunStatus};

mod backoff;
mod compensate;

pub use backoff::backoff;

/// The longest a remote may ask a run to wait before its next attempt (`Retry-After`). Longer
/// is not a retry but an outage or a hostile answer: the run parks for an operator instead of
/// sitting `running` with an attempt due in years.
pub const RETRY_AFTER_CEILING: Duration = Duration::from_secs(24 * 3600);

/// What the policy says about a failed attempt.
enum Retry {
    /// Attempt again at this time.
    At(DateTime<Utc>),
    /// The failure is final.
    No,
    /// Retrying would mean waiting past what the engine accepts: park, saying why.
    Park(String),
}

/// A failed attempt, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Outcome class.
    pub class: OutcomeClass,
    /// What went wrong.
    pub message: String,
    /// The plugin asked to wait at least this long.
    pub retry_after: Option<Duration>,
    /// The attempt sent a request, so it may have taken effect whatever it returned.
    pub reached: bool,
}

/// Events and work produced by one state change of one run.
pub struct Transition<'a> {
    definition: &'a Definition,
    /// The run, updated as events are emitted.
    pub run: &'a mut Run,
    now: DateTime<Utc>,
    /// Events to append, with their times.
    pub events: Vec<(DateTime<Utc>, Event)>,
    /// Work to schedule.
    pub work: Vec<NewWork>,
}

impl<'a> Transition<'a> {
    /// Starts a transition of `run` at `now`.
    pub fn new(definition: &'a Definition, run: &'a mut Run, now: DateTime<Utc>) -> Self {
        Self {
            definition,
            run,
            now,
            events: Vec::new(),
            work: Vec::new(),
        }
    }

    /// Appends `event` and applies it to the run.
    pub fn emit(&mut self, event: Event) {
        self.run.core.apply(self.definition, &event);
        self.events.push((self.now, event));
    }

    fn schedule(&mut self, kind: WorkKind, step: &str, attempt: i32, due: DateTime<Utc>) {
        self.schedule_until(kind, step, attempt, due, None);
    }

    fn schedule_until(
        &mut self,
        kind: WorkKind,
        step: &str,
        attempt: i32,
        due: DateTime<Utc>,
        deadline: Option<DateTime<Utc>>,
    ) {
        self.work.push(NewWork {
            kind,
            step_id: step.to_owned(),
            attempt,
            available_at: due,
            deadline,
        });
    }

    fn step(&self, id: &str) -> Option<&'a Step> {
        self.definition.steps.iter().find(|s| s.id == id)
    }

    /// Schedules the first step to run after `after` (from the start when `None`), skipping
    /// steps whose `when` is false; completes the run when none is left.
    pub fn advance(&mut self, after: Option<&str>) {
        let start = match after {
            Some(id) => self
                .definition
                .steps
                .iter()
                .position(|s| s.id == id)
                .map_or(0, |i| i + 1),
            None => 0,
        };
        for step in &self.definition.steps[start..] {
            if let Some(when) = &step.when {
                let scope = Scope {
                    input: &self.run.input,
                    outputs: &self.run.core.outputs,
                };
                if !is_truthy(resolve_reference(when, &scope)) {
                    self.emit(Event::StepSkipped {
                        step: step.id.clone(),
                    });
                    continue;
                }
            }
            self.begin(step);
            return;
        }
        self.emit(Event::RunCompleted);
    }

    /// Schedules `step`'s first attempt: a call now, a sleep's timer, a wait for its signal.
    fn begin(&mut self, step: &Step) {
        let now = self.now;
        match &step.kind {
            StepKind::Call(_) => {
                self.emit(Event::StepScheduled {
                    step: step.id.clone(),
                    attempt: 1,
                    due_at: now,
                });
                self.schedule(WorkKind::Call, &step.id, 1, now);
            }
            StepKind::Sleep { duration } => {
                let Some(due) = later(now, *duration) else {
                    self.park(&step.id, out_of_range("sleep", *duration));
                    return;
                };
                self.emit(Event::StepScheduled {
                    step: step.id.clone(),
                    attempt: 1,
                    due_at: due,
                });
                self.schedule(WorkKind::Sleep, &step.id, 1, due);
            }
            StepKind::Wait { signal, timeout } => {
                let deadline = match timeout {
                    None => None,
                    Some(t) => match later(now, *t) {
                        Some(d) => Some(d),
                        None => {
                            self.park(&step.id, out_of_range("wait timeout", *t));
                            return;
                        }
                    },
                };
                self.emit(Event::StepScheduled {
                    step: step.id.clone(),
                    attempt: 1,
                    due_at: now,
                });
                self.emit(Event::WaitStarted {
                    step: step.id.clone(),
                    signal: signal.clone(),
                    deadline,
                });
                // Due now: a signal may have arrived before the run got here.
                self.schedule_until(WorkKind::Wait, &step.id, 1, now, deadline);
            }
        }
    }

    /// A forward step produced `output`. On a run cancelled while the step was in flight, the
    /// result is recorded (so it is compensated) and the compensation begins.
    pub fn step_succeeded(&mut self, step: &str, attempt: i32, output: serde_json::Value) {
        self.emit(Event::StepCompleted {
            step: step.to_owned(),
            attempt,
            output,
        });
        if self.run.core.status == RunStatus::Compensating {
            self.next_compensation();
        } else {
            self.advance(Some(step));
        }
    }

    /// A forward step's attempt failed: retry per its policy, or compensate. On a run cancelled
    /// while the step was in flight, the failure is recorded and the compensation begins.
    pub fn step_failed(&mut self, step: &str, attempt: i32, failure: Failure) {
        if self.run.core.status == RunStatus::Compensating {
            self.emit(Event::AttemptFailed {
                step: step.to_owned(),
                attempt,
                class: failure.class,
                message: failure.message,
                reached: failure.reached,
                compensation: false,
            });
            self.next_compensation();
            return;
        }
        match self.record_failure_and_retry(WorkKind::Call, step, attempt, &failure) {
            Some(Retried::Yes) => return,
            Some(Retried::Park(why)) => {
                self.park(
                    step,
                    Failure {
                        message: why,
                        ..failure
                    },
                );
                return;
            }
            None => {}
        }
        self.start_compensation(Reason {
            step: step.to_owned(),
            class: failure.class,
            message: failure.message,
            phase: Phase::Forward,
            failed_step: step.to_owned(),
            compensation_reached: false,
        });
    }

    /// Records a failed attempt and schedules the next one of `kind` if the step's policy
    /// allows; `None` when the failure is final.
    fn record_failure_and_retry(
        &mut self,
        kind: WorkKind,
        step: &str,
        attempt: i32,
        failure: &Failure,
    ) -> Option<Retried> {
        let compensation = kind == WorkKind::Compensate;
        self.emit(Event::AttemptFailed {
            step: step.to_owned(),
            attempt,
            class: failure.class,
            message: failure.message.clone(),
            reached: failure.reached,
            compensation,
        });
        let due = match self.retry_due(step, attempt, failure) {
            Retry::At(due) => due,
            Retry::No => return None,
            Retry::Park(why) => return Some(Retried::Park(why)),
        };
        let next = attempt + 1;
        self.emit(Event::RetryScheduled {
            step: step.to_owned(),
            attempt: next,
            due_at: due,
            compensation,
        });
        self.schedule(kind, step, next, due);
        Some(Retried::Yes)
    }

    /// When the next attempt is due, if ever.
    fn retry_due(&self, step: &str, attempt: i32, failure: &Failure) -> Retry {
        let policy = match self.step(step).map(|s| &s.kind) {
            Some(StepKind::Call(call)) => &call.retry,
            _ => return Retry::No,
        };
        let retryable =
            !failure.class.never_retried() && !policy.non_retryable.contains(&failure.class);
        if !retryable || attempt >= i32::try_from(policy.max_attempts).unwrap_or(i32::MAX) {
            return Retry::No;
        }
        let asked = failure.retry_after.unwrap_or_default();
        if asked > RETRY_AFTER_CEILING {
            return Retry::Park(format!(
                "{}; the remote asked to wait {} s before the next attempt, more than the \
                 engine's ceiling of {} s: check the remote, then retry the run",
                failure.message,
                asked.as_secs(),
                RETRY_AFTER_CEILING.as_secs()
            ));
        }
        let seed = format!("{}/{step}/{attempt}", self.run.id);
        let delay = backoff(policy, attempt, &seed).max(asked);
        match later(self.now, delay) {
            Some(due) => Retry::At(due),
            None => Retry::Park(format!(
                "{}; the retry policy's delay of {} s is out of range: fix the definition",
                failure.message,
                delay.as_secs()
            )),
        }
    }

    /// Stops the run for an operator without compensating (the step cannot even be attempted,
    /// e.g. its plugin does not load: compensation would need plugins too).
    pub fn park(&mut self, step: &str, failure: Failure) {
        self.emit(Event::RunParked {
            reason: Reason {
                step: step.to_owned(),
                class: failure.class,
                message: failure.message,
                phase: Phase::Forward,
                failed_step: step.to_owned(),
                compensation_reached: false,
            },
        });
    }

    /// Schedules a forward step again (an operator's retry): a call, a wait (for its signal,
    /// with a fresh deadline) or a sleep, as it first was.
    pub fn reschedule(&mut self, step: &str) {
        match self.step(step) {
            Some(s) => self.begin(s),
            None => self.park(
                step,
                Failure {
                    class: OutcomeClass::Internal,
                    message: format!("the definition has no step `{step}` to retry"),
                    retry_after: None,
                    reached: false,
                },
            ),
        }
    }
}

/// `now + d`, or `None` when that is past what a timestamp can hold. Delays come from plugins
/// (`Retry-After`) and definitions, so an absurd one must park a run, never panic a worker.
pub fn later(now: DateTime<Utc>, d: Duration) -> Option<DateTime<Utc>> {
    now.checked_add_signed(chrono::Duration::from_std(d).ok()?)
}

/// Whether a failed attempt was retried.
enum Retried {
    /// The next attempt is scheduled.
    Yes,
    /// It cannot be: the run parks with this message.
    Park(String),
}

fn out_of_range(what: &str, d: Duration) -> Failure {
    Failure {
        class: OutcomeClass::Internal,
        message: format!(
            "the {what} of {} s is out of range; fix the definition, then retry the run",
            d.as_secs()
        ),
        retry_after: None,
        reached: false,
    }
}
