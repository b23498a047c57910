//! Wiring a host: the runtime with Postgres-backed xref and audit, the engine on the database's
//! clock.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use weft_engine::{Clock, DatabaseClock, Engine, EngineConfig, StoreXref, SystemClock};
use weft_runtime::{Runtime, RuntimeConfig, Services};
use weft_store::{PgAuditSink, PgPool, PgXref, xref_pool};

/// Connections of the audit sink's own pool: each outbound call writes one small row on it
/// before it is sent.
const AUDIT_CONNECTIONS: u32 = 4;

/// How often a host measures its clock against the database's again.
const CLOCK_SYNC_EVERY: Duration = Duration::from_secs(10);

/// An engine on `pool`. Each outbound call is recorded before it leaves the host (on a pool of
/// its own), and its outcome with the attempt's commit. `allow_private_egress`: see
/// `RuntimeConfig`.
pub async fn engine(
    pool: PgPool,
    cache_dir: Option<PathBuf>,
    config: EngineConfig,
    allow_private_egress: bool,
) -> anyhow::Result<Arc<Engine>> {
    // Leases and timers compare times across hosts: every host reads the database's clock.
    let database_clock = Arc::new(DatabaseClock::new(Arc::new(SystemClock)));
    database_clock.sync(&pool).await?;
    tokio::spawn(
        database_clock
            .clone()
            .keep_in_sync(pool.clone(), CLOCK_SYNC_EVERY),
    );
    let clock: Arc<dyn Clock> = database_clock;
    let now = clock.clone();
    let services = Services {
        clock: clock.clone(),
        audit: Arc::new(PgAuditSink::new(&pool, AUDIT_CONNECTIONS)),
        // Its own small pool: plugins calling xref never wait on, or starve, step commits.
        xref: Arc::new(StoreXref::from(PgXref::new(
            xref_pool(&pool),
            Arc::new(move || now.now()),
        ))),
    };
    let runtime_config = RuntimeConfig {
        cache_dir,
        max_concurrent_attempts: u32::try_from(config.concurrency.max(1)).unwrap_or(u32::MAX),
        allow_private_egress,
        ..RuntimeConfig::default()
    };
    let runtime = Arc::new(Runtime::new(runtime_config, services)?);
    Ok(Arc::new(Engine::new(pool, runtime, clock, config)))
}
