//! The audit trail of outbound calls: the record of one call, and the sink records go to. Every
//! request a plugin asks for is recorded, sent or not; secrets never reach a record. The runtime
//! makes records, the store persists them.
//!
//! A call is announced to the sink ([`AuditSink::sending`]) before it leaves the host and
//! recorded again with its outcome under the same [`AuditRecord::id`]: a host killed mid-call,
//! or an attempt whose result is never committed, still leaves a record of a call that may have
//! reached the remote.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use uuid::Uuid;

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

/// What [`AuditSink::sending`] returns: the announcement, done or refused.
pub type AuditFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Where audit records go.
pub trait AuditSink: Send + Sync {
    /// Announces a call (outcome [`AuditOutcome::InFlight`]) before it leaves the host; the call
    /// is sent only once this succeeds. An error refuses the call, so that nothing leaves the
    /// host unrecorded: the plugin sees a connection error, which it may retry. The default
    /// keeps nothing (for sinks that see every record through [`AuditSink::record`] anyway).
    fn sending<'a>(&'a self, record: &'a AuditRecord) -> AuditFuture<'a> {
        let _ = record;
        Box::pin(async { Ok(()) })
    }

    /// Records one call with its outcome. Must not block for long: it runs on the attempt's path.
    fn record(&self, record: AuditRecord);
}

/// Sends records to `tracing` (target `weft::audit`); for hosts that persist the records that
/// come back in each attempt report themselves.
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
