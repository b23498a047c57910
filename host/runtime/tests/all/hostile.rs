//! Each way a plugin can misbehave ends its own attempt with the right class and a message an
//! operator understands. Every test here fails if the limit it exercises is removed.

use std::time::Duration;

use serde_json::json;
use weft_runtime::{Outcome, OutcomeClass};

use crate::support::{load, request, runtime};

#[tokio::test(flavor = "multi_thread")]
async fn infinite_loop_hits_the_cpu_limit() {
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let mut req = request("spin", json!({}));
    req.limits.cpu_time = Duration::from_millis(200);
    let report = rt.invoke(&hostile, req).await;
    assert_eq!(
        report.outcome,
        Outcome::CpuExceeded {
            limit: Duration::from_millis(200)
        }
    );
    assert!(report.outcome.describe().contains("CPU limit of 200ms"));
}

#[tokio::test(flavor = "multi_thread")]
async fn wall_clock_limit_cuts_an_attempt_whatever_its_cpu_budget() {
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let mut req = request("spin", json!({}));
    req.limits.cpu_time = Duration::from_secs(60);
    req.limits.wall_time = Duration::from_millis(300);
    let report = rt.invoke(&hostile, req).await;
    assert_eq!(
        report.outcome,
        Outcome::Timeout {
            limit: Duration::from_millis(300)
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn allocating_without_end_hits_the_memory_limit() {
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let mut req = request("hog", json!({}));
    req.limits.memory_bytes = 16 << 20;
    let report = rt.invoke(&hostile, req).await;
    assert_eq!(report.outcome, Outcome::MemoryExceeded { limit: 16 << 20 });
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_output_is_refused() {
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let mut req = request("flood", json!({"bytes": 2_000_000}));
    req.limits.max_output_bytes = 1 << 20;
    let report = rt.invoke(&hostile, req).await;
    assert_eq!(
        report.outcome,
        Outcome::OutputTooLarge {
            size: 2_000_002,
            limit: 1 << 20
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn panic_is_a_trap_carrying_the_panic_message() {
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let report = rt.invoke(&hostile, request("panic", json!({}))).await;
    match report.outcome {
        Outcome::Trap { message } => {
            assert!(
                message.contains("the hostile plugin gave up on purpose"),
                "{message}"
            );
            assert!(!message.contains("RUST_BACKTRACE"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn runaway_recursion_is_a_stack_overflow_trap() {
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let report = rt.invoke(&hostile, request("recurse", json!({}))).await;
    match report.outcome {
        Outcome::Trap { message } => assert!(message.contains("stack overflow"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn output_that_is_not_json_or_breaks_its_schema_is_bad_output() {
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let report = rt.invoke(&hostile, request("not-json", json!({}))).await;
    match report.outcome {
        Outcome::BadOutput { message } => assert!(message.contains("not JSON"), "{message}"),
        other => panic!("{other:?}"),
    }
    let report = rt.invoke(&hostile, request("lie", json!({}))).await;
    match report.outcome {
        Outcome::BadOutput { message } => {
            assert!(message.contains("declared schema of `lie`"), "{message}");
            assert!(message.contains("/count"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let report = rt.invoke(&hostile, request("ok", json!({}))).await;
    assert_eq!(report.outcome.class(), OutcomeClass::Ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_nul_character_postgres_cannot_store_is_refused_in_outputs_and_replaced_in_messages() {
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let report = rt.invoke(&hostile, request("nul", json!({}))).await;
    match report.outcome {
        Outcome::BadOutput { message } => {
            assert!(message.contains("U+0000 at `/name`"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let report = rt.invoke(&hostile, request("nul-error", json!({}))).await;
    match report.outcome {
        Outcome::PluginPermanent { message, .. } => assert_eq!(message, "before\u{FFFD}after"),
        other => panic!("{other:?}"),
    }
}
