//! What a tenant grants a plugin (config, allow-list, limit overrides, the secrets its manifest
//! names), cached for a short while: reading it for every step would cost two queries per step
//! for data that changes rarely. Changes made through this engine apply at once; changes made
//! by another host apply within `EngineConfig::settings_ttl`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use weft_runtime::{EgressPolicy, LimitOverrides, SecretValue};
use weft_store::settings;

use crate::decide::later;
use crate::engine::Engine;
use crate::error::EngineError;

/// What a tenant grants one plugin, as the engine reads and writes it.
pub type PluginSettings = settings::PluginSettings<EgressPolicy, LimitOverrides>;

/// A plugin's grants for one tenant.
pub(crate) struct Grants {
    pub config: Arc<BTreeMap<String, String>>,
    pub egress: Arc<EgressPolicy>,
    pub limits: LimitOverrides,
    pub secrets: Arc<BTreeMap<String, SecretValue>>,
}

/// (tenant, plugin name, plugin sha256): the secrets granted depend on the version's manifest,
/// and two versions of one plugin run side by side while runs started before an upgrade finish.
type Key = (String, String, String);
/// When the grants were read, and the grants.
type Entry = (DateTime<Utc>, Arc<Grants>);

/// Entries kept at most; past it, expired entries go, and if that is not enough, all of them.
const CAPACITY: usize = 4096;

/// Cached grants by (tenant, plugin name, version).
#[derive(Default)]
pub(crate) struct GrantsCache {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl GrantsCache {
    /// Forgets a tenant's grants (all plugins when `plugin` is `None`).
    pub fn invalidate(&self, tenant: &str, plugin: Option<&str>) {
        if let Ok(mut e) = self.entries.lock() {
            e.retain(|(t, p, _), _| !(t == tenant && plugin.is_none_or(|name| name == p)));
        }
    }
}

impl Engine {
    /// The tenant's grants for version `sha256` of `plugin`, whose manifest names `secret_names`.
    pub(crate) async fn grants(
        &self,
        tenant: &str,
        plugin: &str,
        sha256: &str,
        secret_names: &[String],
    ) -> Result<Arc<Grants>, EngineError> {
        let key = (tenant.to_owned(), plugin.to_owned(), sha256.to_owned());
        let now = self.clock.now();
        if let Some((at, g)) = self
            .grants
            .entries
            .lock()
            .ok()
            .and_then(|e| e.get(&key).cloned())
            && later(at, self.config.settings_ttl).is_some_and(|end| now < end)
        {
            return Ok(g);
        }
        let mut conn = self.pool.acquire().await?;
        let s: PluginSettings = settings::plugin_settings(&mut conn, tenant, plugin).await?;
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
            if e.len() >= CAPACITY {
                let ttl = self.config.settings_ttl;
                e.retain(|_, (at, _)| later(*at, ttl).is_some_and(|end| now < end));
                if e.len() >= CAPACITY {
                    e.clear();
                }
            }
            e.insert(key, (now, grants.clone()));
        }
        Ok(grants)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use std::sync::Arc;

    use super::*;
    use crate::{EngineConfig, SystemClock};

    #[sqlx::test(migrator = "weft_store::MIGRATOR")]
    async fn two_versions_of_a_plugin_get_the_secrets_their_own_manifests_name(pool: sqlx::PgPool) {
        let (services, _) = weft_runtime::Services::in_memory();
        let runtime = Arc::new(weft_runtime::Runtime::new(Default::default(), services).unwrap());
        let engine = Engine::new(
            pool,
            runtime,
            Arc::new(SystemClock),
            EngineConfig::default(),
        );
        engine.create_tenant("acme", "Acme").await.unwrap();
        engine
            .set_secret("acme", "api-key", "k-0123456789abcdef")
            .await
            .unwrap();
        engine
            .set_secret("acme", "webhook-key", "w-0123456789abcdef")
            .await
            .unwrap();
        // During an upgrade, runs on v1 (one secret) and v2 (two) share the cache's lifetime.
        let v1 = engine
            .grants("acme", "shop", "sha-v1", &["api-key".to_owned()])
            .await
            .unwrap();
        let v2 = engine
            .grants(
                "acme",
                "shop",
                "sha-v2",
                &["api-key".to_owned(), "webhook-key".to_owned()],
            )
            .await
            .unwrap();
        assert_eq!(v1.secrets.len(), 1);
        assert_eq!(
            v2.secrets.keys().collect::<Vec<_>>(),
            ["api-key", "webhook-key"],
            "v2 gets what its manifest names, not v1's cached grants"
        );
    }
}
