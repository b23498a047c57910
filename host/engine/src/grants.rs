//! What a tenant grants a plugin (config, allow-list, limit overrides, the secrets its manifest
//! names), cached for a short while: reading it for every step would cost two queries per step
//! for data that changes rarely. Changes made through this engine apply at once; changes made
//! by another host apply within `EngineConfig::settings_ttl`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use weft_runtime::{EgressPolicy, LimitOverrides, SecretValue};
use weft_store::settings;

use crate::decide::to_chrono;
use crate::engine::Engine;
use crate::error::EngineError;

/// A plugin's grants for one tenant.
pub(crate) struct Grants {
    pub config: Arc<BTreeMap<String, String>>,
    pub egress: Arc<EgressPolicy>,
    pub limits: LimitOverrides,
    pub secrets: Arc<BTreeMap<String, SecretValue>>,
}

/// (tenant, plugin name).
type Key = (String, String);
/// When the grants were read, and the grants.
type Entry = (DateTime<Utc>, Arc<Grants>);

/// Cached grants by (tenant, plugin name).
#[derive(Default)]
pub(crate) struct GrantsCache {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl GrantsCache {
    /// Forgets a tenant's grants (all plugins when `plugin` is `None`).
    pub fn invalidate(&self, tenant: &str, plugin: Option<&str>) {
        if let Ok(mut e) = self.entries.lock() {
            e.retain(|(t, p), _| !(t == tenant && plugin.is_none_or(|name| name == p)));
        }
    }
}

impl Engine {
    /// The tenant's grants for `plugin`, whose manifest names `secret_names`.
    pub(crate) async fn grants(
        &self,
        tenant: &str,
        plugin: &str,
        secret_names: &[String],
    ) -> Result<Arc<Grants>, EngineError> {
        let key = (tenant.to_owned(), plugin.to_owned());
        let now = self.clock.now();
        if let Some((at, g)) = self
            .grants
            .entries
            .lock()
            .ok()
            .and_then(|e| e.get(&key).cloned())
            && now < at + to_chrono(self.config.settings_ttl)
        {
            return Ok(g);
        }
        let mut conn = self.pool.acquire().await?;
        let s = settings::plugin_settings(&mut conn, tenant, plugin).await?;
        let secrets = if secret_names.is_empty() {
            BTreeMap::new()
        } else {
            settings::secrets(&mut conn, tenant, secret_names).await?
        };
        let grants = Arc::new(Grants {
            config: Arc::new(s.config),
            egress: Arc::new(s.egress),
            limits: s.limits,
            secrets: Arc::new(
                secrets
                    .into_iter()
                    .map(|(k, v)| (k, SecretValue::new(v)))
                    .collect(),
            ),
        });
        if let Ok(mut e) = self.grants.entries.lock() {
            e.insert(key, (now, grants.clone()));
        }
        Ok(grants)
    }
}
