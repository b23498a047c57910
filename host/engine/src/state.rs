//! A run's state, typed, and how history rebuilds it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use weft_concepts::OutcomeClass;
use weft_definition::{Definition, StepKind};
use weft_store::StoreError;
use weft_store::runs::RunRow;

use crate::events::Event;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Started; no step has finished yet.
    Pending,
    /// A step is due or executing.
    Running,
    /// Waiting for a signal or a timer; holds no worker.
    Waiting,
    /// Every step finished.
    Completed,
    /// A step failed for good and there was nothing to compensate, or an operator abandoned it.
    Failed,
    /// Undoing completed steps after a failure.
    Compensating,
    /// Every completed step was undone.
    Compensated,
    /// Stopped for an operator (a compensation could not finish, or a plugin cannot load).
    Parked,
    /// Cancelled by an operator.
    Cancelled,
}

impl RunStatus {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Waiting => "waiting",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Compensating => "compensating",
            Self::Compensated => "compensated",
            Self::Parked => "parked",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "running" => Self::Running,
            "waiting" => Self::Waiting,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "compensating" => Self::Compensating,
            "compensated" => Self::Compensated,
            "parked" => Self::Parked,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    /// No more work will happen without an operator (or ever).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Failed | Self::Compensated | Self::Cancelled
        )
    }
}

/// In which phase a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Running its steps.
    Forward,
    /// Compensating.
    Compensation,
}

/// Why a run failed, is compensating, or parked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// The step whose failure it is (a forward step, or the step whose compensation failed).
    pub step: String,
    /// Outcome class.
    pub class: OutcomeClass,
    /// What went wrong.
    pub message: String,
    /// Forward or compensation.
    pub phase: Phase,
    /// The forward step that failed for good (what an operator's retry starts from).
    pub failed_step: String,
    /// Some compensation attempt sent a request or lost its lease, so it may have undone
    /// something in a remote system: going forward again (an operator's retry) is refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compensation_reached: bool,
}

/// The part of a run that its events decide: applying its history's events in order rebuilds
/// it, and the engine changes it only by applying the events it appends.
#[derive(Debug, Clone, PartialEq)]
pub struct RunCore {
    /// Status.
    pub status: RunStatus,
    /// Plugin name -> sha256 the run uses.
    pub plugins: BTreeMap<String, String>,
    /// Step id -> output.
    pub outputs: BTreeMap<String, serde_json::Value>,
    /// Call steps that took effect or may have (they completed, or an attempt sent a request or
    /// lost its lease before the step failed), in order: what compensation walks back. A step
    /// whose effect is uncertain is compensated too, so compensations must tolerate "nothing to
    /// undo".
    pub completed: Vec<String>,
    /// Steps compensated.
    pub compensated: Vec<String>,
    /// Why it is compensating, failed or parked.
    pub reason: Option<Reason>,
}

impl RunCore {
    /// The state before any event.
    pub fn empty() -> Self {
        Self {
            status: RunStatus::Pending,
            plugins: BTreeMap::new(),
            outputs: BTreeMap::new(),
            completed: Vec::new(),
            compensated: Vec::new(),
            reason: None,
        }
    }

    /// Applies one event.
    pub fn apply(&mut self, definition: &Definition, event: &Event) {
        let kind_of = |id: &str| {
            definition
                .steps
                .iter()
                .find(|s| s.id == id)
                .map(|s| &s.kind)
        };
        let mut took_effect = |step: &String| {
            if matches!(kind_of(step), Some(StepKind::Call(_))) && !self.completed.contains(step) {
                self.completed.push(step.clone());
            }
        };
        match event {
            Event::RunStarted { plugins, .. } => {
                self.plugins = serde_json::from_value(plugins.clone()).unwrap_or_default();
                self.status = RunStatus::Pending;
            }
            Event::StepScheduled { step, .. } => match kind_of(step) {
                Some(StepKind::Sleep { .. } | StepKind::Wait { .. }) => {
                    self.status = RunStatus::Waiting;
                }
                _ if self.status == RunStatus::Waiting => self.status = RunStatus::Running,
                _ => {}
            },
            Event::AttemptStarted { .. } if self.status == RunStatus::Pending => {
                self.status = RunStatus::Running;
            }
            Event::SignalConsumed { .. } | Event::TimerFired { .. } => {
                self.status = RunStatus::Running;
            }
            Event::StepCompleted { step, output, .. } => {
                took_effect(step);
                self.outputs.insert(step.clone(), output.clone());
            }
            Event::AttemptFailed {
                reached: true,
                compensation: true,
                ..
            }
            | Event::LeaseExpired {
                compensation: true, ..
            } => {
                if let Some(r) = &mut self.reason {
                    r.compensation_reached = true;
                }
            }
            Event::AttemptFailed {
                step,
                reached: true,
                compensation: false,
                ..
            }
            | Event::LeaseExpired {
                step,
                compensation: false,
                ..
            } => took_effect(step),
            Event::CompensationStarted { reason } => {
                self.status = RunStatus::Compensating;
                self.reason = Some(reason.clone());
            }
            Event::CompensationCompleted { step, .. } => self.compensated.push(step.clone()),
            Event::RunCompleted => self.status = RunStatus::Completed,
            Event::RunFailed { .. } => self.status = RunStatus::Failed,
            Event::RunCompensated => self.status = RunStatus::Compensated,
            Event::RunParked { reason } => {
                self.status = RunStatus::Parked;
                self.reason = Some(reason.clone());
            }
            Event::RunCancelled => self.status = RunStatus::Cancelled,
            Event::OperatorAction {
                action,
                detail,
                by,
                why,
            } => match action.as_str() {
                "retry" => {
                    if let Some(p) = detail.get("plugins") {
                        self.plugins = serde_json::from_value(p.clone()).unwrap_or_default();
                    }
                    self.reason = None;
                    self.status = RunStatus::Running;
                }
                "compensate" => self.status = RunStatus::Compensating,
                "cancel" => {
                    // A saga cancel: what took effect is undone, then the run ends `cancelled`.
                    self.status = RunStatus::Compensating;
                    self.reason = Some(Reason {
                        step: String::new(),
                        class: OutcomeClass::Cancelled,
                        message: format!("cancelled by {by}: {why}"),
                        phase: Phase::Forward,
                        failed_step: String::new(),
                        compensation_reached: false,
                    });
                }
                _ => {}
            },
            _ => {}
        }
    }
}

/// Rebuilds a run's core state from its events.
pub fn replay(definition: &Definition, events: &[Event]) -> RunCore {
    let mut core = RunCore::empty();
    for event in events {
        core.apply(definition, event);
    }
    core
}

/// A run.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Id.
    pub id: Uuid,
    /// Tenant.
    pub tenant: String,
    /// Definition name.
    pub definition: String,
    /// Definition version.
    pub version: i32,
    /// Business key.
    pub business_key: String,
    /// Input.
    pub input: serde_json::Value,
    /// What the events decide.
    pub core: RunCore,
    /// Next history sequence number.
    pub next_seq: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl Run {
    /// From the stored row.
    pub fn from_row(row: RunRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            core: RunCore {
                status: RunStatus::parse(&row.status)
                    .ok_or_else(|| StoreError::Corrupt(format!("run status `{}`", row.status)))?,
                plugins: serde_json::from_value(row.plugins)?,
                outputs: serde_json::from_value(row.outputs)?,
                completed: serde_json::from_value(row.completed)?,
                compensated: serde_json::from_value(row.compensated)?,
                reason: row.reason.map(serde_json::from_value).transpose()?,
            },
            tenant: row.tenant_id,
            definition: row.definition,
            version: row.definition_version,
            business_key: row.business_key,
            input: row.input,
            next_seq: row.next_seq,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// To the stored row.
    pub fn to_row(&self) -> Result<RunRow, StoreError> {
        let c = &self.core;
        Ok(RunRow {
            id: self.id,
            tenant_id: self.tenant.clone(),
            definition: self.definition.clone(),
            definition_version: self.version,
            business_key: self.business_key.clone(),
            status: c.status.as_str().to_owned(),
            input: self.input.clone(),
            plugins: serde_json::to_value(&c.plugins)?,
            outputs: serde_json::to_value(&c.outputs)?,
            completed: serde_json::to_value(&c.completed)?,
            compensated: serde_json::to_value(&c.compensated)?,
            reason: c.reason.as_ref().map(serde_json::to_value).transpose()?,
            next_seq: self.next_seq,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}
