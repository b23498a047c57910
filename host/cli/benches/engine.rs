//! The engine's throughput against PostgreSQL's own (`cargo xtask bench` runs `pgbench -N` on the
//! same cluster first and passes its TPS in `WEFT_PG_TPS`). Prints `BENCH` lines:
//! - engine.steps_per_s_1proc / _2proc / steps_per_s: a backlog of 8-step echo runs drained by
//!   one and by two `weft serve` processes (16 concurrent items each), counted from the first step
//!   completed to the last (the steady rate, without the processes' start-up),
//! - engine.ratio_to_pg: the better steps/s over pgbench's TPS,
//! - engine.run_latency_p50_ms / _p99_ms: one run at a time, start to completed, on an idle host,
//! - engine.claim_us_1k / _100k: one claim with 1,000 and with 100,000 items due.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a benchmark harness fails loudly"
)]

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;
use sqlx::PgPool;
use tokio::process::{Child, Command};
use weft_engine::{Engine, RunStatus};
use weft_store::work;
use weft_test_support::{TENANT, cache_dir};

const STEPS: usize = 8;
const BACKLOG_RUNS: usize = 1_500;
const LATENCY_RUNS: usize = 40;

fn definition() -> String {
    let mut yaml = String::from("name: echo8\nkey: ${input.order}\nsteps:\n");
    for i in 0..STEPS {
        yaml.push_str(&format!(
            "  - id: s{i}\n    call: echo.echo\n    input:\n      message: ${{input.order}}\n"
        ));
    }
    yaml
}

fn bench(name: &str, value: f64, unit: &str) {
    println!("BENCH {name} {value:.1} {unit}");
}

fn serve(url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args([
            "serve",
            "--concurrency",
            "16",
            "--connections",
            "20",
            "--poll-ms",
            "100",
        ])
        .env("DATABASE_URL", url)
        .env("WEFT_CACHE_DIR", cache_dir())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn open_runs(pool: &PgPool) -> i64 {
    let (n,): (i64,) = sqlx::query_as(
        "select count(*) from runs where status not in ('completed', 'failed', 'compensated', 'cancelled')",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    n
}

async fn start(engine: &Engine, prefix: &str, n: usize) {
    futures_util::stream::iter(0..n)
        .map(|i| async move {
            let input = json!({ "order": format!("{prefix}-{i}") });
            engine
                .start_run(TENANT, "echo8", input, None)
                .await
                .unwrap();
        })
        .buffer_unordered(8)
        .collect::<()>()
        .await;
}

/// Drains a backlog of runs with `procs` processes; returns steps per second.
async fn throughput(engine: &Engine, url: &str, procs: usize, prefix: &str) -> f64 {
    start(engine, prefix, BACKLOG_RUNS).await;
    let mut children: Vec<Child> = (0..procs).map(|_| serve(url)).collect();
    while open_runs(engine.pool()).await > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for c in &mut children {
        c.kill().await.unwrap();
    }
    let (completed, span): (i64, f64) = sqlx::query_as(
        "select count(*), extract(epoch from max(h.at) - min(h.at))::float8
         from history h join runs r on r.id = h.run_id
         where r.business_key like $1 and h.event->>'type' = 'step-completed'",
    )
    .bind(format!("{prefix}-%"))
    .fetch_one(engine.pool())
    .await
    .unwrap();
    assert_eq!(completed as usize, BACKLOG_RUNS * STEPS);
    (completed - 1) as f64 / span
}

async fn latency(engine: &Engine, url: &str) -> Vec<Duration> {
    let mut child = serve(url);
    // Let the process start and load the plugin before timing.
    start(engine, "warm", 1).await;
    while open_runs(engine.pool()).await > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut samples = Vec::new();
    for i in 0..LATENCY_RUNS {
        let began = Instant::now();
        let input = json!({ "order": format!("lat-{i}") });
        let run = engine
            .start_run(TENANT, "echo8", input, None)
            .await
            .unwrap()
            .run_id;
        loop {
            if engine.run(TENANT, run).await.unwrap().core.status == RunStatus::Completed {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        samples.push(began.elapsed());
    }
    child.kill().await.unwrap();
    samples.sort();
    samples
}

/// Median time of one claim (rolled back, so the queue keeps its size) with `n` items due.
async fn claim_time(pool: &PgPool, run: uuid::Uuid, n: i64) -> Duration {
    sqlx::query("delete from work_items")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into work_items (tenant_id, run_id, kind, step_id, attempt, available_at, created_at)
         select $1, $2, 'call', 's0', 1, now() - (g || ' ms')::interval, now() from generate_series(1, $3) g",
    )
    .bind(TENANT)
    .bind(run)
    .bind(n)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("analyze work_items")
        .execute(pool)
        .await
        .unwrap();
    let mut samples = Vec::new();
    for _ in 0..201 {
        let mut tx = pool.begin().await.unwrap();
        let t = Instant::now();
        let claimed = work::claim(
            &mut tx,
            "bench",
            chrono::Utc::now(),
            Duration::from_secs(60),
            1,
        )
        .await
        .unwrap();
        samples.push(t.elapsed());
        assert_eq!(claimed.len(), 1);
        tx.rollback().await.unwrap();
    }
    sqlx::query("delete from work_items")
        .execute(pool)
        .await
        .unwrap();
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main]
async fn main() {
    let (url, pool, engine) = weft_test_support::bench_engine("weft_bench", &definition()).await;

    let one = throughput(&engine, &url, 1, "one").await;
    bench("engine.steps_per_s_1proc", one, "steps/s");
    let two = throughput(&engine, &url, 2, "two").await;
    bench("engine.steps_per_s_2proc", two, "steps/s");
    let best = one.max(two);
    bench("engine.steps_per_s", best, "steps/s");
    if let Some(tps) = std::env::var("WEFT_PG_TPS")
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
    {
        println!("BENCH engine.ratio_to_pg {:.2} ratio", best / tps);
    }

    let lat = latency(&engine, &url).await;
    bench(
        "engine.run_latency_p50_ms",
        lat[lat.len() / 2].as_secs_f64() * 1e3,
        "ms",
    );
    bench(
        "engine.run_latency_p99_ms",
        lat[lat.len() * 99 / 100].as_secs_f64() * 1e3,
        "ms",
    );

    let run = engine
        .start_run(TENANT, "echo8", json!({"order": "claims"}), None)
        .await
        .unwrap()
        .run_id;
    let small = claim_time(&pool, run, 1_000).await;
    let large = claim_time(&pool, run, 100_000).await;
    bench("engine.claim_us_1k", small.as_secs_f64() * 1e6, "us");
    bench("engine.claim_us_100k", large.as_secs_f64() * 1e6, "us");
    println!(
        "BENCH engine.claim_ratio_100k_to_1k {:.2} ratio",
        large.as_secs_f64() / small.as_secs_f64()
    );
}
