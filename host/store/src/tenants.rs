//! Tenants.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::StoreError;

/// Creates tenant `id` if it does not exist.
pub async fn ensure(
    conn: &mut PgConnection,
    id: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into tenants (id, name, created_at) values ($1, $2, $3) on conflict do nothing",
    )
    .bind(id)
    .bind(name)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether tenant `id` exists.
pub async fn exists(conn: &mut PgConnection, id: &str) -> Result<bool, StoreError> {
    let found: Option<(String,)> = sqlx::query_as("select id from tenants where id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}
