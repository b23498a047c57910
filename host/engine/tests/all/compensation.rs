//! Compensation tells the truth: a step whose answer was lost is undone too, a cancel is a saga
//! cancel (the step in flight finishes, then everything that took effect is undone), and what
//! a compensation returned is kept.

use std::sync::Arc;

use serde_json::json;
use weft_engine::{EngineError, Event, OperatorAction, RunStatus};
use weft_test_support::{TENANT, set_ledger_config};

use crate::{ORDER_THEN_WAIT, TWO_STEPS, events, setup, start, status};

const LOST_ANSWER: &str = r#"
name: lost-answer
key: ${input.order}
steps:
  - id: a
    call: ledger.create
    input: { data: "a" }
  - id: b
    call: ledger.create
    input:
      data: "b"
      lose_response: true
    retry: { max_attempts: 2, initial: 1s }
"#;

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_step_whose_lost_answer_made_a_record_is_compensated_when_it_fails_for_good(
    pool: sqlx::PgPool,
) {
    let (engine, clock, ledger) = setup(pool).await;
    let run = start(&engine, LOST_ANSWER, json!({"order": "SO1"})).await;
    // Attempt 1 of b makes its record, but the answer is lost: a retry is due.
    engine.run_until_idle().await.unwrap();
    assert_eq!(ledger.records().len(), 2);
    // Then b fails for good without reaching the ledger (a business rule, say).
    set_ledger_config(&engine, &ledger, &[("refuse", "b")]).await;
    clock.advance(std::time::Duration::from_secs(5));
    engine.run_until_idle().await.unwrap();

    assert_eq!(status(&engine, run).await, RunStatus::Compensated);
    let records = ledger.records();
    assert!(
        records.iter().all(|r| r.cancelled),
        "b's record, made by the attempt whose answer was lost, is undone too: {records:?}"
    );
    let undone: Vec<String> = events(&engine, run, |e| {
        matches!(e, Event::CompensationCompleted { .. })
    })
    .await
    .into_iter()
    .filter_map(|e| match e {
        Event::CompensationCompleted { step, .. } => Some(step),
        _ => None,
    })
    .collect();
    assert_eq!(undone, ["b", "a"], "latest first");
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn cancelling_while_a_step_is_in_flight_records_its_result_and_undoes_it(pool: sqlx::PgPool) {
    let (engine, _, ledger) = setup(pool).await;
    let engine = Arc::new(engine);
    let run = start(&engine, TWO_STEPS, json!({"order": "SO2"})).await;
    ledger.hold();
    let worker = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run_until_idle().await }
    });
    ledger.until_held(1).await;
    let now = engine
        .act(
            TENANT,
            run,
            OperatorAction::Cancel,
            "ops",
            "customer withdrew",
        )
        .await
        .unwrap();
    assert_eq!(now, RunStatus::Compensating);
    ledger.release();
    worker.await.unwrap().unwrap();
    engine.run_until_idle().await.unwrap();

    assert_eq!(status(&engine, run).await, RunStatus::Cancelled);
    let records = ledger.records();
    assert_eq!(records.len(), 1, "step b never ran: {records:?}");
    assert!(
        records[0].cancelled,
        "the in-flight step's record is undone"
    );
    let completed = events(
        &engine,
        run,
        |e| matches!(e, Event::StepCompleted { step, .. } if step == "a"),
    )
    .await;
    assert_eq!(completed.len(), 1, "the in-flight result is recorded");
    let undone = events(&engine, run, |e| {
        matches!(e, Event::CompensationCompleted { .. })
    })
    .await;
    match &undone[..] {
        [Event::CompensationCompleted { step, output, .. }] => {
            assert_eq!(step, "a");
            assert_eq!(
                output,
                &json!({"id": 1}),
                "what the compensation returned is kept"
            );
        }
        other => panic!("one compensation expected: {other:?}"),
    }
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn cancelling_a_waiting_run_undoes_what_it_did_and_ends_cancelled(pool: sqlx::PgPool) {
    let (engine, _, ledger) = setup(pool.clone()).await;
    let run = start(&engine, ORDER_THEN_WAIT, json!({"order": "SO3"})).await;
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Waiting);
    engine
        .act(
            TENANT,
            run,
            OperatorAction::Cancel,
            "ops",
            "duplicate order",
        )
        .await
        .unwrap();
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Cancelled);
    assert!(ledger.records()[0].cancelled);
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(weft_store::work::count(&mut conn).await.unwrap(), 0);
    // Cancelled is final: a signal is refused, so is a second cancel.
    let again = engine
        .act(TENANT, run, OperatorAction::Cancel, "ops", "again")
        .await;
    assert!(
        matches!(again, Err(EngineError::FailedPrecondition(_))),
        "{again:?}"
    );
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn cancelling_a_compensating_run_is_refused_so_the_undo_is_never_cut_halfway(
    pool: sqlx::PgPool,
) {
    let (engine, _, ledger) = setup(pool).await;
    set_ledger_config(&engine, &ledger, &[("refuse", "b")]).await;
    let run = start(&engine, TWO_STEPS, json!({"order": "SO4"})).await;
    // Hold the compensation of a (creating a passes, b is refused before any request).
    ledger.hold_after(1);
    let engine = Arc::new(engine);
    let worker = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run_until_idle().await }
    });
    ledger.until_held(1).await;
    assert_eq!(status(&engine, run).await, RunStatus::Compensating);
    let refused = engine
        .act(TENANT, run, OperatorAction::Cancel, "ops", "stop it")
        .await;
    ledger.release();
    worker.await.unwrap().unwrap();
    assert!(
        matches!(refused, Err(EngineError::FailedPrecondition(_))),
        "{refused:?}"
    );
    assert_eq!(status(&engine, run).await, RunStatus::Compensated);
    assert!(ledger.records()[0].cancelled);
}
