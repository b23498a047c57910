//! Shared by Weft's tests: the built plugin components, a ledger HTTP server that records what
//! connectors create (to check "exactly once"), and an engine wired to both.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test support fails loudly"
)]

mod ledger;

use std::path::PathBuf;
use std::sync::{Arc, Once};

use weft_engine::PluginSettings;
use weft_engine::{Clock, Engine, EngineConfig, SystemClock};
use weft_runtime::{
    AuditSink, EgressPolicy, EgressRule, Runtime, RuntimeConfig, Services, TracingAudit,
};
use weft_store::PgAuditSink;

pub use ledger::{LedgerRecord, LedgerServer};

/// Where `cargo xtask` put the plugin components.
pub fn plugin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WEFT_PLUGIN_DIR") {
        return dir.into();
    }
    workspace().join("target/wasm32-wasip2/plugin")
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The bytes of test plugin `crate_name` (e.g. `weft_test_ledger`).
pub fn plugin_bytes(crate_name: &str) -> Vec<u8> {
    let path = plugin_dir().join(format!("{crate_name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the plugins first: `cargo xtask test` does",
            path.display()
        )
    })
}

/// The compile cache tests share.
pub fn cache_dir() -> PathBuf {
    workspace().join("target/weft-test-cache")
}

/// A runtime whose audit goes to tracing (the engine persists the records itself). Private
/// egress is allowed: the ledger listens on 127.0.0.1.
pub fn runtime() -> Arc<Runtime> {
    runtime_with(Arc::new(TracingAudit), Arc::new(SystemClock))
}

/// A runtime whose calls are announced to `audit` before they are sent, its records and logs
/// stamped by `clock`.
pub fn runtime_with(audit: Arc<dyn AuditSink>, clock: Arc<dyn Clock>) -> Arc<Runtime> {
    warm_cache();
    let services = Services {
        audit,
        xref: Arc::new(weft_runtime::MemoryXref::default()),
        clock,
    };
    let config = RuntimeConfig {
        cache_dir: Some(cache_dir()),
        allow_private_egress: true,
        ..RuntimeConfig::default()
    };
    Arc::new(Runtime::new(config, services).unwrap())
}

/// Compiles the test plugins once per process so parallel tests load them from the cache
/// (debug-build Cranelift is slow) instead of each compiling them.
pub fn warm_cache() {
    static WARM: Once = Once::new();
    WARM.call_once(|| {
        std::thread::spawn(|| {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let (services, _) = Services::in_memory();
                let config = RuntimeConfig {
                    cache_dir: Some(cache_dir()),
                    ..RuntimeConfig::default()
                };
                let runtime = Runtime::new(config, services).unwrap();
                for name in ["weft_test_ledger", "weft_test_echo", "weft_test_hostile"] {
                    runtime.load(&plugin_bytes(name)).await.unwrap();
                }
            });
        })
        .join()
        .unwrap();
    });
}

/// A fresh, migrated database `name` on the server of `DATABASE_URL` (dropped first if it
/// exists), for a benchmark: its URL and a pool of `connections` to it.
pub async fn bench_database(name: &str, connections: u32) -> (String, sqlx::PgPool) {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| panic!("DATABASE_URL is needed; cargo xtask bench sets it"));
    let admin = weft_store::connect(&base, 2).await.unwrap();
    for statement in [
        format!("drop database if exists {name}"),
        format!("create database {name}"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&admin)
            .await
            .unwrap();
    }
    let (server, _) = base.rsplit_once('/').unwrap();
    let url = format!("{server}/{name}");
    let pool = weft_store::connect(&url, connections).await.unwrap();
    (url, pool)
}

/// A benchmark's engine on a fresh database `name` (see [`bench_database`]), on the system
/// clock, with tenant `acme`, the echo plugin pinned and `definition` applied; with the
/// database's URL and pool.
pub async fn bench_engine(name: &str, definition: &str) -> (String, sqlx::PgPool, Engine) {
    let (url, pool) = bench_database(name, 10).await;
    let engine = engine(
        pool.clone(),
        Arc::new(weft_engine::SystemClock),
        EngineConfig::default(),
    );
    engine.create_tenant(TENANT, "Bench").await.unwrap();
    engine
        .publish_plugin(TENANT, &plugin_bytes("weft_test_echo"), true)
        .await
        .unwrap();
    engine.apply_definition(TENANT, definition).await.unwrap();
    (url, pool, engine)
}

/// Tenant used by the fixtures.
pub const TENANT: &str = "acme";

/// Creates tenant `acme`, publishes and pins the ledger and echo plugins, and points the ledger
/// at `ledger` (config `base_url` and the allow-list).
pub async fn prepare_tenant(engine: &Engine, ledger: &LedgerServer) {
    engine
        .create_tenant(TENANT, "Acme Distribution")
        .await
        .unwrap();
    engine
        .publish_plugin(TENANT, &plugin_bytes("weft_test_ledger"), true)
        .await
        .unwrap();
    engine
        .publish_plugin(TENANT, &plugin_bytes("weft_test_echo"), true)
        .await
        .unwrap();
    set_ledger_config(engine, ledger, &[]).await;
}

/// Replaces the ledger plugin's config (base_url is always set to the server).
pub async fn set_ledger_config(engine: &Engine, ledger: &LedgerServer, extra: &[(&str, &str)]) {
    let mut config: std::collections::BTreeMap<String, String> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    config.insert("base_url".into(), ledger.base.clone());
    let settings = PluginSettings {
        config,
        egress: EgressPolicy::new(vec![EgressRule::from_url(&ledger.base).unwrap()]),
        limits: Default::default(),
    };
    engine
        .set_plugin_settings(TENANT, "ledger", &settings)
        .await
        .unwrap();
}

/// An engine on `pool` with `clock`, its calls announced to the audit on `pool` as `weft serve`
/// does, and its runtime on the same clock.
pub fn engine(pool: sqlx::PgPool, clock: Arc<dyn Clock>, config: EngineConfig) -> Engine {
    let audit = Arc::new(PgAuditSink::new(&pool, 2));
    Engine::new(pool, runtime_with(audit, clock.clone()), clock, config)
}
