//! Cross-references on Postgres, behind the runtime's `XrefStore`: each link is stored in both
//! directions so either side resolves with one key lookup.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sqlx::PgPool;
use weft_runtime::XrefStore;
use weft_runtime::xref_ref::parse_ref;

/// Postgres-backed xref.
pub struct PgXref {
    pool: PgPool,
    now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
}

impl PgXref {
    /// Xref on `pool`; `now` stamps links with their sync time.
    pub fn new(pool: PgPool, now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>) -> Self {
        Self { pool, now }
    }

    async fn put_links(&self, tenant: &str, a: &str, b: &str) -> Result<(), String> {
        let (ra, rb) = (parse_ref(a)?, parse_ref(b)?);
        if ra.system == rb.system {
            return Err(format!("`{a}` and `{b}` are in the same system"));
        }
        let fail = |e: sqlx::Error| format!("xref store unavailable, retry: {e}");
        let mut tx = self.pool.begin().await.map_err(fail)?;
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
        .map_err(fail)?;
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
        .map_err(fail)?;
        tx.commit().await.map_err(fail)
    }
}

impl XrefStore for PgXref {
    fn get<'a>(
        &'a self,
        tenant: &'a str,
        reference: &'a str,
        system: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            parse_ref(reference)?;
            let row: Option<(String,)> = sqlx::query_as(
                "select target from xref where tenant_id = $1 and ref = $2 and system = $3",
            )
            .bind(tenant)
            .bind(reference)
            .bind(system)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| format!("xref store unavailable, retry: {e}"))?;
            Ok(row.map(|r| r.0))
        })
    }

    fn put<'a>(
        &'a self,
        tenant: &'a str,
        a: &'a str,
        b: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(self.put_links(tenant, a, b))
    }
}
