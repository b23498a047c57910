//! Host work done for a plugin counts against its attempt's limits: a plugin cannot make the
//! host spend CPU on its behalf past the attempt's wall time.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use weft_runtime::{EgressPolicy, EgressRule, Outcome, SecretValue};

use crate::support::{TestServer, load, request, runtime};

#[tokio::test(flavor = "multi_thread")]
async fn expensive_host_calls_end_the_attempt_at_its_wall_time() {
    let server = TestServer::start();
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    // A secret that is one long run of the byte the remote answers with: searching a 32 MiB
    // answer for it naively compares 64 KiB at each of 32 M positions, minutes of host CPU.
    let secret = format!("{}abcd", "y".repeat(64 << 10));
    let body_bytes: u64 = 32 << 20;
    let mut req = request(
        "resend",
        json!({
            "url": server.url(&format!("/big?bytes={body_bytes}")),
            "body": "{{secret:api-key}}",
            "times": 1_000,
        }),
    );
    req.egress = Arc::new(EgressPolicy::new(vec![
        EgressRule::from_url(&server.base).unwrap(),
    ]));
    req.secrets = Arc::new(
        [("api-key".to_owned(), SecretValue::new(secret))]
            .into_iter()
            .collect(),
    );
    let wall = Duration::from_secs(2);
    req.limits.wall_time = wall;
    req.limits.cpu_time = Duration::from_secs(60);
    req.limits.max_http_calls = 1_000;
    req.limits.max_http_body_bytes = body_bytes;
    req.limits.memory_bytes = 256 << 20;
    let report = rt.invoke(&hostile, req).await;
    assert_eq!(report.outcome, Outcome::Timeout { limit: wall });
    // Not a speed check: the old host ran on for minutes past the limit; any bound far below
    // that shows the host's work stopped with the attempt.
    assert!(
        report.duration < wall * 5,
        "the attempt ran {:?} past a wall time of {wall:?}",
        report.duration
    );
}
