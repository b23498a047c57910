//! Definition versions: immutable; the same source text is the same version.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::StoreError;

/// A stored definition version.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DefinitionRow {
    /// Tenant.
    pub tenant_id: String,
    /// Name.
    pub name: String,
    /// Version, from 1.
    pub version: i32,
    /// The YAML as applied.
    pub source: String,
    /// The compiled form (weft-definition's `Definition` as JSON).
    pub compiled: serde_json::Value,
}

/// Stores a new version unless this exact source is already stored; returns the version and
/// whether it is new.
pub async fn apply(
    conn: &mut PgConnection,
    tenant: &str,
    name: &str,
    source: &str,
    source_sha256: &str,
    compiled: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(i32, bool), StoreError> {
    // Serialize concurrent applies of the same name so versions stay dense.
    sqlx::query("select pg_advisory_xact_lock(hashtext($1 || '/' || $2))")
        .bind(tenant)
        .bind(name)
        .execute(&mut *conn)
        .await?;
    let existing: Option<(i32,)> = sqlx::query_as(
        "select version from definitions where tenant_id = $1 and name = $2 and source_sha256 = $3",
    )
    .bind(tenant)
    .bind(name)
    .bind(source_sha256)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((version,)) = existing {
        return Ok((version, false));
    }
    let (version,): (i32,) = sqlx::query_as(
        "insert into definitions (tenant_id, name, version, source, source_sha256, compiled, created_at)
         select $1, $2, coalesce(max(version), 0) + 1, $3, $4, $5, $6
         from definitions where tenant_id = $1 and name = $2
         returning version",
    )
    .bind(tenant)
    .bind(name)
    .bind(source)
    .bind(source_sha256)
    .bind(compiled)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok((version, true))
}

/// Version `version` of definition `name`.
pub async fn get(
    conn: &mut PgConnection,
    tenant: &str,
    name: &str,
    version: i32,
) -> Result<DefinitionRow, StoreError> {
    sqlx::query_as(
        "select tenant_id, name, version, source, compiled from definitions
         where tenant_id = $1 and name = $2 and version = $3",
    )
    .bind(tenant)
    .bind(name)
    .bind(version)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("definition {name} v{version} of tenant {tenant}")))
}

/// The newest version of definition `name`.
pub async fn latest(
    conn: &mut PgConnection,
    tenant: &str,
    name: &str,
) -> Result<DefinitionRow, StoreError> {
    sqlx::query_as(
        "select tenant_id, name, version, source, compiled from definitions
         where tenant_id = $1 and name = $2 order by version desc limit 1",
    )
    .bind(tenant)
    .bind(name)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("definition {name} of tenant {tenant}")))
}
