//! The audit trail of outbound calls. Every request a plugin asks for is recorded, sent or not;
//! secrets never reach a record. The engine persists records; [`MemoryAudit`] keeps them in memory.
//!
//! A call is announced to the sink ([`AuditSink::sending`]) before it leaves the host and
//! recorded again with its outcome under the same [`AuditRecord::id`]: a host killed mid-call,
//! or an attempt whose result is never committed, still leaves a record of a call that may have
//! reached the remote.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;
use serde::Serialize;
use uuid::Uuid;

use crate::bindings::http::HttpError;
use crate::state::AttemptState;

use crate::outcome::cut_text;
use crate::storable::storable_text;

/// Longest URL kept in an audit record; longer ones are cut (and marked so). A plugin controls
/// the URL, and every record is kept in host memory until its attempt commits.
pub(crate) const MAX_AUDIT_URL_BYTES: usize = 2 << 10;

/// One outbound call, or one refused attempt at one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// The call's id: its announcement and its outcome are one record.
    pub id: Uuid,
    /// When the call started.
    #[serde(rename = "at_unix_ms", with = "crate::serde_time::unix_millis")]
    pub at: SystemTime,
    /// Tenant of the run.
    pub tenant: String,
    /// The run.
    pub run_id: String,
    /// The step.
    pub step_id: String,
    /// The attempt number.
    pub attempt: u32,
    /// `name@version` of the plugin that asked.
    pub plugin: String,
    /// HTTP method.
    pub method: String,
    /// The URL, with any secret value replaced by its placeholder.
    pub url: String,
    /// The response status, when one came.
    pub status: Option<u16>,
    /// What happened.
    pub outcome: AuditOutcome,
    /// Request body size in bytes.
    pub request_bytes: u64,
    /// Response body size in bytes (as far as it was read).
    pub response_bytes: u64,
    /// How long the call took.
    #[serde(rename = "duration_ms", with = "crate::serde_time::millis")]
    pub duration: Duration,
}

/// How an outbound call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "kebab-case")]
pub enum AuditOutcome {
    /// A response came back (any status).
    Completed,
    /// The host refused to send it (allow-list, secret not granted, limit, malformed).
    Refused(String),
    /// Sent, but no usable response (timeout, connection, response too large).
    Failed(String),
    /// About to leave the host, outcome not known yet. A record left in this state is a call
    /// whose attempt never reported back (its host stopped, or its result was never committed):
    /// the remote may have acted on it.
    InFlight,
}

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

/// Where audit records go.
pub trait AuditSink: Send + Sync {
    /// Announces a call (outcome [`AuditOutcome::InFlight`]) before it leaves the host; the call
    /// is sent only once this succeeds. An error refuses the call, so that nothing leaves the
    /// host unrecorded: the plugin sees a connection error, which it may retry. The default
    /// keeps nothing (for sinks that see every record through [`AuditSink::record`] anyway).
    fn sending<'a>(&'a self, record: &'a AuditRecord) -> BoxFuture<'a, Result<(), String>> {
        let _ = record;
        Box::pin(async { Ok(()) })
    }

    /// Records one call with its outcome. Must not block for long: it runs on the attempt's path.
    fn record(&self, record: AuditRecord);
}

impl AttemptState {
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
        let c = &self.grants.context;
        let record = AuditRecord {
            id,
            at,
            tenant: c.tenant.clone(),
            run_id: c.run_id.clone(),
            step_id: c.step_id.clone(),
            attempt: c.attempt,
            plugin: self.grants.plugin.clone(),
            method: method.to_owned(),
            url: audit_url(self.grants.redact(url.to_owned())),
            status: None,
            outcome: AuditOutcome::InFlight,
            request_bytes,
            response_bytes: 0,
            duration: Duration::ZERO,
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

/// Sends records to `tracing` (target `weft::audit`); for hosts that persist the records that
/// come back in each [`crate::AttemptReport`] themselves.
#[derive(Debug, Default)]
pub struct TracingAudit;

impl AuditSink for TracingAudit {
    fn record(&self, r: AuditRecord) {
        tracing::debug!(
            target: "weft::audit",
            tenant = %r.tenant, run = %r.run_id, step = %r.step_id, attempt = r.attempt,
            plugin = %r.plugin, method = %r.method, url = %r.url, status = ?r.status,
            outcome = ?r.outcome, duration_ms = r.duration.as_millis() as u64,
            "outbound call"
        );
    }
}
