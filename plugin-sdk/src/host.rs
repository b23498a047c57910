//! What an operation can reach: its context, the tenant's configuration, logs, HTTP and xref.
//! All of it goes through the host; a plugin has no other way out of its sandbox.

use crate::PluginError;
use crate::http::{Http, HttpError, HttpRequest, HttpResponse};
use crate::xref::XrefError;

/// Where this attempt stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepContext {
    /// The tenant the run belongs to.
    pub tenant: String,
    /// The run.
    pub run_id: String,
    /// The step of the run this attempt executes.
    pub step_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Stable per (tenant, run, step) across attempts and hosts: send it to the remote system so
    /// that a retried attempt finds the record the first one made instead of making another.
    pub idempotency_key: String,
    /// The attempt is cut at this instant (milliseconds since the Unix epoch).
    pub deadline_unix_ms: u64,
}

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Very detailed.
    Trace,
    /// For the plugin's author.
    Debug,
    /// For the operator.
    Info,
    /// Something odd that did not stop the operation.
    Warn,
    /// Something failed.
    Error,
}

/// The host's services, as the plugin sees them. Implemented by the wasm guest glue and by the
/// native test harness.
pub(crate) trait Backend {
    fn context(&self) -> StepContext;
    fn config(&self, key: &str) -> Option<String>;
    fn log(&self, level: Level, message: &str);
    fn http(&self, request: HttpRequest) -> Result<HttpResponse, HttpError>;
    fn xref_get(&self, from: &str, system: &str) -> Result<Option<String>, XrefError>;
    fn xref_put(&self, a: &str, b: &str) -> Result<(), XrefError>;
    fn xref_unlink(&self, a: &str, b: &str) -> Result<bool, XrefError>;
}

/// Handed to every operation: the way to the host's services.
pub struct Host<'a> {
    backend: &'a dyn Backend,
}

impl<'a> Host<'a> {
    pub(crate) fn new(backend: &'a dyn Backend) -> Self {
        Self { backend }
    }

    /// The tenant, run, step, attempt and idempotency key of this attempt.
    pub fn context(&self) -> StepContext {
        self.backend.context()
    }

    /// The tenant's setting `key` for this plugin, if set.
    pub fn config(&self, key: &str) -> Option<String> {
        self.backend.config(key)
    }

    /// The tenant's setting `key`, or a permanent error telling the operator to set it.
    pub fn require_config(&self, key: &str) -> Result<String, PluginError> {
        self.config(key).ok_or_else(|| {
            PluginError::permanent(
                "missing-config",
                format!("configuration key `{key}` is not set for this tenant; set it and retry"),
            )
        })
    }

    /// Logs a line into the run's history.
    pub fn log(&self, level: Level, message: &str) {
        self.backend.log(level, message);
    }

    /// Logs at info level.
    pub fn info(&self, message: &str) {
        self.log(Level::Info, message);
    }

    /// Logs at warn level.
    pub fn warn(&self, message: &str) {
        self.log(Level::Warn, message);
    }

    /// Outbound HTTP through the host (allow-listed, audited, secrets substituted).
    pub fn http(&self) -> Http<'a> {
        Http::new(self.backend)
    }

    /// The reference in `system` linked to `from` (`crm:account/123` → `odoo:res.partner/42`).
    /// A malformed or over-long argument is invalid input; an unavailable store is retryable
    /// (see [`XrefError`]).
    pub fn xref_get(&self, from: &str, system: &str) -> Result<Option<String>, PluginError> {
        Ok(self.backend.xref_get(from, system)?)
    }

    /// Links two references of different systems.
    pub fn xref_put(&self, a: &str, b: &str) -> Result<(), PluginError> {
        Ok(self.backend.xref_put(a, b)?)
    }

    /// Removes the link between `a` and `b`, as a compensation of [`Host::xref_put`] does;
    /// `false` when they were not linked (nothing to undo).
    pub fn xref_unlink(&self, a: &str, b: &str) -> Result<bool, PluginError> {
        Ok(self.backend.xref_unlink(a, b)?)
    }
}
