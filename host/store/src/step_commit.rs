//! The commit of a worker's attempt in one statement: the run's new state, its history, the work
//! it schedules and the attempt's outbound-call audit, applied only if the worker still holds
//! the item's lease and nothing else changed the run since it was claimed.
//!
//! One round trip and one WAL flush per step, where a transaction that locks, reads and writes
//! statement by statement takes eight. The statement locks the run first and the item second,
//! the order every other writer (signals, operators, the locking commit) uses, so it cannot
//! deadlock with them.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use weft_runtime::AuditRecord;

use crate::StoreError;
use crate::audit::{insert_audit, rows};
use crate::runs::RunRow;
use crate::work::{NewWork, WorkItem};

/// What to commit.
#[derive(Debug, Clone, Copy)]
pub struct StepCommit<'a> {
    /// The claimed item the attempt ran for.
    pub item: &'a WorkItem,
    /// The worker that claimed it.
    pub owner: &'a str,
    /// The run's `next_seq` when it was claimed: the commit applies only if it is unchanged.
    pub expected_seq: i64,
    /// The run's new state (its `next_seq` counts `events`).
    pub run: &'a RunRow,
    /// Events to append, numbered from `expected_seq`.
    pub events: &'a [(DateTime<Utc>, serde_json::Value)],
    /// Work to schedule.
    pub work: &'a [NewWork],
    /// The attempt's outbound calls.
    pub audit: &'a [AuditRecord],
    /// Now, by the engine's clock.
    pub now: DateTime<Utc>,
}

/// How a step commit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Everything was written.
    Done,
    /// Another worker holds the item now (this lease ran out); only the audit was written.
    LeaseLost,
    /// Something else changed the run since the claim (a signal, an operator): nothing but the
    /// audit was written; commit again under the run's lock with its current state.
    RunChanged,
}

/// The statement, with `$extra` CTEs after the others. Data-modifying CTEs run in the order
/// their results are read: `run` (the run's row lock, only if `next_seq` is unchanged), then `done`
/// (the fenced delete of the item), then the rest, which reads `saved` and so writes only when
/// both held.
macro_rules! step_commit_sql {
    ($($extra:expr),*) => {
        concat!(
            "with run as (
                 select id from runs where id = $1 and next_seq = $2 for update
             ), done as (
                 delete from work_items
                 where id = $3 and lease_owner = $4 and claims = $5 and exists (select 1 from run)
                 returning run_id
             ), saved as (
                 update runs set status = $6, plugins = $7, outputs = $8, completed = $9,
                     compensated = $10, reason = $11, next_seq = $12, updated_at = $13
                 where id = (select run_id from done)
                 returning id, tenant_id
             ), events as (
                 insert into history (run_id, seq, tenant_id, at, event)
                 select s.id, $2 + t.n - 1, s.tenant_id, t.at, t.event
                 from saved s,
                     unnest($14::timestamptz[], $15::jsonb[]) with ordinality as t(at, event, n)
             ), queued as (
                 insert into work_items (tenant_id, run_id, kind, step_id, attempt, available_at,
                     deadline, created_at)
                 select s.tenant_id, s.id, t.k, t.s, t.a, t.d, t.l, $13
                 from saved s, unnest($16::text[], $17::text[], $18::int[], $19::timestamptz[],
                     $20::timestamptz[]) as t(k, s, a, d, l)
             )",
            $($extra,)*
            " select (select count(*) from run), (select count(*) from saved)"
        )
    };
}

/// Commits `c` in one statement.
pub async fn commit(conn: &mut PgConnection, c: &StepCommit<'_>) -> Result<Committed, StoreError> {
    let ats: Vec<DateTime<Utc>> = c.events.iter().map(|(at, _)| *at).collect();
    let bodies: Vec<&serde_json::Value> = c.events.iter().map(|(_, e)| e).collect();
    let kinds: Vec<&str> = c.work.iter().map(|w| w.kind.as_str()).collect();
    let steps: Vec<&str> = c.work.iter().map(|w| w.step_id.as_str()).collect();
    let attempts: Vec<i32> = c.work.iter().map(|w| w.attempt).collect();
    let due: Vec<DateTime<Utc>> = c.work.iter().map(|w| w.available_at).collect();
    let deadlines: Vec<Option<DateTime<Utc>>> = c.work.iter().map(|w| w.deadline).collect();
    // Without calls to audit, the statement leaves `outbound_calls` out: opening and locking a
    // table costs the database as much as a small insert.
    let sql = if c.audit.is_empty() {
        step_commit_sql!("")
    } else {
        step_commit_sql!(", audited as (", insert_audit!("$21"), ")")
    };
    let query = sqlx::query_as(sql)
        .bind(c.run.id)
        .bind(c.expected_seq)
        .bind(c.item.id)
        .bind(c.owner)
        .bind(c.item.claims)
        .bind(&c.run.status)
        .bind(&c.run.plugins)
        .bind(&c.run.outputs)
        .bind(&c.run.completed)
        .bind(&c.run.compensated)
        .bind(&c.run.reason)
        .bind(c.run.next_seq)
        .bind(c.now)
        .bind(&ats)
        .bind(&bodies)
        .bind(&kinds)
        .bind(&steps)
        .bind(&attempts)
        .bind(&due)
        .bind(&deadlines);
    let query = if c.audit.is_empty() {
        query
    } else {
        query.bind(rows(c.audit)?)
    };
    let (run_matched, saved): (i64, i64) = query.fetch_one(conn).await?;
    Ok(match (run_matched, saved) {
        (_, 1) => Committed::Done,
        (1, _) => Committed::LeaseLost,
        _ => Committed::RunChanged,
    })
}
