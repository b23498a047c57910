//! Every call is announced to the audit sink before it leaves the host, under the id its
//! outcome is recorded with; a call the sink cannot record is not sent.

use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use serde_json::json;
use weft_runtime::{
    AuditOutcome, AuditRecord, AuditSink, EgressPolicy, EgressRule, MemoryXref, Outcome, Runtime,
    Services,
};

use crate::support::{TestServer, config, load, request};

/// A sink that notes each announcement with how many requests the server had received by then.
struct Announcements {
    server: Arc<Mutex<Vec<crate::support::Received>>>,
    refuse: bool,
    announced: Mutex<Vec<(AuditRecord, usize)>>,
    recorded: Mutex<Vec<AuditRecord>>,
}

impl AuditSink for Announcements {
    fn sending<'a>(&'a self, record: &'a AuditRecord) -> BoxFuture<'a, Result<(), String>> {
        let seen = self.server.lock().unwrap().len();
        self.announced.lock().unwrap().push((record.clone(), seen));
        let result = if self.refuse {
            Err("the audit store is down".to_owned())
        } else {
            Ok(())
        };
        Box::pin(async move { result })
    }

    fn record(&self, record: AuditRecord) {
        self.recorded.lock().unwrap().push(record);
    }
}

async fn fetch_through(refuse: bool) -> (TestServer, Arc<Announcements>, Outcome) {
    let server = TestServer::start();
    let sink = Arc::new(Announcements {
        server: server.received.clone(),
        refuse,
        announced: Mutex::default(),
        recorded: Mutex::default(),
    });
    weft_test_support::warm_cache();
    let services = Services {
        audit: sink.clone(),
        xref: Arc::new(MemoryXref::default()),
        clock: Arc::new(weft_runtime::SystemClock),
    };
    let rt = Runtime::new(config(), services).unwrap();
    let echo = load(&rt, "weft_test_echo").await;
    let mut req = request(
        "fetch",
        json!({ "url": server.url("/echo"), "body": "", "with_api_key": false }),
    );
    req.egress = Arc::new(EgressPolicy::new(vec![
        EgressRule::from_url(&server.base).unwrap(),
    ]));
    let report = rt.invoke(&echo, req).await;
    (server, sink, report.outcome)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_is_announced_before_it_is_sent_under_the_id_of_its_record() {
    let (server, sink, outcome) = fetch_through(false).await;
    assert!(matches!(outcome, Outcome::Ok { .. }), "{outcome:?}");
    assert_eq!(server.received().len(), 1);
    let announced = sink.announced.lock().unwrap().clone();
    let recorded = sink.recorded.lock().unwrap().clone();
    assert_eq!(announced.len(), 1);
    let (announcement, seen) = &announced[0];
    assert_eq!(*seen, 0, "announced after the request reached the server");
    assert_eq!(announcement.outcome, AuditOutcome::InFlight);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].id, announcement.id);
    assert_eq!(recorded[0].url, announcement.url);
    assert_eq!(recorded[0].outcome, AuditOutcome::Completed);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_that_cannot_be_recorded_first_is_not_sent() {
    let (server, sink, outcome) = fetch_through(true).await;
    assert!(server.received().is_empty(), "the call was sent");
    assert!(
        matches!(&outcome, Outcome::PluginRetryable { .. }),
        "the plugin may retry: {outcome:?}"
    );
    let recorded = sink.recorded.lock().unwrap().clone();
    assert_eq!(recorded.len(), 1);
    assert!(
        matches!(&recorded[0].outcome, AuditOutcome::Refused(m) if m.contains("not sent")),
        "{:?}",
        recorded[0].outcome
    );
}
