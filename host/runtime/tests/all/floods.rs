//! Host-side buffers a plugin fills through its imports (audit records, log lines, stderr) stay
//! bounded, whatever the plugin loops on.

use std::sync::Arc;

use serde_json::json;
use weft_runtime::{AuditOutcome, EgressPolicy, EgressRule, Outcome, OutcomeClass};

use crate::support::{TestServer, load, request, runtime};

/// What `cut_text` appends; a kept URL is at most the cap plus this.
const CUT_MARK: &str = "…[cut]";

#[tokio::test(flavor = "multi_thread")]
async fn refused_calls_past_the_limit_become_one_summary_record() {
    let (rt, audit) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    // Not allowed (no egress), and long: every call is refused.
    let url = format!("http://remote.example/{}", "a".repeat(3000));
    let report = rt
        .invoke(
            &hostile,
            request("flood-refused-calls", json!({"url": url, "calls": 10_000})),
        )
        .await;
    assert_eq!(
        report.outcome,
        Outcome::Ok {
            output: r#"{"refused":10000}"#.into()
        }
    );
    assert_eq!(report.http_calls, 10_000);
    // 32 calls within the limit (each refused by the allow-list), then one summary.
    assert_eq!(report.calls.len(), 33, "{:?}", report.calls.last());
    assert_eq!(audit.records(), report.calls);
    let summary = &report.calls[32];
    match &summary.outcome {
        AuditOutcome::Refused(detail) => {
            assert!(detail.starts_with("9968 calls refused"), "{detail}");
            assert!(detail.contains("max_http_calls"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    for record in &report.calls {
        assert!(
            record.url.len() <= 2048 + CUT_MARK.len(),
            "{}",
            record.url.len()
        );
        assert!(record.url.ends_with(CUT_MARK));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_log_lines_count_against_the_log_limit() {
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let mut req = request("log-flood-empty", json!({"lines": 200_000}));
    req.limits.max_log_bytes = 32 << 10;
    let report = rt.invoke(&hostile, req).await;
    assert_eq!(report.outcome.class(), OutcomeClass::Ok);
    // 32 KiB of limit, at 64 bytes of overhead per line.
    assert_eq!(report.logs.len(), 512);
    assert_eq!(report.logs_dropped, 200_000 - 512);
}

#[tokio::test(flavor = "multi_thread")]
async fn log_lines_are_capped_in_number_whatever_the_byte_limit() {
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let mut req = request("log-flood-empty", json!({"lines": 5_000}));
    // The host's ceiling: bytes far from binding, so the line count is what stops the flood.
    req.limits.max_log_bytes = 1 << 20;
    let report = rt.invoke(&hostile, req).await;
    assert_eq!(report.outcome.class(), OutcomeClass::Ok);
    assert_eq!(report.logs.len(), 1000);
    assert_eq!(report.logs_dropped, 4000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_32_mib_log_line_is_kept_cut() {
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let mut req = request("log-huge", json!({"bytes": 32 << 20, "times": 4}));
    req.limits.memory_bytes = 128 << 20;
    let report = rt.invoke(&hostile, req).await;
    assert_eq!(
        report.outcome.class(),
        OutcomeClass::Ok,
        "{:?}",
        report.outcome
    );
    assert_eq!(report.logs.len(), 4);
    for line in &report.logs {
        assert_eq!(line.message.len(), (4 << 10) + CUT_MARK.len());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn more_stderr_than_is_kept_does_not_fail_a_successful_attempt() {
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let report = rt
        .invoke(
            &hostile,
            request("stderr-flood", json!({"bytes": 64 << 10})),
        )
        .await;
    assert_eq!(
        report.outcome,
        Outcome::Ok {
            output: r#"{"ok":true}"#.into()
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_url_holding_the_nul_character_is_audited_storably() {
    let server = TestServer::start();
    let (rt, audit) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let mut req = request("nul-url", json!({"url": server.url("/echo")}));
    req.egress = Arc::new(EgressPolicy::new(vec![
        EgressRule::from_url(&server.base).unwrap(),
    ]));
    let report = rt.invoke(&hostile, req).await;
    assert_eq!(
        report.outcome.class(),
        OutcomeClass::Ok,
        "{:?}",
        report.outcome
    );
    assert_eq!(server.received().len(), 1);
    let records = audit.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, AuditOutcome::Completed);
    assert!(!records[0].url.contains('\0'), "{:?}", records[0].url);
    assert!(
        records[0].url.contains("a\u{FFFD}b"),
        "{:?}",
        records[0].url
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_quoting_the_nul_character_is_audited_storably() {
    let (rt, audit) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    // Not even a URL: the refusal quotes it, and the record keeps it.
    let report = rt
        .invoke(&hostile, request("nul-url", json!({"url": "no-scheme"})))
        .await;
    assert_eq!(report.outcome.class(), OutcomeClass::PluginPermanent);
    let records = audit.records();
    assert_eq!(records.len(), 1);
    let text = serde_json::to_string(&records[0]).unwrap();
    assert!(!text.contains("\\u0000"), "{text}");
    assert!(matches!(&records[0].outcome, AuditOutcome::Refused(d) if d.contains('\u{FFFD}')));
}
