//! Dead letters: a compensation that cannot finish parks the run; an operator fixes the cause
//! and retries, compensates or abandons, each recorded in history.

use serde_json::json;
use weft_engine::{EngineError, Event, OperatorAction, Phase, RunStatus};
use weft_test_support::{TENANT, set_ledger_config};

use crate::{TWO_STEPS, events, setup, start, status};

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_failing_compensation_parks_the_run_and_a_retry_after_the_fix_completes_it(
    pool: sqlx::PgPool,
) {
    let (engine, _, ledger) = setup(pool).await;
    // Misconfigured: step b is refused, and cancelling a fails too.
    set_ledger_config(&engine, &ledger, &[("refuse", "b"), ("cancel", "broken")]).await;
    let run = start(&engine, TWO_STEPS, json!({"order": "SO4"})).await;
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Parked);
    let parked = engine.run(TENANT, run).await.unwrap();
    let reason = parked.core.reason.unwrap();
    assert_eq!(
        (
            reason.step.as_str(),
            reason.phase,
            reason.failed_step.as_str()
        ),
        ("a", Phase::Compensation, "b")
    );
    assert_eq!(reason.class, "plugin-permanent");
    assert!(
        reason.message.contains("cancel is `broken`"),
        "{}",
        reason.message
    );

    // Abandon is refused nowhere near; retry is what the operator wants after fixing the config.
    set_ledger_config(&engine, &ledger, &[]).await;
    let now = engine
        .act(
            TENANT,
            run,
            OperatorAction::Retry,
            "ops@acme",
            "fixed ledger config",
        )
        .await
        .unwrap();
    assert_eq!(now, RunStatus::Running);
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Completed);
    let actions = events(&engine, run, |e| matches!(e, Event::OperatorAction { .. })).await;
    match &actions[..] {
        [
            Event::OperatorAction {
                action, by, why, ..
            },
        ] => {
            assert_eq!(
                (action.as_str(), by.as_str(), why.as_str()),
                ("retry", "ops@acme", "fixed ledger config")
            );
        }
        other => panic!("{other:?}"),
    }
    let records = ledger.records();
    assert_eq!(records.len(), 2, "a once, b once");
    assert!(records.iter().all(|r| !r.cancelled));
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_parked_run_can_be_compensated_or_abandoned_but_not_cancelled(pool: sqlx::PgPool) {
    let (engine, _, ledger) = setup(pool).await;
    set_ledger_config(&engine, &ledger, &[("refuse", "b"), ("cancel", "broken")]).await;
    let first = start(&engine, TWO_STEPS, json!({"order": "SO5"})).await;
    let second = engine
        .start_run(TENANT, "two", json!({"order": "SO6"}), None)
        .await
        .unwrap()
        .run_id;
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, first).await, RunStatus::Parked);

    let err = engine
        .act(TENANT, first, OperatorAction::Cancel, "ops", "x")
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::FailedPrecondition(_)), "{err}");

    set_ledger_config(&engine, &ledger, &[("refuse", "b")]).await;
    engine
        .act(
            TENANT,
            first,
            OperatorAction::Compensate,
            "ops",
            "cancel fixed",
        )
        .await
        .unwrap();
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, first).await, RunStatus::Compensated);

    engine
        .act(
            TENANT,
            second,
            OperatorAction::Abandon,
            "ops",
            "customer called",
        )
        .await
        .unwrap();
    assert_eq!(status(&engine, second).await, RunStatus::Failed);
    let failed = events(
        &engine,
        second,
        |e| matches!(e, Event::RunFailed { message } if message.contains("customer called")),
    )
    .await;
    assert_eq!(failed.len(), 1);
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn operators_cannot_touch_another_tenants_runs(pool: sqlx::PgPool) {
    let (engine, _, _) = setup(pool).await;
    let run = start(&engine, TWO_STEPS, json!({"order": "SO8"})).await;
    engine.create_tenant("other", "Other").await.unwrap();
    let err = engine
        .act("other", run, OperatorAction::Cancel, "ops", "x")
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotFound(_)), "{err}");
    assert!(matches!(
        engine.run("other", run).await.unwrap_err(),
        EngineError::NotFound(_)
    ));
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
    assert_eq!(status(&engine, run).await, RunStatus::Cancelled);
    assert_eq!(
        engine.run_until_idle().await.unwrap(),
        0,
        "a cancelled run has no work left"
    );
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_retry_whose_pins_no_longer_fit_the_definition_is_refused(pool: sqlx::PgPool) {
    let (engine, _, ledger) = setup(pool.clone()).await;
    set_ledger_config(&engine, &ledger, &[("refuse", "b"), ("cancel", "broken")]).await;
    let run = start(&engine, TWO_STEPS, json!({"order": "SO7"})).await;
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Parked);
    // The tenant no longer pins the ledger plugin: a retry would re-pin the run to nothing and
    // fail its step for good, compensating from a routine action.
    sqlx::query("delete from plugin_pins where tenant_id = $1")
        .bind(TENANT)
        .execute(&pool)
        .await
        .unwrap();
    let refused = engine
        .act(TENANT, run, OperatorAction::Retry, "ops", "fixed")
        .await;
    match refused {
        Err(EngineError::FailedPrecondition(m)) => assert!(m.contains("do not fit"), "{m}"),
        other => panic!("the retry must be refused: {other:?}"),
    }
    assert_eq!(status(&engine, run).await, RunStatus::Parked);
}
