//! Cross-references and the outbound-call audit on Postgres.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::json;
use weft_store::PgXref;
use weft_test_support::TENANT;

use crate::{setup, start};

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn xref_links_resolve_both_ways_per_tenant_and_relinking_replaces(pool: sqlx::PgPool) {
    let (engine, _, _) = setup(pool.clone()).await;
    engine.create_tenant("other", "Other").await.unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
    let xref = PgXref::new(pool.clone(), Arc::new(move || at));
    xref.put(TENANT, "crm:account/7", "odoo:res.partner/42")
        .await
        .unwrap();
    assert_eq!(
        xref.get(TENANT, "crm:account/7", "odoo")
            .await
            .unwrap()
            .as_deref(),
        Some("odoo:res.partner/42")
    );
    assert_eq!(
        xref.get(TENANT, "odoo:res.partner/42", "crm")
            .await
            .unwrap()
            .as_deref(),
        Some("crm:account/7")
    );
    assert_eq!(
        xref.get("other", "crm:account/7", "odoo").await.unwrap(),
        None,
        "tenants are isolated"
    );

    xref.put(TENANT, "crm:account/7", "odoo:res.partner/43")
        .await
        .unwrap();
    assert_eq!(
        xref.get(TENANT, "crm:account/7", "odoo")
            .await
            .unwrap()
            .as_deref(),
        Some("odoo:res.partner/43")
    );
    assert_eq!(
        xref.get(TENANT, "odoo:res.partner/42", "crm")
            .await
            .unwrap(),
        None,
        "old link removed"
    );
    assert!(
        xref.put(TENANT, "crm:account/7", "crm:account/8")
            .await
            .is_err()
    );
    assert!(xref.get(TENANT, "not-a-ref", "odoo").await.is_err());

    let (synced,): (chrono::DateTime<Utc>,) =
        sqlx::query_as("select synced_at from xref where tenant_id = $1 and ref = 'crm:account/7'")
            .bind(TENANT)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(synced, at);
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn outbound_calls_are_audited_with_the_step_that_made_them(pool: sqlx::PgPool) {
    let (engine, _, ledger) = setup(pool.clone()).await;
    let yaml = r#"
name: one-call
key: ${input.order}
steps:
  - id: create
    call: ledger.create
    input: { data: "x" }
"#;
    let run = start(&engine, yaml, json!({"order": "SO12"})).await;
    engine.run_until_idle().await.unwrap();
    let rows: Vec<(String, String, String, Option<i32>, String)> = sqlx::query_as(
        "select step_id, plugin, method, status, url from outbound_calls where run_id = $1",
    )
    .bind(run.to_string())
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    let (step, plugin, method, status, url) = &rows[0];
    assert_eq!(
        (step.as_str(), plugin.as_str(), method.as_str(), *status),
        ("create", "ledger@0.1.0", "POST", Some(200))
    );
    assert!(url.starts_with(&ledger.base), "{url}");
}
