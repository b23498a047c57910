//! The engine's connections carry time limits, so one stuck session cannot stall every commit.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use sqlx::{Connection, PgConnection};

async fn setting(conn: &mut PgConnection, name: &str) -> String {
    sqlx::query_scalar("select current_setting($1)")
        .bind(name)
        .fetch_one(conn)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn engine_connections_have_statement_lock_and_idle_limits(pool: sqlx::PgPool) {
    let options = weft_store::with_time_limits((*pool.connect_options()).clone());
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    assert_eq!(setting(&mut conn, "statement_timeout").await, "30s");
    assert_eq!(setting(&mut conn, "lock_timeout").await, "10s");
    assert_eq!(
        setting(&mut conn, "idle_in_transaction_session_timeout").await,
        "1min"
    );

    // The relaxed pool for claims keeps them, and adds its own setting.
    let limited = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(options);
    let relaxed = weft_store::relaxed_pool(&limited, 1);
    let mut conn = relaxed.acquire().await.unwrap();
    assert_eq!(setting(&mut conn, "synchronous_commit").await, "off");
    assert_eq!(setting(&mut conn, "lock_timeout").await, "10s");
}
