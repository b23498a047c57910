//! A ledger HTTP server standing in for a system of record: it creates at most one record per
//! idempotency key, can be told to fail the first calls for a key (503), and records
//! cancellations. It counts every creation request per key (repeats included), since a record
//! created once does not show how often it was asked for. Tests read its records to check that
//! nothing was created twice or lost, and can hold requests to make something happen while a
//! step is in flight.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

/// A record in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRecord {
    /// Its id.
    pub id: u64,
    /// The idempotency key it was created with.
    pub key: String,
    /// The data sent.
    pub data: serde_json::Value,
    /// Whether it was cancelled.
    pub cancelled: bool,
}

#[derive(Default)]
struct State {
    records: Vec<LedgerRecord>,
    failures: HashMap<String, u32>,
    /// Creation requests, including repeats for an existing key.
    creates: u64,
    /// Creation requests per idempotency key.
    creates_by_key: HashMap<String, u64>,
    /// Cancellation requests per record id.
    cancels_by_id: HashMap<u64, u64>,
    /// Requests let through before holding starts (`None`: not holding).
    pass_before_hold: Option<u64>,
    /// Requests waiting now.
    waiting: usize,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    released: Condvar,
}

/// The server.
pub struct LedgerServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    shared: Arc<Shared>,
}

impl LedgerServer {
    /// Starts on a free loopback port; serves until the process ends.
    pub fn start() -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let shared: Arc<Shared> = Arc::default();
        let served = shared.clone();
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let shared = served.clone();
                std::thread::spawn(move || serve(request, &shared));
            }
        });
        Self {
            base: format!("http://127.0.0.1:{port}"),
            shared,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap()
    }

    /// Records so far.
    pub fn records(&self) -> Vec<LedgerRecord> {
        self.state().records.clone()
    }

    /// Creation requests received (repeats included).
    pub fn creates(&self) -> u64 {
        self.state().creates
    }

    /// Creation requests per idempotency key (repeats and refused ones included).
    pub fn creates_by_key(&self) -> HashMap<String, u64> {
        self.state().creates_by_key.clone()
    }

    /// Cancellation requests per record id (repeats included).
    pub fn cancels_by_id(&self) -> HashMap<u64, u64> {
        self.state().cancels_by_id.clone()
    }

    /// Makes requests wait until [`LedgerServer::release`].
    pub fn hold(&self) {
        self.hold_after(0);
    }

    /// Lets the next `n` requests through, then makes requests wait until
    /// [`LedgerServer::release`].
    pub fn hold_after(&self, n: u64) {
        self.state().pass_before_hold = Some(n);
    }

    /// Lets held and later requests through.
    pub fn release(&self) {
        self.state().pass_before_hold = None;
        self.shared.released.notify_all();
    }

    /// Waits (polling, without blocking the async runtime) until `n` requests are held; fails
    /// the test if they are not within 30 s.
    pub async fn until_held(&self, n: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.state().waiting < n {
            assert!(
                std::time::Instant::now() < deadline,
                "{n} requests were never held at once"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Waits until no request is held any more (each released one has been counted); fails the
    /// test if that takes 30 s.
    pub async fn until_released(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.state().waiting > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "held requests were never let through"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

fn serve(mut request: tiny_http::Request, shared: &Shared) {
    let mut body = String::new();
    let _ = request.as_reader().read_to_string(&mut body);
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap_or("")
            .to_owned()
    };
    let key = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("idempotency-key"))
        .map(|h| h.value.to_string())
        .unwrap_or_default();
    let (status, reply) = {
        let mut s = shared.state.lock().unwrap();
        match s.pass_before_hold {
            Some(0) => {
                s.waiting += 1;
                s = shared
                    .released
                    .wait_while(s, |s| s.pass_before_hold.is_some())
                    .unwrap();
                s.waiting -= 1;
            }
            Some(n) => s.pass_before_hold = Some(n - 1),
            None => {}
        }
        if path == "/records" {
            s.creates += 1;
            *s.creates_by_key.entry(key.clone()).or_default() += 1;
            let fail_times: u32 = param("fail_times").parse().unwrap_or(0);
            let failed = s.failures.entry(key.clone()).or_default();
            if param("reject") == "true" {
                (422, r#"{"error":"rejected"}"#.to_owned())
            } else if *failed < fail_times {
                *failed += 1;
                (503, r#"{"error":"busy"}"#.to_owned())
            } else if let Some(r) = s.records.iter().find(|r| r.key == key) {
                (200, format!(r#"{{"id":{},"created":false}}"#, r.id))
            } else {
                let id = s.records.len() as u64 + 1;
                let data = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
                s.records.push(LedgerRecord {
                    id,
                    key,
                    data,
                    cancelled: false,
                });
                if param("lose_response") == "true" {
                    // The record is made, but the answer never arrives in a usable form (a
                    // proxy's 502 after the backend committed).
                    (502, r#"{"error":"bad gateway"}"#.to_owned())
                } else {
                    (200, format!(r#"{{"id":{id},"created":true}}"#))
                }
            }
        } else if path == "/records/cancel-by-key" {
            // The compensation of a step whose result never arrived: find its record by the
            // step's idempotency key; none means nothing to undo.
            match s.records.iter_mut().find(|r| r.key == key) {
                Some(r) => {
                    r.cancelled = true;
                    (200, format!(r#"{{"id":{}}}"#, r.id))
                }
                None => (200, r#"{"id":null}"#.to_owned()),
            }
        } else if let Some(id) = path
            .strip_prefix("/records/")
            .and_then(|p| p.strip_suffix("/cancel"))
        {
            let id: u64 = id.parse().unwrap_or(0);
            *s.cancels_by_id.entry(id).or_default() += 1;
            match s.records.iter_mut().find(|r| r.id == id) {
                Some(r) => {
                    r.cancelled = true;
                    (200, "{}".to_owned())
                }
                None => (404, r#"{"error":"no such record"}"#.to_owned()),
            }
        } else {
            (404, "{}".to_owned())
        }
    };
    let mut response = tiny_http::Response::from_string(reply).with_status_code(status);
    if status == 503 {
        response = response.with_header(tiny_http::Header::from_bytes("Retry-After", "1").unwrap());
    }
    let _ = request.respond(response);
}
