//! Signals and timers resume waiting runs, which hold no worker while they wait.

use std::time::Duration;

use serde_json::json;
use weft_engine::{Event, RunStatus};
use weft_test_support::TENANT;

use crate::{events, setup, start, status};

const SHIP: &str = r#"
name: ship
key: ${input.order}
steps:
  - id: order
    call: ledger.create
    input: { data: "order" }
  - id: shipped
    wait: { signal: shipped, timeout: 1h }
  - id: settle
    sleep: 10m
  - id: notify
    call: ledger.create
    input:
      data: ${steps.shipped.output.tracking}
"#;

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_signal_then_a_timer_resume_a_waiting_run(pool: sqlx::PgPool) {
    let (engine, clock, ledger) = setup(pool).await;
    let run = start(&engine, SHIP, json!({"order": "SO9"})).await;
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Waiting);
    assert_eq!(
        engine.run_until_idle().await.unwrap(),
        0,
        "waiting holds no work that is due"
    );

    engine
        .signal(TENANT, run, "shipped", json!({"tracking": "TRK-1"}), None)
        .await
        .unwrap();
    engine.run_until_idle().await.unwrap();
    assert_eq!(
        status(&engine, run).await,
        RunStatus::Waiting,
        "now sleeping"
    );
    clock.advance(Duration::from_secs(599));
    assert_eq!(engine.run_until_idle().await.unwrap(), 0);
    clock.advance(Duration::from_secs(1));
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Completed);
    assert_eq!(ledger.records()[1].data, json!("TRK-1"));
    assert_eq!(
        events(&engine, run, |e| matches!(e, Event::TimerFired { .. }))
            .await
            .len(),
        1
    );
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_signal_sent_early_is_taken_when_the_run_reaches_its_wait(pool: sqlx::PgPool) {
    let (engine, clock, _) = setup(pool).await;
    let run = start(&engine, SHIP, json!({"order": "SO10"})).await;
    engine
        .signal(TENANT, run, "shipped", json!({"tracking": "EARLY"}), None)
        .await
        .unwrap();
    engine.run_until_idle().await.unwrap();
    clock.advance(Duration::from_secs(600));
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Completed);
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_wait_past_its_deadline_fails_the_run_and_compensates(pool: sqlx::PgPool) {
    let (engine, clock, ledger) = setup(pool).await;
    let run = start(&engine, SHIP, json!({"order": "SO11"})).await;
    engine.run_until_idle().await.unwrap();
    clock.advance(Duration::from_secs(3600));
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Compensated);
    assert_eq!(
        events(&engine, run, |e| matches!(e, Event::WaitTimedOut { .. }))
            .await
            .len(),
        1
    );
    assert!(ledger.records()[0].cancelled);
    // A signal for a finished run is refused.
    assert!(
        engine
            .signal(TENANT, run, "shipped", json!({}), None)
            .await
            .is_err()
    );
}
