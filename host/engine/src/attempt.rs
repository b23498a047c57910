//! Executing a claimed call or compensation: the plugin version the run pinned, the tenant's
//! grants for it, the step's input resolved from the run, and the idempotency key, handed to the
//! sandbox as one attempt.

use weft_concepts::{OutcomeClass, WorkKind};
use weft_definition::{Definition, Scope, StepKind, resolve};
use weft_runtime::{AttemptRequest, StepContext};
use weft_store::work::WorkItem;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::executed::{Executed, failure};
use crate::state::Run;

impl Engine {
    /// Runs one attempt of `item`, or says why it cannot be attempted.
    pub(crate) async fn execute(
        &self,
        item: &WorkItem,
        run: &Run,
        def: &Definition,
    ) -> Result<Executed, EngineError> {
        if item.kind != WorkKind::Call && item.kind != WorkKind::Compensate {
            return Ok(Executed::Timer);
        }
        let Some(StepKind::Call(call)) = def
            .steps
            .iter()
            .find(|s| s.id == item.step_id)
            .map(|s| &s.kind)
        else {
            return Ok(Executed::NotAttempted(failure(
                OutcomeClass::InvalidInput,
                format!(
                    "definition {} v{} has no call step `{}`",
                    run.definition, run.version, item.step_id
                ),
            )));
        };
        // Scope is not Send; keep it out of the awaits below.
        let resolved = resolve(
            &call.input,
            &Scope {
                input: &run.input,
                outputs: &run.core.outputs,
            },
        );
        let input = match resolved {
            Ok(v) => v,
            Err(e) => {
                return Ok(Executed::NotAttempted(failure(
                    OutcomeClass::InvalidInput,
                    e.to_string(),
                )));
            }
        };
        let (plugin_name, operation, input) = if item.kind == WorkKind::Compensate {
            let Some(op) = &call.compensate else {
                return Ok(Executed::NotAttempted(failure(
                    OutcomeClass::InvalidInput,
                    "no compensation".into(),
                )));
            };
            // `output` is null when no attempt of the step completed but one may have taken
            // effect: the step's idempotency key lets the compensation find what it made.
            let output = run
                .core
                .outputs
                .get(&item.step_id)
                .cloned()
                .unwrap_or_default();
            (
                op.plugin.clone(),
                op.operation.clone(),
                serde_json::json!({
                    "input": input,
                    "output": output,
                    "step_key": step_key(run, &item.step_id),
                }),
            )
        } else {
            (call.plugin.clone(), call.operation.clone(), input)
        };
        let Some(sha) = run.core.plugins.get(&plugin_name) else {
            return Ok(Executed::Park(failure(
                OutcomeClass::PluginUnavailable,
                format!(
                    "plugin `{plugin_name}` was not pinned when the run started; pin it and retry"
                ),
            )));
        };
        let plugin = match self.plugin(&run.tenant, sha).await {
            Ok(p) => p,
            Err(e) => {
                return Ok(Executed::Park(failure(
                    OutcomeClass::PluginUnavailable,
                    e.to_string(),
                )));
            }
        };
        let grants = self
            .grants(
                &run.tenant,
                &plugin_name,
                sha,
                &plugin.manifest().capabilities.secrets,
            )
            .await?;
        let mut limits = self.config.limits.with(&grants.limits);
        if let Some(timeout) = call.timeout {
            limits.wall_time = timeout;
        }
        let request = AttemptRequest {
            context: StepContext {
                tenant: run.tenant.clone(),
                run_id: run.id.to_string(),
                step_id: item.step_id.clone(),
                attempt: u32::try_from(item.attempt).unwrap_or(0),
                // Stable across attempts and hosts; distinct for the compensation of a step.
                idempotency_key: if item.kind == WorkKind::Compensate {
                    format!("{}/compensate", step_key(run, &item.step_id))
                } else {
                    step_key(run, &item.step_id)
                },
            },
            operation,
            input: input.to_string(),
            config: grants.config.clone(),
            secrets: grants.secrets.clone(),
            egress: grants.egress.clone(),
            limits,
        };
        let started_at = self.clock.now();
        let report = self.runtime.invoke(&plugin, request).await;
        Ok(Executed::Attempt {
            report: Box::new(report),
            started_at,
        })
    }
}

/// The idempotency key of a run's step: stable across attempts and hosts.
fn step_key(run: &Run, step: &str) -> String {
    format!("{}/{}/{step}", run.tenant, run.id)
}
