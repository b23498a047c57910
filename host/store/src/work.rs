//! Claimable work items with leases. `available_at` is an item's due time, or while it is leased
//! the lease's end, so one index answers "what is due or abandoned" in O(log n). `claims` counts
//! claims and fences completion: a worker whose lease ran out (and whose item another worker
//! took) cannot commit.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Row};
use uuid::Uuid;
use weft_concepts::WorkKind;

use crate::runs::RunRow;
use crate::{StoreError, WORK_CHANNEL};

/// Work to schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWork {
    /// What to do (stored as its name).
    pub kind: WorkKind,
    /// The step it belongs to.
    pub step_id: String,
    /// Attempt number (1 for the first).
    pub attempt: i32,
    /// When it is due.
    pub available_at: DateTime<Utc>,
    /// For waits: when to give up.
    pub deadline: Option<DateTime<Utc>>,
}

/// A claimed item.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct WorkItem {
    /// Id.
    pub id: i64,
    /// Tenant.
    pub tenant_id: String,
    /// Run.
    pub run_id: Uuid,
    /// Kind.
    #[sqlx(try_from = "String")]
    pub kind: WorkKind,
    /// Step.
    pub step_id: String,
    /// Attempt number.
    pub attempt: i32,
    /// For waits: when to give up.
    pub deadline: Option<DateTime<Utc>>,
    /// This worker's claim number (the fencing token).
    pub claims: i32,
    /// `claims` when the item was last given back unfinished on purpose (a wait going back to
    /// sleep, a stopping worker): claims past it count towards the engine's `max_claims`.
    #[serde(default)]
    pub released_claims: i32,
    /// Who held it before, when a lease ran out (a crashed or stalled host).
    #[serde(default)]
    pub previous_owner: Option<String>,
}

/// Schedules `items` for a run. Does not wake workers: a `NOTIFY` takes a global lock at
/// commit and would serialize every step's commit; callers outside the workers call [`notify`].
pub async fn enqueue(
    conn: &mut PgConnection,
    tenant: &str,
    run_id: Uuid,
    items: &[NewWork],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if items.is_empty() {
        return Ok(());
    }
    let kinds: Vec<&str> = items.iter().map(|i| i.kind.as_str()).collect();
    let steps: Vec<&str> = items.iter().map(|i| i.step_id.as_str()).collect();
    let attempts: Vec<i32> = items.iter().map(|i| i.attempt).collect();
    let due: Vec<DateTime<Utc>> = items.iter().map(|i| i.available_at).collect();
    let deadlines: Vec<Option<DateTime<Utc>>> = items.iter().map(|i| i.deadline).collect();
    sqlx::query(
        "insert into work_items (tenant_id, run_id, kind, step_id, attempt, available_at, deadline,
             created_at)
         select $1, $2, k, s, a, d, l, $7
         from unnest($3::text[], $4::text[], $5::int[], $6::timestamptz[], $8::timestamptz[])
             as t(k, s, a, d, l)",
    )
    .bind(tenant)
    .bind(run_id)
    .bind(&kinds)
    .bind(&steps)
    .bind(&attempts)
    .bind(&due)
    .bind(now)
    .bind(&deadlines)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Wakes idle workers when the transaction commits.
pub async fn notify(conn: &mut PgConnection) -> Result<(), StoreError> {
    sqlx::query("select pg_notify($1, '')")
        .bind(WORK_CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}

/// A claimed item with its run as it stood when claimed (the run is read in the claim's
/// statement, so executing the item needs no second read).
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    /// The item.
    pub item: WorkItem,
    /// Its run.
    pub run: RunRow,
}

impl<'r> FromRow<'r, PgRow> for Claimed {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        let item = WorkItem::from_row(row)?;
        let run = RunRow {
            id: item.run_id,
            tenant_id: item.tenant_id.clone(),
            definition: row.try_get("definition")?,
            definition_version: row.try_get("definition_version")?,
            business_key: row.try_get("business_key")?,
            status: row.try_get("status")?,
            input: row.try_get("input")?,
            plugins: row.try_get("plugins")?,
            outputs: row.try_get("outputs")?,
            completed: row.try_get("completed")?,
            compensated: row.try_get("compensated")?,
            reason: row.try_get("reason")?,
            next_seq: row.try_get("next_seq")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        };
        Ok(Self { item, run })
    }
}

/// Claims up to `limit` due items for `owner`, leased until `now + lease`, each with its run.
pub async fn claim(
    conn: &mut PgConnection,
    owner: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Claimed>, StoreError> {
    let until = chrono::Duration::from_std(lease)
        .ok()
        .and_then(|lease| now.checked_add_signed(lease))
        .ok_or_else(|| StoreError::Invalid(format!("a lease of {lease:?} is out of range")))?;
    Ok(sqlx::query_as(concat!(
        "with next as (
             select id, lease_owner from work_items where available_at <= $1
             order by available_at limit $4 for update skip locked
         ), claimed as (
             update work_items w set lease_owner = $2, available_at = $3, claims = w.claims + 1
             from next where w.id = next.id
             returning w.id, w.tenant_id, w.run_id, w.kind, w.step_id, w.attempt, w.deadline,
                       w.claims, w.released_claims, next.lease_owner as previous_owner
         )
         select c.*, r.definition, r.definition_version, r.business_key, r.status, r.input,
                r.plugins, ",
        outputs_of!("r.id"),
        " as outputs, r.completed, r.compensated, r.reason, r.next_seq,
                r.created_at, r.updated_at
         from claimed c join runs r on r.id = c.run_id"
    ))
    .bind(now)
    .bind(owner)
    .bind(until)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Removes a finished item; `false` when this claim no longer holds it (lease lost).
pub async fn complete(
    conn: &mut PgConnection,
    item: &WorkItem,
    owner: &str,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("delete from work_items where id = $1 and lease_owner = $2 and claims = $3")
            .bind(item.id)
            .bind(owner)
            .bind(item.claims)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives an item back, due at `available_at`; `false` when this claim no longer holds it.
pub async fn release(
    conn: &mut PgConnection,
    item: &WorkItem,
    owner: &str,
    available_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "update work_items set lease_owner = null, available_at = $4, released_claims = claims
         where id = $1 and lease_owner = $2 and claims = $3",
    )
    .bind(item.id)
    .bind(owner)
    .bind(item.claims)
    .bind(available_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Extends the leases `owner` holds on `ids` to `until` (the heartbeat of a busy worker).
pub async fn extend(
    conn: &mut PgConnection,
    owner: &str,
    ids: &[i64],
    until: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "update work_items set available_at = $3 where id = any($1) and lease_owner = $2",
    )
    .bind(ids)
    .bind(owner)
    .bind(until)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Makes a run's unclaimed items of `kind` due now (a signal arrived for its wait).
pub async fn wake(
    conn: &mut PgConnection,
    run_id: Uuid,
    kind: WorkKind,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "update work_items set available_at = $3
         where run_id = $1 and kind = $2 and lease_owner is null",
    )
    .bind(run_id)
    .bind(kind.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() > 0 {
        notify(conn).await?;
    }
    Ok(done.rows_affected() > 0)
}

/// Deletes every item of a run (cancel, abandon).
pub async fn delete_for_run(conn: &mut PgConnection, run_id: Uuid) -> Result<u64, StoreError> {
    let done = sqlx::query("delete from work_items where run_id = $1")
        .bind(run_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Deletes a run's items except those of `kind` a worker holds (a call in flight when its run
/// is cancelled: it finishes and its result is recorded); returns how many are kept.
pub async fn delete_for_run_except_leased(
    conn: &mut PgConnection,
    run_id: Uuid,
    kind: WorkKind,
) -> Result<u64, StoreError> {
    sqlx::query("delete from work_items where run_id = $1 and (kind <> $2 or lease_owner is null)")
        .bind(run_id)
        .bind(kind.as_str())
        .execute(&mut *conn)
        .await?;
    let kept: (i64,) = sqlx::query_as("select count(*) from work_items where run_id = $1")
        .bind(run_id)
        .fetch_one(conn)
        .await?;
    Ok(u64::try_from(kept.0).unwrap_or(0))
}

/// When the next item falls due (for an idle worker's sleep).
pub async fn next_due(conn: &mut PgConnection) -> Result<Option<DateTime<Utc>>, StoreError> {
    let row: (Option<DateTime<Utc>>,) = sqlx::query_as("select min(available_at) from work_items")
        .fetch_one(conn)
        .await?;
    Ok(row.0)
}

/// Items queued (all states).
pub async fn count(conn: &mut PgConnection) -> Result<i64, StoreError> {
    let row: (i64,) = sqlx::query_as("select count(*) from work_items")
        .fetch_one(conn)
        .await?;
    Ok(row.0)
}
