//! Workers: claim due work with a lease, execute it, and commit the result, its history and the
//! next work in one transaction fenced by the claim. A host that dies mid-step loses its lease;
//! another host takes the item over and runs the attempt again with the same idempotency key.
//!
//! An attempt commits in one statement against the run as it was claimed (together with other
//! attempts finishing at the same time: see `group_commit`); if something else changed the run
//! meanwhile (a signal, an operator), it commits again under the run's lock with the run's
//! current state. Waits always decide under the lock (they consume signals). Work the commit made
//! due at once comes back leased to this worker, which goes on with it without claiming.

use weft_definition::{Definition, StepKind};
use weft_runtime::AuditRecord;
use weft_store::runs::RunRow;
use weft_store::step_commit::{Committed, StepCommit};
use weft_store::work::{self, Claimed, WorkItem};
use weft_store::{PgAudit, runs, signals};

use weft_concepts::{OutcomeClass, WorkKind};

use crate::decide::Transition;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::events::Event;
use crate::executed::{Executed, apply, failure, note_lease_loss};
use crate::state::{Run, RunStatus};

/// A wait without a deadline parks its item this far ahead; a signal makes it due at once.
const FOREVER: chrono::Duration = chrono::Duration::days(365 * 100);

impl Engine {
    /// Executes a claimed item and commits what it led to, then goes on with the work that
    /// commit leased to this worker (the run's next step, due at once) without claiming it.
    /// Returns how many items it executed.
    pub(crate) async fn process(&self, claimed: Claimed) -> Result<usize, EngineError> {
        let mut next = Some(claimed);
        let mut done = 0;
        while let Some(claimed) = next.take() {
            let item = claimed.item.clone();
            self.held.hold(item.id);
            let result = self.parking_panics(&item, self.process_one(claimed)).await;
            self.held.release(item.id);
            done += 1;
            next = result?;
            if self.is_stopping()
                && let Some(unstarted) = next.take()
            {
                self.hand_back(&unstarted.item).await;
            }
        }
        Ok(done)
    }

    /// Gives back an item leased to this worker that it will not start (it is stopping), so
    /// another host takes it at once instead of when the lease runs out.
    async fn hand_back(&self, item: &WorkItem) {
        let released = match self.relaxed.acquire().await {
            Ok(mut conn) => {
                work::release(&mut conn, item, &self.config.owner, self.clock.now()).await
            }
            Err(e) => Err(e.into()),
        };
        if let Err(e) = released {
            tracing::warn!(
                item = item.id,
                "handing back an item failed; its lease will run out: {e}"
            );
        }
    }

    async fn process_one(&self, claimed: Claimed) -> Result<Option<Claimed>, EngineError> {
        let Claimed { item, run } = claimed;
        if item.claims - item.released_claims > self.config.max_claims {
            // Claimed this often without its result ever being committed: its hosts crash or
            // stall on it, or the database refuses its result (for waits and sleeps too: their
            // commit may fail every time). Stop retrying it blindly; parking needs neither the
            // definition nor anything else that may be what fails.
            let park = failure(
                OutcomeClass::ClaimsExhausted,
                format!(
                    "the item was claimed {} times without its result being committed (its \
                     hosts crashed or stalled past their lease, or the database refused the \
                     result); see the hosts' logs, then retry",
                    item.claims - item.released_claims
                ),
            );
            self.park_item(&item, park).await?;
            return Ok(None);
        }
        let run = Run::from_row(run)?;
        if item.kind != WorkKind::Compensate && run.next_seq > self.config.max_history_events {
            let full = failure(
                OutcomeClass::HistoryFull,
                format!(
                    "the run's history holds {} events, the most a run may have (a retry loop \
                     or a signal storm?); compensate or abandon it",
                    run.next_seq - 1
                ),
            );
            self.park_item(&item, full).await?;
            return Ok(None);
        }
        if item.kind == WorkKind::Wait || run.core.status.is_final() {
            self.commit_locked(&item, &Executed::Timer, &[]).await?;
            return Ok(None);
        }
        if item.kind == WorkKind::Call && run.core.status == RunStatus::Compensating {
            // The run was cancelled while this step was in flight, and the host running it lost
            // the item (its lease expiry marks the step as possibly done): compensate rather
            // than attempt the step again.
            let cancelled = Executed::NotAttempted(failure(
                OutcomeClass::Cancelled,
                "the run was cancelled while this step was in flight".into(),
            ));
            self.commit_locked(&item, &cancelled, &[]).await?;
            return Ok(None);
        }
        let def = self
            .definition_of(&run.tenant, &run.definition, run.version)
            .await?;
        let result = self.execute(&item, &run, &def).await?;
        let (outcome, run) = self.commit_claimed(&item, run, &def, &result).await?;
        match outcome {
            Committed::Done(leased) => {
                let mut leased = leased.into_iter();
                let next = leased.next().map(|item| Claimed { item, run });
                // A transition schedules at most one item due at once; should it ever schedule
                // more, the rest go back to the queue.
                for extra in leased {
                    self.hand_back(&extra).await;
                }
                Ok(next)
            }
            Committed::LeaseLost => {
                lease_lost(&item);
                Ok(None)
            }
            // The audit went with the first commit.
            Committed::RunChanged => {
                self.commit_locked(&item, &result, &[]).await?;
                Ok(None)
            }
        }
    }

    /// Commits the attempt against the run as it was claimed, in one statement (shared with
    /// other attempts finishing at the same time). Returns the outcome and the run as written.
    async fn commit_claimed(
        &self,
        item: &WorkItem,
        mut run: Run,
        def: &Definition,
        result: &Executed,
    ) -> Result<(Committed, RunRow), EngineError> {
        let now = self.clock.now();
        let expected_seq = run.next_seq;
        let mut t = Transition::new(def, &mut run, now);
        apply(&mut t, item, result);
        let (events, work) = (t.events, t.work);
        let events = self.record(&mut run, events)?;
        let row = run.to_row()?;
        let outcome = self
            .group_commit(StepCommit {
                item: item.clone(),
                expected_seq,
                run: row.clone(),
                events,
                work,
                audit: result.calls().to_vec(),
            })
            .await?;
        Ok((outcome, row))
    }

    /// Commits an item's result under the run's lock, with the run's current state: for waits
    /// (which consume signals), for items of runs that ended, and for attempts whose run changed
    /// since the claim. Fenced by the claim, so a host whose lease ran out cannot commit over the
    /// host that took the item over.
    async fn commit_locked(
        &self,
        item: &WorkItem,
        result: &Executed,
        audit: &[AuditRecord],
    ) -> Result<(), EngineError> {
        let mut tx = self.pool.begin().await?;
        let mut run = Run::from_row(runs::lock(&mut tx, item.run_id).await?)?;
        // The calls happened whether or not this attempt's result counts.
        PgAudit::insert(&mut tx, audit).await?;
        let owner = &self.config.owner;
        let now = self.clock.now();
        if run.core.status.is_final() {
            work::complete(&mut tx, item, owner).await?;
            tx.commit().await?;
            return Ok(());
        }
        let def = self
            .definition(&mut tx, &run.tenant, &run.definition, run.version)
            .await?;
        // Waits whose signal has not come and whose deadline has not passed go back to sleep.
        if item.kind == WorkKind::Wait {
            let signal = match def
                .steps
                .iter()
                .find(|s| s.id == item.step_id)
                .map(|s| &s.kind)
            {
                Some(StepKind::Wait { signal, .. }) => signal.clone(),
                _ => String::new(),
            };
            let payload = signals::take(&mut tx, run.id, &signal, &item.step_id).await?;
            let expired = item.deadline.is_some_and(|d| d <= now);
            if payload.is_none() && !expired {
                let until = item.deadline.unwrap_or(now + FOREVER);
                if work::release(&mut tx, item, owner, until).await? {
                    tx.commit().await?;
                }
                return Ok(());
            }
            if !work::complete(&mut tx, item, owner).await? {
                return Ok(());
            }
            let mut t = Transition::new(&def, &mut run, now);
            note_lease_loss(&mut t, item);
            match payload {
                Some(payload) => {
                    t.emit(Event::SignalConsumed {
                        step: item.step_id.clone(),
                        name: signal,
                    });
                    t.step_succeeded(&item.step_id, item.attempt, payload);
                }
                None => {
                    t.emit(Event::WaitTimedOut {
                        step: item.step_id.clone(),
                        signal: signal.clone(),
                    });
                    t.step_failed(
                        &item.step_id,
                        item.attempt,
                        failure(
                            OutcomeClass::Timeout,
                            format!("signal `{signal}` did not arrive before the wait's deadline"),
                        ),
                    );
                }
            }
            let (events, work_items) = (t.events, t.work);
            self.write(&mut tx, &mut run, events, work_items, false)
                .await?;
            tx.commit().await?;
            return Ok(());
        }
        if !work::complete(&mut tx, item, owner).await? {
            lease_lost(item);
            tx.commit().await?;
            return Ok(());
        }
        let mut t = Transition::new(&def, &mut run, now);
        apply(&mut t, item, result);
        let (events, work_items) = (t.events, t.work);
        self.write(&mut tx, &mut run, events, work_items, false)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Another host owns the item now. Its attempt is the one that counts; the idempotency key made
/// ours harmless.
fn lease_lost(item: &WorkItem) {
    tracing::warn!(item = item.id, run = %item.run_id, step = %item.step_id, "lease lost; result dropped");
}
