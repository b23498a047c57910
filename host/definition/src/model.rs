//! The validated shape of a workflow definition. Parsing (`parse.rs`) and validation
//! (`validate.rs`) produce it; the engine executes it. Serializable so the store can keep the
//! compiled form next to the source text.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use weft_concepts::OutcomeClass;

/// A workflow definition, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    /// `name:`; lower-case letters, digits and `-`.
    pub name: String,
    /// `key:` — where a run's business key comes from when the starter gives none.
    pub key: Option<Reference>,
    /// `steps:`, in order.
    pub steps: Vec<Step>,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// `id:`; unique in the definition; letters, digits, `_` and `-`.
    pub id: String,
    /// 1-based line of the step in the source, for messages.
    pub line: usize,
    /// `when:` — the step runs only if this reference resolves to a truthy value (not null,
    /// false, 0, "" or missing); otherwise it is skipped.
    pub when: Option<Reference>,
    /// What the step does.
    pub kind: StepKind,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StepKind {
    /// `call: plugin.operation` with `input:`, `retry:`, `timeout:`, `compensate:`.
    Call(Call),
    /// `wait: { signal: NAME, timeout: 7d }` — waits for a named signal; its payload is the
    /// step's output. Without a timeout it waits forever.
    Wait {
        /// The signal's name.
        signal: String,
        /// How long to wait before failing the step.
        #[serde(with = "opt_duration_ms")]
        timeout: Option<Duration>,
    },
    /// `sleep: 10m` — a durable timer.
    Sleep {
        /// How long.
        #[serde(with = "duration_ms")]
        duration: Duration,
    },
}

/// A plugin call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// Plugin name (before the first `.` of `call:`).
    pub plugin: String,
    /// Operation name (after it).
    pub operation: String,
    /// `input:` — JSON with references: any string that is exactly `${path}` is replaced by the
    /// value at that path when the step runs. Missing `input:` means `{}`.
    pub input: serde_json::Value,
    /// `retry:`.
    pub retry: RetryPolicy,
    /// `timeout:` — the attempt's wall-clock limit; `None` keeps the tenant's default.
    #[serde(with = "opt_duration_ms")]
    pub timeout: Option<Duration>,
    /// `compensate: plugin.operation` — run with the same input as the step, if a later step
    /// fails for good. Defaults to the operation's `compensated-by` in the plugin's manifest when
    /// absent (filled in by validation).
    pub compensate: Option<OperationRef>,
}

/// `plugin.operation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationRef {
    /// Plugin name.
    pub plugin: String,
    /// Operation name.
    pub operation: String,
}

/// `retry: { max_attempts: 8, initial: 1s, multiplier: 2, max: 5m, jitter: 0.2,
/// non_retryable: [trap, bad-output] }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (>= 1). Default 3.
    pub max_attempts: u32,
    /// Delay before the second attempt. Default 1s.
    #[serde(with = "duration_ms")]
    pub initial: Duration,
    /// Each further delay is the previous one times this (>= 1.0). Default 2.0.
    pub multiplier: f64,
    /// Delays never exceed this. Default 5m.
    #[serde(with = "duration_ms")]
    pub max: Duration,
    /// Each delay is moved by up to this fraction either way (0.0..=1.0). Default 0.2.
    pub jitter: f64,
    /// Outcome classes never retried, on top of `plugin-permanent` and `invalid-input` (which
    /// never are). Allowed: plugin-retryable, trap, cpu-exceeded, memory-exceeded, timeout,
    /// output-too-large, bad-output. Default: trap, memory-exceeded, output-too-large,
    /// bad-output (a plugin that crashes or lies on an input does so again).
    pub non_retryable: Vec<OutcomeClass>,
}

impl RetryPolicy {
    /// The outcome classes `non_retryable:` may list. `plugin-permanent` and `invalid-input` are
    /// not among them because they are never retried whatever the policy says.
    pub const CLASSES: &'static [OutcomeClass] = &[
        OutcomeClass::PluginRetryable,
        OutcomeClass::Trap,
        OutcomeClass::CpuExceeded,
        OutcomeClass::MemoryExceeded,
        OutcomeClass::Timeout,
        OutcomeClass::OutputTooLarge,
        OutcomeClass::BadOutput,
    ];
}

impl Default for RetryPolicy {
    /// The policy of a step without `retry:`, and the values of the keys `retry:` leaves out.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial: Duration::from_secs(1),
            multiplier: 2.0,
            max: Duration::from_secs(5 * 60),
            jitter: 0.2,
            non_retryable: vec![
                OutcomeClass::Trap,
                OutcomeClass::MemoryExceeded,
                OutcomeClass::OutputTooLarge,
                OutcomeClass::BadOutput,
            ],
        }
    }
}

impl std::fmt::Display for OperationRef {
    /// `plugin.operation`, as written in a definition.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.plugin, self.operation)
    }
}

/// A reference `${input.a.b[0]}` or `${steps.customer.output.id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// Where the path starts.
    pub root: Root,
    /// The path below the root.
    pub path: Vec<Segment>,
}

/// The start of a reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Root {
    /// `input` — the run's input.
    Input,
    /// `steps.<id>.output` — an earlier step's output.
    StepOutput(String),
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Segment {
    /// `.name`
    Key(String),
    /// `[3]`
    Index(usize),
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

mod opt_duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}
