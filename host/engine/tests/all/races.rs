//! What happens while a step is in flight: a signal changes the run, or the step's lease runs out
//! and another worker takes it over. Either way the step completes once and history stays whole.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::task::JoinHandle;
use weft_engine::{
    Engine, EngineConfig, EngineError, Event, ManualClock, OperatorAction, Phase, RunStatus,
};
use weft_test_support::{LedgerServer, TENANT};

use crate::{ORDER_THEN_WAIT, TWO_STEPS, events, setup, start, status};

/// Longer than a claim's lease: a host stalled this long has lost its items.
fn past_the_lease() -> Duration {
    EngineConfig::default().lease + Duration::from_secs(1)
}

/// A second engine (another host) on the same database and clock.
fn another_engine(engine: &Engine, clock: &Arc<ManualClock>, max_claims: i32) -> Arc<Engine> {
    Arc::new(weft_test_support::engine(
        engine.pool().clone(),
        clock.clone(),
        EngineConfig {
            max_claims,
            ..EngineConfig::default()
        },
    ))
}

/// Runs `engine` until idle on a task of its own, so the test can act while a step is in flight.
fn in_background(engine: &Arc<Engine>) -> JoinHandle<Result<usize, EngineError>> {
    let engine = engine.clone();
    tokio::spawn(async move { engine.run_until_idle().await })
}

fn completions(events: &[Event], step: &str) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::StepCompleted { step: s, .. } if s == step))
        .count()
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_signal_arriving_while_a_step_runs_is_kept_and_the_step_completes_once(
    pool: sqlx::PgPool,
) {
    let (engine, _, ledger) = setup(pool).await;
    let engine = Arc::new(engine);
    let run = start(&engine, ORDER_THEN_WAIT, json!({"order": "SO1"})).await;
    ledger.hold();
    let worker = in_background(&engine);
    // The step is in flight (claimed, its plugin waiting on the ledger) when the signal lands.
    ledger.until_held(1).await;
    engine
        .signal(TENANT, run, "shipped", json!({"tracking": "T1"}), None)
        .await
        .unwrap();
    ledger.release();
    worker.await.unwrap().unwrap();
    engine.run_until_idle().await.unwrap();

    assert_eq!(status(&engine, run).await, RunStatus::Completed);
    let history = engine.history(TENANT, run).await.unwrap();
    assert_eq!(completions(&history, "order"), 1);
    assert_eq!(
        engine.run(TENANT, run).await.unwrap().core.outputs["shipped"],
        json!({"tracking": "T1"}),
        "the wait took the signal that came while the step before it ran"
    );
    assert_eq!(ledger.records().len(), 1);
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_worker_whose_lease_ran_out_cannot_commit_over_the_worker_that_took_over(
    pool: sqlx::PgPool,
) {
    let (engine, clock, ledger) = setup(pool).await;
    let engine = Arc::new(engine);
    let other = another_engine(&engine, &clock, EngineConfig::default().max_claims);
    let run = start(&engine, ORDER_THEN_WAIT, json!({"order": "SO2"})).await;
    ledger.hold();
    let stalled = in_background(&engine);
    ledger.until_held(1).await;
    // The first worker stalls past its lease; the second takes the item over.
    clock.advance(past_the_lease());
    let takeover = in_background(&other);
    ledger.until_held(2).await;
    ledger.release();
    stalled.await.unwrap().unwrap();
    takeover.await.unwrap().unwrap();

    assert_eq!(status(&engine, run).await, RunStatus::Waiting);
    let history = engine.history(TENANT, run).await.unwrap();
    assert_eq!(completions(&history, "order"), 1, "{history:#?}");
    assert_eq!(
        events(&engine, run, |e| matches!(e, Event::LeaseExpired { .. }))
            .await
            .len(),
        1
    );
    assert_eq!(ledger.records().len(), 1, "the idempotency key held");
    assert_eq!(ledger.creates(), 2, "both attempts reached the ledger");
    let (audited,): (i64,) = sqlx::query_as(
        "select count(*) from outbound_calls where run_id = $1 and step_id = 'order'",
    )
    .bind(run.to_string())
    .fetch_one(engine.pool())
    .await
    .unwrap();
    assert_eq!(audited, 2, "the dropped attempt's call is audited too");
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_step_claimed_too_often_without_finishing_parks_its_run_for_an_operator(
    pool: sqlx::PgPool,
) {
    let (engine, clock, ledger) = setup(pool).await;
    let engine = Arc::new(engine);
    let strict = another_engine(&engine, &clock, 1);
    let run = start(&engine, ORDER_THEN_WAIT, json!({"order": "SO3"})).await;
    ledger.hold();
    let stalled = in_background(&engine);
    ledger.until_held(1).await;
    // Its first host stalls past the lease; the second claim is one too many.
    clock.advance(past_the_lease());
    strict.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Parked);
    let reason = engine.run(TENANT, run).await.unwrap().core.reason.unwrap();
    assert_eq!(reason.class, "claims-exhausted");
    assert!(
        reason.message.contains("claimed 2 times"),
        "{}",
        reason.message
    );
    assert_eq!(ledger.creates(), 0, "the parked step was not run again");

    ledger.release();
    stalled.await.unwrap().unwrap();
    assert_eq!(
        status(&engine, run).await,
        RunStatus::Parked,
        "the stalled host's late result is refused"
    );
    engine
        .act(TENANT, run, OperatorAction::Retry, "ops@acme", "host fixed")
        .await
        .unwrap();
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Waiting);
    assert_eq!(ledger.records().len(), 1);
}

/// A `TWO_STEPS` run for `order` whose step b is refused, so a is compensated; the host
/// cancelling a stalls past its lease (its cancel then reaches the ledger), and a second host
/// allowing one claim parks the run in the compensation phase.
async fn park_with_a_stalled_compensation(
    pool: sqlx::PgPool,
    order: &str,
) -> (Arc<Engine>, LedgerServer, uuid::Uuid) {
    let (engine, clock, ledger) = setup(pool).await;
    let engine = Arc::new(engine);
    let strict = another_engine(&engine, &clock, 1);
    weft_test_support::set_ledger_config(&engine, &ledger, &[("refuse", "b")]).await;
    let run = start(&engine, TWO_STEPS, json!({ "order": order })).await;
    // Creating a passes (b is refused before any request); cancelling a is held.
    ledger.hold_after(1);
    let stalled = in_background(&engine);
    ledger.until_held(1).await;
    clock.advance(past_the_lease());
    strict.run_until_idle().await.unwrap();
    ledger.release();
    stalled.await.unwrap().unwrap();
    (engine, ledger, run)
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_compensation_claimed_too_often_parks_in_the_compensation_phase(pool: sqlx::PgPool) {
    let (engine, ledger, run) = park_with_a_stalled_compensation(pool, "SO5").await;
    assert_eq!(status(&engine, run).await, RunStatus::Parked);
    let reason = engine.run(TENANT, run).await.unwrap().core.reason.unwrap();
    assert_eq!(
        (
            reason.class.as_str(),
            reason.step.as_str(),
            reason.phase,
            reason.failed_step.as_str()
        ),
        ("claims-exhausted", "a", Phase::Compensation, "b")
    );
    engine
        .act(
            TENANT,
            run,
            OperatorAction::Compensate,
            "ops@acme",
            "host fixed",
        )
        .await
        .unwrap();
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Compensated);
    assert!(ledger.records().iter().all(|r| r.cancelled));
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_retry_after_a_compensation_that_may_have_reached_the_remote_is_refused(
    pool: sqlx::PgPool,
) {
    let (engine, ledger, run) = park_with_a_stalled_compensation(pool, "SO6").await;
    assert_eq!(status(&engine, run).await, RunStatus::Parked);
    assert!(
        ledger.records()[0].cancelled,
        "the stalled cancel took effect"
    );

    // The operator fixes b's cause and asks to go forward: that would complete the run on a
    // cancelled record, so it is refused.
    weft_test_support::set_ledger_config(&engine, &ledger, &[]).await;
    let retried = engine
        .act(TENANT, run, OperatorAction::Retry, "ops@acme", "b fixed")
        .await;
    match retried {
        Err(EngineError::FailedPrecondition(message)) => {
            assert!(message.contains("compensate or abandon"), "{message}")
        }
        other => panic!("retry must be refused: {other:?}"),
    }
    assert_eq!(status(&engine, run).await, RunStatus::Parked);
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_host_whose_clock_runs_ahead_does_not_take_over_work_in_flight(pool: sqlx::PgPool) {
    let (_, _, ledger) = setup(pool.clone()).await;
    let mut conn = pool.acquire().await.unwrap();
    let db_now = weft_store::clock::now(&mut conn).await.unwrap();
    // Host A's clock agrees with the database; host B's runs two minutes ahead (past a lease).
    let on_time = |offset: i64| {
        Arc::new(ManualClock::new(db_now + chrono::Duration::seconds(offset)))
            as Arc<dyn weft_engine::Clock>
    };
    let a_clock = Arc::new(weft_engine::DatabaseClock::new(on_time(0)));
    let b_clock = Arc::new(weft_engine::DatabaseClock::new(on_time(120)));
    a_clock.sync(&pool).await.unwrap();
    b_clock.sync(&pool).await.unwrap();
    let config = EngineConfig::default;
    let a = Arc::new(weft_test_support::engine(pool.clone(), a_clock, config()));
    let b = weft_test_support::engine(pool.clone(), b_clock, config());
    let run = start(&a, TWO_STEPS, json!({"order": "SO7"})).await;
    ledger.hold();
    let in_flight = in_background(&a);
    ledger.until_held(1).await;
    assert_eq!(
        b.run_until_idle().await.unwrap(),
        0,
        "host B sees A's lease as the database does: not expired"
    );
    ledger.release();
    in_flight.await.unwrap().unwrap();
    a.run_until_idle().await.unwrap();
    assert_eq!(status(&a, run).await, RunStatus::Completed);
    let expired = events(&a, run, |e| matches!(e, Event::LeaseExpired { .. })).await;
    assert!(expired.is_empty(), "{expired:?}");
    assert_eq!(ledger.creates(), 2, "each step's request was sent once");
}
