//! The outbound-call audit on Postgres. Records are written in the transaction that completes
//! the step, so the audit and the run's history never disagree.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use weft_runtime::AuditRecord;

use crate::StoreError;

/// Writes audit records.
#[derive(Debug, Clone, Copy, Default)]
pub struct PgAudit;

impl PgAudit {
    /// Inserts `records`.
    pub async fn insert(
        conn: &mut PgConnection,
        records: &[AuditRecord],
    ) -> Result<(), StoreError> {
        for r in records {
            sqlx::query(
                "insert into outbound_calls (tenant_id, run_id, step_id, attempt, plugin, method, url,
                     status, outcome, request_bytes, response_bytes, duration_ms, at)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&r.tenant)
            .bind(&r.run_id)
            .bind(&r.step_id)
            .bind(i32::try_from(r.attempt).unwrap_or(i32::MAX))
            .bind(&r.plugin)
            .bind(&r.method)
            .bind(&r.url)
            .bind(r.status.map(i32::from))
            .bind(serde_json::to_value(&r.outcome)?)
            .bind(i64::try_from(r.request_bytes).unwrap_or(i64::MAX))
            .bind(i64::try_from(r.response_bytes).unwrap_or(i64::MAX))
            .bind(i64::try_from(r.duration.as_millis()).unwrap_or(i64::MAX))
            .bind(DateTime::<Utc>::from(r.at))
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}
