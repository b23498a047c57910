//! What executing a work item produced, and how it folds into the run's transition: the same
//! for the one-statement commit and the commit under the run's lock.

use chrono::{DateTime, Utc};
use weft_runtime::{AttemptReport, AuditOutcome, AuditRecord, Outcome};
use weft_store::work::WorkItem;

use weft_concepts::{OutcomeClass, WorkKind};

use crate::decide::{Failure, Transition};
use crate::events::Event;

/// What executing an item produced, before it is committed.
pub(crate) enum Executed {
    /// An attempt of a call or compensation ran.
    Attempt {
        report: Box<AttemptReport>,
        started_at: DateTime<Utc>,
    },
    /// The call could not be attempted (input reference missing): a permanent failure.
    NotAttempted(Failure),
    /// The item cannot go on without an operator (its plugin does not load, or it was claimed
    /// too often without finishing): the run parks.
    Park(Failure),
    /// Sleep and wait items decide inside the commit transaction.
    Timer,
}

impl Executed {
    /// The outbound calls the attempt made.
    pub(crate) fn calls(&self) -> &[AuditRecord] {
        match self {
            Self::Attempt { report, .. } => &report.calls,
            _ => &[],
        }
    }
}

/// Folds an executed item's result into the run's transition.
pub(crate) fn apply(t: &mut Transition<'_>, item: &WorkItem, result: &Executed) {
    note_lease_loss(t, item);
    let compensating = item.kind == WorkKind::Compensate;
    match result {
        Executed::Timer if item.kind == WorkKind::Sleep => {
            t.emit(Event::TimerFired {
                step: item.step_id.clone(),
            });
            t.step_succeeded(&item.step_id, item.attempt, serde_json::Value::Null);
        }
        Executed::Timer => {}
        Executed::Park(f) if compensating => t.park_compensation(&item.step_id, f.clone()),
        Executed::Park(f) => t.park(&item.step_id, f.clone()),
        Executed::NotAttempted(f) if compensating => {
            t.compensation_failed(&item.step_id, item.attempt, f.clone())
        }
        Executed::NotAttempted(f) => t.step_failed(&item.step_id, item.attempt, f.clone()),
        Executed::Attempt { report, started_at } => {
            t.emit(Event::AttemptStarted {
                step: item.step_id.clone(),
                attempt: item.attempt,
                started_at: *started_at,
                compensation: compensating,
            });
            match &report.outcome {
                Outcome::Ok { output } => {
                    let value = serde_json::from_str(output).unwrap_or(serde_json::Value::Null);
                    if compensating {
                        t.compensation_succeeded(&item.step_id, item.attempt, value);
                    } else {
                        t.step_succeeded(&item.step_id, item.attempt, value);
                    }
                }
                other => {
                    let retry_after = match other {
                        Outcome::PluginRetryable { retry_after, .. } => *retry_after,
                        _ => None,
                    };
                    let f = Failure {
                        class: other.class(),
                        message: other.describe(),
                        retry_after,
                        reached: report
                            .calls
                            .iter()
                            .any(|c| !matches!(c.outcome, AuditOutcome::Refused(_))),
                    };
                    if compensating {
                        t.compensation_failed(&item.step_id, item.attempt, f);
                    } else {
                        t.step_failed(&item.step_id, item.attempt, f);
                    }
                }
            }
        }
    }
}

pub(crate) fn note_lease_loss(t: &mut Transition<'_>, item: &WorkItem) {
    if let Some(owner) = &item.previous_owner {
        t.emit(Event::LeaseExpired {
            step: item.step_id.clone(),
            attempt: item.attempt,
            owner: owner.clone(),
            compensation: item.kind == WorkKind::Compensate,
        });
    }
}

pub(crate) fn failure(class: OutcomeClass, message: String) -> Failure {
    Failure {
        class,
        message,
        retry_after: None,
        reached: false,
    }
}
