//! What the runtime needs from the rest of the host: the xref store, the audit sink and the
//! clock. The engine implements the first two on Postgres and lends its clock; the in-memory
//! ones and the system clock serve tests and `weft plugin invoke`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use futures_util::future::BoxFuture;
use weft_plugin_sdk::xref::{XrefError, XrefMap};

use crate::MemoryAudit;
use weft_concepts::{AuditSink, Clock, SystemClock};

/// Per-tenant cross-references. The host checks arguments (`xref_ref::check_get`,
/// `check_link`) before calling; errors are what the plugin sees, `Unavailable` when the store
/// could not answer.
pub trait XrefStore: Send + Sync {
    /// The reference in `system` linked to `reference`, for `tenant`.
    fn get<'a>(
        &'a self,
        tenant: &'a str,
        reference: &'a str,
        system: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, XrefError>>;

    /// Links `a` and `b` for `tenant`.
    fn put<'a>(
        &'a self,
        tenant: &'a str,
        a: &'a str,
        b: &'a str,
    ) -> BoxFuture<'a, Result<(), XrefError>>;

    /// Removes the link between `a` and `b` for `tenant`; `false` if there was none.
    fn unlink<'a>(
        &'a self,
        tenant: &'a str,
        a: &'a str,
        b: &'a str,
    ) -> BoxFuture<'a, Result<bool, XrefError>>;
}

/// Cross-references in memory.
#[derive(Debug, Default)]
pub struct MemoryXref {
    tenants: Mutex<HashMap<String, XrefMap>>,
}

impl XrefStore for MemoryXref {
    fn get<'a>(
        &'a self,
        tenant: &'a str,
        reference: &'a str,
        system: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, XrefError>> {
        let result = match self.tenants.lock() {
            Ok(t) => match t.get(tenant) {
                Some(map) => map.get(reference, system),
                None => weft_plugin_sdk::xref::check_get(reference, system).map(|()| None),
            },
            Err(_) => Err(poisoned()),
        };
        Box::pin(async move { result })
    }

    fn put<'a>(
        &'a self,
        tenant: &'a str,
        a: &'a str,
        b: &'a str,
    ) -> BoxFuture<'a, Result<(), XrefError>> {
        let result = match self.tenants.lock() {
            Ok(mut t) => t.entry(tenant.to_owned()).or_default().put(a, b),
            Err(_) => Err(poisoned()),
        };
        Box::pin(async move { result })
    }

    fn unlink<'a>(
        &'a self,
        tenant: &'a str,
        a: &'a str,
        b: &'a str,
    ) -> BoxFuture<'a, Result<bool, XrefError>> {
        let result = match self.tenants.lock() {
            Ok(mut t) => match t.get_mut(tenant) {
                Some(map) => map.unlink(a, b),
                None => weft_plugin_sdk::xref::check_link(a, b).map(|_| false),
            },
            Err(_) => Err(poisoned()),
        };
        Box::pin(async move { result })
    }
}

fn poisoned() -> XrefError {
    XrefError::Unavailable("the in-memory xref store is poisoned by an earlier panic".to_owned())
}

/// The services one runtime hands to every attempt.
#[derive(Clone)]
pub struct Services {
    /// Where outbound calls are recorded.
    pub audit: Arc<dyn AuditSink>,
    /// Cross-references.
    pub xref: Arc<dyn XrefStore>,
    /// Stamps audit records and log lines, so that they agree with the engine's time. Limits
    /// (wall time, timeouts) are measured on the monotonic clock, never on this one.
    pub clock: Arc<dyn Clock>,
}

impl Services {
    /// In-memory services; returns the audit log too so the caller can read it.
    pub fn in_memory() -> (Self, Arc<MemoryAudit>) {
        let audit = Arc::new(MemoryAudit::default());
        (
            Self {
                audit: audit.clone(),
                xref: Arc::new(MemoryXref::default()),
                clock: Arc::new(SystemClock),
            },
            audit,
        )
    }

    /// The time to record now.
    pub(crate) fn now(&self) -> SystemTime {
        SystemTime::from(self.clock.now())
    }
}

impl fmt::Debug for Services {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Services").finish_non_exhaustive()
    }
}

/// A secret's value. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue([redacted])")
    }
}
