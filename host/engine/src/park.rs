//! Parking a run from a work item without reading its definition: for items that cannot go on
//! (claimed too often, a panic while executing or committing them, a definition the engine can
//! no longer read). The path must not depend on what may be broken, so it appends one event and
//! needs only the run's row.

use futures_util::FutureExt;
use weft_definition::Definition;
use weft_store::runs;
use weft_store::work::{self, WorkItem};

use weft_concepts::{OutcomeClass, WorkKind};

use crate::decide::Failure;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::events::Event;
use crate::state::{Phase, Reason, Run};

impl Engine {
    /// Parks the run of `item` with `failure`, in the compensation phase for a compensation item,
    /// and removes the item. Fenced by the claim: does nothing if this worker lost the item.
    pub(crate) async fn park_item(
        &self,
        item: &WorkItem,
        failure: Failure,
    ) -> Result<(), EngineError> {
        let mut tx = self.pool.begin().await?;
        let mut run = Run::from_row(runs::lock(&mut tx, item.run_id).await?)?;
        if !work::complete(&mut tx, item, &self.config.owner).await? {
            return Ok(());
        }
        if run.core.status.is_final() || run.core.status == crate::RunStatus::Parked {
            tx.commit().await?;
            return Ok(());
        }
        let compensating = item.kind == WorkKind::Compensate;
        let failed_step = match (&run.core.reason, compensating) {
            (Some(r), true) => r.failed_step.clone(),
            _ => item.step_id.clone(),
        };
        // A compensation that could not finish may still have reached its remote.
        let compensation_reached = compensating;
        let event = Event::RunParked {
            reason: Reason {
                step: item.step_id.clone(),
                class: failure.class,
                message: failure.message,
                phase: if compensating {
                    Phase::Compensation
                } else {
                    Phase::Forward
                },
                failed_step,
                compensation_reached,
            },
        };
        // Parking reads nothing of the definition (see `RunCore::apply`).
        let no_definition = Definition {
            name: run.definition.clone(),
            key: None,
            steps: Vec::new(),
        };
        run.core.apply(&no_definition, &event);
        let now = self.clock.now();
        self.write(&mut tx, &mut run, vec![(now, event)], Vec::new(), false)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Runs `work` for `item`; a panic inside it parks the item's run with class `internal`
    /// instead of unwinding through the worker (where it would leave the lease held forever).
    pub(crate) async fn parking_panics<T>(
        &self,
        item: &WorkItem,
        work: impl Future<Output = Result<Option<T>, EngineError>>,
    ) -> Result<Option<T>, EngineError> {
        match std::panic::AssertUnwindSafe(work).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".into());
                tracing::error!(item = item.id, run = %item.run_id, step = %item.step_id, "panic while processing a work item: {what}");
                let message = format!(
                    "the host failed while processing step `{}` ({}); this is a bug in Weft: \
                     report it with the host's log, then retry or compensate the run",
                    item.step_id,
                    what.chars()
                        .take(1000)
                        .collect::<String>()
                        .replace('\0', "\u{FFFD}")
                );
                self.park_item(
                    item,
                    crate::executed::failure(OutcomeClass::Internal, message),
                )
                .await?;
                Ok(None)
            }
        }
    }
}
