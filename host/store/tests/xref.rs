//! Cross-references on PostgreSQL: unlinking for compensations, relinks that race, and the pool
//! of their own.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use sqlx::PgPool;
use weft_plugin_sdk::xref::XrefError;
use weft_store::{PgXref, XREF_POOL_CONNECTIONS, tenants, xref_pool};

async fn xref(pool: &PgPool) -> PgXref {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let mut conn = pool.acquire().await.unwrap();
    tenants::ensure(&mut conn, "acme", "Acme", at)
        .await
        .unwrap();
    PgXref::new(pool.clone(), Arc::new(move || at))
}

async fn rows(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as("select ref, target from xref order by ref")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn unlink_removes_both_directions_of_that_link_only(pool: PgPool) {
    let x = xref(&pool).await;
    x.put("acme", "crm:account/7", "odoo:res.partner/42")
        .await
        .unwrap();
    x.put("acme", "crm:account/7", "shop:customer/9")
        .await
        .unwrap();
    assert!(
        !x.unlink("acme", "crm:account/7", "odoo:res.partner/43")
            .await
            .unwrap(),
        "not linked: nothing to undo"
    );
    assert!(
        x.unlink("acme", "odoo:res.partner/42", "crm:account/7")
            .await
            .unwrap()
    );
    assert_eq!(x.get("acme", "crm:account/7", "odoo").await.unwrap(), None);
    assert_eq!(
        x.get("acme", "odoo:res.partner/42", "crm").await.unwrap(),
        None
    );
    assert_eq!(
        rows(&pool).await,
        [
            ("crm:account/7".to_owned(), "shop:customer/9".to_owned()),
            ("shop:customer/9".to_owned(), "crm:account/7".to_owned()),
        ]
    );
    assert!(
        !x.unlink("acme", "crm:account/7", "odoo:res.partner/42")
            .await
            .unwrap()
    );
    assert!(matches!(
        x.unlink("acme", "crm:account/7", "crm:account/8").await,
        Err(XrefError::Invalid { .. })
    ));
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn concurrent_relinks_of_one_reference_leave_no_stale_reverse_link(pool: PgPool) {
    let x = Arc::new(xref(&pool).await);
    for round in 0..20 {
        let targets: Vec<String> = (0..4)
            .map(|i| format!("odoo:res.partner/{round}-{i}"))
            .collect();
        let tasks: Vec<_> = targets
            .iter()
            .cloned()
            .map(|target| {
                let x = x.clone();
                tokio::spawn(async move { x.put("acme", "crm:account/7", &target).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let rows = rows(&pool).await;
        let forward: Vec<&(String, String)> =
            rows.iter().filter(|(r, _)| r == "crm:account/7").collect();
        let reverse: Vec<&(String, String)> =
            rows.iter().filter(|(_, t)| t == "crm:account/7").collect();
        assert_eq!(forward.len(), 1, "round {round}: {rows:?}");
        assert_eq!(
            reverse.len(),
            1,
            "round {round}: stale reverse links: {rows:?}"
        );
        assert_eq!(forward[0].1, reverse[0].0, "round {round}: {rows:?}");
    }
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn the_xref_pool_is_small_and_separate(pool: PgPool) {
    let own = xref_pool(&pool);
    let x = PgXref::new(own.clone(), Arc::new(Utc::now));
    let mut conn = pool.acquire().await.unwrap();
    tenants::ensure(&mut conn, "acme", "Acme", Utc::now())
        .await
        .unwrap();
    x.put("acme", "crm:account/1", "odoo:res.partner/1")
        .await
        .unwrap();
    assert_eq!(own.options().get_max_connections(), XREF_POOL_CONNECTIONS);
    let (timeout,): (String,) = sqlx::query_as("show statement_timeout")
        .fetch_one(&own)
        .await
        .unwrap();
    assert_eq!(timeout, "5s");
}
