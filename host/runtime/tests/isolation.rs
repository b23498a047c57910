//! Hostile plugins running concurrently with well-behaved calls: every well-behaved call gets its
//! own correct answer, every hostile one its own classified outcome, and the host's memory stays
//! bounded, including the buffers the host fills for a plugin outside its wasm memory (audit
//! records of refused calls, log lines). Its own test binary, so the memory figures are this
//! test's alone.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly, like the tests"
)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;
use weft_runtime::{Outcome, OutcomeClass, RuntimeConfig};

use support::{config, load, request, runtime_with};

const SLOTS: u32 = 8;
const MEMORY_LIMIT: u64 = 32 << 20;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_plugins_do_not_disturb_well_behaved_ones() {
    let (rt, _) = runtime_with(RuntimeConfig {
        max_concurrent_attempts: SLOTS,
        ..config()
    });
    let rt = Arc::new(rt);
    let echo = load(&rt, "weft_test_echo").await;
    let hostile = load(&rt, "weft_test_hostile").await;
    // Warm up so the baseline includes the runtime's steady state.
    for _ in 0..20 {
        rt.invoke(&echo, request("echo", json!({"message": "warm"})))
            .await;
    }
    let baseline = rss_bytes();
    let peak = Arc::new(AtomicU64::new(baseline));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };

    // Host-side floods end `ok`: the plugin loses nothing, the host keeps one summary record and
    // a bounded number of log lines. Kept one record per call, 100,000 refused calls with a
    // 4 KiB URL would hold some 400 MiB per attempt.
    let long_url = format!("http://remote.example/{}", "a".repeat(4 << 10));
    let hostile_ops = [
        ("hog", OutcomeClass::MemoryExceeded, json!({})),
        ("spin", OutcomeClass::CpuExceeded, json!({})),
        ("panic", OutcomeClass::Trap, json!({})),
        ("recurse", OutcomeClass::Trap, json!({})),
        ("not-json", OutcomeClass::BadOutput, json!({})),
        (
            "flood-refused-calls",
            OutcomeClass::Ok,
            json!({"url": long_url, "calls": 100_000}),
        ),
        (
            "log-flood-empty",
            OutcomeClass::Ok,
            json!({"lines": 1_000_000}),
        ),
        ("stderr-flood", OutcomeClass::Ok, json!({"bytes": 1 << 20})),
    ];
    let mut tasks = Vec::new();
    for i in 0..32 {
        let (op, expected, input) = hostile_ops[i % hostile_ops.len()].clone();
        let (rt, hostile) = (rt.clone(), hostile.clone());
        tasks.push(tokio::spawn(async move {
            let mut req = request(op, input);
            req.limits.memory_bytes = MEMORY_LIMIT;
            // Generous: under a loaded machine an allocation loop can take a while to reach
            // its memory limit, and a flood must finish; neither may hit the CPU limit first.
            req.limits.cpu_time =
                Duration::from_secs(if expected == OutcomeClass::Ok { 20 } else { 1 });
            let report = rt.invoke(&hostile, req).await;
            assert_eq!(
                report.outcome.class(),
                expected,
                "{op}: {:?}",
                report.outcome
            );
        }));
    }
    for i in 0..300 {
        let (rt, echo) = (rt.clone(), echo.clone());
        tasks.push(tokio::spawn(async move {
            let message = format!("order-{i}");
            let report = rt
                .invoke(&echo, request("echo", json!({ "message": message })))
                .await;
            assert_eq!(
                report.outcome,
                Outcome::Ok {
                    output: json!({ "message": message }).to_string()
                }
            );
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    sampler.abort();
    let peak_growth = peak.load(Ordering::Relaxed).saturating_sub(baseline);
    let after_growth = rss_bytes().saturating_sub(baseline);
    // At most SLOTS instances hold memory at once, each under its limit; pooled memory is
    // decommitted when an instance is dropped.
    let bound = u64::from(SLOTS) * MEMORY_LIMIT + (64 << 20);
    assert!(
        peak_growth < bound,
        "peak RSS grew by {} MiB (bound {} MiB)",
        peak_growth >> 20,
        bound >> 20
    );
    assert!(
        after_growth < 64 << 20,
        "RSS stayed {} MiB above baseline",
        after_growth >> 20
    );
}
