//! Plugin log lines: kept in the attempt's report within `max_log_bytes` and a line count, and
//! sent to `tracing` only when kept and only as kept (cut and redacted), so that what reaches the
//! host's log is bounded by the same limits.

use crate::bindings::log::{Host, Level};
use crate::outcome::cut_text;
use crate::state::{AttemptState, MAX_LOG_LINE_BYTES};
use crate::{LogLevel, LogLine};

impl Host for AttemptState {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.keep(level, message);
        // Lifting a huge line costs the host a copy: counted against the wall time.
        self.check_deadline()
    }
}

impl AttemptState {
    fn keep(&mut self, level: Level, message: String) {
        if !self.logs.accepts(message.len()) {
            // Dropped lines are only counted: no copy, no redaction, no trace.
            self.logs.drop_line();
            return;
        }
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        // Cut before redacting, so a 32 MiB line costs no more host work than a 4 KiB one, but
        // keep a secret's length past the cut so a secret straddling it is still caught whole.
        let margin = self.grants.longest_secret();
        let message = cut_text(message, MAX_LOG_LINE_BYTES.saturating_add(margin));
        let message = cut_text(self.grants.redact(message), MAX_LOG_LINE_BYTES);
        let line = LogLine {
            at: self.services.now(),
            level,
            message,
        };
        if self.logs.push(line)
            && let Some(kept) = self.logs.lines.last()
        {
            let c = &self.grants.context;
            tracing::event!(
                target: "weft::plugin",
                tracing::Level::DEBUG,
                tenant = %c.tenant, run = %c.run_id, step = %c.step_id, attempt = c.attempt,
                plugin = %self.grants.plugin, level = ?kept.level,
                "{}", kept.message
            );
        }
    }
}
