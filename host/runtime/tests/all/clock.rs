//! Records are stamped by the host's clock: audit records and log lines carry the time of the
//! clock the runtime is given, so that they agree with the engine's history.

use std::sync::Arc;
use std::time::SystemTime;

use chrono::{TimeZone, Utc};
use serde_json::json;
use weft_runtime::{
    EgressPolicy, EgressRule, ManualClock, MemoryAudit, MemoryXref, Outcome, Runtime, Services,
};

use crate::support::{TestServer, config, load, request};

#[tokio::test(flavor = "multi_thread")]
async fn audit_records_and_log_lines_carry_the_injected_clock() {
    let at = Utc.with_ymd_and_hms(2031, 5, 17, 8, 30, 0).unwrap();
    let audit = Arc::new(MemoryAudit::default());
    let services = Services {
        audit: audit.clone(),
        xref: Arc::new(MemoryXref::default()),
        clock: Arc::new(ManualClock::new(at)),
    };
    weft_test_support::warm_cache();
    let rt = Runtime::new(config(), services).unwrap();
    let echo = load(&rt, "weft_test_echo").await;
    let expected = SystemTime::from(at);

    let logged = rt
        .invoke(&echo, request("echo", json!({ "message": "hi" })))
        .await;
    assert!(matches!(logged.outcome, Outcome::Ok { .. }), "{logged:?}");
    assert!(!logged.logs.is_empty(), "the echo operation logs a line");
    for line in &logged.logs {
        assert_eq!(line.at, expected, "{line:?}");
    }

    let server = TestServer::start();
    let mut req = request(
        "fetch",
        json!({ "url": server.url("/echo"), "body": "", "with_api_key": false }),
    );
    req.egress = Arc::new(EgressPolicy::new(vec![
        EgressRule::from_url(&server.base).unwrap(),
    ]));
    let fetched = rt.invoke(&echo, req).await;
    assert!(matches!(fetched.outcome, Outcome::Ok { .. }), "{fetched:?}");
    assert_eq!(fetched.calls.len(), 1, "{:?}", fetched.calls);
    assert_eq!(fetched.calls[0].at, expected);
    let recorded = audit.records();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].at, expected);
}
