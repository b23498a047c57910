//! Shared by the runtime's test binaries: the built test plugins, a runtime with a warm compile
//! cache, and a local HTTP server that shows what reached it.

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use weft_runtime::{
    AttemptRequest, LoadedPlugin, MemoryAudit, Runtime, RuntimeConfig, Services, StepContext,
};

pub use weft_test_support::plugin_bytes;

/// The test servers listen on 127.0.0.1, so private egress is allowed; tests of the refusal
/// turn it off.
pub fn config() -> RuntimeConfig {
    RuntimeConfig {
        cache_dir: Some(weft_test_support::cache_dir()),
        allow_private_egress: true,
        ..RuntimeConfig::default()
    }
}

/// A runtime with in-memory services, and its audit log.
pub fn runtime() -> (Runtime, Arc<MemoryAudit>) {
    runtime_with(config())
}

pub fn runtime_with(config: RuntimeConfig) -> (Runtime, Arc<MemoryAudit>) {
    weft_test_support::warm_cache();
    let (services, audit) = Services::in_memory();
    (Runtime::new(config, services).unwrap(), audit)
}

pub async fn load(runtime: &Runtime, crate_name: &str) -> Arc<LoadedPlugin> {
    runtime.load(&plugin_bytes(crate_name)).await.unwrap()
}

pub fn context() -> StepContext {
    StepContext {
        tenant: "acme".into(),
        run_id: "run-1".into(),
        step_id: "step-1".into(),
        attempt: 2,
        idempotency_key: "acme/run-1/step-1".into(),
    }
}

pub fn request(operation: &str, input: serde_json::Value) -> AttemptRequest {
    AttemptRequest::new(context(), operation, input.to_string())
}

pub fn config_of(pairs: &[(&str, &str)]) -> Arc<BTreeMap<String, String>> {
    Arc::new(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// What the test server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// A local HTTP server. Routes:
/// - `/echo`: 200 with a JSON description of the request (headers and body included),
/// - `/big?bytes=N`: N bytes,
/// - `/slow?ms=N`: waits, then 200,
/// - `/status/N`: status N (429 and 503 carry `Retry-After: 3`),
/// - `/split`: the request body with a space between characters (a remote that transforms a
///   secret before echoing it, which redaction cannot recognise).
pub struct TestServer {
    pub base: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl TestServer {
    pub fn start() -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let log = log.clone();
                std::thread::spawn(move || serve(request, &log));
            }
        });
        Self {
            base: format!("http://127.0.0.1:{port}"),
            received,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn serve(mut request: tiny_http::Request, log: &Mutex<Vec<Received>>) {
    let mut body = String::new();
    let _ = request.as_reader().read_to_string(&mut body);
    let received = Received {
        method: request.method().to_string(),
        url: request.url().to_owned(),
        headers: request
            .headers()
            .iter()
            .map(|h| {
                (
                    h.field.as_str().as_str().to_ascii_lowercase(),
                    h.value.as_str().to_owned(),
                )
            })
            .collect(),
        body,
    };
    log.lock().unwrap().push(received.clone());
    let (path, query) = received.url.split_once('?').unwrap_or((&received.url, ""));
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap_or("0")
    };
    let response = if path == "/echo" {
        let headers: serde_json::Map<String, serde_json::Value> = received
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect();
        let json = serde_json::json!({
            "method": received.method, "url": received.url, "headers": headers, "body": received.body,
        });
        tiny_http::Response::from_string(json.to_string())
    } else if path == "/split" {
        let spaced: Vec<String> = received.body.chars().map(String::from).collect();
        tiny_http::Response::from_string(spaced.join(" "))
    } else if path == "/big" {
        tiny_http::Response::from_string("y".repeat(param("bytes").parse().unwrap()))
    } else if path == "/slow" {
        std::thread::sleep(Duration::from_millis(param("ms").parse().unwrap()));
        tiny_http::Response::from_string("late")
    } else if let Some(code) = path.strip_prefix("/status/") {
        let code: u16 = code.parse().unwrap();
        let r = tiny_http::Response::from_string(format!("status {code}")).with_status_code(code);
        if code == 429 || code == 503 {
            r.with_header(tiny_http::Header::from_bytes("Retry-After", "3").unwrap())
        } else {
            r
        }
    } else {
        tiny_http::Response::from_string("not found").with_status_code(404)
    };
    let _ = request.respond(response);
}
