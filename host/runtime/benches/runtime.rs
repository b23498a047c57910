//! Sandbox overhead, printed as `BENCH <name> <value> <unit>` lines (`cargo xtask bench`):
//! - compile: a fresh component compile of the echo plugin (median of 3),
//! - load_precompiled: loading it from the on-disk cache into a new runtime (median of 5),
//! - invoke p50/p99: fresh store + instantiate + invoke + drop of `echo`, warm, 10,000 calls.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a benchmark harness: failing loudly is right"
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use weft_runtime::{AttemptRequest, Outcome, Runtime, RuntimeConfig, Services};

const CALLS: usize = 10_000;
const WARMUP: usize = 500;

fn new_runtime(cache_dir: Option<std::path::PathBuf>) -> Runtime {
    let (services, _) = Services::in_memory();
    Runtime::new(
        RuntimeConfig {
            cache_dir,
            ..RuntimeConfig::default()
        },
        services,
    )
    .unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench(name: &str, value: f64, unit: &str) {
    println!("BENCH {name} {value:.1} {unit}");
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let bytes = support::plugin_bytes("weft_test_echo");
    let cache = std::env::temp_dir().join(format!("weft-bench-cache-{}", std::process::id()));

    let mut compiles = Vec::new();
    for _ in 0..3 {
        let rt = new_runtime(None);
        let t = Instant::now();
        rt.load(&bytes).await.unwrap();
        compiles.push(t.elapsed());
    }
    bench(
        "runtime.compile_ms",
        median(compiles).as_secs_f64() * 1e3,
        "ms",
    );

    new_runtime(Some(cache.clone())).load(&bytes).await.unwrap();
    let mut loads = Vec::new();
    for _ in 0..5 {
        let rt = new_runtime(Some(cache.clone()));
        let t = Instant::now();
        let plugin = rt.load(&bytes).await.unwrap();
        loads.push(t.elapsed());
        assert!(plugin.from_cache());
    }
    bench(
        "runtime.load_precompiled_ms",
        median(loads).as_secs_f64() * 1e3,
        "ms",
    );
    let _ = std::fs::remove_dir_all(&cache);

    let rt = new_runtime(None);
    let echo = rt.load(&bytes).await.unwrap();
    let request = AttemptRequest::new(support::context(), "echo", r#"{"message":"ping"}"#);
    let mut samples = Vec::with_capacity(CALLS);
    for i in 0..WARMUP + CALLS {
        let t = Instant::now();
        let report = rt.invoke(&echo, request.clone()).await;
        let elapsed = t.elapsed();
        assert!(
            matches!(report.outcome, Outcome::Ok { .. }),
            "{:?}",
            report.outcome
        );
        if i >= WARMUP {
            samples.push(elapsed);
        }
    }
    samples.sort();
    let total: Duration = samples.iter().sum();
    bench(
        "runtime.invoke_p50_us",
        samples[CALLS / 2].as_secs_f64() * 1e6,
        "us",
    );
    bench(
        "runtime.invoke_p99_us",
        samples[CALLS * 99 / 100].as_secs_f64() * 1e6,
        "us",
    );
    bench(
        "runtime.invokes_per_s",
        CALLS as f64 / total.as_secs_f64(),
        "calls/s",
    );
}
