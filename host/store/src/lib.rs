//! Weft's PostgreSQL store: the workspace migrator and one module per aggregate. Functions take a
//! `&mut PgConnection` so that the engine composes them into one transaction per state change.
//! SQL lives only here. Times are always passed in (from the engine's clock), never `now()`.

/// The outputs of the run whose id is the SQL expression `$run`, as one JSON object (step id ->
/// output), read from its history's `step-completed` events (the latest per step). Outputs are
/// not stored on the run's row: a row rewritten at every step would copy every earlier output
/// each time, O(steps²) bytes per run, where the history already holds each output once.
macro_rules! outputs_of {
    ($run:expr) => {
        concat!(
            "(select coalesce(jsonb_object_agg(o.step, o.output), '{}'::jsonb) from (
                 select distinct on (h.event->>'step') h.event->>'step' as step,
                     h.event->'output' as output
                 from history h
                 where h.run_id = ",
            $run,
            " and h.event->>'type' = 'step-completed'
                 order by h.event->>'step', h.seq desc) o)"
        )
    };
}

mod audit;
pub mod clock;
pub mod definitions;
mod error;
pub mod history;
pub mod plugins;
pub mod runs;
pub mod settings;
pub mod signals;
pub mod step_commit;
pub mod tenants;
pub mod work;
mod xref;

use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::PgConnectOptions;

pub use audit::{PgAudit, PgAuditSink};
pub use error::StoreError;
pub use sqlx::postgres::{PgConnection, PgPool};
pub use xref::{PgXref, XREF_POOL_CONNECTIONS, XREF_TIMEOUT, xref_pool};

/// The schema's migrations (`migrations/` at the workspace root).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// The channel `NOTIFY` wakes idle workers on.
pub const WORK_CHANNEL: &str = "weft_work";

/// A pool to `url`, with the schema migrated. Migrations run on a connection of their own, so
/// the engine's time limits (see [`with_time_limits`]) do not cut a long one short.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, StoreError> {
    let options: PgConnectOptions = url.parse()?;
    let mut conn = sqlx::PgConnection::connect_with(&options).await?;
    MIGRATOR
        .run(&mut conn)
        .await
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    conn.close().await?;
    Ok(sqlx::postgres::PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(with_time_limits(options))
        .await?)
}

/// `options` with the engine's time limits: no statement runs longer than 30 s, no lock is
/// waited for longer than 10 s, no transaction sits idle longer than 60 s. Without them, one
/// session holding a run's lock (a stuck client, an operator's open `psql` transaction) would
/// stall the commits queued behind it, for every tenant, with no error anywhere; with them, the
/// statement fails, the item is retried when its lease ends, and the error is logged.
pub fn with_time_limits(options: PgConnectOptions) -> PgConnectOptions {
    options.options([
        ("statement_timeout", "30s"),
        ("lock_timeout", "10s"),
        ("idle_in_transaction_session_timeout", "60s"),
    ])
}

/// A small pool beside `pool` whose commits do not wait for the WAL flush, for claims and lease
/// extensions: losing one in a database crash only leaves items unclaimed or a lease shorter
/// (they are claimed again, and the fencing counter refuses the old claim's commit), while a
/// durable claim would add a second flush to every step.
pub fn relaxed_pool(pool: &PgPool, max_connections: u32) -> PgPool {
    let options = (*pool.connect_options())
        .clone()
        .options([("synchronous_commit", "off")]);
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(30))
        .connect_lazy_with(options)
}
