//! Runs move forward, retry, and compensate.

use std::time::Duration;

use serde_json::json;
use weft_engine::{Event, RunStatus};
use weft_test_support::TENANT;

use crate::{events, setup, start, status};

const THREE_STEPS: &str = r#"
name: three-records
key: ${input.order}
steps:
  - id: first
    call: ledger.create
    input:
      data: ${input.order}
  - id: second
    call: ledger.create
    input:
      data: ${steps.first.output.id}
  - id: third
    call: echo.echo
    input:
      message: ${input.order}
"#;

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_run_of_several_plugin_steps_completes(pool: sqlx::PgPool) {
    let (engine, _, ledger) = setup(pool).await;
    let run = start(&engine, THREE_STEPS, json!({"order": "SO001"})).await;
    assert_eq!(status(&engine, run).await, RunStatus::Pending);
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Completed);
    let stored = engine.run(TENANT, run).await.unwrap();
    assert_eq!(stored.core.outputs["third"], json!({"message": "SO001"}));
    assert_eq!(stored.core.completed, vec!["first", "second", "third"]);
    let records = ledger.records();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].data, json!("SO001"));
    assert_eq!(
        records[1].data,
        json!(1),
        "second step got the first step's output"
    );
    assert_eq!(records[0].key, format!("{TENANT}/{run}/first"));
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn starting_the_same_business_key_twice_returns_the_same_run(pool: sqlx::PgPool) {
    let (engine, _, _) = setup(pool).await;
    let applied = engine.apply_definition(TENANT, THREE_STEPS).await.unwrap();
    let a = engine
        .start_run(TENANT, &applied.name, json!({"order": "SO7"}), None)
        .await
        .unwrap();
    let b = engine
        .start_run(TENANT, &applied.name, json!({"order": "SO7"}), None)
        .await
        .unwrap();
    assert!(a.created && !b.created);
    assert_eq!(a.run_id, b.run_id);
    let c = engine
        .start_run(TENANT, &applied.name, json!({"order": "x"}), Some("SO7"))
        .await
        .unwrap();
    assert_eq!(c.run_id, a.run_id, "an explicit key counts the same");
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_step_failing_retryably_twice_completes_on_the_third_attempt(pool: sqlx::PgPool) {
    let (engine, clock, ledger) = setup(pool).await;
    let yaml = r#"
name: flaky
key: ${input.order}
steps:
  - id: create
    call: ledger.create
    input:
      data: ${input.order}
      fail_times: 2
    retry: { max_attempts: 5, initial: 10s, multiplier: 2, max: 1m, jitter: 0 }
"#;
    let run = start(&engine, yaml, json!({"order": "SO2"})).await;
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Running);
    // The retry is not due yet: nothing happens until time moves.
    assert_eq!(engine.run_until_idle().await.unwrap(), 0);
    clock.advance(Duration::from_secs(10));
    assert_eq!(engine.run_until_idle().await.unwrap(), 1);
    clock.advance(Duration::from_secs(19));
    assert_eq!(
        engine.run_until_idle().await.unwrap(),
        0,
        "second delay is 20s"
    );
    clock.advance(Duration::from_secs(1));
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Completed);
    let attempts = events(&engine, run, |e| matches!(e, Event::AttemptStarted { .. })).await;
    assert_eq!(attempts.len(), 3);
    let failures = events(
        &engine,
        run,
        |e| matches!(e, Event::AttemptFailed { class, .. } if class == "plugin-retryable"),
    )
    .await;
    assert_eq!(failures.len(), 2);
    assert_eq!(ledger.records().len(), 1);
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_permanent_failure_compensates_earlier_steps_in_reverse_order(pool: sqlx::PgPool) {
    let (engine, _, ledger) = setup(pool).await;
    let yaml = r#"
name: doomed
key: ${input.order}
steps:
  - id: a
    call: ledger.create
    input: { data: "a" }
  - id: b
    call: ledger.create
    input: { data: "b" }
  - id: c
    call: ledger.create
    input: { data: "c", reject: true }
"#;
    let run = start(&engine, yaml, json!({"order": "SO3"})).await;
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Compensated);
    let undone: Vec<String> = events(&engine, run, |e| {
        matches!(e, Event::CompensationCompleted { .. })
    })
    .await
    .into_iter()
    .map(|e| match e {
        Event::CompensationCompleted { step, .. } => step,
        _ => unreachable!(),
    })
    .collect();
    // c's attempt reached the ledger, so it may have taken effect whatever it answered: it is
    // compensated too (here its compensation finds nothing to undo).
    assert_eq!(undone, vec!["c", "b", "a"]);
    let failed = events(&engine, run, |e| matches!(e, Event::AttemptFailed { step, class, .. } if step == "c" && class == "plugin-permanent")).await;
    assert_eq!(failed.len(), 1, "a permanent failure is not retried");
    let records = ledger.records();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r.cancelled));
}
