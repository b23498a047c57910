//! What the runtime needs from the rest of the host: the xref store and the audit sink. The
//! engine implements them on Postgres; the in-memory ones serve tests and `weft plugin invoke`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use weft_plugin_sdk::xref::XrefMap;

use crate::audit::{AuditSink, MemoryAudit};

/// Per-tenant cross-references. Errors are messages the plugin sees.
pub trait XrefStore: Send + Sync {
    /// The reference in `system` linked to `reference`, for `tenant`.
    fn get<'a>(
        &'a self,
        tenant: &'a str,
        reference: &'a str,
        system: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, String>>;

    /// Links `a` and `b` for `tenant`.
    fn put<'a>(
        &'a self,
        tenant: &'a str,
        a: &'a str,
        b: &'a str,
    ) -> BoxFuture<'a, Result<(), String>>;
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
    ) -> BoxFuture<'a, Result<Option<String>, String>> {
        let result = match self.tenants.lock() {
            Ok(t) => match t.get(tenant) {
                Some(map) => map.get(reference, system),
                None => weft_plugin_sdk::xref::parse_ref(reference).map(|_| None),
            },
            Err(_) => Err("xref store unavailable".to_owned()),
        };
        Box::pin(async move { result })
    }

    fn put<'a>(
        &'a self,
        tenant: &'a str,
        a: &'a str,
        b: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        let result = match self.tenants.lock() {
            Ok(mut t) => t.entry(tenant.to_owned()).or_default().put(a, b),
            Err(_) => Err("xref store unavailable".to_owned()),
        };
        Box::pin(async move { result })
    }
}

/// The services one runtime hands to every attempt.
#[derive(Clone)]
pub struct Services {
    /// Where outbound calls are recorded.
    pub audit: Arc<dyn AuditSink>,
    /// Cross-references.
    pub xref: Arc<dyn XrefStore>,
}

impl Services {
    /// In-memory services; returns the audit log too so the caller can read it.
    pub fn in_memory() -> (Self, Arc<MemoryAudit>) {
        let audit = Arc::new(MemoryAudit::default());
        (
            Self {
                audit: audit.clone(),
                xref: Arc::new(MemoryXref::default()),
            },
            audit,
        )
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
