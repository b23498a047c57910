//! Group commit. An attempt that finishes while another batch is being written waits for it, then
//! the first waiter writes everything that queued up meanwhile in one statement: one round trip
//! and one WAL flush for many steps under load, and no waiting at all when idle. No background
//! task: whoever holds the leader lock writes.

use std::sync::Mutex;

use tokio::sync::oneshot;
use tokio::sync::oneshot::error::TryRecvError;
use weft_store::step_commit::{self, Committed, StepCommit};

use crate::decide::later;
use crate::engine::Engine;
use crate::error::EngineError;

/// Most commits written by one statement.
const MAX_BATCH: usize = 64;

/// Commits waiting to be written, and the lock its writer holds.
#[derive(Default)]
pub(crate) struct CommitQueue {
    pending: Mutex<Vec<Pending>>,
    leader: tokio::sync::Mutex<()>,
}

struct Pending {
    commit: StepCommit,
    done: oneshot::Sender<Result<Committed, String>>,
}

impl CommitQueue {
    fn push(&self, pending: Pending) {
        if let Ok(mut queue) = self.pending.lock() {
            queue.push(pending);
        }
    }

    /// Up to [`MAX_BATCH`] waiting commits, at most one per run (a later one for the same run
    /// waits for the next batch: it was computed against the state the earlier one writes).
    fn take_batch(&self) -> Vec<Pending> {
        let Ok(mut queue) = self.pending.lock() else {
            return Vec::new();
        };
        let mut batch: Vec<Pending> = Vec::new();
        let mut rest = Vec::new();
        for p in queue.drain(..) {
            let taken = batch.iter().any(|b| b.commit.run.id == p.commit.run.id);
            if taken || batch.len() == MAX_BATCH {
                rest.push(p);
            } else {
                batch.push(p);
            }
        }
        *queue = rest;
        batch
    }
}

impl Engine {
    /// Commits one attempt's result, together with whatever other attempts are ready.
    pub(crate) async fn group_commit(&self, commit: StepCommit) -> Result<Committed, EngineError> {
        let (done, mut result) = oneshot::channel();
        self.commits.push(Pending { commit, done });
        loop {
            let leader = self.commits.leader.lock().await;
            match result.try_recv() {
                Ok(outcome) => return outcome.map_err(EngineError::Unavailable),
                Err(TryRecvError::Closed) => {
                    return Err(EngineError::Unavailable(
                        "the batch holding this result was abandoned".into(),
                    ));
                }
                // Not written yet: this task writes the next batch, which holds its commit
                // unless an earlier commit of the same run is queued before it.
                Err(TryRecvError::Empty) => {}
            }
            let batch = self.commits.take_batch();
            self.write_batch(batch).await;
            drop(leader);
        }
    }

    async fn write_batch(&self, batch: Vec<Pending>) {
        let (commits, senders): (Vec<StepCommit>, Vec<_>) =
            batch.into_iter().map(|p| (p.commit, p.done)).unzip();
        let outcomes = match self.write_commits(&commits).await {
            Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
            // One commit the database refuses must not fail the others: write them one by one.
            Err(e) if commits.len() > 1 => {
                tracing::warn!(
                    commits = commits.len(),
                    "a commit batch failed, writing its commits one by one: {e}"
                );
                let mut outcomes = Vec::with_capacity(commits.len());
                for commit in &commits {
                    let one = self.write_commits(std::slice::from_ref(commit)).await;
                    outcomes.push(one.and_then(|o| {
                        o.into_iter().next().ok_or_else(|| {
                            EngineError::Unavailable("the commit returned no outcome".into())
                        })
                    }));
                }
                outcomes
            }
            Err(e) => vec![Err(e)],
        };
        for (sender, outcome) in senders.into_iter().zip(outcomes) {
            // A waiter that went away (its task was cancelled) needs no answer.
            let _ = sender.send(outcome.map_err(|e| e.to_string()));
        }
    }

    async fn write_commits(&self, commits: &[StepCommit]) -> Result<Vec<Committed>, EngineError> {
        let mut conn = self.pool.acquire().await?;
        let now = self.clock.now();
        // Work due at once stays with this worker (no claim needed), unless it is stopping.
        let lease_until = (!self.is_stopping())
            .then(|| later(now, self.config.lease))
            .flatten();
        Ok(step_commit::commit(&mut conn, &self.config.owner, now, lease_until, commits).await?)
    }
}
