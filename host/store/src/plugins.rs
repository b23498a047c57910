//! Plugins (content-addressed components) and the tenants' pins.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::StoreError;

/// Stores a component for a tenant; publishing the same bytes again is a no-op.
pub async fn publish(
    conn: &mut PgConnection,
    tenant: &str,
    sha256: &str,
    manifest: &weft_plugin_sdk::Manifest,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into plugins (tenant_id, sha256, name, version, manifest, bytes, created_at)
         values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing",
    )
    .bind(tenant)
    .bind(sha256)
    .bind(&manifest.name)
    .bind(&manifest.version)
    .bind(serde_json::to_value(manifest)?)
    .bind(bytes)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes `sha256` the version of its plugin name the tenant runs from now on.
pub async fn pin(
    conn: &mut PgConnection,
    tenant: &str,
    sha256: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "insert into plugin_pins (tenant_id, name, sha256, pinned_at)
         select tenant_id, name, sha256, $3 from plugins where tenant_id = $1 and sha256 = $2
         on conflict (tenant_id, name) do update set sha256 = excluded.sha256,
             pinned_at = excluded.pinned_at",
    )
    .bind(tenant)
    .bind(sha256)
    .bind(now)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "plugin {sha256} of tenant {tenant}"
        )));
    }
    Ok(())
}

/// The tenant's pins: plugin name -> sha256.
pub async fn pins(
    conn: &mut PgConnection,
    tenant: &str,
) -> Result<BTreeMap<String, String>, StoreError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("select name, sha256 from plugin_pins where tenant_id = $1")
            .bind(tenant)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().collect())
}

/// The manifests of the tenant's pinned plugins, by name.
pub async fn pinned_manifests(
    conn: &mut PgConnection,
    tenant: &str,
) -> Result<BTreeMap<String, weft_plugin_sdk::Manifest>, StoreError> {
    let rows: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "select p.name, p.manifest from plugin_pins n
         join plugins p on p.tenant_id = n.tenant_id and p.sha256 = n.sha256
         where n.tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(name, m)| Ok((name, serde_json::from_value(m)?)))
        .collect()
}

/// A component's bytes.
pub async fn bytes(
    conn: &mut PgConnection,
    tenant: &str,
    sha256: &str,
) -> Result<Vec<u8>, StoreError> {
    let row: Option<(Vec<u8>,)> =
        sqlx::query_as("select bytes from plugins where tenant_id = $1 and sha256 = $2")
            .bind(tenant)
            .bind(sha256)
            .fetch_optional(conn)
            .await?;
    row.map(|r| r.0)
        .ok_or_else(|| StoreError::NotFound(format!("plugin {sha256} of tenant {tenant}")))
}
