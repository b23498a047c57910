//! The outbound-call audit on Postgres. Records are written with the commit of the attempt that
//! made the calls (even one whose lease ran out: the calls happened all the same).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use weft_runtime::AuditRecord;

use crate::StoreError;

/// The insert of audit records passed as one `jsonb` array (see [`rows`]) in parameter `$p`, as
/// a literal so the step commit can embed it and queries stay `&'static str`.
macro_rules! insert_audit {
    ($p:literal) => {
        concat!(
            "insert into outbound_calls (tenant_id, run_id, step_id, attempt, plugin, method, url,
                 status, outcome, request_bytes, response_bytes, duration_ms, at)
             select tenant_id, run_id, step_id, attempt, plugin, method, url, status, outcome,
                 request_bytes, response_bytes, duration_ms, at
             from jsonb_to_recordset(",
            $p,
            "::jsonb) as t(tenant_id text, run_id text, step_id text, attempt integer,
                 plugin text, method text, url text, status integer, outcome jsonb,
                 request_bytes bigint, response_bytes bigint, duration_ms bigint, at timestamptz)"
        )
    };
}
pub(crate) use insert_audit;

/// Writes audit records.
#[derive(Debug, Clone, Copy, Default)]
pub struct PgAudit;

impl PgAudit {
    /// Inserts `records` in one statement.
    pub async fn insert(
        conn: &mut PgConnection,
        records: &[AuditRecord],
    ) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        sqlx::query(insert_audit!("$1"))
            .bind(rows(records)?)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// `records` as the rows [`insert_audit`] reads.
pub(crate) fn rows(records: &[AuditRecord]) -> Result<serde_json::Value, StoreError> {
    records
        .iter()
        .map(|r| {
            Ok(serde_json::json!({
                "tenant_id": r.tenant,
                "run_id": r.run_id,
                "step_id": r.step_id,
                "attempt": i32::try_from(r.attempt).unwrap_or(i32::MAX),
                "plugin": r.plugin,
                "method": r.method,
                "url": r.url,
                "status": r.status,
                "outcome": serde_json::to_value(&r.outcome)?,
                "request_bytes": i64::try_from(r.request_bytes).unwrap_or(i64::MAX),
                "response_bytes": i64::try_from(r.response_bytes).unwrap_or(i64::MAX),
                "duration_ms": i64::try_from(r.duration.as_millis()).unwrap_or(i64::MAX),
                "at": DateTime::<Utc>::from(r.at),
            }))
        })
        .collect()
}
