//! The outbound-call audit on Postgres. A call is written twice under its id: before it leaves the
//! host (outcome in-flight, through [`PgAuditSink`]), and with its outcome in the commit of the
//! attempt that made it (even one whose lease ran out: the call happened all the same), which
//! overwrites the first. A call whose attempt never commits keeps its in-flight row.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use weft_concepts::{AuditFuture, AuditOutcome, AuditRecord, AuditSink, TracingAudit};

use crate::StoreError;

/// Longest URL kept in a record, in bytes; a longer one is cut (and says so). A plugin chooses its
/// URLs, and each call's record is written once or twice.
const MAX_URL_BYTES: usize = 2048;
/// Longest outcome detail kept, in bytes.
const MAX_DETAIL_BYTES: usize = 1024;
/// How long an announcement may wait for a connection or for its insert before the call is
/// refused: an attempt must not hang on the audit, and a refused call can be retried.
const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(5);

/// The insert of audit records passed as one `jsonb` array (see [`rows`]) in parameter `$p`, as
/// a literal so the step commit can embed it and queries stay `&'static str`; `$conflict` is
/// what a record already announced under the same id becomes.
macro_rules! insert_audit {
    ($p:literal, $conflict:expr) => {
        concat!(
            "insert into outbound_calls (call_id, tenant_id, run_id, step_id, attempt, plugin,
                 method, url, status, outcome, request_bytes, response_bytes, duration_ms, at)
             select call_id, tenant_id, run_id, step_id, attempt, plugin, method, url, status,
                 outcome, request_bytes, response_bytes, duration_ms, at
             from jsonb_to_recordset(",
            $p,
            "::jsonb) as t(call_id uuid, tenant_id text, run_id text, step_id text,
                 attempt integer, plugin text, method text, url text, status integer,
                 outcome jsonb, request_bytes bigint, response_bytes bigint, duration_ms bigint,
                 at timestamptz)
             on conflict (call_id) ",
            $conflict
        )
    };
}
pub(crate) use insert_audit;

/// A call's outcome replaces its announcement.
macro_rules! outcome_wins {
    () => {
        "do update set status = excluded.status, outcome = excluded.outcome,
             request_bytes = excluded.request_bytes, response_bytes = excluded.response_bytes,
             duration_ms = excluded.duration_ms"
    };
}
pub(crate) use outcome_wins;

/// Writes audit records.
#[derive(Debug, Clone, Copy, Default)]
pub struct PgAudit;

impl PgAudit {
    /// Inserts `records` in one statement; each replaces the announcement of the same call.
    pub async fn insert(
        conn: &mut PgConnection,
        records: &[AuditRecord],
    ) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        sqlx::query(insert_audit!("$1", outcome_wins!()))
            .bind(rows(records)?)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// The runtime's audit sink on Postgres: writes each call's announcement before the call leaves
/// the host, on a small pool of its own whose commits do not wait for the WAL flush. A killed
/// host loses none of them (they are committed before the call is sent); a crash of the database
/// itself can lose the last few. Its own pool keeps a plugin's calls from taking the connections
/// step commits need. Outcomes are written by the attempt's commit and only traced here.
#[derive(Debug, Clone)]
pub struct PgAuditSink {
    pool: PgPool,
}

impl PgAuditSink {
    /// A sink beside `pool` (same database), with at most `max_connections` of its own.
    pub fn new(pool: &PgPool, max_connections: u32) -> Self {
        let options = (*pool.connect_options())
            .clone()
            .options([("synchronous_commit", "off"), ("statement_timeout", "5s")]);
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ANNOUNCE_TIMEOUT)
            .connect_lazy_with(options);
        Self { pool }
    }

    async fn announce(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query(insert_audit!("$1", "do nothing"))
            .bind(rows(std::slice::from_ref(record))?)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

impl AuditSink for PgAuditSink {
    fn sending<'a>(&'a self, record: &'a AuditRecord) -> AuditFuture<'a> {
        Box::pin(async move {
            self.announce(record).await.map_err(|e| {
                tracing::warn!(run = %record.run_id, step = %record.step_id, "audit unavailable: {e}");
                "the audit store is unavailable".to_owned()
            })
        })
    }

    fn record(&self, record: AuditRecord) {
        TracingAudit.record(record);
    }
}

/// `records` as the rows [`insert_audit`] reads. Texts a plugin chooses are cut to a bound and
/// cleared of U+0000 (which `jsonb` cannot hold: one would fail the whole commit).
pub(crate) fn rows(records: &[AuditRecord]) -> Result<serde_json::Value, StoreError> {
    records
        .iter()
        .map(|r| {
            let outcome = match &r.outcome {
                AuditOutcome::Refused(d) => AuditOutcome::Refused(storable(d, MAX_DETAIL_BYTES)),
                AuditOutcome::Failed(d) => AuditOutcome::Failed(storable(d, MAX_DETAIL_BYTES)),
                other => other.clone(),
            };
            Ok(serde_json::json!({
                "call_id": r.id,
                "tenant_id": r.tenant,
                "run_id": r.run_id,
                "step_id": r.step_id,
                "attempt": i32::try_from(r.attempt).unwrap_or(i32::MAX),
                "plugin": r.plugin,
                "method": r.method,
                "url": storable(&r.url, MAX_URL_BYTES),
                "status": r.status,
                "outcome": serde_json::to_value(&outcome)?,
                "request_bytes": i64::try_from(r.request_bytes).unwrap_or(i64::MAX),
                "response_bytes": i64::try_from(r.response_bytes).unwrap_or(i64::MAX),
                "duration_ms": i64::try_from(r.duration.as_millis()).unwrap_or(i64::MAX),
                "at": DateTime::<Utc>::from(r.at),
            }))
        })
        .collect()
}

/// `text` cut to at most `max` bytes (on a character boundary, marked) with U+0000 replaced.
fn storable(text: &str, max: usize) -> String {
    let mut cut = text;
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        cut = &text[..end];
    }
    let mut out = cut.replace('\0', "\u{FFFD}");
    if cut.len() < text.len() {
        out.push_str("…[cut]");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_texts_are_bounded_and_free_of_nul() {
        assert_eq!(storable("a\0b", 10), "a\u{FFFD}b");
        let long = "é".repeat(MAX_URL_BYTES);
        let cut = storable(&long, MAX_URL_BYTES);
        assert!(cut.len() <= MAX_URL_BYTES + "…[cut]".len(), "{}", cut.len());
        assert!(cut.ends_with("…[cut]"));
        assert_eq!(storable("short", 10), "short");
    }
}
