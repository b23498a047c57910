//! History: the append-only events of every run.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::StoreError;

/// One stored event.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HistoryRow {
    /// Position in the run's history, from 1.
    pub seq: i64,
    /// When it happened (engine clock).
    pub at: DateTime<Utc>,
    /// The event as JSON (`{"type": ..., ...}`).
    pub event: serde_json::Value,
}

/// Appends `events` with sequence numbers from `first_seq`. The primary key (run, seq) makes a
/// concurrent writer with the same numbers fail instead of interleaving.
pub async fn append(
    conn: &mut PgConnection,
    tenant: &str,
    run_id: Uuid,
    first_seq: i64,
    events: &[(DateTime<Utc>, serde_json::Value)],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let seqs: Vec<i64> = (0..events.len() as i64).map(|i| first_seq + i).collect();
    let ats: Vec<DateTime<Utc>> = events.iter().map(|(at, _)| *at).collect();
    let bodies: Vec<serde_json::Value> = events.iter().map(|(_, e)| e.clone()).collect();
    sqlx::query(
        "insert into history (run_id, seq, tenant_id, at, event)
         select $1, s, $2, a, e from unnest($3::bigint[], $4::timestamptz[], $5::jsonb[]) as t(s, a, e)",
    )
    .bind(run_id)
    .bind(tenant)
    .bind(&seqs)
    .bind(&ats)
    .bind(&bodies)
    .execute(conn)
    .await?;
    Ok(())
}

/// Up to `limit` events of a run's history after sequence number `after`, in order: how a
/// client reads a long history, and how a watcher resumes without missing or repeating one.
pub async fn page(
    conn: &mut PgConnection,
    run_id: Uuid,
    after: i64,
    limit: i64,
) -> Result<Vec<HistoryRow>, StoreError> {
    Ok(sqlx::query_as(
        "select seq, at, event from history where run_id = $1 and seq > $2
         order by seq limit $3",
    )
    .bind(run_id)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// A run's history in order.
pub async fn list(conn: &mut PgConnection, run_id: Uuid) -> Result<Vec<HistoryRow>, StoreError> {
    Ok(
        sqlx::query_as("select seq, at, event from history where run_id = $1 order by seq")
            .bind(run_id)
            .fetch_all(conn)
            .await?,
    )
}
