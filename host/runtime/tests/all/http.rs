//! Outbound HTTP: allow-list, secrets substituted only where granted and never shown back,
//! limits, classification, and an audit record for every call.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use weft_runtime::{
    AttemptRequest, AuditOutcome, EgressPolicy, EgressRule, Outcome, OutcomeClass, SecretValue,
};

use crate::support::{TestServer, load, request, runtime};

const SECRET: &str = "s3cr3t-token-value";

fn with_access(mut req: AttemptRequest, server: &TestServer) -> AttemptRequest {
    req.egress = Arc::new(EgressPolicy::new(vec![
        EgressRule::from_url(&server.base).unwrap(),
    ]));
    req.secrets = Arc::new(
        [("api-key", SECRET), ("db-password", "hunter2-password")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), SecretValue::new(v)))
            .collect(),
    );
    req
}

fn assert_no_secret(what: &str, text: &str) {
    assert!(
        !text.contains(SECRET),
        "the secret leaked into {what}: {text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_reach_allowed_hosts_but_never_come_back_to_the_plugin() {
    let server = TestServer::start();
    let (rt, audit) = runtime();
    let echo = load(&rt, "weft_test_echo").await;
    let input =
        json!({"url": server.url("/echo"), "body": "key={{secret:api-key}}", "with_api_key": true});
    let report = rt
        .invoke(&echo, with_access(request("fetch", input), &server))
        .await;

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, format!("key={SECRET}"));
    assert!(
        received[0]
            .headers
            .contains(&("authorization".into(), format!("Bearer {SECRET}")))
    );

    let Outcome::Ok { output } = &report.outcome else {
        panic!("{:?}", report.outcome)
    };
    assert_no_secret("the output", output);
    assert!(output.contains("Bearer {{secret:api-key}}"), "{output}");
    for line in &report.logs {
        assert_no_secret("the logs", &line.message);
    }
    let records = audit.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(
        (r.method.as_str(), r.status, &r.outcome),
        ("POST", Some(200), &AuditOutcome::Completed)
    );
    assert_eq!(
        (r.tenant.as_str(), r.run_id.as_str(), r.attempt),
        ("acme", "run-1", 2)
    );
    assert_eq!(r.plugin, "echo@0.1.0");
    assert_eq!(r.url, server.url("/echo"));
    assert_eq!(r.request_bytes, "key={{secret:api-key}}".len() as u64);
    assert_no_secret("the audit", &format!("{records:?}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn hosts_off_the_allow_list_are_refused_and_audited() {
    let server = TestServer::start();
    let (rt, audit) = runtime();
    let echo = load(&rt, "weft_test_echo").await;
    let input = json!({"url": "http://127.0.0.1:9/steal", "body": "x"});
    let report = rt
        .invoke(&echo, with_access(request("fetch", input), &server))
        .await;
    match &report.outcome {
        Outcome::PluginPermanent { code, message } => {
            assert_eq!(code, "http-denied");
            assert!(
                message.contains("not on the tenant's allow-list"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let records = audit.records();
    assert!(matches!(&records[0].outcome, AuditOutcome::Refused(m) if m.contains("allow-list")));
    assert_eq!(records[0].status, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_not_declared_or_pinned_elsewhere_are_refused() {
    let server = TestServer::start();
    let (rt, _) = runtime();
    let echo = load(&rt, "weft_test_echo").await;
    // `db-password` is the tenant's, but the echo plugin's manifest does not ask for it.
    let input = json!({"url": server.url("/echo"), "body": "{{secret:db-password}}"});
    let report = rt
        .invoke(&echo, with_access(request("fetch", input), &server))
        .await;
    assert!(
        matches!(&report.outcome, Outcome::PluginPermanent { message, .. }
            if message.contains("secret `db-password` is not granted")),
        "{:?}",
        report.outcome
    );
    // `api-key` is pinned to another destination.
    let mut req = request(
        "fetch",
        json!({"url": server.url("/echo"), "body": "", "with_api_key": true}),
    );
    req = with_access(req, &server);
    req.egress = Arc::new(EgressPolicy::new(vec![
        EgressRule::from_url(&server.base)
            .unwrap()
            .secrets(&["other"]),
    ]));
    let report = rt.invoke(&echo, req).await;
    assert!(
        matches!(&report.outcome, Outcome::PluginPermanent { message, .. }
            if message.contains("secret `api-key` is not granted")),
        "{:?}",
        report.outcome
    );
    assert!(server.received().is_empty(), "nothing may leave the host");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_codes_and_transport_failures_are_classified() {
    let server = TestServer::start();
    let (rt, _) = runtime();
    let echo = load(&rt, "weft_test_echo").await;
    let fetch = |path: &str| {
        with_access(
            request("fetch", json!({"url": server.url(path), "body": ""})),
            &server,
        )
    };

    let report = rt.invoke(&echo, fetch("/status/429")).await;
    assert_eq!(
        report.outcome,
        Outcome::PluginRetryable {
            message: "HTTP 429: status 429".into(),
            retry_after: Some(Duration::from_secs(3)),
        }
    );
    let report = rt.invoke(&echo, fetch("/status/403")).await;
    assert!(matches!(&report.outcome, Outcome::PluginPermanent { code, .. } if code == "http-403"));

    let mut slow = fetch("/slow?ms=3000");
    slow.limits.http_timeout = Duration::from_millis(200);
    let report = rt.invoke(&echo, slow).await;
    assert!(
        matches!(&report.outcome, Outcome::PluginRetryable { message, .. } if message.contains("timed out")),
        "{:?}",
        report.outcome
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn response_size_and_call_count_are_limited() {
    let server = TestServer::start();
    let (rt, audit) = runtime();
    let echo = load(&rt, "weft_test_echo").await;
    let mut big = with_access(
        request(
            "fetch",
            json!({"url": server.url("/big?bytes=5000"), "body": ""}),
        ),
        &server,
    );
    big.limits.max_http_body_bytes = 1000;
    let report = rt.invoke(&echo, big).await;
    assert!(
        matches!(&report.outcome, Outcome::PluginPermanent { code, .. } if code == "http-response-too-large"),
        "{:?}",
        report.outcome
    );
    assert!(matches!(&audit.records()[0].outcome, AuditOutcome::Failed(m) if m.contains("1000")));

    let mut none = with_access(
        request("fetch", json!({"url": server.url("/echo"), "body": ""})),
        &server,
    );
    none.limits.max_http_calls = 0;
    let report = rt.invoke(&echo, none).await;
    assert_eq!(report.outcome.class(), OutcomeClass::PluginPermanent);
    assert_eq!(report.http_calls, 1);
    assert_eq!(
        server.received().len(),
        1,
        "only the first request was sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_exfiltration_attempts_fail_and_leak_nothing() {
    let server = TestServer::start();
    let (rt, audit) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;

    // A placeholder in the query string is refused outright.
    let report = rt
        .invoke(
            &hostile,
            with_access(
                request("exfil-query", json!({"url": server.url("/echo")})),
                &server,
            ),
        )
        .await;
    match &report.outcome {
        Outcome::PluginPermanent { message, .. } => {
            assert!(message.contains("never in URLs"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(server.received().is_empty());

    // Reflected by an allowed host: the value is substituted on the way out, redacted on the way in.
    let report = rt
        .invoke(
            &hostile,
            with_access(
                request("exfil-echo", json!({"url": server.url("/echo")})),
                &server,
            ),
        )
        .await;
    let Outcome::Ok { output } = &report.outcome else {
        panic!("{:?}", report.outcome)
    };
    assert_no_secret("the output", output);
    assert!(output.contains("stolen={{secret:api-key}}"), "{output}");

    // Not on the allow-list at all.
    let report = rt
        .invoke(
            &hostile,
            with_access(
                request("sneak", json!({"url": "http://127.0.0.1:9/x"})),
                &server,
            ),
        )
        .await;
    assert!(
        matches!(&report.outcome, Outcome::PluginPermanent { message, .. } if message.contains("Denied"))
    );

    let records = audit.records();
    assert_eq!(records.len(), 3);
    assert_no_secret("the audit", &format!("{records:?}"));
    assert_no_secret("the logs", &format!("{:?}", report.logs));
}
