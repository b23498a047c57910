//! The database's clock: the one time every host sharing the database agrees on.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::StoreError;

/// The database server's current time (`clock_timestamp()`, which moves within a transaction).
pub async fn now(conn: &mut PgConnection) -> Result<DateTime<Utc>, StoreError> {
    Ok(sqlx::query_scalar("select clock_timestamp()")
        .fetch_one(conn)
        .await?)
}
