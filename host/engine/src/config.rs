//! How an engine runs: its settings, their defaults (defined here once; `weft serve` shows and
//! uses the same), and the ranges outside which a setting would break the engine rather than
//! tune it.

use std::time::Duration;

use uuid::Uuid;
use weft_runtime::Limits;

/// Defaults of [`EngineConfig`].
pub mod defaults {
    use std::time::Duration;

    /// See [`super::EngineConfig::lease`].
    pub const LEASE: Duration = Duration::from_secs(60);
    /// See [`super::EngineConfig::heartbeat`].
    pub const HEARTBEAT: Duration = Duration::from_secs(15);
    /// See [`super::EngineConfig::concurrency`].
    pub const CONCURRENCY: usize = 16;
    /// See [`super::EngineConfig::poll`].
    pub const POLL: Duration = Duration::from_secs(1);
    /// See [`super::EngineConfig::max_claims`].
    pub const MAX_CLAIMS: i32 = 10;
    /// See [`super::EngineConfig::settings_ttl`].
    pub const SETTINGS_TTL: Duration = Duration::from_secs(2);
    /// See [`super::EngineConfig::max_history_events`].
    pub const MAX_HISTORY_EVENTS: i64 = 10_000;
}

/// How an engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// This worker's name in leases (unique per process).
    pub owner: String,
    /// How long a claim holds an item before another host may take it over.
    pub lease: Duration,
    /// How often a busy worker extends its leases.
    pub heartbeat: Duration,
    /// Items processed at once by one worker.
    pub concurrency: usize,
    /// Longest idle sleep when no notification comes.
    pub poll: Duration,
    /// Claims of an item after which it is no longer run but parks its run: its hosts keep
    /// crashing or stalling on it, or its result cannot be stored.
    pub max_claims: i32,
    /// Base limits for attempts (tenant and step overrides apply on top).
    pub limits: Limits,
    /// How long a tenant's plugin settings and secrets are cached; changes made through another
    /// host apply within this time.
    pub settings_ttl: Duration,
    /// Events a run's history may hold before its forward work parks it (class `history-full`)
    /// and it takes no more signals: a retry loop or a signal storm cannot grow it without end.
    /// Compensations still run past it, so what took effect can be undone.
    pub max_history_events: i64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            owner: format!("weft-{}", Uuid::new_v4()),
            lease: defaults::LEASE,
            heartbeat: defaults::HEARTBEAT,
            concurrency: defaults::CONCURRENCY,
            poll: defaults::POLL,
            max_claims: defaults::MAX_CLAIMS,
            limits: Limits::default(),
            settings_ttl: defaults::SETTINGS_TTL,
            max_history_events: defaults::MAX_HISTORY_EVENTS,
        }
    }
}

impl EngineConfig {
    /// Refuses settings that would break the engine instead of tuning it, each with what to
    /// change: a heartbeat that cannot keep a lease, zero waits that spin, leases so long that a
    /// crashed host's work never comes back.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.owner.is_empty() || self.owner.len() > 200 {
            problems.push("the owner name must have 1 to 200 characters".to_owned());
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(24 * 3600)).contains(&self.lease) {
            problems.push(format!(
                "the lease must be between 1 s and 24 h (it is {:?}): it is how long a crashed \
                 host's work waits before another host takes it over",
                self.lease
            ));
        }
        if self.heartbeat < Duration::from_millis(10) || self.heartbeat * 2 > self.lease {
            problems.push(format!(
                "the heartbeat ({:?}) must be at least 10 ms and at most half the lease ({:?}), \
                 or busy workers lose their leases",
                self.heartbeat, self.lease
            ));
        }
        if !(Duration::from_millis(10)..=Duration::from_secs(3600)).contains(&self.poll) {
            problems.push(format!(
                "the poll interval must be between 10 ms and 1 h (it is {:?})",
                self.poll
            ));
        }
        if !(1..=4096).contains(&self.concurrency) {
            problems.push(format!(
                "concurrency must be between 1 and 4096 (it is {})",
                self.concurrency
            ));
        }
        if !(1..=1000).contains(&self.max_claims) {
            problems.push(format!(
                "max claims must be between 1 and 1000 (it is {})",
                self.max_claims
            ));
        }
        if self.settings_ttl > Duration::from_secs(3600) {
            problems.push(format!(
                "the settings cache time must be at most 1 h (it is {:?})",
                self.settings_ttl
            ));
        }
        if !(20..=1_000_000).contains(&self.max_history_events) {
            problems.push(format!(
                "the history ceiling must be between 20 and 1,000,000 events (it is {})",
                self.max_history_events
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(EngineConfig::default().validate(), Ok(()));
    }

    #[test]
    fn settings_that_break_the_engine_are_refused_with_what_to_change() {
        let bad = [
            EngineConfig {
                heartbeat: defaults::LEASE,
                ..EngineConfig::default()
            },
            EngineConfig {
                heartbeat: Duration::ZERO,
                ..EngineConfig::default()
            },
            EngineConfig {
                poll: Duration::ZERO,
                ..EngineConfig::default()
            },
            EngineConfig {
                lease: Duration::from_millis(u64::MAX),
                ..EngineConfig::default()
            },
            EngineConfig {
                concurrency: 0,
                ..EngineConfig::default()
            },
            EngineConfig {
                max_claims: 0,
                ..EngineConfig::default()
            },
        ];
        for config in bad {
            assert!(config.validate().is_err(), "{config:?} was accepted");
        }
        let err = EngineConfig {
            heartbeat: defaults::LEASE,
            ..EngineConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(err.contains("half the lease"), "{err}");
    }
}
