//! Starting runs: at most one per business key, tenant and definition.

use std::collections::BTreeMap;

use uuid::Uuid;
use weft_definition::{Scope, resolve_reference};
use weft_store::{definitions, plugins, runs};

use crate::bounds::{self, MAX_RUN_INPUT_BYTES, checked};
use crate::decide::Transition;
use crate::definitions::plugin_names;
use crate::engine::{Engine, Started};
use crate::error::EngineError;
use crate::events::Event;
use crate::state::{Run, RunCore};

impl Engine {
    /// Starts a run of the newest version of `definition`. The business key comes from
    /// `business_key` or else the definition's `key:`; a run with the same key for this tenant
    /// and definition is returned instead of starting a second one.
    pub async fn start_run(
        &self,
        tenant: &str,
        definition: &str,
        input: serde_json::Value,
        business_key: Option<&str>,
    ) -> Result<Started, EngineError> {
        checked("the run's input", &input, MAX_RUN_INPUT_BYTES)?;
        let given_key = business_key
            .map(|k| bounds::business_key(&serde_json::Value::from(k)))
            .transpose()?;
        let mut tx = self.pool.begin().await?;
        self.require_tenant(&mut tx, tenant).await?;
        let row = definitions::latest(&mut tx, tenant, definition).await?;
        let def = self
            .definition(&mut tx, tenant, definition, row.version)
            .await?;
        let key = match (given_key, &def.key) {
            (Some(k), _) => k,
            (None, Some(reference)) => {
                let empty = BTreeMap::new();
                let scope = Scope {
                    input: &input,
                    outputs: &empty,
                };
                match resolve_reference(reference, &scope) {
                    Some(v) => bounds::business_key(v).map_err(|e| match e {
                        EngineError::InvalidInput(m) => {
                            EngineError::InvalidInput(format!("at `{reference}` in the input: {m}"))
                        }
                        other => other,
                    })?,
                    None => {
                        return Err(EngineError::InvalidInput(format!(
                            "the input has no business key at `{reference}`"
                        )));
                    }
                }
            }
            (None, None) => {
                return Err(EngineError::InvalidInput(format!(
                    "definition `{definition}` has no `key:`; give a business key"
                )));
            }
        };
        if let Some(existing) = runs::find_by_key(&mut tx, tenant, definition, &key).await? {
            return Ok(Started {
                run_id: existing.id,
                created: false,
            });
        }
        let pins = plugins::pins(&mut tx, tenant).await?;
        let used: BTreeMap<String, String> = plugin_names(&def)
            .into_iter()
            .filter_map(|name| pins.get(&name).map(|sha| (name, sha.clone())))
            .collect();
        let now = self.clock.now();
        let mut run = Run {
            id: Uuid::new_v4(),
            tenant: tenant.to_owned(),
            definition: definition.to_owned(),
            version: row.version,
            business_key: key.clone(),
            input: input.clone(),
            core: RunCore::empty(),
            next_seq: 1,
            created_at: now,
            updated_at: now,
        };
        let plugins_json =
            serde_json::to_value(&used).map_err(|e| EngineError::Internal(e.to_string()))?;
        let mut t = Transition::new(&def, &mut run, now);
        t.emit(Event::RunStarted {
            definition: definition.to_owned(),
            version: row.version,
            business_key: key.clone(),
            input,
            plugins: plugins_json,
        });
        t.advance(None);
        let (events, work) = (t.events, t.work);
        if !runs::insert_if_new(&mut tx, &run.to_row()?).await? {
            // Lost a race with a concurrent start of the same key: return the winner's run.
            tx.rollback().await?;
            let mut conn = self.pool.acquire().await?;
            let existing = runs::find_by_key(&mut conn, tenant, definition, &key).await?;
            return existing
                .map(|r| Started {
                    run_id: r.id,
                    created: false,
                })
                .ok_or_else(|| EngineError::NotFound(format!("run with key `{key}`")));
        }
        self.write(&mut tx, &mut run, events, work, true).await?;
        tx.commit().await?;
        Ok(Started {
            run_id: run.id,
            created: true,
        })
    }
}
