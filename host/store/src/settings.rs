//! A tenant's settings per plugin (config, allow-list, limits) and its secrets. The allow-list and
//! the limit overrides are the runtime's types; the store only keeps them as JSON, so it takes
//! them as type parameters instead of depending on the runtime.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::PgConnection;

use crate::StoreError;

/// What a tenant grants one plugin.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginSettings<E, L> {
    /// Configuration values.
    pub config: BTreeMap<String, String>,
    /// Outbound allow-list (the runtime's `EgressPolicy`).
    pub egress: E,
    /// Limit overrides (the runtime's `LimitOverrides`).
    pub limits: L,
}

/// Replaces the tenant's settings for `plugin`.
pub async fn set_plugin_settings<E: Serialize, L: Serialize>(
    conn: &mut PgConnection,
    tenant: &str,
    plugin: &str,
    settings: &PluginSettings<E, L>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into plugin_settings (tenant_id, plugin, config, egress, limits)
         values ($1, $2, $3, $4, $5)
         on conflict (tenant_id, plugin) do update set config = excluded.config,
             egress = excluded.egress, limits = excluded.limits",
    )
    .bind(tenant)
    .bind(plugin)
    .bind(serde_json::to_value(&settings.config)?)
    .bind(serde_json::to_value(&settings.egress)?)
    .bind(serde_json::to_value(&settings.limits)?)
    .execute(conn)
    .await?;
    Ok(())
}

/// The tenant's settings for `plugin` (defaults when none are stored).
pub async fn plugin_settings<E, L>(
    conn: &mut PgConnection,
    tenant: &str,
    plugin: &str,
) -> Result<PluginSettings<E, L>, StoreError>
where
    E: DeserializeOwned + Default,
    L: DeserializeOwned + Default,
{
    let row: Option<(serde_json::Value, serde_json::Value, serde_json::Value)> = sqlx::query_as(
        "select config, egress, limits from plugin_settings where tenant_id = $1 and plugin = $2",
    )
    .bind(tenant)
    .bind(plugin)
    .fetch_optional(conn)
    .await?;
    match row {
        None => Ok(PluginSettings::default()),
        Some((config, egress, limits)) => Ok(PluginSettings {
            config: serde_json::from_value(config)?,
            egress: serde_json::from_value(egress)?,
            limits: serde_json::from_value(limits)?,
        }),
    }
}

/// Sets secret `name` of the tenant.
pub async fn set_secret(
    conn: &mut PgConnection,
    tenant: &str,
    name: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into secrets (tenant_id, name, value, updated_at) values ($1, $2, $3, $4)
         on conflict (tenant_id, name) do update set value = excluded.value,
             updated_at = excluded.updated_at",
    )
    .bind(tenant)
    .bind(name)
    .bind(value)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The tenant's secrets named in `names`.
pub async fn secrets(
    conn: &mut PgConnection,
    tenant: &str,
    names: &[String],
) -> Result<BTreeMap<String, String>, StoreError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("select name, value from secrets where tenant_id = $1 and name = any($2)")
            .bind(tenant)
            .bind(names)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().collect())
}
