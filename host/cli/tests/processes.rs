//! `weft serve` processes against one database: killed at random instants and restarted, or two
//! at once, every run reaches its end with every record created exactly once, every request the
//! ledger received accounted for by the history and the audit, and nothing left queued.
//!
//! `WEFT_CRASH_KILLS=500 cargo xtask test -- survive` soaks longer (default 50 kills per test).

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

#[path = "processes/accounting.rs"]
mod accounting;
#[path = "processes/hosts.rs"]
mod hosts;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use weft_engine::{Engine, EngineConfig, Event, RunStatus, SystemClock};
use weft_test_support::{LedgerServer, TENANT, prepare_tenant};

use accounting::{assert_nothing_queued, assert_requests_accounted, assert_takeovers_happened};
use hosts::{database_url, kill_repeatedly, kills, serve};

const STEPS: [&str; 4] = ["reserve", "invoice", "ship", "notify"];
const DEFINITION: &str = r#"
name: fulfil
key: ${input.order}
steps:
  - id: reserve
    call: ledger.create
    input:
      data: ${input.order}
    timeout: 5s
  - id: invoice
    call: ledger.create
    input:
      data: ${steps.reserve.output.id}
      fail_times: 1
    retry: { max_attempts: 10, initial: 100ms, multiplier: 2, max: 1s }
    timeout: 5s
  - id: ship
    call: ledger.create
    input:
      data: ${steps.invoice.output.id}
    timeout: 5s
  - id: notify
    call: echo.echo
    input:
      message: ${input.order}
"#;

/// Reserve, wait for payment (a signal), settle (a timer), invoice, ship. The ledger refuses the
/// invoice of every fourth order (422): that run undoes its reservation.
const SAGA: &str = r#"
name: settle
key: ${input.order}
steps:
  - id: reserve
    call: ledger.create
    input:
      data: ${input.order}
    timeout: 5s
  - id: paid
    wait: { signal: paid, timeout: 1h }
  - id: settle
    sleep: 100ms
  - id: invoice
    call: ledger.create
    input:
      data: ${steps.reserve.output.id}
      reject: ${input.reject}
    timeout: 5s
  - id: ship
    call: ledger.create
    input:
      data: ${steps.invoice.output.id}
    timeout: 5s
"#;
const SAGA_CREATES: [&str; 3] = ["reserve", "invoice", "ship"];

async fn start_runs(engine: &Engine, n: usize) -> Vec<uuid::Uuid> {
    start_runs_of(
        engine,
        DEFINITION,
        n,
        |i| json!({ "order": format!("SO{i:04}") }),
    )
    .await
}

async fn start_runs_of(
    engine: &Engine,
    definition: &str,
    n: usize,
    input: impl Fn(usize) -> serde_json::Value,
) -> Vec<uuid::Uuid> {
    let applied = engine.apply_definition(TENANT, definition).await.unwrap();
    let mut runs = Vec::new();
    for i in 0..n {
        runs.push(
            engine
                .start_run(TENANT, &applied.name, input(i), None)
                .await
                .unwrap()
                .run_id,
        );
    }
    runs
}

async fn wait_until_all_final(engine: &Engine, runs: &[uuid::Uuid], limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let mut open = 0;
        for run in runs {
            if !engine
                .run(TENANT, *run)
                .await
                .unwrap()
                .core
                .status
                .is_final()
            {
                open += 1;
            }
        }
        if open == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{open} runs still open after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every run completed, each step completed once in history, each record made (the ledger keeps
/// one per key: that no step ran twice is checked by `accounting`, from the creates per key).
async fn assert_exactly_once(engine: &Engine, runs: &[uuid::Uuid], ledger: &LedgerServer) {
    let records = ledger.records();
    let keys: BTreeSet<String> = records.iter().map(|r| r.key.clone()).collect();
    for run in runs {
        assert_eq!(
            engine.run(TENANT, *run).await.unwrap().core.status,
            RunStatus::Completed
        );
        let history = engine.history(TENANT, *run).await.unwrap();
        for step in STEPS {
            let completions = history
                .iter()
                .filter(|e| matches!(e, Event::StepCompleted { step: s, .. } if s == step))
                .count();
            assert_eq!(
                completions, 1,
                "run {run} step {step} completed {completions} times"
            );
        }
        for step in &STEPS[..3] {
            assert!(
                keys.contains(&format!("{TENANT}/{run}/{step}")),
                "run {run}: record of {step} missing"
            );
        }
        assert_eq!(
            engine.replay(TENANT, *run).await.unwrap(),
            engine.run(TENANT, *run).await.unwrap().core
        );
    }
    assert_eq!(
        records.len(),
        runs.len() * 3,
        "records beyond those expected"
    );
}

fn setup_engine(pool: sqlx::PgPool) -> Engine {
    weft_test_support::engine(pool, Arc::new(SystemClock), EngineConfig::default())
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn runs_survive_hosts_killed_at_random_instants(pool: sqlx::PgPool) {
    let url = database_url(&pool);
    let engine = setup_engine(pool.clone());
    let ledger = LedgerServer::start();
    prepare_tenant(&engine, &ledger).await;
    let runs = start_runs(&engine, 40).await;

    let mut child = kill_repeatedly(&url, &ledger, kills()).await;
    wait_until_all_final(&engine, &runs, Duration::from_secs(180)).await;
    child.kill().await.unwrap();
    assert_exactly_once(&engine, &runs, &ledger).await;
    // The invoice step's key is answered 503 once by design.
    let planned = |step: &str| u64::from(step == "invoice");
    let tally =
        assert_requests_accounted(&engine, &pool, &runs, &STEPS[..3], planned, &ledger).await;
    assert_takeovers_happened(&tally);
    assert_nothing_queued(&pool).await;
    println!(
        "{} create requests for {} records; {tally:?}",
        ledger.creates(),
        ledger.records().len()
    );
}

fn rejected(order: usize) -> bool {
    order % 4 == 3
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn sagas_with_signals_and_timers_survive_hosts_killed_at_random_instants(pool: sqlx::PgPool) {
    let url = database_url(&pool);
    let engine = Arc::new(setup_engine(pool.clone()));
    let ledger = LedgerServer::start();
    prepare_tenant(&engine, &ledger).await;
    let runs = start_runs_of(
        &engine,
        SAGA,
        40,
        |i| json!({ "order": format!("SO{i:04}"), "reject": rejected(i) }),
    )
    .await;
    // Payments arrive while hosts are being killed: some before their run waits, some while it
    // waits, some while its wait is being committed.
    let payments = tokio::spawn({
        let (engine, runs) = (engine.clone(), runs.clone());
        async move {
            for run in runs {
                tokio::time::sleep(Duration::from_millis(100)).await;
                engine
                    .signal(TENANT, run, "paid", json!({ "ok": true }), None)
                    .await
                    .unwrap();
            }
        }
    });
    let mut child = kill_repeatedly(&url, &ledger, kills()).await;
    payments.await.unwrap();
    wait_until_all_final(&engine, &runs, Duration::from_secs(180)).await;
    child.kill().await.unwrap();

    let records = ledger.records();
    for (i, run) in runs.iter().enumerate() {
        let stored = engine.run(TENANT, *run).await.unwrap();
        assert_eq!(engine.replay(TENANT, *run).await.unwrap(), stored.core);
        let history = engine.history(TENANT, *run).await.unwrap();
        let completions = |step: &str| {
            history
                .iter()
                .filter(|e| matches!(e, Event::StepCompleted { step: s, .. } if s == step))
                .count()
        };
        let undone = history
            .iter()
            .filter(|e| matches!(e, Event::CompensationCompleted { step, .. } if step == "reserve"))
            .count();
        let consumed = history
            .iter()
            .filter(|e| matches!(e, Event::SignalConsumed { .. }))
            .count();
        let record = |step: &str| {
            records
                .iter()
                .find(|r| r.key == format!("{TENANT}/{run}/{step}"))
        };
        let reserved = record("reserve").unwrap_or_else(|| panic!("run {run}: no reservation"));
        assert_eq!(consumed, 1, "run {run}: {history:#?}");
        for step in ["reserve", "paid", "settle"] {
            assert_eq!(completions(step), 1, "run {run} step {step}: {history:#?}");
        }
        let shipped = usize::from(!rejected(i));
        for step in ["invoice", "ship"] {
            assert_eq!(completions(step), shipped, "run {run} step {step}");
            assert_eq!(
                record(step).is_some(),
                !rejected(i),
                "run {run} step {step}"
            );
        }
        if rejected(i) {
            assert_eq!(stored.core.status, RunStatus::Compensated, "run {run}");
            assert_eq!(undone, 1, "run {run}: {history:#?}");
            assert!(reserved.cancelled, "run {run}: reservation not cancelled");
        } else {
            assert_eq!(stored.core.status, RunStatus::Completed, "run {run}");
            assert_eq!(undone, 0, "run {run}: {history:#?}");
            assert!(!reserved.cancelled, "run {run}: reservation cancelled");
        }
    }
    let tally =
        assert_requests_accounted(&engine, &pool, &runs, &SAGA_CREATES, |_| 0, &ledger).await;
    assert_takeovers_happened(&tally);
    assert_nothing_queued(&pool).await;
    println!(
        "{} create requests for {} records, {} cancels; {tally:?}",
        ledger.creates(),
        records.len(),
        ledger.cancels_by_id().values().sum::<u64>()
    );
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn two_hosts_share_a_batch_without_doing_any_step_twice(pool: sqlx::PgPool) {
    let url = database_url(&pool);
    let engine = setup_engine(pool.clone());
    let ledger = LedgerServer::start();
    prepare_tenant(&engine, &ledger).await;
    let runs = start_runs(&engine, 40).await;
    let (mut a, mut b) = (serve(&url, 20_000), serve(&url, 20_000));
    wait_until_all_final(&engine, &runs, Duration::from_secs(180)).await;
    for child in [&mut a, &mut b] {
        // Graceful stop: SIGTERM, then the process exits on its own.
        let pid = child.id().unwrap().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "weft serve exited with {status}");
    }
    assert_exactly_once(&engine, &runs, &ledger).await;
    assert_nothing_queued(&pool).await;
    // Without crashes every attempt is accounted for: each step's last attempt completed it and
    // every earlier one is a recorded failure (the planned 503, or a transport hiccup of the
    // loaded test server). No attempt ran unrecorded or twice.
    for run in &runs {
        let history = engine.history(TENANT, *run).await.unwrap();
        let started = history
            .iter()
            .filter(|e| matches!(e, Event::AttemptStarted { .. }))
            .count();
        let failed = history
            .iter()
            .filter(|e| matches!(e, Event::AttemptFailed { .. }))
            .count();
        let expired = history
            .iter()
            .filter(|e| matches!(e, Event::LeaseExpired { .. }))
            .count();
        assert_eq!(started, STEPS.len() + failed, "run {run}: {history:#?}");
        assert_eq!(
            expired, 0,
            "run {run}: a lease expired without a crash: {history:#?}"
        );
        assert!(failed >= 1, "the planned 503 is recorded");
    }
    assert!(ledger.creates() as usize >= runs.len() * 4);
}
