//! What reaches PostgreSQL is bounded: inputs, keys, signals and operator texts past their
//! limits are refused with what to do, a run's history stops growing at its ceiling, a repeated
//! signal is taken once, and one business event has one key however its number is written.

use std::time::Duration;

use serde_json::json;
use weft_engine::{
    EngineConfig, EngineError, Event, MAX_BUSINESS_KEY_BYTES, MAX_RUN_INPUT_BYTES,
    MAX_SIGNAL_PAYLOAD_BYTES, OperatorAction, RunStatus,
};
use weft_test_support::TENANT;

use crate::{TWO_STEPS, events, setup, start, status};

fn invalid_input<T: std::fmt::Debug>(result: Result<T, EngineError>) -> String {
    match result {
        Err(EngineError::InvalidInput(m)) => m,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

const WAITS: &str = r#"
name: waits
key: ${input.order}
steps:
  - id: first
    wait: { signal: shipped }
  - id: second
    wait: { signal: shipped }
"#;

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn oversized_inputs_keys_signals_and_reasons_are_refused_before_the_database(
    pool: sqlx::PgPool,
) {
    let (engine, _, _) = setup(pool).await;
    engine.apply_definition(TENANT, TWO_STEPS).await.unwrap();
    let big = "x".repeat(MAX_RUN_INPUT_BYTES);
    let m = invalid_input(
        engine
            .start_run(TENANT, "two", json!({"order": "SO1", "note": big}), None)
            .await,
    );
    assert!(m.contains("the run's input"), "{m}");
    let long_key = "k".repeat(3000);
    let m = invalid_input(
        engine
            .start_run(TENANT, "two", json!({"order": long_key}), None)
            .await,
    );
    assert!(
        m.contains(&format!("{MAX_BUSINESS_KEY_BYTES} accepted")),
        "{m}"
    );

    let run = start(&engine, WAITS, json!({"order": "SO2"})).await;
    let payload = json!({ "blob": "y".repeat(MAX_SIGNAL_PAYLOAD_BYTES) });
    let m = invalid_input(engine.signal(TENANT, run, "shipped", payload, None).await);
    assert!(m.contains("payload"), "{m}");
    invalid_input(
        engine
            .signal(TENANT, run, &"n".repeat(500), json!({}), None)
            .await,
    );
    invalid_input(
        engine
            .act(
                TENANT,
                run,
                OperatorAction::Cancel,
                "ops",
                &"why ".repeat(1000),
            )
            .await,
    );
    assert_eq!(
        status(&engine, run).await,
        RunStatus::Waiting,
        "the refused cancel changed nothing"
    );
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_signal_delivered_twice_with_one_id_is_taken_once(pool: sqlx::PgPool) {
    let (engine, _, _) = setup(pool).await;
    let run = start(&engine, WAITS, json!({"order": "SO3"})).await;
    engine.run_until_idle().await.unwrap();
    let first = engine
        .signal(TENANT, run, "shipped", json!({"n": 1}), Some("delivery-1"))
        .await
        .unwrap();
    let again = engine
        .signal(TENANT, run, "shipped", json!({"n": 1}), Some("delivery-1"))
        .await
        .unwrap();
    assert!(first && !again, "the repeat is reported as such");
    engine.run_until_idle().await.unwrap();
    // The repeat did not satisfy the second wait.
    assert_eq!(status(&engine, run).await, RunStatus::Waiting);
    let received = events(&engine, run, |e| matches!(e, Event::SignalReceived { .. })).await;
    assert_eq!(received.len(), 1);
    engine
        .signal(TENANT, run, "shipped", json!({"n": 2}), Some("delivery-2"))
        .await
        .unwrap();
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Completed);
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_key_written_as_1_or_1_0_starts_one_run(pool: sqlx::PgPool) {
    let (engine, _, _) = setup(pool).await;
    engine.apply_definition(TENANT, TWO_STEPS).await.unwrap();
    let a = engine
        .start_run(TENANT, "two", json!({"order": 1}), None)
        .await
        .unwrap();
    let b = engine
        .start_run(TENANT, "two", json!({"order": 1.0}), None)
        .await
        .unwrap();
    let c = engine
        .start_run(TENANT, "two", json!({"order": 7}), Some(" 1 "))
        .await
        .unwrap();
    assert!(a.created && !b.created && !c.created);
    assert_eq!((a.run_id, a.run_id), (b.run_id, c.run_id));
    invalid_input(
        engine
            .start_run(TENANT, "two", json!({"order": 1.5}), None)
            .await,
    );
}

const RETRIES_FOR_EVER: &str = r#"
name: busy
key: ${input.order}
steps:
  - id: a
    call: ledger.create
    input:
      data: "a"
      fail_times: 1000
    retry: { max_attempts: 100, initial: 1s, max: 1s, jitter: 0 }
"#;

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_history_at_its_ceiling_parks_the_run_and_refuses_signals(pool: sqlx::PgPool) {
    let (setup_engine, clock, _) = setup(pool.clone()).await;
    let run = start(&setup_engine, RETRIES_FOR_EVER, json!({"order": "SO4"})).await;
    let config = EngineConfig {
        max_history_events: 20,
        ..EngineConfig::default()
    };
    let engine = weft_test_support::engine(pool, clock.clone(), config);
    for _ in 0..30 {
        engine.run_until_idle().await.unwrap();
        clock.advance(Duration::from_secs(2));
    }
    let parked = engine.run(TENANT, run).await.unwrap();
    assert_eq!(parked.core.status, RunStatus::Parked);
    assert_eq!(parked.core.reason.unwrap().class, "history-full");
    assert!(
        parked.next_seq <= 20 + 5,
        "stopped at the ceiling: {}",
        parked.next_seq
    );
    let refused = engine.signal(TENANT, run, "any", json!({}), None).await;
    assert!(
        matches!(refused, Err(EngineError::FailedPrecondition(_))),
        "{refused:?}"
    );
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn history_is_read_in_pages_without_gaps_or_repeats(pool: sqlx::PgPool) {
    let (engine, _, _) = setup(pool).await;
    let run = start(&engine, TWO_STEPS, json!({"order": "SO5"})).await;
    engine.run_until_idle().await.unwrap();
    let all = engine.history(TENANT, run).await.unwrap();
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = engine.history_page(TENANT, run, after, 3).await.unwrap();
        let Some(last) = page.last() else { break };
        assert!(page.len() <= 3);
        after = last.seq;
        paged.extend(page.into_iter().map(|e| e.event));
    }
    assert_eq!(paged, all);
    assert!(all.len() > 3, "more than one page");
}
