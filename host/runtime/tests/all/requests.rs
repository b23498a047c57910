//! What a plugin asks the host to send is bounded as sent: header count and sizes, and the body
//! and header values after secret placeholders are substituted.

use std::sync::Arc;

use serde_json::json;
use weft_runtime::{AttemptRequest, EgressPolicy, EgressRule, Outcome, SecretValue};

use crate::support::{TestServer, load, request, runtime};

fn allowed(mut req: AttemptRequest, server: &TestServer, secret: &str) -> AttemptRequest {
    req.egress = Arc::new(EgressPolicy::new(vec![
        EgressRule::from_url(&server.base).unwrap(),
    ]));
    req.secrets = Arc::new(
        [("api-key".to_owned(), SecretValue::new(secret))]
            .into_iter()
            .collect(),
    );
    req
}

fn permanent_message(outcome: Outcome) -> String {
    match outcome {
        Outcome::PluginPermanent { message, .. } => message,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn thirty_thousand_header_names_are_refused_without_a_panic() {
    let server = TestServer::start();
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let req = request(
        "many-headers",
        json!({"url": server.url("/echo"), "count": 30_000}),
    );
    let report = rt
        .invoke(&hostile, allowed(req, &server, "a-long-secret"))
        .await;
    let message = permanent_message(report.outcome);
    assert!(message.contains("at most 100 are allowed"), "{message}");
    assert!(server.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_of_placeholders_is_measured_after_substitution() {
    let server = TestServer::start();
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    // 1.2 MB of placeholders, each standing for 1 KiB: 100 MiB once substituted.
    let input =
        json!({"url": server.url("/echo"), "body": "{{secret:api-key}}", "repeat": 100_000});
    let mut req = allowed(
        request("send", input),
        &server,
        &"0123456789abcdef".repeat(64),
    );
    req.limits.max_http_body_bytes = 2 << 20;
    let report = rt.invoke(&hostile, req).await;
    let message = permanent_message(report.outcome);
    assert!(message.contains("RequestTooLarge(2097152)"), "{message}");
    assert!(server.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn header_values_are_capped_after_substitution() {
    let server = TestServer::start();
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    // 100 placeholders of 18 bytes, each standing for 1 KiB.
    let input = json!({
        "url": server.url("/echo"),
        "headers": [["x-token", "{{secret:api-key}}"]],
        "repeat": 100,
    });
    let req = allowed(
        request("send", input),
        &server,
        &"0123456789abcdef".repeat(64),
    );
    let report = rt.invoke(&hostile, req).await;
    let message = permanent_message(report.outcome);
    assert!(
        message.contains("over 8192 bytes once secrets"),
        "{message}"
    );
    assert!(server.received().is_empty());
}
