//! The limits an attempt runs under: each a named setting with a default, overridable per tenant
//! and per step. Everything a guest controls is bounded by one of these.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Effective limits of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Linear memory the plugin may grow to, across all its memories.
    pub memory_bytes: u64,
    /// Time the plugin may spend executing (not waiting on host calls such as HTTP).
    #[serde(with = "crate::serde_time::millis")]
    pub cpu_time: Duration,
    /// Time the whole attempt may take, host calls included.
    #[serde(with = "crate::serde_time::millis")]
    pub wall_time: Duration,
    /// Size of the JSON input handed to the plugin.
    pub max_input_bytes: u64,
    /// Size of the JSON output the plugin may return.
    pub max_output_bytes: u64,
    /// Size of one HTTP request body, and of one response body.
    pub max_http_body_bytes: u64,
    /// HTTP calls one attempt may make.
    pub max_http_calls: u32,
    /// Longest wait for one HTTP response (also cut to the attempt's remaining wall time).
    #[serde(with = "crate::serde_time::millis")]
    pub http_timeout: Duration,
    /// Log text one attempt may record; lines past it are dropped and counted.
    pub max_log_bytes: u64,
    /// xref calls (`get`, `put`, `unlink`) one attempt may make. Each waits on the database,
    /// which the CPU budget does not see, so without a count a loop would hold a connection of
    /// the xref pool for the attempt's whole wall time.
    #[serde(default = "default_max_xref_calls")]
    pub max_xref_calls: u32,
}

fn default_max_xref_calls() -> u32 {
    Limits::default().max_xref_calls
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            cpu_time: Duration::from_secs(5),
            wall_time: Duration::from_secs(30),
            max_input_bytes: 1 << 20,
            max_output_bytes: 1 << 20,
            max_http_body_bytes: 8 << 20,
            max_http_calls: 32,
            http_timeout: Duration::from_secs(20),
            max_log_bytes: 64 << 10,
            max_xref_calls: 64,
        }
    }
}

impl Limits {
    /// The host's ceilings, the most any attempt may be granted whatever a tenant's overrides or
    /// a step's `timeout:` say: one tenant must not be able to hold the worker slots, memory and
    /// connections that the others need.
    #[must_use]
    pub fn ceilings() -> Self {
        Self {
            memory_bytes: 512 << 20,
            cpu_time: Duration::from_secs(60),
            wall_time: Duration::from_secs(15 * 60),
            max_input_bytes: 16 << 20,
            max_output_bytes: 16 << 20,
            max_http_body_bytes: 64 << 20,
            max_http_calls: 1_000,
            http_timeout: Duration::from_secs(5 * 60),
            max_log_bytes: 1 << 20,
            max_xref_calls: 1_000,
        }
    }

    /// These limits, each cut to `ceilings`, and one note per limit that was cut, saying what
    /// was asked and what applies (for the operator: the attempt's log and the host's).
    #[must_use]
    pub fn clamped(mut self, ceilings: &Limits) -> (Self, Vec<String>) {
        let mut notes = Vec::new();
        let c = ceilings;
        cut(
            &mut self.memory_bytes,
            c.memory_bytes,
            "memory_bytes",
            &mut notes,
        );
        cut_time(&mut self.cpu_time, c.cpu_time, "cpu_time", &mut notes);
        cut_time(&mut self.wall_time, c.wall_time, "wall_time", &mut notes);
        cut(
            &mut self.max_input_bytes,
            c.max_input_bytes,
            "max_input_bytes",
            &mut notes,
        );
        cut(
            &mut self.max_output_bytes,
            c.max_output_bytes,
            "max_output_bytes",
            &mut notes,
        );
        let body = c.max_http_body_bytes;
        cut(
            &mut self.max_http_body_bytes,
            body,
            "max_http_body_bytes",
            &mut notes,
        );
        cut(
            &mut self.max_http_calls,
            c.max_http_calls,
            "max_http_calls",
            &mut notes,
        );
        cut_time(
            &mut self.http_timeout,
            c.http_timeout,
            "http_timeout",
            &mut notes,
        );
        cut(
            &mut self.max_log_bytes,
            c.max_log_bytes,
            "max_log_bytes",
            &mut notes,
        );
        cut(
            &mut self.max_xref_calls,
            c.max_xref_calls,
            "max_xref_calls",
            &mut notes,
        );
        (self, notes)
    }
}

fn cut<T: PartialOrd + Copy + std::fmt::Display>(
    value: &mut T,
    ceiling: T,
    name: &str,
    notes: &mut Vec<String>,
) {
    if *value > ceiling {
        notes.push(format!(
            "limit `{name}` of {value} is over the host's ceiling; {ceiling} applies"
        ));
        *value = ceiling;
    }
}

fn cut_time(value: &mut Duration, ceiling: Duration, name: &str, notes: &mut Vec<String>) {
    if *value > ceiling {
        notes.push(format!(
            "limit `{name}` of {}ms is over the host's ceiling; {}ms applies",
            value.as_millis(),
            ceiling.as_millis()
        ));
        *value = ceiling;
    }
}

/// A partial set of limits: a tenant's or a step's overrides. Unset fields keep the value below.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    /// See [`Limits::memory_bytes`].
    pub memory_bytes: Option<u64>,
    /// See [`Limits::cpu_time`], in milliseconds.
    #[serde(default, with = "crate::serde_time::opt_millis")]
    pub cpu_time: Option<Duration>,
    /// See [`Limits::wall_time`], in milliseconds.
    #[serde(default, with = "crate::serde_time::opt_millis")]
    pub wall_time: Option<Duration>,
    /// See [`Limits::max_input_bytes`].
    pub max_input_bytes: Option<u64>,
    /// See [`Limits::max_output_bytes`].
    pub max_output_bytes: Option<u64>,
    /// See [`Limits::max_http_body_bytes`].
    pub max_http_body_bytes: Option<u64>,
    /// See [`Limits::max_http_calls`].
    pub max_http_calls: Option<u32>,
    /// See [`Limits::http_timeout`], in milliseconds.
    #[serde(default, with = "crate::serde_time::opt_millis")]
    pub http_timeout: Option<Duration>,
    /// See [`Limits::max_log_bytes`].
    pub max_log_bytes: Option<u64>,
    /// See [`Limits::max_xref_calls`].
    pub max_xref_calls: Option<u32>,
}

impl Limits {
    /// These limits with `overrides` applied: defaults, then the tenant's, then the step's.
    #[must_use]
    pub fn with(mut self, overrides: &LimitOverrides) -> Self {
        let o = overrides;
        self.memory_bytes = o.memory_bytes.unwrap_or(self.memory_bytes);
        self.cpu_time = o.cpu_time.unwrap_or(self.cpu_time);
        self.wall_time = o.wall_time.unwrap_or(self.wall_time);
        self.max_input_bytes = o.max_input_bytes.unwrap_or(self.max_input_bytes);
        self.max_output_bytes = o.max_output_bytes.unwrap_or(self.max_output_bytes);
        self.max_http_body_bytes = o.max_http_body_bytes.unwrap_or(self.max_http_body_bytes);
        self.max_http_calls = o.max_http_calls.unwrap_or(self.max_http_calls);
        self.http_timeout = o.http_timeout.unwrap_or(self.http_timeout);
        self.max_log_bytes = o.max_log_bytes.unwrap_or(self.max_log_bytes);
        self.max_xref_calls = o.max_xref_calls.unwrap_or(self.max_xref_calls);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_overrides_win_over_tenant_overrides_over_defaults() {
        let tenant: LimitOverrides =
            serde_json::from_str(r#"{"memory_bytes": 1000000, "cpu_time": 200}"#).unwrap();
        let step: LimitOverrides = serde_json::from_str(r#"{"cpu_time": 50}"#).unwrap();
        let limits = Limits::default().with(&tenant).with(&step);
        assert_eq!(limits.memory_bytes, 1_000_000);
        assert_eq!(limits.cpu_time, Duration::from_millis(50));
        assert_eq!(limits.wall_time, Limits::default().wall_time);
    }

    #[test]
    fn overrides_above_the_ceilings_are_clamped_each_with_a_note() {
        let greedy: LimitOverrides = serde_json::from_str(
            r#"{"memory_bytes": 99999999999, "cpu_time": 86400000, "wall_time": 86400000,
                "max_input_bytes": 99999999999, "max_output_bytes": 99999999999,
                "max_http_body_bytes": 99999999999, "max_http_calls": 4000000000,
                "http_timeout": 86400000, "max_log_bytes": 99999999999,
                "max_xref_calls": 4000000000}"#,
        )
        .unwrap();
        let (limits, notes) = Limits::default().with(&greedy).clamped(&Limits::ceilings());
        assert_eq!(limits, Limits::ceilings());
        assert_eq!(notes.len(), 10, "{notes:#?}");
        assert!(
            notes.contains(
                &"limit `wall_time` of 86400000ms is over the host's ceiling; 900000ms applies"
                    .to_owned()
            )
        );
        assert!(
            notes.contains(
                &"limit `max_http_calls` of 4000000000 is over the host's ceiling; 1000 applies"
                    .to_owned()
            )
        );
    }

    #[test]
    fn limits_within_the_ceilings_are_kept_as_asked() {
        let (limits, notes) = Limits::default().clamped(&Limits::ceilings());
        assert_eq!((limits, notes), (Limits::default(), Vec::new()));
        let modest: LimitOverrides =
            serde_json::from_str(r#"{"wall_time": 900000, "max_http_calls": 1000}"#).unwrap();
        let (limits, notes) = Limits::default().with(&modest).clamped(&Limits::ceilings());
        assert_eq!(limits.wall_time, Duration::from_secs(900));
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn unknown_override_keys_are_refused() {
        let err = serde_json::from_str::<LimitOverrides>(r#"{"memory": 5}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `memory`"), "{err}");
    }
}
