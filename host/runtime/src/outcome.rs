//! How an attempt ends: exactly one classified outcome. The engine maps classes to retry, fail or
//! park; operators read the messages.

use std::time::{Duration, SystemTime};

use serde::Serialize;
use weft_concepts::OutcomeClass;

/// Longest message kept from a plugin (errors, panics); longer ones are cut.
pub(crate) const MAX_MESSAGE_BYTES: usize = 4 << 10;

/// The end of one attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "class", rename_all = "kebab-case")]
pub enum Outcome {
    /// The operation returned output that is JSON, within size, and matches its schema.
    Ok {
        /// The JSON output.
        output: String,
    },
    /// The plugin said: try again later.
    PluginRetryable {
        /// Why.
        message: String,
        /// The remote asked to wait at least this long.
        #[serde(rename = "retry_after_ms", with = "crate::serde_time::opt_millis")]
        retry_after: Option<Duration>,
    },
    /// The plugin said: this will never work as it is.
    PluginPermanent {
        /// Machine-readable code.
        code: String,
        /// Why.
        message: String,
    },
    /// The input was refused (by the host's size limit, an unknown operation, or the plugin).
    InvalidInput {
        /// Why.
        message: String,
        /// Where in the input.
        field: Option<String>,
    },
    /// The plugin crashed (panic, unreachable, stack overflow, ...).
    Trap {
        /// What the guest printed when it panicked, or the trap's description.
        message: String,
    },
    /// The plugin executed longer than its CPU budget.
    CpuExceeded {
        /// The budget.
        #[serde(rename = "limit_ms", with = "crate::serde_time::millis")]
        limit: Duration,
    },
    /// The plugin tried to grow its memory past its limit.
    MemoryExceeded {
        /// The limit in bytes.
        limit: u64,
    },
    /// The attempt took longer than its wall-clock limit (host calls included).
    Timeout {
        /// The limit.
        #[serde(rename = "limit_ms", with = "crate::serde_time::millis")]
        limit: Duration,
    },
    /// The output is larger than allowed.
    OutputTooLarge {
        /// Output size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The output is not JSON, or does not match the operation's declared output schema.
    BadOutput {
        /// What is wrong with it.
        message: String,
    },
}

impl Outcome {
    /// The class.
    pub fn class(&self) -> OutcomeClass {
        match self {
            Self::Ok { .. } => OutcomeClass::Ok,
            Self::PluginRetryable { .. } => OutcomeClass::PluginRetryable,
            Self::PluginPermanent { .. } => OutcomeClass::PluginPermanent,
            Self::InvalidInput { .. } => OutcomeClass::InvalidInput,
            Self::Trap { .. } => OutcomeClass::Trap,
            Self::CpuExceeded { .. } => OutcomeClass::CpuExceeded,
            Self::MemoryExceeded { .. } => OutcomeClass::MemoryExceeded,
            Self::Timeout { .. } => OutcomeClass::Timeout,
            Self::OutputTooLarge { .. } => OutcomeClass::OutputTooLarge,
            Self::BadOutput { .. } => OutcomeClass::BadOutput,
        }
    }

    /// One line for an operator: what happened and what to do about it.
    pub fn describe(&self) -> String {
        match self {
            Self::Ok { .. } => "completed".into(),
            Self::PluginRetryable {
                message,
                retry_after: Some(d),
            } => {
                format!("retryable (not before {}ms): {message}", d.as_millis())
            }
            Self::PluginRetryable {
                message,
                retry_after: None,
            } => format!("retryable: {message}"),
            Self::PluginPermanent { code, message } => format!("failed [{code}]: {message}"),
            Self::InvalidInput {
                message,
                field: Some(f),
            } => {
                format!("invalid input at `{f}`: {message}")
            }
            Self::InvalidInput {
                message,
                field: None,
            } => format!("invalid input: {message}"),
            Self::Trap { message } => format!("plugin crashed: {message}"),
            Self::CpuExceeded { limit } => format!(
                "plugin used more than its CPU limit of {}ms; it may loop forever, or the limit \
                 (cpu_time) is too low for this step",
                limit.as_millis()
            ),
            Self::MemoryExceeded { limit } => format!(
                "plugin tried to use more than its memory limit of {} MiB; raise memory_bytes \
                 for this step if the input is legitimately large",
                limit >> 20
            ),
            Self::Timeout { limit } => format!(
                "attempt took longer than its wall-clock limit of {}ms (wall_time)",
                limit.as_millis()
            ),
            Self::OutputTooLarge { size, limit } => format!(
                "plugin returned {size} bytes of output; the limit is {limit} (max_output_bytes)"
            ),
            Self::BadOutput { message } => format!("plugin returned bad output: {message}"),
        }
    }
}

/// Severity of a plugin's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// trace
    Trace,
    /// debug
    Debug,
    /// info
    Info,
    /// warn
    Warn,
    /// error
    Error,
}

/// A line a plugin logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// When.
    #[serde(rename = "at_unix_ms", with = "crate::serde_time::unix_millis")]
    pub at: SystemTime,
    /// Severity.
    pub level: LogLevel,
    /// The text (secrets redacted, cut at 4 KiB).
    pub message: String,
}

/// Everything an attempt leaves behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptReport {
    /// How it ended.
    pub outcome: Outcome,
    /// What the plugin logged.
    pub logs: Vec<LogLine>,
    /// Lines dropped past the log limit.
    pub logs_dropped: u32,
    /// HTTP calls it asked for (sent or refused).
    pub http_calls: u32,
    /// The audit records of those calls (also sent to the runtime's audit sink).
    pub calls: Vec<crate::AuditRecord>,
    /// How long it took.
    #[serde(rename = "duration_ms", with = "crate::serde_time::millis")]
    pub duration: Duration,
}

/// Cuts `text` to [`MAX_MESSAGE_BYTES`] on a character boundary, with U+0000 replaced (it cannot
/// be stored).
pub(crate) fn cap_message(text: String) -> String {
    cut_text(crate::storable::storable_text(text), MAX_MESSAGE_BYTES)
}

/// Cuts `text` to `max` bytes on a character boundary, marking the cut.
pub(crate) fn cut_text(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("…[cut]");
    }
    text
}
