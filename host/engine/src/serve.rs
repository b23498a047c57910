//! The worker loop: claim up to `concurrency` items, execute them concurrently, wake on `NOTIFY`
//! (polling as a fallback), and extend held leases while busy.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use weft_store::work::{self, Claimed};

use crate::decide::later;
use crate::engine::Engine;
use crate::error::EngineError;

impl Engine {
    /// Claims and executes due items until none is due; returns how many were processed. Tests
    /// drive the engine with this and a manual clock.
    pub async fn run_until_idle(&self) -> Result<usize, EngineError> {
        let mut total = 0;
        loop {
            let items = self.claim(self.config.concurrency).await?;
            if items.is_empty() {
                return Ok(total);
            }
            for r in join_all(items.into_iter().map(|i| self.process(i))).await {
                total += r?;
            }
        }
    }

    /// Claims up to `limit` due items. The claim's commit does not wait for the WAL flush: a
    /// claim lost in a database crash only leaves its items unclaimed (they are claimed again,
    /// and the fencing counter refuses this worker's late commit), while waiting for the flush
    /// would add a second durable commit to every step.
    pub(crate) async fn claim(&self, limit: usize) -> Result<Vec<Claimed>, EngineError> {
        let mut conn = self.relaxed.acquire().await?;
        Ok(work::claim(
            &mut conn,
            &self.config.owner,
            self.clock.now(),
            self.config.lease,
            i64::try_from(limit).unwrap_or(i64::MAX),
        )
        .await?)
    }

    /// Runs a worker until `shutdown` resolves: claims up to `concurrency` items at a time, wakes
    /// on `NOTIFY` (polling as a fallback), extends its leases while busy. On shutdown it stops
    /// claiming and finishes what it holds.
    pub async fn serve(
        self: Arc<Self>,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), EngineError> {
        self.config.validate().map_err(EngineError::InvalidInput)?;
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(weft_store::WORK_CHANNEL).await?;
        let heartbeat = tokio::spawn(heartbeat(self.clone()));
        let mut tasks = tokio::task::JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            // Reap every finished task first, so one claim fetches work for all free slots
            // instead of one claim per finished item.
            while tasks.try_join_next().is_some() {}
            let free = self.config.concurrency.saturating_sub(tasks.len());
            // Under load, gather a quarter of the slots before claiming rather than claiming for
            // every slot that frees: a claim costs the database about as much as two steps'
            // commits. Slots held by slow steps are claimed for after a short wait.
            if free < claim_batch(self.config.concurrency) && !tasks.is_empty() {
                tokio::select! {
                    _ = tasks.join_next() => continue,
                    () = tokio::time::sleep(CLAIM_GATHER) => {}
                    () = &mut shutdown => break,
                }
            }
            let items = if free > 0 {
                match self.claim(free).await {
                    Ok(items) => items,
                    Err(e) => {
                        // The database is unreachable or failing: back off instead of spinning
                        // (the listener fails at once too while the connection is down).
                        tracing::warn!("claim failed, retrying in {:?}: {e}", self.config.poll);
                        tokio::select! {
                            () = tokio::time::sleep(self.config.poll) => continue,
                            () = &mut shutdown => break,
                        }
                    }
                }
            } else {
                Vec::new()
            };
            let claimed = items.len();
            for item in items {
                let engine = self.clone();
                tasks.spawn(async move {
                    let id = item.item.id;
                    if let Err(e) = engine.process(item).await {
                        tracing::warn!(
                            item = id,
                            "work item failed, it will be retried when its lease ends: {e}"
                        );
                    }
                });
            }
            if claimed > 0 && claimed == free {
                // Saturated or more may be due: go round again once something finishes.
                tokio::select! {
                    _ = tasks.join_next() => {}
                    () = &mut shutdown => break,
                }
                continue;
            }
            if claimed > 0 {
                continue;
            }
            let sleep = self.idle_sleep().await;
            tokio::select! {
                _ = listener.recv() => {}
                _ = tokio::time::sleep(sleep) => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                () = &mut shutdown => break,
            }
        }
        // Finish what is held; work the last commits would lease to this worker goes back.
        self.stop();
        while tasks.join_next().await.is_some() {}
        heartbeat.abort();
        Ok(())
    }

    async fn idle_sleep(&self) -> Duration {
        let Ok(mut conn) = self.pool.acquire().await else {
            return self.config.poll;
        };
        match work::next_due(&mut conn).await {
            Ok(Some(due)) => (due - self.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(self.config.poll),
            _ => self.config.poll,
        }
    }
}

/// How long a worker waits for more slots to free before claiming for the few that are.
const CLAIM_GATHER: Duration = Duration::from_millis(2);

/// How many free slots make a claim worth its round trip under load.
fn claim_batch(concurrency: usize) -> usize {
    (concurrency / 4).max(1)
}

async fn heartbeat(engine: Arc<Engine>) {
    loop {
        tokio::time::sleep(engine.config.heartbeat).await;
        let ids = engine.held.ids();
        if ids.is_empty() {
            continue;
        }
        // The lease is validated at start-up; a clock at the end of time extends nothing.
        let Some(until) = later(engine.clock.now(), engine.config.lease) else {
            continue;
        };
        if let Ok(mut conn) = engine.relaxed.acquire().await
            && let Err(e) = work::extend(&mut conn, &engine.config.owner, &ids, until).await
        {
            tracing::warn!("lease heartbeat failed: {e}");
        }
    }
}
