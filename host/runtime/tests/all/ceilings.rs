//! A tenant's limit overrides cannot go past the host's ceilings: the attempt runs clamped and
//! its log says so.

use serde_json::json;
use weft_runtime::{LimitOverrides, Limits, LogLevel, Outcome, RuntimeConfig};

use crate::support::{config, load, request, runtime_with};

#[tokio::test(flavor = "multi_thread")]
async fn overrides_above_the_hosts_ceilings_are_clamped_with_a_note() {
    let (rt, _) = runtime_with(RuntimeConfig {
        ceilings: Limits {
            max_output_bytes: 100,
            ..Limits::ceilings()
        },
        ..config()
    });
    let echo = load(&rt, "weft_test_echo").await;
    let tenant: LimitOverrides =
        serde_json::from_str(r#"{"max_output_bytes": 1000000, "wall_time": 86400000}"#).unwrap();
    let input = json!({"message": "x".repeat(500)});
    let size = input.to_string().len() as u64;
    let mut req = request("echo", input);
    req.limits = Limits::default().with(&tenant);
    let report = rt.invoke(&echo, req).await;
    assert_eq!(report.outcome, Outcome::OutputTooLarge { size, limit: 100 });
    let notes: Vec<&str> = report
        .logs
        .iter()
        .filter(|l| l.level == LogLevel::Warn)
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(
        notes,
        [
            "host: limit `wall_time` of 86400000ms is over the host's ceiling; 900000ms applies",
            "host: limit `max_output_bytes` of 1000000 is over the host's ceiling; 100 applies",
        ]
    );
}
