//! Signals sent to runs, kept until the wait step they are meant for takes them.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::StoreError;

/// Records signal `name` for a run; `false` when a signal with the same `dedup_id` was recorded
/// for the run before (a repeated delivery), in which case nothing is written.
pub async fn send(
    conn: &mut PgConnection,
    tenant: &str,
    run_id: Uuid,
    name: &str,
    payload: &serde_json::Value,
    dedup_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "insert into signals (tenant_id, run_id, name, payload, received_at, dedup_id)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (run_id, dedup_id) where dedup_id is not null do nothing",
    )
    .bind(tenant)
    .bind(run_id)
    .bind(name)
    .bind(payload)
    .bind(now)
    .bind(dedup_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the oldest pending signal `name` of a run for step `step`, returning its payload.
pub async fn take(
    conn: &mut PgConnection,
    run_id: Uuid,
    name: &str,
    step: &str,
) -> Result<Option<serde_json::Value>, StoreError> {
    let row: Option<(serde_json::Value,)> = sqlx::query_as(
        "update signals set consumed_by = $3
         where id = (select id from signals where run_id = $1 and name = $2
                     and consumed_by is null order by id limit 1)
         returning payload",
    )
    .bind(run_id)
    .bind(name)
    .bind(step)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| r.0))
}
