//! The outbound-call audit survives what the step commit does not: a call is recorded before it
//! leaves the host, and the attempt's commit completes that record instead of adding another.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::{setup, start};

const ONE_CALL: &str = r#"
name: one-call
key: ${input.order}
steps:
  - id: create
    call: ledger.create
    input: { data: "x" }
"#;

/// The run's audit rows as (step, outcome kind), oldest first.
async fn calls(pool: &sqlx::PgPool, run: uuid::Uuid) -> Vec<(String, String)> {
    sqlx::query_as(
        "select step_id, outcome->>'kind' from outbound_calls where run_id = $1 order by id",
    )
    .bind(run.to_string())
    .fetch_all(pool)
    .await
    .unwrap()
}

fn rows(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(s, k)| (s.to_string(), k.to_string()))
        .collect()
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_call_is_recorded_before_it_leaves_the_host_and_stays_recorded_when_the_host_dies(
    pool: sqlx::PgPool,
) {
    let (engine, clock, ledger) = setup(pool.clone()).await;
    let run = start(&engine, ONE_CALL, json!({"order": "SO1"})).await;
    let engine = Arc::new(engine);
    ledger.hold();
    let host = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run_until_idle().await }
    });
    ledger.until_held(1).await;
    assert_eq!(calls(&pool, run).await, rows(&[("create", "in-flight")]));

    // The host dies with the request at the remote, which then acts on it.
    host.abort();
    assert!(host.await.is_err(), "the host was still running");
    ledger.release();
    ledger.until_released().await;
    assert_eq!(calls(&pool, run).await, rows(&[("create", "in-flight")]));

    // Another host takes the step over once the lease runs out: the dead host's call stays on
    // record beside the one that completed, one row for each request the remote received.
    clock.advance(Duration::from_secs(120));
    engine.run_until_idle().await.unwrap();
    assert_eq!(
        calls(&pool, run).await,
        rows(&[("create", "in-flight"), ("create", "completed")])
    );
    assert_eq!(ledger.creates(), 2);
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_call_stays_recorded_when_its_attempt_cannot_commit(pool: sqlx::PgPool) {
    let (engine, _, ledger) = setup(pool.clone()).await;
    let run = start(&engine, ONE_CALL, json!({"order": "SO1"})).await;
    let engine = Arc::new(engine);
    ledger.hold();
    let host = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run_until_idle().await }
    });
    ledger.until_held(1).await;
    // The step commit writes history: without the table, every commit of the attempt fails.
    sqlx::query("alter table history rename to history_away")
        .execute(&pool)
        .await
        .unwrap();
    ledger.release();
    assert!(host.await.unwrap().is_err(), "the commit did not fail");
    sqlx::query("alter table history_away rename to history")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(calls(&pool, run).await, rows(&[("create", "in-flight")]));
    assert_eq!(ledger.creates(), 1);
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_committed_call_is_one_row_with_its_outcome(pool: sqlx::PgPool) {
    let (engine, _, ledger) = setup(pool.clone()).await;
    let run = start(&engine, crate::TWO_STEPS, json!({"order": "SO1"})).await;
    engine.run_until_idle().await.unwrap();
    assert_eq!(
        calls(&pool, run).await,
        rows(&[("a", "completed"), ("b", "completed")])
    );
    assert_eq!(ledger.creates(), 2);
}
