//! What one attempt's `Store` holds: WASI (as little as the Rust standard library needs), the
//! call's context and grants, the limits and the meters that enforce them, and what the attempt
//! leaves behind (logs, stderr, HTTP call count).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Result as WasmResult};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::egress::EgressPolicy;
use crate::limits::Limits;
use crate::outcome::{Outcome, cut_text};
use crate::redact::{Expired, Redactor, weakness};
use crate::services::{SecretValue, Services};
use crate::stderr::CappedOutput;
use crate::{LogLine, StepContext};

/// Bytes of the guest's stderr kept, for panic messages.
const STDERR_CAPTURE_BYTES: usize = 8 << 10;
/// Longest single log line kept; longer ones are cut.
pub(crate) const MAX_LOG_LINE_BYTES: usize = 4 << 10;
/// What each kept log line costs against `max_log_bytes` on top of its text: the host's own
/// record of a line (level, time, vector slot). Without it empty lines would cost nothing and a
/// loop logging `""` would grow the buffer without end.
pub(crate) const LOG_LINE_OVERHEAD_BYTES: u64 = 64;
/// Most log lines kept per attempt, whatever `max_log_bytes` allows.
pub(crate) const MAX_LOG_LINES: usize = 1_000;
/// Table elements a guest may grow to (function tables of Rust components stay far below).
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Who is calling and what they are granted, for one attempt.
#[derive(Debug, Clone)]
pub(crate) struct Grants {
    pub context: StepContext,
    /// `name@version` of the plugin.
    pub plugin: String,
    pub config: Arc<BTreeMap<String, String>>,
    /// The tenant's secrets that the plugin's manifest names.
    pub secrets: BTreeMap<String, SecretValue>,
    pub egress: Arc<EgressPolicy>,
    pub deadline: SystemTime,
    /// What redaction looks for; see [`crate::redact`].
    pub redaction: Redaction,
}

/// The two sets of secrets redaction searches for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redaction {
    /// Names of the secrets substituted into this attempt's requests so far.
    sent: BTreeSet<String>,
    /// Those secrets: what is searched in what the plugin reads (responses, outputs).
    to_plugin: Redactor,
    /// Every granted secret strong enough to be sent: what is searched in what only operators
    /// read (logs, stderr, error texts, audit URLs). The plugin never sees that text, so it
    /// cannot use it as an oracle; built on first use.
    to_operator: OnceLock<Redactor>,
}

impl Grants {
    /// Nothing granted: for reading a plugin's manifest.
    pub fn for_describe(deadline: SystemTime) -> Self {
        Self {
            context: StepContext {
                tenant: String::new(),
                run_id: String::new(),
                step_id: "describe".into(),
                attempt: 1,
                idempotency_key: String::new(),
            },
            plugin: String::new(),
            config: Arc::default(),
            secrets: BTreeMap::new(),
            egress: Arc::default(),
            deadline,
            redaction: Redaction::default(),
        }
    }

    /// Why the granted secret `name` must not be sent, if it must not: too short or too
    /// uniform to stay unguessable once a plugin can watch redaction (see [`crate::redact`]).
    pub fn weak_secret(&self, name: &str) -> Option<String> {
        let value = self.secrets.get(name)?;
        weakness(value.expose().as_bytes()).map(|why| {
            format!(
                "secret `{name}` is too guessable to be sent: {why}; set a longer, random value \
                 for `{name}` in the tenant's secrets (what the host redacts would otherwise \
                 let a plugin guess it)"
            )
        })
    }

    /// Records that these secrets were substituted into a request that is about to be sent:
    /// from now on they are redacted from what the plugin reads.
    pub fn mark_sent<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        let r = &mut self.redaction;
        let before = r.sent.len();
        r.sent.extend(names.into_iter().map(str::to_owned));
        if r.sent.len() != before {
            r.to_plugin = Redactor::new(r.sent.iter().filter_map(|name| {
                self.secrets
                    .get(name)
                    .map(|v| (name.as_str(), v.expose().as_bytes()))
            }));
        }
    }

    fn to_operator(&self) -> &Redactor {
        self.redaction.to_operator.get_or_init(|| {
            Redactor::new(
                self.secrets
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.expose().as_bytes()))
                    .filter(|(_, v)| weakness(v).is_none()),
            )
        })
    }

    /// Length of the longest secret [`Self::redact`] looks for, in bytes.
    pub fn longest_secret(&self) -> usize {
        self.to_operator().longest()
    }

    /// Replaces any granted secret's value in `text` (which only operators read) with its
    /// placeholder.
    pub fn redact(&self, text: String) -> String {
        self.to_operator().redact(text)
    }

    /// Replaces the value of any secret sent in this attempt in `text`, which the plugin (or a
    /// later step) reads.
    pub fn redact_for_plugin(&self, text: String) -> String {
        self.redaction.to_plugin.redact(text)
    }

    /// [`Self::redact_for_plugin`] for a response body, stopped when the attempt's time is up.
    pub fn redact_body(&self, data: &[u8]) -> Result<Option<Vec<u8>>, Expired> {
        self.redaction
            .to_plugin
            .redact_bytes(data, Some(self.deadline))
    }
}

/// Store data of one attempt.
pub(crate) struct AttemptState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub memory: MemoryMeter,
    pub cpu: CpuMeter,
    pub grants: Grants,
    pub limits: Limits,
    pub services: Services,
    pub http_client: reqwest::Client,
    /// See `RuntimeConfig::allow_private_egress`; IP-literal URLs are checked against it.
    pub allow_private_egress: bool,
    pub http_calls: u32,
    /// xref calls made so far, against `limits.max_xref_calls`.
    pub xref_calls: u32,
    pub calls: Vec<crate::AuditRecord>,
    /// Calls refused past `max_http_calls`: one summary record, not one record each.
    pub refused_over_limit: Option<crate::audit::RefusedCalls>,
    pub logs: LogBuffer,
    pub stderr: CappedOutput,
    /// The outcome a host call decided when it ended the attempt with a trap (its wall time ran
    /// out during host work, a weak secret was asked for).
    pub ended: Option<Outcome>,
}

impl AttemptState {
    pub fn new(
        grants: Grants,
        limits: Limits,
        services: Services,
        http_client: reqwest::Client,
        tick: Duration,
    ) -> Self {
        let stderr = CappedOutput::new(STDERR_CAPTURE_BYTES);
        // No preopened directories, no environment, no arguments, no sockets: a plugin reaches
        // the world only through the weft:plugin imports.
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            memory: MemoryMeter {
                limit: limits.memory_bytes,
                used: 0,
                exceeded: false,
            },
            cpu: CpuMeter::new(limits.cpu_time, tick),
            logs: LogBuffer::new(limits.max_log_bytes),
            grants,
            limits,
            services,
            http_client,
            allow_private_egress: false,
            http_calls: 0,
            xref_calls: 0,
            calls: Vec::new(),
            refused_over_limit: None,
            stderr,
            ended: None,
        }
    }

    /// Ends the attempt as `timeout` if its wall time ran out, however the time was spent: called
    /// when each host call returns, so host work done for the plugin counts against the limit.
    pub fn check_deadline(&mut self) -> WasmResult<()> {
        if SystemTime::now() >= self.grants.deadline {
            return Err(self.end(Outcome::Timeout {
                limit: self.limits.wall_time,
            }));
        }
        Ok(())
    }

    /// Ends the attempt with `outcome`: returns the trap to raise (the outcome is read from
    /// [`Self::ended`], not from the trap).
    pub fn end(&mut self, outcome: Outcome) -> wasmtime::Error {
        let what = outcome.describe();
        self.ended.get_or_insert(outcome);
        wasmtime::Error::msg(what)
    }

    /// The end of the guest's stderr (where Rust prints panic messages), if any.
    pub fn stderr_text(&self) -> Option<String> {
        let (bytes, dropped) = self.stderr.contents();
        let mut text = String::from_utf8_lossy(&bytes).trim().to_owned();
        if dropped > 0 {
            text.push_str(&format!(" …[{dropped} more bytes]"));
        }
        (!text.is_empty()).then(|| self.grants.redact(text))
    }
}

impl WasiView for AttemptState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Linear memory accounting across all of the attempt's memories.
pub(crate) struct MemoryMeter {
    pub limit: u64,
    pub used: u64,
    pub exceeded: bool,
}

/// The trap a limit breach raises; the attempt's outcome is read from the meters, not from it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LimitTrap {
    #[error("memory limit of {0} bytes exceeded")]
    Memory(u64),
    #[error("CPU time limit of {0:?} exceeded")]
    Cpu(Duration),
}

impl ResourceLimiter for AttemptState {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> WasmResult<bool> {
        let m = &mut self.memory;
        let grow = u64::try_from(desired.saturating_sub(current)).unwrap_or(u64::MAX);
        if m.used.saturating_add(grow) > m.limit {
            // Trap at once instead of returning `false`: a Rust guest would abort with a generic
            // "allocation failed", and the operator should read "memory limit" instead.
            m.exceeded = true;
            return Err(LimitTrap::Memory(m.limit).into());
        }
        m.used += grow;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> WasmResult<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// Guest execution time, in epoch ticks. The epoch callback runs once per tick while the guest
/// executes, and once when it resumes after a host call however long that took, so waiting on
/// HTTP does not count as CPU.
pub(crate) struct CpuMeter {
    pub ticks: u64,
    pub limit_ticks: u64,
    pub limit: Duration,
    pub exceeded: bool,
}

impl CpuMeter {
    fn new(limit: Duration, tick: Duration) -> Self {
        let limit_ticks = (limit.as_micros() / tick.as_micros().max(1)).max(1);
        Self {
            ticks: 0,
            limit_ticks: u64::try_from(limit_ticks).unwrap_or(u64::MAX),
            limit,
            exceeded: false,
        }
    }

    /// Counts a tick; `Err` once the budget is spent.
    pub fn tick(&mut self) -> Result<(), LimitTrap> {
        self.ticks += 1;
        if self.ticks > self.limit_ticks {
            self.exceeded = true;
            return Err(LimitTrap::Cpu(self.limit));
        }
        Ok(())
    }
}

/// Log lines of one attempt, capped in total size (each line counted with an overhead) and in
/// number.
pub(crate) struct LogBuffer {
    pub lines: Vec<LogLine>,
    pub dropped: u32,
    bytes: u64,
    limit: u64,
}

impl LogBuffer {
    fn new(limit: u64) -> Self {
        Self {
            lines: Vec::new(),
            dropped: 0,
            bytes: 0,
            limit,
        }
    }

    /// Whether a line of `len` bytes (before cutting) would be kept. Checked before any work
    /// is done on the line, so that a flood of dropped lines costs the host next to nothing.
    pub fn accepts(&self, len: usize) -> bool {
        let size = len.min(MAX_LOG_LINE_BYTES) as u64 + LOG_LINE_OVERHEAD_BYTES;
        self.lines.len() < MAX_LOG_LINES && self.bytes.saturating_add(size) <= self.limit
    }

    /// Counts a line that is not kept.
    pub fn drop_line(&mut self) {
        self.dropped = self.dropped.saturating_add(1);
    }

    /// Keeps `line` (cut to [`MAX_LOG_LINE_BYTES`]) if it fits; returns whether it was kept.
    pub fn push(&mut self, mut line: LogLine) -> bool {
        line.message = cut_text(line.message, MAX_LOG_LINE_BYTES);
        if !self.accepts(line.message.len()) {
            self.drop_line();
            return false;
        }
        self.bytes += line.message.len() as u64 + LOG_LINE_OVERHEAD_BYTES;
        self.lines.push(line);
        true
    }
}

/// Secret names a plugin may use: those its manifest declares.
pub(crate) fn granted_secrets(
    declared: &HashSet<String>,
    tenant_secrets: &BTreeMap<String, SecretValue>,
) -> BTreeMap<String, SecretValue> {
    tenant_secrets
        .iter()
        .filter(|(name, _)| declared.contains(*name))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
