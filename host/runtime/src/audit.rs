//! Making audit records of a plugin's outbound calls (the record types and the sink live in
//! `weft-concepts`). The engine persists records; [`MemoryAudit`] keeps them in memory.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use uuid::Uuid;
use weft_concepts::{AuditOutcome, AuditRecord, AuditSink};

use crate::bindings::http::HttpError;
use crate::state::AttemptState;

use crate::outcome::cut_text;
use crate::storable::storable_text;

/// Longest URL kept in an audit record; longer ones are cut (and marked so). A plugin controls
/// the URL, and every record is kept in host memory until its attempt commits.
pub(crate) const MAX_AUDIT_URL_BYTES: usize = 2 << 10;

/// `url` (already redacted) as an audit record keeps it: cut to [`MAX_AUDIT_URL_BYTES`], with
/// U+0000 replaced (PostgreSQL cannot store it, and a record that cannot be stored fails the
/// commit of the whole attempt).
pub(crate) fn audit_url(url: String) -> String {
    cut_text(storable_text(url), MAX_AUDIT_URL_BYTES)
}

/// Calls refused because the attempt was past `max_http_calls`. A plugin may loop on refused
/// calls for its whole wall time; they become one record at the end of the attempt (the first
/// one's method and URL, and the count) instead of one record each.
#[derive(Debug, Clone)]
pub(crate) struct RefusedCalls {
    /// When the first one was asked for.
    pub at: SystemTime,
    /// Its method.
    pub method: &'static str,
    /// Its URL, as [`audit_url`] keeps it.
    pub url: String,
    /// How many were refused.
    pub count: u64,
}

impl RefusedCalls {
    /// The summary record.
    pub fn detail(&self, limit: u32) -> String {
        format!(
            "{} calls refused past the limit of {limit} per attempt (max_http_calls); the URL \
             is the first one's",
            self.count
        )
    }
}

impl AttemptState {
    /// A record of call `id` of this attempt, with no status, sizes or duration yet.
    pub(crate) fn audit_record(
        &self,
        id: Uuid,
        at: SystemTime,
        method: &str,
        url: String,
        outcome: AuditOutcome,
    ) -> AuditRecord {
        let c = &self.grants.context;
        AuditRecord {
            id,
            at,
            tenant: c.tenant.clone(),
            run_id: c.run_id.clone(),
            step_id: c.step_id.clone(),
            attempt: c.attempt,
            plugin: self.grants.plugin.clone(),
            method: method.to_owned(),
            url,
            status: None,
            outcome,
            request_bytes: 0,
            response_bytes: 0,
            duration: Duration::ZERO,
        }
    }

    /// Announces call `id` to the audit sink before it is sent; an error is the plugin's, the
    /// call was not sent.
    pub(crate) async fn announce(
        // `&mut`: the store data is `Send` but not `Sync`, and this future crosses an await.
        &mut self,
        id: Uuid,
        at: SystemTime,
        method: &str,
        url: &str,
        request_bytes: u64,
    ) -> Result<(), HttpError> {
        let url = audit_url(self.grants.redact(url.to_owned()));
        let record = AuditRecord {
            request_bytes,
            ..self.audit_record(id, at, method, url, AuditOutcome::InFlight)
        };
        self.services.audit.sending(&record).await.map_err(|e| {
            HttpError::Connection(format!(
                "the call was not sent: it could not be recorded first ({e}); retry later"
            ))
        })
    }
}

/// Keeps records in memory (tests, `weft plugin invoke`).
#[derive(Debug, Default)]
pub struct MemoryAudit {
    records: Mutex<Vec<AuditRecord>>,
}

impl MemoryAudit {
    /// Records so far.
    pub fn records(&self) -> Vec<AuditRecord> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl AuditSink for MemoryAudit {
    fn record(&self, record: AuditRecord) {
        if let Ok(mut records) = self.records.lock() {
            records.push(record);
        }
    }
}
