//! The commit of workers' attempts in one statement: for each, the run's new state, its history,
//! the work it schedules and the attempt's outbound-call audit (replacing the calls'
//! announcements), applied only if the worker still holds the item's lease and nothing else
//! changed the run since it was claimed.
//!
//! One round trip and one WAL flush for a whole batch of steps, where a transaction that locks,
//! reads and writes statement by statement takes eight per step. The statement locks runs first
//! (in id order, so two batches cannot deadlock) and their items second, the order every other
//! writer (signals, operators, the locking commit) uses.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;
use weft_concepts::AuditRecord;

use crate::StoreError;
use crate::audit::{insert_audit, outcome_wins, rows};
use crate::runs::RunRow;
use crate::work::{NewWork, WorkItem};

/// One attempt's result to commit.
#[derive(Debug, Clone)]
pub struct StepCommit {
    /// The claimed item the attempt ran for.
    pub item: WorkItem,
    /// The run's `next_seq` when it was claimed: the commit applies only if it is unchanged.
    pub expected_seq: i64,
    /// The run's new state (its `next_seq` counts `events`).
    pub run: RunRow,
    /// Events to append, numbered from `expected_seq`.
    pub events: Vec<(DateTime<Utc>, serde_json::Value)>,
    /// Work to schedule.
    pub work: Vec<NewWork>,
    /// The attempt's outbound calls.
    pub audit: Vec<AuditRecord>,
}

/// How a step commit ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// Everything was written. The work it scheduled that was due at once is already leased to
    /// the committing worker (when it asked for that), so it can go on without claiming.
    Done(Vec<WorkItem>),
    /// Another worker holds the item now (this lease ran out); only the audit was written.
    LeaseLost,
    /// Something else changed the run since the claim (a signal, an operator): nothing but the
    /// audit was written; commit again under the run's lock with its current state.
    RunChanged,
}

/// The statement, with `$extra` CTEs after the others. Rows of `runs` and `work_items` are found
/// by `= any(ids)`, which reaches them through their primary keys whatever plan the parameters
/// get (a generic plan of plain joins may scan the tables). Data-modifying CTEs run in the order
/// their results are read: `run` (the runs' row locks, only where `next_seq` is unchanged), then
/// `done` (the fenced deletes of the items of locked runs), then the rest, which joins `saved`
/// and so writes only for runs where both held.
macro_rules! step_commit_sql {
    ($($extra:expr),*) => {
        concat!(
            "with input as (
                 select * from unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::int[],
                     $5::text[], $6::jsonb[], $7::jsonb[], $8::jsonb[], $9::jsonb[],
                     $10::bigint[])
                     as t(run_id, expected_seq, item_id, claims, status, plugins, completed,
                          compensated, reason, next_seq)
             ), run as (
                 select r.id from runs r join input i on r.id = i.run_id
                 where r.id = any($1) and r.next_seq = i.expected_seq
                 order by r.id for update of r
             ), done as (
                 delete from work_items w using input i
                 where w.id = any($3) and w.id = i.item_id and w.run_id = i.run_id
                     and w.lease_owner = $11
                     and w.claims = i.claims and i.run_id in (select id from run)
                 returning w.run_id
             ), saved as (
                 update runs r set status = i.status, plugins = i.plugins, completed = i.completed,
                     compensated = i.compensated, reason = i.reason,
                     next_seq = i.next_seq, updated_at = $12
                 from input i
                 where r.id = any($1) and r.id = i.run_id and r.id in (select run_id from done)
                 returning r.id, r.tenant_id
             ), events as (
                 insert into history (run_id, seq, tenant_id, at, event)
                 select s.id, t.seq, s.tenant_id, t.at, t.event
                 from unnest($13::uuid[], $14::bigint[], $15::timestamptz[], $16::jsonb[])
                     as t(run_id, seq, at, event)
                 join saved s on s.id = t.run_id
             ), queued as (
                 insert into work_items (tenant_id, run_id, kind, step_id, attempt, available_at,
                     deadline, created_at, lease_owner, claims)
                 select s.tenant_id, s.id, t.k, t.s, t.a,
                     case when t.leased then $23 else t.d end, t.l, $12,
                     case when t.leased then $11 end, case when t.leased then 1 else 0 end
                 from (
                     select u.*, u.d <= $12 and $23::timestamptz is not null as leased
                     from unnest($17::uuid[], $18::text[], $19::text[], $20::int[],
                         $21::timestamptz[], $22::timestamptz[]) as u(run_id, k, s, a, d, l)
                 ) as t
                 join saved s on s.id = t.run_id
                 returning id, tenant_id, run_id, kind, step_id, attempt, deadline, claims,
                     lease_owner
             )",
            $($extra,)*
            " select i.run_id, i.run_id in (select id from run), i.run_id in (select id from saved),
                  coalesce((select json_agg(q) from queued q
                            where q.run_id = i.run_id and q.lease_owner is not null), '[]')
              from input i"
        )
    };
}

/// Commits `batch` (at most one commit per run) as `owner` in one statement; the results are in
/// the batch's order. With `lease_until`, work due at once is leased to `owner` until then and
/// returned with the result, so the worker can go on with it without a claim.
pub async fn commit(
    conn: &mut PgConnection,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: Option<DateTime<Utc>>,
    batch: &[StepCommit],
) -> Result<Vec<Committed>, StoreError> {
    let mut seen = HashSet::new();
    if let Some(c) = batch.iter().find(|c| !seen.insert(c.run.id)) {
        return Err(StoreError::Conflict(format!(
            "a commit batch holds two results for run {}; commit them one after the other",
            c.run.id
        )));
    }
    let runs: Vec<Uuid> = batch.iter().map(|c| c.run.id).collect();
    let expected: Vec<i64> = batch.iter().map(|c| c.expected_seq).collect();
    let items: Vec<i64> = batch.iter().map(|c| c.item.id).collect();
    let claims: Vec<i32> = batch.iter().map(|c| c.item.claims).collect();
    let status: Vec<&str> = batch.iter().map(|c| c.run.status.as_str()).collect();
    let plugins: Vec<&serde_json::Value> = batch.iter().map(|c| &c.run.plugins).collect();
    let completed: Vec<&serde_json::Value> = batch.iter().map(|c| &c.run.completed).collect();
    let compensated: Vec<&serde_json::Value> = batch.iter().map(|c| &c.run.compensated).collect();
    let reason: Vec<Option<&serde_json::Value>> =
        batch.iter().map(|c| c.run.reason.as_ref()).collect();
    let next_seq: Vec<i64> = batch.iter().map(|c| c.run.next_seq).collect();

    let events = batch.iter().flat_map(|c| {
        c.events
            .iter()
            .zip(c.expected_seq..)
            .map(move |((at, e), seq)| (c.run.id, seq, *at, e))
    });
    let (mut ev_runs, mut ev_seqs, mut ev_ats, mut ev_bodies) = (vec![], vec![], vec![], vec![]);
    for (run, seq, at, body) in events {
        ev_runs.push(run);
        ev_seqs.push(seq);
        ev_ats.push(at);
        ev_bodies.push(body);
    }
    let work = batch
        .iter()
        .flat_map(|c| c.work.iter().map(move |w| (c.run.id, w)));
    let (mut w_runs, mut w_kinds, mut w_steps, mut w_attempts, mut w_due, mut w_deadlines) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (run, w) in work {
        w_runs.push(run);
        w_kinds.push(w.kind.as_str());
        w_steps.push(w.step_id.as_str());
        w_attempts.push(w.attempt);
        w_due.push(w.available_at);
        w_deadlines.push(w.deadline);
    }
    let audit: Vec<AuditRecord> = batch.iter().flat_map(|c| c.audit.clone()).collect();

    // Without calls to audit, the statement leaves `outbound_calls` out: opening and locking a
    // table costs the database as much as a small insert.
    let sql = if audit.is_empty() {
        step_commit_sql!("")
    } else {
        step_commit_sql!(", audited as (", insert_audit!("$24", outcome_wins!()), ")")
    };
    let query = sqlx::query_as(sql)
        .bind(&runs)
        .bind(&expected)
        .bind(&items)
        .bind(&claims)
        .bind(&status)
        .bind(&plugins)
        .bind(&completed)
        .bind(&compensated)
        .bind(&reason)
        .bind(&next_seq)
        .bind(owner)
        .bind(now)
        .bind(&ev_runs)
        .bind(&ev_seqs)
        .bind(&ev_ats)
        .bind(&ev_bodies)
        .bind(&w_runs)
        .bind(&w_kinds)
        .bind(&w_steps)
        .bind(&w_attempts)
        .bind(&w_due)
        .bind(&w_deadlines)
        .bind(lease_until);
    let query = if audit.is_empty() {
        query
    } else {
        query.bind(rows(&audit)?)
    };
    let rows: Vec<(Uuid, bool, bool, sqlx::types::Json<Vec<WorkItem>>)> =
        query.fetch_all(conn).await?;
    let mut outcomes: HashMap<Uuid, Committed> = rows
        .into_iter()
        .map(|(run, matched, saved, leased)| {
            let outcome = match (matched, saved) {
                (_, true) => Committed::Done(leased.0),
                (true, false) => Committed::LeaseLost,
                (false, false) => Committed::RunChanged,
            };
            (run, outcome)
        })
        .collect();
    batch
        .iter()
        .map(|c| {
            outcomes.remove(&c.run.id).ok_or_else(|| {
                StoreError::Corrupt(format!("the commit returned nothing for run {}", c.run.id))
            })
        })
        .collect()
}
