use std::time::SystemTime;

use crate::bindings::log::{Host, Level};
use crate::state::AttemptState;
use crate::{LogLevel, LogLine};

impl Host for AttemptState {
    fn log(&mut self, level: Level, message: String) {
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        let message = self.grants.redact(message);
        let c = &self.grants.context;
        tracing::event!(
            target: "weft::plugin",
            tracing::Level::DEBUG,
            tenant = %c.tenant, run = %c.run_id, step = %c.step_id, attempt = c.attempt,
            plugin = %self.grants.plugin, level = ?level,
            "{message}"
        );
        self.logs.push(LogLine {
            at: SystemTime::now(),
            level,
            message,
        });
    }
}
