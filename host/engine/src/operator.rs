//! Signals and the operator's actions on runs (dead letters): each one transaction on the
//! locked run, recorded in its history.

use std::collections::BTreeMap;

use uuid::Uuid;
use weft_store::{plugins, runs, signals, work};

use crate::bounds::{
    MAX_ACTOR_BYTES, MAX_REASON_BYTES, MAX_SIGNAL_ID_BYTES, MAX_SIGNAL_NAME_BYTES,
    MAX_SIGNAL_PAYLOAD_BYTES, checked, checked_text,
};
use weft_concepts::WorkKind;

use crate::decide::Transition;
use crate::definitions::plugin_names;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::events::Event;
use crate::state::{Phase, Run, RunStatus};

/// An operator's action on a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorAction {
    /// Run the failed step again (with the tenant's current plugin pins, which must still fit
    /// the run's definition), then carry on. Refused once any compensation was attempted: it may
    /// have taken effect, and going forward would build on undone records.
    Retry,
    /// Undo the steps that took effect (or resume an interrupted compensation).
    Compensate,
    /// Give up: the run fails with nothing more done.
    Abandon,
    /// Stop a pending, running or waiting run as a saga: a step in flight finishes and its
    /// result is recorded, then every step that took effect is compensated, latest first, and
    /// the run ends `cancelled` (or parks, if a compensation cannot finish).
    Cancel,
}

impl OperatorAction {
    fn name(self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::Compensate => "compensate",
            Self::Abandon => "abandon",
            Self::Cancel => "cancel",
        }
    }
}

impl Engine {
    /// Sends signal `name` to a run. A run waiting for it resumes; a run that reaches its wait
    /// later takes it then. With an `id` (a webhook's delivery id), the same signal delivered
    /// twice is taken once: the repeat changes nothing and returns `false`.
    pub async fn signal(
        &self,
        tenant: &str,
        run_id: Uuid,
        name: &str,
        payload: serde_json::Value,
        id: Option<&str>,
    ) -> Result<bool, EngineError> {
        if name.is_empty() {
            return Err(EngineError::InvalidInput("the signal has no name".into()));
        }
        checked_text("the signal's name", name, MAX_SIGNAL_NAME_BYTES)?;
        checked("the signal's payload", &payload, MAX_SIGNAL_PAYLOAD_BYTES)?;
        if let Some(id) = id {
            checked_text("the signal's id", id, MAX_SIGNAL_ID_BYTES)?;
        }
        let mut tx = self.pool.begin().await?;
        runs::get(&mut tx, tenant, run_id).await?;
        let mut run = Run::from_row(runs::lock(&mut tx, run_id).await?)?;
        if run.core.status.is_final() {
            return Err(EngineError::FailedPrecondition(format!(
                "run {run_id} is {}; it takes no more signals",
                run.core.status.as_str()
            )));
        }
        if run.next_seq > self.config.max_history_events {
            return Err(EngineError::FailedPrecondition(format!(
                "run {run_id} has {} history events, the most a run may have; it takes no more \
                 signals",
                run.next_seq - 1
            )));
        }
        let now = self.clock.now();
        if !signals::send(&mut tx, tenant, run_id, name, &payload, id, now).await? {
            // Delivered before: nothing to do, and nothing to add to the history.
            return Ok(false);
        }
        let def = self
            .definition(&mut tx, tenant, &run.definition, run.version)
            .await?;
        let mut t = Transition::new(&def, &mut run, now);
        t.emit(Event::SignalReceived {
            name: name.to_owned(),
            id: id.map(str::to_owned),
        });
        let events = t.events;
        self.write(&mut tx, &mut run, events, Vec::new(), true)
            .await?;
        // Wake the run's wait, whichever step it is at; it checks the signal's name itself.
        work::wake(&mut tx, run_id, WorkKind::Wait, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// An operator's action on a run, recorded in its history with who and why.
    pub async fn act(
        &self,
        tenant: &str,
        run_id: Uuid,
        action: OperatorAction,
        by: &str,
        why: &str,
    ) -> Result<RunStatus, EngineError> {
        checked_text("who acted", by, MAX_ACTOR_BYTES)?;
        checked_text("why", why, MAX_REASON_BYTES)?;
        let mut tx = self.pool.begin().await?;
        runs::get(&mut tx, tenant, run_id).await?;
        let mut run = Run::from_row(runs::lock(&mut tx, run_id).await?)?;
        let def = self
            .definition(&mut tx, tenant, &run.definition, run.version)
            .await?;
        let status = run.core.status;
        let refuse = |what: &str| {
            Err(EngineError::FailedPrecondition(format!(
                "cannot {what} run {run_id}: it is {}",
                status.as_str()
            )))
        };
        let now = self.clock.now();
        let mut detail = serde_json::json!({});
        match action {
            OperatorAction::Retry => {
                if !matches!(status, RunStatus::Parked | RunStatus::Failed) {
                    return refuse("retry");
                }
                if !run.core.compensated.is_empty() {
                    return Err(EngineError::FailedPrecondition(format!(
                        "steps {} were already compensated; compensate or abandon the run instead",
                        run.core.compensated.join(", ")
                    )));
                }
                if let Some(r) = &run.core.reason
                    && r.phase == Phase::Compensation
                    && r.compensation_reached
                {
                    return Err(EngineError::FailedPrecondition(format!(
                        "the compensation of step `{}` was attempted and may have taken effect in \
                         the remote system, so running forward could build on undone records; \
                         compensate or abandon the run instead",
                        r.step
                    )));
                }
                self.check_pins_fit(&mut tx, tenant, &run).await?;
                let pins = plugins::pins(&mut tx, tenant).await?;
                let repinned: BTreeMap<String, String> = plugin_names(&def)
                    .into_iter()
                    .filter_map(|n| pins.get(&n).map(|s| (n, s.clone())))
                    .collect();
                detail = serde_json::json!({ "plugins": repinned });
            }
            OperatorAction::Compensate
                if status != RunStatus::Parked && status != RunStatus::Failed =>
            {
                return refuse("compensate");
            }
            OperatorAction::Abandon if status != RunStatus::Parked => return refuse("abandon"),
            OperatorAction::Cancel
                if !matches!(
                    status,
                    RunStatus::Pending | RunStatus::Running | RunStatus::Waiting
                ) =>
            {
                return Err(EngineError::FailedPrecondition(format!(
                    "cannot cancel run {run_id}: it is {} (a compensating run finishes its undo; \
                     a parked run is compensated or abandoned)",
                    status.as_str()
                )));
            }
            _ => {}
        }
        // A call in flight when a run is cancelled finishes: its result is recorded, and the
        // compensation begins when it commits. Everything else queued goes.
        let in_flight = if action == OperatorAction::Cancel {
            work::delete_for_run_except_leased(&mut tx, run_id, WorkKind::Call).await? > 0
        } else {
            work::delete_for_run(&mut tx, run_id).await?;
            false
        };
        let reason = run.core.reason.clone();
        let mut t = Transition::new(&def, &mut run, now);
        t.emit(Event::OperatorAction {
            action: action.name().to_owned(),
            by: by.to_owned(),
            why: why.to_owned(),
            detail,
        });
        match action {
            OperatorAction::Retry => {
                let step = reason.map(|r| r.failed_step).unwrap_or_default();
                t.reschedule(&step);
            }
            OperatorAction::Compensate => match reason {
                Some(r) if r.phase == Phase::Compensation => t.reschedule_compensation(&r.step),
                _ => t.next_compensation(),
            },
            OperatorAction::Abandon => t.emit(Event::RunFailed {
                message: format!("abandoned by {by}: {why}"),
            }),
            OperatorAction::Cancel if in_flight => {}
            OperatorAction::Cancel => t.next_compensation(),
        }
        let (events, work_items) = (t.events, t.work);
        self.write(&mut tx, &mut run, events, work_items, true)
            .await?;
        tx.commit().await?;
        Ok(run.core.status)
    }
}

impl Engine {
    /// Refuses a retry whose re-pinned plugins no longer fit the run's definition (an operation
    /// renamed or removed): the retried step would fail as invalid input and compensate every
    /// completed step, from a routine operator action.
    async fn check_pins_fit(
        &self,
        conn: &mut sqlx::PgConnection,
        tenant: &str,
        run: &Run,
    ) -> Result<(), EngineError> {
        let row = weft_store::definitions::get(conn, tenant, &run.definition, run.version).await?;
        let catalog = crate::definitions::pinned_catalog(conn, tenant).await?;
        weft_definition::compile(&row.source, &catalog).map_err(|errors| {
            EngineError::FailedPrecondition(format!(
                "the plugins pinned now do not fit version {} of `{}`: {}; pin versions that do, \
                 or compensate or abandon the run",
                run.version,
                run.definition,
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        Ok(())
    }
}
