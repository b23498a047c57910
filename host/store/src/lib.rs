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
pub mod tenants;
pub mod work;
mod xref;

use std::time::Duration;

pub use audit::PgAudit;
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
