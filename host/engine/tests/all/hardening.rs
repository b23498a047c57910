//! Nothing a remote server, a definition or a failure inside the host does leaves a run stuck
//! with no sign: absurd delays park the run with the reason, a panic parks it with class
//! `internal`, and items whose commit fails every time (waits included) stop after `max_claims`.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use weft_engine::PluginSettings;
use weft_engine::{Clock, EngineConfig, ManualClock, OperatorAction, RunStatus};
use weft_runtime::{EgressPolicy, EgressRule};
use weft_test_support::TENANT;

use crate::{setup, start, status};

/// A server that answers every request with `429 Too Many Requests` and `Retry-After: <after>`.
fn too_many_requests(after: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the head, then whatever body fits in one more read: enough for the
                // small requests of these tests.
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let reply = format!(
                    "HTTP/1.1 429 Too Many Requests\r\nretry-after: {after}\r\n\
                     content-length: 4\r\nconnection: close\r\n\r\nslow"
                );
                let _ = stream.write_all(reply.as_bytes());
            });
        }
    });
    base
}

/// Lets the echo plugin call `base`.
async fn allow_echo_to(engine: &weft_engine::Engine, base: &str) {
    let settings = PluginSettings {
        config: Default::default(),
        egress: EgressPolicy::new(vec![EgressRule::from_url(base).unwrap()]),
        limits: Default::default(),
    };
    engine
        .set_plugin_settings(TENANT, "echo", &settings)
        .await
        .unwrap();
}

const FETCH_WITH_RETRIES: &str = r#"
name: fetch
key: ${input.order}
steps:
  - id: get
    call: echo.fetch
    input:
      url: ${input.url}
      body: "{}"
    retry: { max_attempts: 5, initial: 1s, max: 1m }
"#;

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_remote_asking_to_wait_for_ever_parks_the_run_with_the_reason(pool: sqlx::PgPool) {
    let (engine, _, _) = setup(pool.clone()).await;
    let base = too_many_requests("18446744073709551615");
    allow_echo_to(&engine, &base).await;
    let run = start(
        &engine,
        FETCH_WITH_RETRIES,
        json!({"order": "SO1", "url": format!("{base}/orders")}),
    )
    .await;
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Parked);
    let reason = engine.run(TENANT, run).await.unwrap().core.reason.unwrap();
    assert_eq!(reason.class, "plugin-retryable");
    assert!(
        reason.message.contains("ceiling"),
        "the reason says why: {}",
        reason.message
    );
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(weft_store::work::count(&mut conn).await.unwrap(), 0);
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_long_but_sane_retry_after_is_honoured(pool: sqlx::PgPool) {
    let (engine, clock, _) = setup(pool).await;
    let base = too_many_requests("3600");
    allow_echo_to(&engine, &base).await;
    let run = start(
        &engine,
        FETCH_WITH_RETRIES,
        json!({"order": "SO2", "url": format!("{base}/orders")}),
    )
    .await;
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Running);
    clock.advance(Duration::from_secs(3599));
    assert_eq!(engine.run_until_idle().await.unwrap(), 0, "not due yet");
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        engine.run_until_idle().await.unwrap(),
        1,
        "attempt 2 is due"
    );
}

/// A manual clock that panics once, the first time it is read after being armed.
struct PanicOnce {
    inner: ManualClock,
    armed: AtomicBool,
}

impl Clock for PanicOnce {
    fn now(&self) -> DateTime<Utc> {
        if self.armed.swap(false, Ordering::SeqCst) {
            panic!("injected failure inside the host");
        }
        self.inner.now()
    }
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_panic_while_processing_an_item_parks_its_run_and_lets_the_item_go(pool: sqlx::PgPool) {
    let (setup_engine, start_clock, ledger) = setup(pool.clone()).await;
    let clock = Arc::new(PanicOnce {
        inner: ManualClock::new(start_clock.now()),
        armed: AtomicBool::new(false),
    });
    let engine = Arc::new(weft_test_support::engine(
        pool.clone(),
        clock.clone(),
        EngineConfig::default(),
    ));
    let run = start(&setup_engine, crate::TWO_STEPS, json!({"order": "SO3"})).await;
    ledger.hold();
    let worker = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run_until_idle().await }
    });
    ledger.until_held(1).await;
    // The next reading of the clock is the commit of step a's result: it panics there.
    clock.armed.store(true, Ordering::SeqCst);
    ledger.release();
    worker.await.unwrap().unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Parked);
    let reason = engine.run(TENANT, run).await.unwrap().core.reason.unwrap();
    assert_eq!(
        (reason.class.as_str(), reason.step.as_str()),
        ("internal", "a")
    );
    assert!(
        reason.message.contains("injected failure"),
        "{}",
        reason.message
    );
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(weft_store::work::count(&mut conn).await.unwrap(), 0);
    // The step's effect happened once; the operator's retry finds it by its idempotency key.
    engine
        .act(
            TENANT,
            run,
            OperatorAction::Retry,
            "ops",
            "after the bug fix",
        )
        .await
        .unwrap();
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Completed);
    assert_eq!(ledger.records().len(), 2);
}

const WAIT_FOR_EVER: &str = r#"
name: waiting
key: ${input.order}
steps:
  - id: shipped
    wait: { signal: shipped }
"#;

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_wait_whose_commit_fails_every_time_parks_after_max_claims_without_its_definition(
    pool: sqlx::PgPool,
) {
    let (engine, clock, _) = setup(pool.clone()).await;
    let run = start(&engine, WAIT_FOR_EVER, json!({"order": "SO4"})).await;
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Waiting);
    engine
        .signal(TENANT, run, "shipped", json!({}), None)
        .await
        .unwrap();
    // An engine upgrade that can no longer read the stored definition: every commit of the
    // wait fails. A fresh engine (nothing cached) with a short lease.
    sqlx::query("update definitions set compiled = '{\"unreadable\": true}'")
        .execute(&pool)
        .await
        .unwrap();
    let config = EngineConfig {
        lease: Duration::from_secs(1),
        max_claims: 3,
        ..EngineConfig::default()
    };
    let upgraded = weft_test_support::engine(pool.clone(), clock.clone(), config);
    for _ in 0..10 {
        let _ = upgraded.run_until_idle().await;
        clock.advance(Duration::from_secs(2));
    }
    let parked = upgraded.run(TENANT, run).await.unwrap();
    assert_eq!(parked.core.status, RunStatus::Parked);
    let reason = parked.core.reason.unwrap();
    assert_eq!(
        (reason.class.as_str(), reason.step.as_str()),
        ("claims-exhausted", "shipped")
    );
}

const WAIT_THEN_CREATE: &str = r#"
name: wait-then-create
key: ${input.order}
steps:
  - id: shipped
    wait: { signal: shipped, timeout: 1h }
  - id: record
    call: ledger.create
    input:
      data: ${steps.shipped.output.tracking}
"#;

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn an_operator_retry_of_a_timed_out_wait_waits_again(pool: sqlx::PgPool) {
    let (engine, clock, ledger) = setup(pool).await;
    let run = start(&engine, WAIT_THEN_CREATE, json!({"order": "SO5"})).await;
    engine.run_until_idle().await.unwrap();
    clock.advance(Duration::from_secs(3601));
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Failed);
    let now = engine
        .act(
            TENANT,
            run,
            OperatorAction::Retry,
            "ops",
            "the carrier was late",
        )
        .await
        .unwrap();
    assert_eq!(now, RunStatus::Waiting);
    engine
        .signal(TENANT, run, "shipped", json!({"tracking": "TRK-9"}), None)
        .await
        .unwrap();
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Completed);
    assert_eq!(ledger.records()[0].data, json!("TRK-9"));
}
