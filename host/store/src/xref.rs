//! Cross-references on Postgres: each link is stored in both directions so either side resolves
//! with one key lookup. The engine serves them to plugins as the runtime's `XrefStore`.
//!
//! Plugins call xref while attempts run, as often as their limits allow, so it gets its own small
//! pool ([`xref_pool`]): a plugin looping on xref then waits on that pool, never on the
//! connections the engine needs to commit steps.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use weft_plugin_sdk::xref::{XrefError, check_get, check_link};

/// Connections of the xref pool.
pub const XREF_POOL_CONNECTIONS: u32 = 4;

/// Longest wait for a connection of the xref pool, and longest statement on one. Past it the
/// plugin is told the store is unavailable (retryable) rather than holding its attempt.
pub const XREF_TIMEOUT: Duration = Duration::from_secs(5);

/// A small pool beside `pool` (same database and credentials) for [`PgXref`]: at most
/// [`XREF_POOL_CONNECTIONS`] connections, acquired within [`XREF_TIMEOUT`], statements cut after
/// it. Connections open on first use.
pub fn xref_pool(pool: &PgPool) -> PgPool {
    let timeout = XREF_TIMEOUT.as_millis().to_string();
    let options = (*pool.connect_options())
        .clone()
        .options([("statement_timeout", timeout.as_str())]);
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(XREF_POOL_CONNECTIONS)
        .acquire_timeout(XREF_TIMEOUT)
        .connect_lazy_with(options)
}

/// Postgres-backed xref.
pub struct PgXref {
    pool: PgPool,
    now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
}

fn unavailable(e: sqlx::Error) -> XrefError {
    XrefError::Unavailable(e.to_string())
}

impl PgXref {
    /// Xref on `pool` (in production, a pool of its own: see [`xref_pool`]); `now` stamps links
    /// with their sync time.
    pub fn new(pool: PgPool, now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>) -> Self {
        Self { pool, now }
    }

    /// The reference in `system` linked to `reference`, for `tenant`. Errors are what the plugin
    /// sees: a malformed argument, or `Unavailable` when the database did not answer.
    pub async fn get(
        &self,
        tenant: &str,
        reference: &str,
        system: &str,
    ) -> Result<Option<String>, XrefError> {
        check_get(reference, system)?;
        let row: Option<(String,)> = sqlx::query_as(
            "select target from xref where tenant_id = $1 and ref = $2 and system = $3",
        )
        .bind(tenant)
        .bind(reference)
        .bind(system)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(row.map(|r| r.0))
    }

    /// Links `a` and `b` for `tenant`, replacing what either was linked to in the other's system.
    pub async fn put(&self, tenant: &str, a: &str, b: &str) -> Result<(), XrefError> {
        let (ra, rb) = check_link(a, b)?;
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        lock_refs(&mut tx, tenant, a, b).await?;
        // Unlink what a and b pointed to in each other's systems, so links stay one-to-one.
        sqlx::query(
            "delete from xref x using xref old
             where old.tenant_id = $1 and ((old.ref = $2 and old.system = $4) or (old.ref = $3 and old.system = $5))
               and x.tenant_id = $1 and x.ref = old.target and x.target = old.ref",
        )
        .bind(tenant)
        .bind(a)
        .bind(b)
        .bind(rb.system)
        .bind(ra.system)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        sqlx::query(
            "insert into xref (tenant_id, ref, system, target, synced_at)
             values ($1, $2, $4, $3, $6), ($1, $3, $5, $2, $6)
             on conflict (tenant_id, ref, system) do update set target = excluded.target,
                 synced_at = excluded.synced_at",
        )
        .bind(tenant)
        .bind(a)
        .bind(b)
        .bind(rb.system)
        .bind(ra.system)
        .bind((self.now)())
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)
    }

    /// Removes the link between `a` and `b` for `tenant`; `false` if there was none.
    pub async fn unlink(&self, tenant: &str, a: &str, b: &str) -> Result<bool, XrefError> {
        check_link(a, b)?;
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        lock_refs(&mut tx, tenant, a, b).await?;
        let removed = sqlx::query(
            "delete from xref
             where tenant_id = $1 and ((ref = $2 and target = $3) or (ref = $3 and target = $2))",
        )
        .bind(tenant)
        .bind(a)
        .bind(b)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?
        .rows_affected();
        tx.commit().await.map_err(unavailable)?;
        Ok(removed > 0)
    }
}

/// Serializes changes to the links of `a` and `b` until the transaction ends. Without it, two
/// concurrent relinks of one reference both delete the old reverse link before either inserts
/// (under READ COMMITTED neither sees the other's row), and a stale reverse link survives. Locks
/// are taken in key order so that two transactions never wait on each other crosswise.
async fn lock_refs(tx: &mut PgConnection, tenant: &str, a: &str, b: &str) -> Result<(), XrefError> {
    sqlx::query(
        "select pg_advisory_xact_lock(k) from (
             select distinct hashtextextended('xref ' || $1 || ' ' || r, 0) as k
             from unnest(array[$2, $3]) as r order by k
         ) keys",
    )
    .bind(tenant)
    .bind(a)
    .bind(b)
    .execute(tx)
    .await
    .map_err(unavailable)?;
    Ok(())
}
