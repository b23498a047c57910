//! Runs: one row per run, holding what history would rebuild (status, outputs, what completed
//! and what was compensated), so a step does not replay history to continue.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::StoreError;

/// A run as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RunRow {
    /// Id.
    pub id: Uuid,
    /// Tenant.
    pub tenant_id: String,
    /// Definition name.
    pub definition: String,
    /// Definition version the run is pinned to.
    pub definition_version: i32,
    /// Business key: one run per (tenant, definition, key).
    pub business_key: String,
    /// Status name.
    pub status: String,
    /// The run's input.
    pub input: serde_json::Value,
    /// Plugin name -> sha256 the run uses.
    pub plugins: serde_json::Value,
    /// Step id -> output: read from the run's history (see `outputs_of!`), never written.
    pub outputs: serde_json::Value,
    /// Completed call steps, in order.
    pub completed: serde_json::Value,
    /// Steps already compensated.
    pub compensated: serde_json::Value,
    /// Why the run failed or parked.
    pub reason: Option<serde_json::Value>,
    /// The next history sequence number.
    pub next_seq: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// The columns of [`RunRow`], as a literal so queries stay `&'static str`.
macro_rules! run_columns {
    () => {
        concat!(
            "id, tenant_id, definition, definition_version, business_key, status, input, plugins, ",
            outputs_of!("runs.id"),
            " as outputs, completed, compensated, reason, next_seq, created_at, updated_at"
        )
    };
}

/// Inserts `run` unless its business key is taken; returns whether it was inserted.
pub async fn insert_if_new(conn: &mut PgConnection, run: &RunRow) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "insert into runs (id, tenant_id, definition, definition_version, business_key, status,
             input, plugins, completed, compensated, reason, next_seq, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         on conflict (tenant_id, definition, business_key) do nothing",
    )
    .bind(run.id)
    .bind(&run.tenant_id)
    .bind(&run.definition)
    .bind(run.definition_version)
    .bind(&run.business_key)
    .bind(&run.status)
    .bind(&run.input)
    .bind(&run.plugins)
    .bind(&run.completed)
    .bind(&run.compensated)
    .bind(&run.reason)
    .bind(run.next_seq)
    .bind(run.created_at)
    .bind(run.updated_at)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// The run of `definition` with business key `key`.
pub async fn find_by_key(
    conn: &mut PgConnection,
    tenant: &str,
    definition: &str,
    key: &str,
) -> Result<Option<RunRow>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "select ",
        run_columns!(),
        " from runs where tenant_id = $1 and definition = $2 and business_key = $3"
    ))
    .bind(tenant)
    .bind(definition)
    .bind(key)
    .fetch_optional(conn)
    .await?)
}

/// The run, locked for the rest of the transaction: every state change of a run takes this lock
/// first, so workers, signals and operators never interleave on one run.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<RunRow, StoreError> {
    sqlx::query_as(concat!(
        "select ",
        run_columns!(),
        " from runs where id = $1 for update"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("run {id}")))
}

/// The run of `tenant` with this id.
pub async fn get(conn: &mut PgConnection, tenant: &str, id: Uuid) -> Result<RunRow, StoreError> {
    sqlx::query_as(concat!(
        "select ",
        run_columns!(),
        " from runs where id = $1 and tenant_id = $2"
    ))
    .bind(id)
    .bind(tenant)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("run {id} of tenant {tenant}")))
}

/// Runs of a tenant, newest first, optionally only those with `status`.
pub async fn list(
    conn: &mut PgConnection,
    tenant: &str,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<RunRow>, StoreError> {
    Ok(sqlx::query_as(concat!(
        "select ",
        run_columns!(),
        " from runs where tenant_id = $1 and ($2::text is null or status = $2)
         order by created_at desc limit $3"
    ))
    .bind(tenant)
    .bind(status)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Writes the mutable part of `run` back.
pub async fn save(conn: &mut PgConnection, run: &RunRow) -> Result<(), StoreError> {
    sqlx::query(
        "update runs set status = $2, plugins = $3, completed = $4, compensated = $5,
             reason = $6, next_seq = $7, updated_at = $8
         where id = $1",
    )
    .bind(run.id)
    .bind(&run.status)
    .bind(&run.plugins)
    .bind(&run.completed)
    .bind(&run.compensated)
    .bind(&run.reason)
    .bind(run.next_seq)
    .bind(run.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts runs by status for a tenant (every tenant when `None`).
pub async fn count_by_status(
    conn: &mut PgConnection,
    tenant: Option<&str>,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "select status, count(*) from runs where $1::text is null or tenant_id = $1
         group by status order by status",
    )
    .bind(tenant)
    .fetch_all(conn)
    .await?)
}
