//! The engine against a real PostgreSQL (a fresh database per test) and real plugins.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod audit;
mod bounds;
mod compensation;
mod definitions;
mod flows;
mod hardening;
mod operators;
mod races;
mod stores;
mod unstorable;
mod waits;

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use weft_engine::{Engine, EngineConfig, Event, ManualClock, RunStatus};
use weft_test_support::{LedgerServer, TENANT, prepare_tenant};

/// Two ledger steps; the ledger's `create` is compensated by `cancel`.
pub const TWO_STEPS: &str = r#"
name: two
key: ${input.order}
steps:
  - id: a
    call: ledger.create
    input: { data: "a" }
  - id: b
    call: ledger.create
    input: { data: "b" }
"#;

/// A ledger step, then a wait for signal `shipped` (an hour at most).
pub const ORDER_THEN_WAIT: &str = r#"
name: order-then-wait
key: ${input.order}
steps:
  - id: order
    call: ledger.create
    input: { data: "order" }
  - id: shipped
    wait: { signal: shipped, timeout: 1h }
"#;

/// An engine on `pool` with a manual clock, tenant `acme` set up, and a ledger server.
pub async fn setup(pool: sqlx::PgPool) -> (Engine, Arc<ManualClock>, LedgerServer) {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap(),
    ));
    let engine = weft_test_support::engine(pool, clock.clone(), EngineConfig::default());
    let ledger = LedgerServer::start();
    prepare_tenant(&engine, &ledger).await;
    (engine, clock, ledger)
}

/// Applies `yaml` and starts a run with `input`.
pub async fn start(engine: &Engine, yaml: &str, input: serde_json::Value) -> uuid::Uuid {
    let applied = engine.apply_definition(TENANT, yaml).await.unwrap();
    engine
        .start_run(TENANT, &applied.name, input, None)
        .await
        .unwrap()
        .run_id
}

/// The run's status, after checking that its history rebuilds its stored state.
pub async fn status(engine: &Engine, run: uuid::Uuid) -> RunStatus {
    let stored = engine.run(TENANT, run).await.unwrap();
    let replayed = engine.replay(TENANT, run).await.unwrap();
    assert_eq!(
        replayed, stored.core,
        "history does not rebuild the run's state"
    );
    stored.core.status
}

/// Events of a run matching `f`.
pub async fn events(engine: &Engine, run: uuid::Uuid, f: impl Fn(&Event) -> bool) -> Vec<Event> {
    engine
        .history(TENANT, run)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| f(e))
        .collect()
}
