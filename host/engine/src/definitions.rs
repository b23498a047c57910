//! Definitions: validated against the tenant's pinned plugins and stored as immutable versions;
//! compiled versions are cached, since a version never changes.

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use weft_definition::{Catalog, Definition};
use weft_store::{definitions, plugins};

use crate::engine::Engine;
use crate::error::EngineError;

/// What applying a definition did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Definition name.
    pub name: String,
    /// Its version.
    pub version: i32,
    /// Whether this text made a new version (false: the same text was applied before).
    pub created: bool,
}

/// The tenant's pinned plugins, as a definition is validated against them.
pub(crate) struct PinnedCatalog(BTreeMap<String, weft_runtime::Manifest>);

pub(crate) async fn pinned_catalog(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
) -> Result<PinnedCatalog, EngineError> {
    Ok(PinnedCatalog(
        plugins::pinned_manifests(conn, tenant).await?,
    ))
}

impl Catalog for PinnedCatalog {
    fn operation(&self, plugin: &str, operation: &str) -> Result<Option<String>, String> {
        let manifest = self
            .0
            .get(plugin)
            .ok_or_else(|| format!("plugin `{plugin}` is not pinned for this tenant"))?;
        let op = manifest
            .operations
            .iter()
            .find(|o| o.name == operation)
            .ok_or_else(|| {
                format!(
                    "plugin `{plugin}@{}` has no operation `{operation}`",
                    manifest.version
                )
            })?;
        Ok(op.compensated_by.clone())
    }
}

impl Engine {
    /// Validates a definition against the tenant's pinned plugins and stores it: the same text
    /// again is a no-op, a changed text a new version.
    pub async fn apply_definition(
        &self,
        tenant: &str,
        source: &str,
    ) -> Result<Applied, EngineError> {
        let mut tx = self.pool.begin().await?;
        self.require_tenant(&mut tx, tenant).await?;
        let catalog = pinned_catalog(&mut tx, tenant).await?;
        let definition =
            weft_definition::compile(source, &catalog).map_err(EngineError::InvalidDefinition)?;
        let hash = hex::encode(Sha256::digest(source.as_bytes()));
        let compiled =
            serde_json::to_value(&definition).map_err(|e| EngineError::Internal(e.to_string()))?;
        let (version, created) = definitions::apply(
            &mut tx,
            tenant,
            &definition.name,
            source,
            &hash,
            &compiled,
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(Applied {
            name: definition.name,
            version,
            created,
        })
    }

    /// A definition version, from the cache or read on `conn` (inside the caller's transaction,
    /// so a worker holding one does not wait for a second connection).
    pub(crate) async fn definition(
        &self,
        conn: &mut sqlx::PgConnection,
        tenant: &str,
        name: &str,
        version: i32,
    ) -> Result<Arc<Definition>, EngineError> {
        if let Some(d) = self.cached_definition(tenant, name, version) {
            return Ok(d);
        }
        let row = definitions::get(conn, tenant, name, version).await?;
        let d: Arc<Definition> = Arc::new(
            serde_json::from_value(row.compiled)
                .map_err(|e| weft_store::StoreError::Corrupt(e.to_string()))?,
        );
        if let Ok(mut m) = self.definitions.lock() {
            // Definitions are immutable, so any entry may go; a bound keeps a deployment with
            // many tenants and versions from holding them all.
            if m.len() >= DEFINITION_CACHE_CAPACITY {
                m.clear();
            }
            m.insert((tenant.to_owned(), name.to_owned(), version), d.clone());
        }
        Ok(d)
    }

    /// A definition version, from the cache or read on a pooled connection.
    pub(crate) async fn definition_of(
        &self,
        tenant: &str,
        name: &str,
        version: i32,
    ) -> Result<Arc<Definition>, EngineError> {
        if let Some(d) = self.cached_definition(tenant, name, version) {
            return Ok(d);
        }
        let mut conn = self.pool.acquire().await?;
        self.definition(&mut conn, tenant, name, version).await
    }

    fn cached_definition(&self, tenant: &str, name: &str, version: i32) -> Option<Arc<Definition>> {
        let key = (tenant.to_owned(), name.to_owned(), version);
        self.definitions
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
    }
}

/// Definition versions kept in memory at most.
const DEFINITION_CACHE_CAPACITY: usize = 1024;

/// Plugin names a definition calls (steps and compensations).
pub(crate) fn plugin_names(def: &Definition) -> Vec<String> {
    let mut names: Vec<String> = def
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            weft_definition::StepKind::Call(c) => Some(
                std::iter::once(c.plugin.clone())
                    .chain(c.compensate.as_ref().map(|o| o.plugin.clone())),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    names.sort();
    names.dedup();
    names
}
