//! A secret a plugin reassembles (the remote transformed it before echoing) never reaches what
//! the host keeps: error codes, messages, field paths, outputs that spell it with `\u` escapes,
//! and the schema-violation message that quotes it.

use std::sync::Arc;

use serde_json::json;
use weft_runtime::{EgressPolicy, EgressRule, SecretValue};

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
