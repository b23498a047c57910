//! `weft serve` processes against one database: killed at random instants and restarted, or two
//! at once, every run reaches its end with every record created exactly once.
//!
//! `WEFT_CRASH_KILLS=500 cargo xtask test -- runs_survive` soaks longer (default 50 kills).

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use std::collections::BTreeSet;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::process::{Child, Command};
use weft_engine::{Engine, EngineConfig, Event, RunStatus, SystemClock};
use weft_test_support::{LedgerServer, TENANT, cache_dir, prepare_tenant};

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

/// The URL of the test's own database, for the child processes.
fn database_url(pool: &sqlx::PgPool) -> String {
    let base = std::env::var("DATABASE_URL").unwrap();
    let db = pool
        .connect_options()
        .get_database()
        .unwrap_or("postgres")
        .to_owned();
    let (server, _) = base.rsplit_once('/').unwrap();
    format!("{server}/{db}")
}

/// A `weft serve` child. The crash test uses a short lease so a killed host's work is taken
/// over quickly; without kills a long one keeps a loaded machine from expiring leases.
fn serve(url: &str, lease_ms: u32) -> Child {
    let verbose = std::env::var_os("WEFT_TEST_VERBOSE").is_some();
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args([
            "serve",
            "--lease-ms",
            &lease_ms.to_string(),
            "--heartbeat-ms",
            "300",
        ])
        .args(["--poll-ms", "200"])
        .args(["--concurrency", "8", "--connections", "6"])
        .env("DATABASE_URL", url)
        .env("WEFT_CACHE_DIR", cache_dir())
        // The ledger listens on 127.0.0.1.
        .env("WEFT_ALLOW_PRIVATE_EGRESS", "true")
        .stdout(if verbose {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stderr(if verbose {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn start_runs(engine: &Engine, n: usize) -> Vec<uuid::Uuid> {
    let applied = engine.apply_definition(TENANT, DEFINITION).await.unwrap();
    let mut runs = Vec::new();
    for i in 0..n {
        let order = format!("SO{i:04}");
        runs.push(
            engine
                .start_run(TENANT, &applied.name, json!({ "order": order }), None)
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

/// Every run completed, each step completed once in history, each record created once.
async fn assert_exactly_once(engine: &Engine, runs: &[uuid::Uuid], ledger: &LedgerServer) {
    let records = ledger.records();
    let keys: BTreeSet<String> = records.iter().map(|r| r.key.clone()).collect();
    assert_eq!(keys.len(), records.len(), "a key has two records");
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
    let engine = setup_engine(pool);
    let ledger = LedgerServer::start();
    prepare_tenant(&engine, &ledger).await;
    let runs = start_runs(&engine, 40).await;

    let kills: u32 = std::env::var("WEFT_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("crash test seed {seed}, {kills} kills");
    let mut child = serve(&url, 1500);
    for _ in 0..kills {
        // xorshift: a kill 50-400 ms after the (re)start, anywhere in a step.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(50 + seed % 350)).await;
        child.kill().await.unwrap();
        child = serve(&url, 1500);
    }
    wait_until_all_final(&engine, &runs, Duration::from_secs(180)).await;
    child.kill().await.unwrap();
    assert_exactly_once(&engine, &runs, &ledger).await;
    println!(
        "{} create requests for {} records",
        ledger.creates(),
        ledger.records().len()
    );
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn two_hosts_share_a_batch_without_doing_any_step_twice(pool: sqlx::PgPool) {
    let url = database_url(&pool);
    let engine = setup_engine(pool);
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
