//! What a run costs the database in bytes: runs of many steps with large outputs, executed by an
//! in-process engine, measured as WAL written per run. Prints `BENCH` lines:
//! - storage.wal_kib_per_run: WAL per run of `STEPS` steps each returning `OUTPUT_BYTES`,
//! - storage.wal_kib_per_step_output_kib: the same per step and per KiB of output (1.0 would be
//!   each output written once; the history and the row add their share).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a benchmark harness fails loudly"
)]

use serde_json::json;
use weft_engine::RunStatus;
use weft_test_support::TENANT;

const STEPS: usize = 24;
const OUTPUT_BYTES: usize = 16 << 10;
const RUNS: usize = 20;

fn definition() -> String {
    let mut yaml = String::from("name: big-outputs\nkey: ${input.order}\nsteps:\n");
    for i in 0..STEPS {
        yaml.push_str(&format!(
            "  - id: s{i}\n    call: echo.echo\n    input:\n      message: ${{input.payload}}\n"
        ));
    }
    yaml
}

/// `n` characters that compress poorly (as real order data does, unlike a repeated letter).
fn payload(seed: usize, n: usize) -> String {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ seed as u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect()
}

async fn wal_lsn(pool: &sqlx::PgPool) -> String {
    sqlx::query_scalar("select pg_current_wal_lsn()::text")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::main]
async fn main() {
    let (_, pool, engine) =
        weft_test_support::bench_engine("weft_bench_storage", &definition()).await;

    let before = wal_lsn(&pool).await;
    for i in 0..RUNS {
        let input = json!({ "order": format!("big-{i}"), "payload": payload(i, OUTPUT_BYTES) });
        let run = engine
            .start_run(TENANT, "big-outputs", input, None)
            .await
            .unwrap()
            .run_id;
        engine.run_until_idle().await.unwrap();
        assert_eq!(
            engine.run(TENANT, run).await.unwrap().core.status,
            RunStatus::Completed
        );
    }
    let bytes: f64 =
        sqlx::query_scalar("select pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8")
            .bind(&before)
            .fetch_one(&pool)
            .await
            .unwrap();
    let per_run_kib = bytes / RUNS as f64 / 1024.0;
    println!("BENCH storage.wal_kib_per_run {per_run_kib:.1} KiB");
    println!(
        "BENCH storage.wal_kib_per_step_output_kib {:.2} ratio",
        per_run_kib / STEPS as f64 / (OUTPUT_BYTES as f64 / 1024.0)
    );
}
