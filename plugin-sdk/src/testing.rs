//! A fake host for running a plugin's operations natively under `cargo test`: context, config,
//! secrets and xref in memory, logs captured, and real HTTP (plain `http://`, e.g. to a local test
//! server). Secrets are substituted and redacted exactly as the real host does; the allow-list is
//! not checked here (the real host checks it; see the README's limits).
//!
//! ```
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//! use weft_plugin_sdk::testing::TestHost;
//! use weft_plugin_sdk::{Host, Plugin, PluginError};
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct In { name: String }
//! #[derive(Debug, Serialize, Deserialize, JsonSchema)]
//! struct Out { greeting: String }
//!
//! fn hello(host: &Host<'_>, input: In) -> Result<Out, PluginError> {
//!     let prefix = host.config("prefix").unwrap_or_else(|| "Hello".into());
//!     Ok(Out { greeting: format!("{prefix}, {}", input.name) })
//! }
//!
//! let plugin = Plugin::new("hello", "1.0.0").operation("hello", "Greets", hello);
//! let host = TestHost::new().with_config("prefix", "Hi");
//! let out: Out = host.invoke(&plugin, "hello", &serde_json::json!({"name": "Ada"})).unwrap();
//! assert_eq!(out.greeting, "Hi, Ada");
//! let err = host.invoke::<Out>(&plugin, "hello", &serde_json::json!({"name": 7})).unwrap_err();
//! assert!(matches!(err, PluginError::InvalidInput { field: Some(f), .. } if f == "name"));
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::host::{Backend, Level, StepContext};
use crate::http::{HttpError, HttpRequest, HttpResponse};
use crate::placeholder::{self, SubstituteError};
use crate::xref::{XrefError, XrefMap};
use crate::{Host, Manifest, Plugin, PluginError};

/// The harness's response size cap, like the host's default.
const MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;

/// A fake host. Build it with the `with_*` methods, then [`TestHost::invoke`] operations.
pub struct TestHost {
    context: StepContext,
    config: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
    xref: RefCell<XrefMap>,
    logs: RefCell<Vec<(Level, String)>>,
    requests: RefCell<Vec<HttpRequest>>,
}

impl Default for TestHost {
    fn default() -> Self {
        Self::new()
    }
}

impl TestHost {
    /// A host for tenant `test-tenant`, run `test-run`, step `test-step`, attempt 1, with a
    /// 30-second deadline.
    pub fn new() -> Self {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Self {
            context: StepContext {
                tenant: "test-tenant".into(),
                run_id: "test-run".into(),
                step_id: "test-step".into(),
                attempt: 1,
                idempotency_key: "test-tenant/test-run/test-step".into(),
                deadline_unix_ms: u64::try_from(now_ms.as_millis()).unwrap_or(u64::MAX) + 30_000,
            },
            config: BTreeMap::new(),
            secrets: BTreeMap::new(),
            xref: RefCell::new(XrefMap::default()),
            logs: RefCell::new(Vec::new()),
            requests: RefCell::new(Vec::new()),
        }
    }

    /// Sets a configuration value.
    pub fn with_config(mut self, key: &str, value: &str) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Grants a secret.
    pub fn with_secret(mut self, name: &str, value: &str) -> Self {
        self.secrets.insert(name.into(), value.into());
        self
    }

    /// Replaces the step context (attempt number, idempotency key, ...).
    pub fn with_context(mut self, context: StepContext) -> Self {
        self.context = context;
        self
    }

    /// The context operations see.
    pub fn context(&self) -> &StepContext {
        &self.context
    }

    /// The plugin's manifest, checked as the host checks it.
    pub fn describe(&self, plugin: &Plugin) -> Result<Manifest, String> {
        let manifest = plugin.manifest();
        manifest.validate()?;
        Ok(manifest)
    }

    /// Runs `operation` with `input` encoded as JSON and decodes the output.
    pub fn invoke<O: DeserializeOwned>(
        &self,
        plugin: &Plugin,
        operation: &str,
        input: &impl Serialize,
    ) -> Result<O, PluginError> {
        let input = serde_json::to_string(input)?;
        let output = self.invoke_json(plugin, operation, &input)?;
        serde_json::from_str(&output).map_err(|e| {
            PluginError::permanent("bad-output", format!("output does not decode: {e}"))
        })
    }

    /// Runs `operation` on JSON text, as the host does.
    pub fn invoke_json(
        &self,
        plugin: &Plugin,
        operation: &str,
        input: &str,
    ) -> Result<String, PluginError> {
        plugin.invoke(&Host::new(self), operation, input)
    }

    /// Lines logged so far.
    pub fn logs(&self) -> Vec<(Level, String)> {
        self.logs.borrow().clone()
    }

    /// Requests sent so far, as the plugin made them (placeholders not substituted).
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.requests.borrow().clone()
    }

    fn secret_lookup(&self, name: &str) -> Option<&[u8]> {
        self.secrets.get(name).map(|v| v.as_bytes())
    }

    fn substitute(&self, text: &[u8]) -> Result<Vec<u8>, HttpError> {
        placeholder::substitute(text, |n| self.secret_lookup(n)).map_err(|e| match e {
            SubstituteError::NotGranted(n) => {
                HttpError::Denied(format!("secret `{n}` is not granted to this plugin"))
            }
            SubstituteError::Unterminated => {
                HttpError::InvalidRequest("unterminated secret placeholder".into())
            }
            SubstituteError::TooLarge(max) => {
                HttpError::InvalidRequest(format!("over {max} bytes once secrets are substituted"))
            }
        })
    }

    fn redact(&self, data: Vec<u8>) -> Vec<u8> {
        let secrets: Vec<(&str, &[u8])> = self
            .secrets
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_bytes()))
            .collect();
        placeholder::redact(&data, &secrets).unwrap_or(data)
    }

    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        if placeholder::contains_placeholder(request.url.as_bytes()) {
            return Err(HttpError::InvalidRequest(
                "secret placeholders are substituted in header values and bodies only, never in URLs"
                    .into(),
            ));
        }
        let mut builder = ureq::http::Request::builder()
            .method(request.method.as_str())
            .uri(&request.url);
        for (name, value) in &request.headers {
            let value = self.substitute(value.as_bytes())?;
            builder = builder.header(name.as_str(), value);
        }
        let body = match &request.body {
            Some(b) => self.substitute(b)?,
            None => Vec::new(),
        };
        let http_request = builder
            .body(body)
            .map_err(|e| HttpError::InvalidRequest(e.to_string()))?;
        let timeout = Duration::from_millis(request.timeout_ms.map_or(30_000, u64::from));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(timeout))
            .build()
            .into();
        let mut response = agent.run(http_request).map_err(|e| match e {
            ureq::Error::Timeout(_) => HttpError::Timeout,
            other => HttpError::Connection(other.to_string()),
        })?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                let v = self.redact(v.as_bytes().to_vec());
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => HttpError::ResponseTooLarge(MAX_RESPONSE_BYTES),
                ureq::Error::Timeout(_) => HttpError::Timeout,
                other => HttpError::Connection(other.to_string()),
            })?;
        Ok(HttpResponse {
            status,
            headers,
            body: self.redact(body),
        })
    }
}

impl Backend for TestHost {
    fn context(&self) -> StepContext {
        self.context.clone()
    }

    fn config(&self, key: &str) -> Option<String> {
        self.config.get(key).cloned()
    }

    fn log(&self, level: Level, message: &str) {
        self.logs.borrow_mut().push((level, message.to_owned()));
    }

    fn http(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.requests.borrow_mut().push(request.clone());
        self.send(&request)
    }

    fn xref_get(&self, from: &str, system: &str) -> Result<Option<String>, XrefError> {
        self.xref.borrow().get(from, system)
    }

    fn xref_put(&self, a: &str, b: &str) -> Result<(), XrefError> {
        self.xref.borrow_mut().put(a, b)
    }

    fn xref_unlink(&self, a: &str, b: &str) -> Result<bool, XrefError> {
        self.xref.borrow_mut().unlink(a, b)
    }
}
