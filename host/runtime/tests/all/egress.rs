//! Egress to non-public addresses: refused after DNS resolution (and for IP literals) unless the
//! deployment allows it, and audited as refused.

use std::sync::Arc;

use serde_json::json;
use weft_runtime::{AuditOutcome, EgressPolicy, EgressRule, MemoryAudit, Outcome, Runtime};

use crate::support::{TestServer, config, load, request, runtime_with};

/// A runtime as production runs it: private egress not allowed.
fn strict() -> (Runtime, Arc<MemoryAudit>) {
    runtime_with(weft_runtime::RuntimeConfig {
        allow_private_egress: false,
        ..config()
    })
}

/// Fetches `{base}/echo` with `base` on the allow-list; returns the outcome and the audit.
async fn fetch(rt: &Runtime, audit: &MemoryAudit, base: &str) -> (Outcome, AuditOutcome) {
    let echo = load(rt, "weft_test_echo").await;
    let mut req = request("fetch", json!({"url": format!("{base}/echo"), "body": "x"}));
    req.egress = Arc::new(EgressPolicy::new(vec![EgressRule::from_url(base).unwrap()]));
    let report = rt.invoke(&echo, req).await;
    let records = audit.records();
    assert_eq!(records.len(), 1, "{records:?}");
    (report.outcome, records[0].outcome.clone())
}

fn assert_refused(outcome: &Outcome, audit: &AuditOutcome, reason: &str) {
    match outcome {
        Outcome::PluginPermanent { code, message } => {
            assert_eq!(code, "http-denied");
            assert!(message.contains(reason), "{message}");
            assert!(message.contains("--allow-private-egress"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(audit, AuditOutcome::Refused(m) if m.contains(reason)),
        "{audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_to_a_loopback_address_is_refused_unless_private_egress_is_allowed() {
    let server = TestServer::start();
    let (rt, audit) = strict();
    let (outcome, audited) = fetch(&rt, &audit, &server.base).await;
    assert_refused(&outcome, &audited, "is loopback");
    assert!(server.received().is_empty(), "nothing reached the server");

    let (rt, audit) = runtime_with(config());
    let (outcome, audited) = fetch(&rt, &audit, &server.base).await;
    assert!(matches!(outcome, Outcome::Ok { .. }), "{outcome:?}");
    assert_eq!(audited, AuditOutcome::Completed);
    assert_eq!(server.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_resolving_to_loopback_is_refused_after_resolution() {
    let server = TestServer::start();
    let base = server.base.replace("127.0.0.1", "localhost");
    assert_ne!(base, server.base);
    let (rt, audit) = strict();
    let (outcome, audited) = fetch(&rt, &audit, &base).await;
    assert_refused(&outcome, &audited, "`localhost` resolves to");
    assert!(server.received().is_empty(), "nothing reached the server");
}

#[tokio::test(flavor = "multi_thread")]
async fn ipv6_forms_of_loopback_and_the_metadata_address_are_refused() {
    let (rt, audit) = strict();
    let (outcome, audited) = fetch(&rt, &audit, "http://[::ffff:127.0.0.1]:9").await;
    assert_refused(&outcome, &audited, "non-public IPv4");
    let (rt, audit) = strict();
    let (outcome, audited) = fetch(&rt, &audit, "http://169.254.169.254").await;
    assert_refused(&outcome, &audited, "link-local");
}
