//! A secret a plugin reassembles (the remote transformed it before echoing) never reaches what
//! the host keeps: error codes, messages, field paths, outputs that spell it with `\u` escapes,
//! and the schema-violation message that quotes it.

use std::sync::Arc;

use serde_json::json;
use weft_runtime::{EgressPolicy, EgressRule, Outcome, SecretValue};

use crate::support::{TestServer, load, request, runtime};

const SECRET: &str = "s3cr3t-token-value";

#[tokio::test(flavor = "multi_thread")]
async fn a_reassembled_secret_is_redacted_wherever_the_plugin_puts_it() {
    let server = TestServer::start();
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    for into in [
        "code",
        "message",
        "field",
        "retryable",
        "escaped",
        "schema",
        "plain",
    ] {
        let mut req = request(
            "reassemble",
            json!({"url": server.url("/split"), "into": into}),
        );
        req.egress = Arc::new(EgressPolicy::new(vec![
            EgressRule::from_url(&server.base).unwrap(),
        ]));
        req.secrets = Arc::new(
            [("api-key".to_owned(), SecretValue::new(SECRET))]
                .into_iter()
                .collect(),
        );
        let report = rt.invoke(&hostile, req).await;
        let kept = serde_json::to_string(&report.outcome).unwrap();
        // Decoded too: an output may spell the secret with escapes.
        let decoded: serde_json::Value = serde_json::from_str(&kept).unwrap();
        let decoded = match &decoded["output"] {
            serde_json::Value::String(o) => o.clone(),
            _ => String::new(),
        };
        assert!(
            !kept.contains(SECRET) && !decoded.contains(SECRET),
            "{into}: the secret is kept in {kept}"
        );
        assert!(
            kept.contains("{{secret:api-key}}") || decoded.contains("{{secret:api-key}}"),
            "{into}: {kept}"
        );
    }
}

/// Every four-digit PIN, as one request body: a plugin's probe of which guess comes back
/// redacted.
fn all_pins() -> String {
    (0..10_000)
        .map(|n| format!("{n:04}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn granting(
    server: &TestServer,
    operation: &str,
    input: serde_json::Value,
    secret: &str,
) -> weft_runtime::AttemptRequest {
    let mut req = request(operation, input);
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

#[tokio::test(flavor = "multi_thread")]
async fn a_short_secret_is_never_sent_so_an_echo_of_every_guess_reveals_nothing() {
    let server = TestServer::start();
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let input = json!({
        "url": server.url("/echo"),
        "headers": [["x-token", "{{secret:api-key}}"]],
        "body": all_pins(),
    });
    let report = rt
        .invoke(&hostile, granting(&server, "send", input, "4711"))
        .await;
    assert!(
        server.received().is_empty(),
        "the request carrying the short secret was sent"
    );
    match &report.outcome {
        Outcome::PluginPermanent { code, message } => {
            assert_eq!(code, "weak-secret");
            assert!(
                message.contains("secret `api-key`")
                    && message.contains("at least 8 are required")
                    && message.contains("set a longer, random value"),
                "{message}"
            );
        }
        other => panic!("expected the attempt to end on the weak secret: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_the_plugin_never_sent_is_not_searched_for_in_what_it_reads() {
    let server = TestServer::start();
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    // No placeholder: the plugin only asks the remote to echo its guesses.
    let input = json!({"url": server.url("/echo"), "body": all_pins()});
    let report = rt
        .invoke(&hostile, granting(&server, "send", input, "4711"))
        .await;
    let Outcome::Ok { output } = &report.outcome else {
        panic!("{:?}", report.outcome)
    };
    // Every guess comes back as sent: none is told apart.
    assert!(!output.contains("{{secret:"), "a guess came back redacted");
    assert!(output.contains(&all_pins()), "the echo lost guesses");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_secret_sent_in_the_attempt_is_still_redacted_where_it_is_echoed() {
    let server = TestServer::start();
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let input = json!({
        "url": server.url("/echo"),
        "headers": [["x-token", "{{secret:api-key}}"]],
        "body": format!("{} {SECRET}", all_pins()),
    });
    let report = rt
        .invoke(&hostile, granting(&server, "send", input, SECRET))
        .await;
    assert_eq!(server.received().len(), 1);
    assert_eq!(
        server.received()[0]
            .headers
            .iter()
            .find(|(k, _)| k == "x-token")
            .map(|(_, v)| v.as_str()),
        Some(SECRET)
    );
    let Outcome::Ok { output } = &report.outcome else {
        panic!("{:?}", report.outcome)
    };
    assert!(!output.contains(SECRET), "{output}");
    assert!(output.contains("{{secret:api-key}}"), "{output}");
}
