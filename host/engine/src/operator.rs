//! Signals and the operator's actions on runs (dead letters): each one transaction on the
//! locked run, recorded in its history.

use std::collections::BTreeMap;

use uuid::Uuid;
use weft_store::{plugins, runs, signals, work};

use crate::decide::{Transition, WAIT};
use crate::definitions::plugin_names;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::events::Event;
use crate::start::storable;
use crate::state::{Phase, Run, RunStatus};

/// An operator's action on a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorAction {
    /// Run the failed step again (with the tenant's current plugin pins), then carry on.
    Retry,
    /// Undo the completed steps (or resume an interrupted compensation).
    Compensate,
    /// Give up: the run fails with nothing more done.
    Abandon,
    /// Stop a running or waiting run.
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
    /// later takes it then.
    pub async fn signal(
        &self,
        tenant: &str,
        run_id: Uuid,
        name: &str,
        payload: serde_json::Value,
    ) -> Result<(), EngineError> {
        storable("the signal's name", &serde_json::Value::from(name))?;
        storable("the signal's payload", &payload)?;
        let mut tx = self.pool.begin().await?;
        runs::get(&mut tx, tenant, run_id).await?;
        let mut run = Run::from_row(runs::lock(&mut tx, run_id).await?)?;
        if run.core.status.is_final() {
            return Err(EngineError::InvalidRequest(format!(
                "run {run_id} is {}; it takes no more signals",
                run.core.status.as_str()
            )));
        }
        let now = self.clock.now();
        signals::send(&mut tx, tenant, run_id, name, &payload, now).await?;
        let def = self
            .definition(&mut tx, tenant, &run.definition, run.version)
            .await?;
        let mut t = Transition::new(&def, &mut run, now);
        t.emit(Event::SignalReceived {
            name: name.to_owned(),
        });
        let events = t.events;
        self.write(&mut tx, &mut run, events, Vec::new(), true)
            .await?;
        // Wake the run's wait, whichever step it is at; it checks the signal's name itself.
        work::wake(&mut tx, run_id, WAIT, now).await?;
        tx.commit().await?;
        Ok(())
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
        storable("who acted", &serde_json::Value::from(by))?;
        storable("why", &serde_json::Value::from(why))?;
        let mut tx = self.pool.begin().await?;
        runs::get(&mut tx, tenant, run_id).await?;
        let mut run = Run::from_row(runs::lock(&mut tx, run_id).await?)?;
        let def = self
            .definition(&mut tx, tenant, &run.definition, run.version)
            .await?;
        let status = run.core.status;
        let refuse = |what: &str| {
            Err(EngineError::InvalidRequest(format!(
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
                    return Err(EngineError::InvalidRequest(format!(
                        "steps {} were already compensated; compensate or abandon the run instead",
                        run.core.compensated.join(", ")
                    )));
                }
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
            OperatorAction::Cancel if status.is_final() || status == RunStatus::Parked => {
                return refuse("cancel");
            }
            _ => {}
        }
        work::delete_for_run(&mut tx, run_id).await?;
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
            OperatorAction::Cancel => t.emit(Event::RunCancelled),
        }
        let (events, work_items) = (t.events, t.work);
        self.write(&mut tx, &mut run, events, work_items, true)
            .await?;
        tx.commit().await?;
        Ok(run.core.status)
    }
}
