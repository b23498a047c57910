//! A well-behaved plugin sees its context, config and xref, and its results are classified.

use std::time::Duration;

use serde_json::json;
use weft_runtime::{LogLevel, Outcome, OutcomeClass};

use crate::support::{config_of, load, request, runtime};

#[tokio::test(flavor = "multi_thread")]
async fn echo_returns_its_input_and_logs_into_the_report() {
    let (rt, _) = runtime();
    let echo = load(&rt, "weft_test_echo").await;
    let report = rt
        .invoke(&echo, request("echo", json!({"message": "héllo"})))
        .await;
    assert_eq!(
        report.outcome,
        Outcome::Ok {
            output: r#"{"message":"héllo"}"#.into()
        }
    );
    assert_eq!(report.logs.len(), 1);
    assert_eq!(report.logs[0].level, LogLevel::Debug);
    assert_eq!(report.logs[0].message, "echo");
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_sees_its_step_context_and_the_tenants_config() {
    let (rt, _) = runtime();
    let echo = load(&rt, "weft_test_echo").await;
    let mut req = request("context", json!({}));
    req.config = config_of(&[("greeting", "bonjour")]);
    let report = rt.invoke(&echo, req).await;
    let Outcome::Ok { output } = report.outcome else {
        panic!("{:?}", report.outcome)
    };
    let out: serde_json::Value = serde_json::from_str(&output).unwrap();
    assert_eq!(
        out,
        json!({
            "tenant": "acme", "run_id": "run-1", "step_id": "step-1", "attempt": 2,
            "idempotency_key": "acme/run-1/step-1", "config_greeting": "bonjour",
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn xref_links_are_per_tenant() {
    let (rt, _) = runtime();
    let echo = load(&rt, "weft_test_echo").await;
    let link = json!({"from": "crm:account/7", "to": "odoo:res.partner/42"});
    let report = rt.invoke(&echo, request("link", link)).await;
    assert_eq!(
        report.outcome,
        Outcome::Ok {
            output: r#"{"resolved":"odoo:res.partner/42"}"#.into()
        }
    );

    let bad = rt
        .invoke(
            &echo,
            request("link", json!({"from": "nope", "to": "odoo:x/1"})),
        )
        .await;
    match bad.outcome {
        Outcome::InvalidInput { field, message } => {
            assert_eq!(field.as_deref(), Some("xref.a"));
            assert!(message.contains("system:type/id"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn over_long_xref_references_are_invalid_input_naming_the_argument() {
    let (rt, _) = runtime();
    let echo = load(&rt, "weft_test_echo").await;
    let long_id = format!("odoo:res.partner/{}", "9".repeat(100_000));
    let report = rt
        .invoke(
            &echo,
            request("link", json!({"from": "crm:account/7", "to": long_id})),
        )
        .await;
    match report.outcome {
        Outcome::InvalidInput { field, message } => {
            assert_eq!(field.as_deref(), Some("xref.b"));
            assert!(message.contains("at most 512"), "{message}");
            assert!(message.len() < 400, "the message quotes a prefix only");
        }
        other => panic!("{other:?}"),
    }
    let long_system = format!("{}:account/7", "s".repeat(65));
    let report = rt
        .invoke(
            &echo,
            request("link", json!({"from": long_system, "to": "odoo:x/1"})),
        )
        .await;
    assert_eq!(report.outcome.class(), OutcomeClass::InvalidInput);
}

#[tokio::test(flavor = "multi_thread")]
async fn xref_calls_past_the_attempts_limit_are_refused_as_permanent() {
    let (rt, _) = runtime();
    let echo = load(&rt, "weft_test_echo").await;
    let mut within = request("xref-loop", json!({"calls": 5}));
    within.limits.max_xref_calls = 5;
    let report = rt.invoke(&echo, within).await;
    assert_eq!(
        report.outcome.class(),
        OutcomeClass::Ok,
        "{:?}",
        report.outcome
    );

    let mut looping = request("xref-loop", json!({"calls": 1_000_000}));
    looping.limits.max_xref_calls = 5;
    let report = rt.invoke(&echo, looping).await;
    match report.outcome {
        Outcome::PluginPermanent { code, message } => {
            assert_eq!(code, "xref-too-many-calls");
            assert!(message.contains("limit of 5 xref calls"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let report = rt
        .invoke(&echo, request("xref-loop", json!({"calls": 1_000_000})))
        .await;
    assert_eq!(
        report.outcome.class(),
        OutcomeClass::PluginPermanent,
        "the default limit ({}) applies",
        weft_runtime::Limits::default().max_xref_calls
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unlink_undoes_a_link_and_tolerates_nothing_to_undo() {
    let (rt, _) = runtime();
    let echo = load(&rt, "weft_test_echo").await;
    let link = json!({"from": "crm:account/7", "to": "odoo:res.partner/42"});
    let report = rt.invoke(&echo, request("link", link.clone())).await;
    assert_eq!(report.outcome.class(), OutcomeClass::Ok);
    for removed in [true, false] {
        let report = rt.invoke(&echo, request("unlink", link.clone())).await;
        assert_eq!(
            report.outcome,
            Outcome::Ok {
                output: format!(r#"{{"removed":{removed}}}"#)
            }
        );
    }
    let resolve = json!({"from": "crm:account/7", "to": "odoo:res.partner/43"});
    let report = rt.invoke(&echo, request("link", resolve)).await;
    assert_eq!(
        report.outcome,
        Outcome::Ok {
            output: r#"{"resolved":"odoo:res.partner/43"}"#.into()
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_errors_keep_their_class_and_details() {
    let (rt, _) = runtime();
    let echo = load(&rt, "weft_test_echo").await;
    let retry = rt
        .invoke(&echo, request("fail", json!({"message": "retry"})))
        .await;
    assert_eq!(
        retry.outcome,
        Outcome::PluginRetryable {
            message: "try later".into(),
            retry_after: Some(Duration::from_secs(3))
        }
    );
    let invalid = rt
        .invoke(&echo, request("fail", json!({"message": "invalid"})))
        .await;
    assert_eq!(
        invalid.outcome,
        Outcome::InvalidInput {
            message: "not acceptable".into(),
            field: Some("message".into())
        }
    );
    let permanent = rt
        .invoke(&echo, request("fail", json!({"message": "x"})))
        .await;
    assert_eq!(permanent.outcome.class(), OutcomeClass::PluginPermanent);
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk_refuses_mistyped_input_naming_the_field() {
    let (rt, _) = runtime();
    let echo = load(&rt, "weft_test_echo").await;
    let report = rt
        .invoke(&echo, request("echo", json!({"message": 5})))
        .await;
    match report.outcome {
        Outcome::InvalidInput { field, message } => {
            assert_eq!(field.as_deref(), Some("message"));
            assert!(message.contains("invalid type"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn host_refuses_unknown_operations_and_oversized_input_before_running() {
    let (rt, _) = runtime();
    let echo = load(&rt, "weft_test_echo").await;
    let report = rt.invoke(&echo, request("nope", json!({}))).await;
    match report.outcome {
        Outcome::InvalidInput { message, .. } => {
            assert!(message.contains("no operation `nope`"), "{message}");
            assert!(
                message.contains("echo, context, fetch, link, fail"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let mut big = request("echo", json!({"message": "x".repeat(2000)}));
    big.limits.max_input_bytes = 1000;
    let report = rt.invoke(&echo, big).await;
    match report.outcome {
        Outcome::InvalidInput { message, .. } => {
            assert!(message.contains("limit is 1000"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn log_volume_is_capped() {
    let (rt, _) = runtime();
    let echo = load(&rt, "weft_test_echo").await;
    let mut req = request("echo", json!({"message": "m"}));
    req.limits.max_log_bytes = 2; // "echo" is 4 bytes
    let report = rt.invoke(&echo, req).await;
    assert_eq!(report.outcome.class(), OutcomeClass::Ok);
    assert!(report.logs.is_empty());
    assert_eq!(report.logs_dropped, 1);
}
