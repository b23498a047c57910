//! Weft's PostgreSQL store: the workspace migrator and one module per aggregate. Functions take a
//! `&mut PgConnection` so that the engine composes them into one transaction per state change.
//! SQL lives only here. Times are always passed in (from the engine's clock), never `now()`.

mod audit;
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

pub use audit::{PgAudit, PgAuditSink};
pub use error::StoreError;
pub use sqlx::postgres::{PgConnection, PgPool};
pub use xref::PgXref;

/// The schema's migrations (`migrations/` at the workspace root).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// The channel `NOTIFY` wakes idle workers on.
pub const WORK_CHANNEL: &str = "weft_work";

/// A pool to `url`, with the schema migrated.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, StoreError> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(pool)
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
