//! Outbound HTTP through the host, with JSON helpers and error classification.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::PluginError;
use crate::host::Backend;

/// How much of an error response body goes into an error message.
const ERROR_BODY_SNIPPET: usize = 512;

/// The placeholder for secret `name`. The host replaces it in header values and bodies of requests
/// to allowed hosts; the plugin never sees the value.
///
/// ```
/// assert_eq!(weft_plugin_sdk::secret("odoo-api-key"), "{{secret:odoo-api-key}}");
/// ```
pub fn secret(name: &str) -> String {
    format!("{{{{secret:{name}}}}}")
}

/// HTTP methods the host performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// OPTIONS
    Options,
}

impl Method {
    /// The method as it goes on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
        }
    }
}

/// A request as handed to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Header names and values; values may hold secret placeholders.
    pub headers: Vec<(String, String)>,
    /// The body; may hold secret placeholders.
    pub body: Option<Vec<u8>>,
    /// Asked-for timeout; the host shortens it to the attempt's remaining time.
    pub timeout_ms: Option<u32>,
}

/// A response from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Why the host did not deliver a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The tenant's allow-list does not grant this request, or it names a secret not granted.
    Denied(String),
    /// The request is malformed.
    InvalidRequest(String),
    /// No response in time.
    Timeout,
    /// Connection failed (DNS, refused, TLS).
    Connection(String),
    /// The request body is over the host's limit (bytes).
    RequestTooLarge(u64),
    /// The response body is over the host's limit (bytes).
    ResponseTooLarge(u64),
    /// This attempt has made as many calls as it may.
    TooManyRequests(u32),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Denied(m) => write!(f, "request denied by the host: {m}"),
            Self::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            Self::Timeout => write!(f, "request timed out"),
            Self::Connection(m) => write!(f, "connection failed: {m}"),
            Self::RequestTooLarge(n) => {
                write!(f, "request body over the host's limit of {n} bytes")
            }
            Self::ResponseTooLarge(n) => {
                write!(f, "response body over the host's limit of {n} bytes")
            }
            Self::TooManyRequests(n) => write!(f, "attempt made its limit of {n} HTTP calls"),
        }
    }
}

impl std::error::Error for HttpError {}

impl From<HttpError> for PluginError {
    /// Network trouble passes; a refusal by the host or a limit does not.
    fn from(e: HttpError) -> Self {
        let code = match &e {
            HttpError::Timeout | HttpError::Connection(_) => {
                return PluginError::retryable(e.to_string());
            }
            HttpError::Denied(_) => "http-denied",
            HttpError::InvalidRequest(_) => "http-invalid-request",
            HttpError::RequestTooLarge(_) => "http-request-too-large",
            HttpError::ResponseTooLarge(_) => "http-response-too-large",
            HttpError::TooManyRequests(_) => "http-too-many-calls",
        };
        PluginError::permanent(code, e.to_string())
    }
}

impl HttpResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body decoded as JSON. A body that does not decode is a permanent error: the remote
    /// speaks something other than what the connector expects.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            PluginError::permanent(
                "bad-response",
                format!(
                    "response (status {}) is not the expected JSON: {e}",
                    self.status
                ),
            )
        })
    }

    /// `Ok(self)` for a 2xx status; otherwise the classified error (see [`classify_status`]).
    pub fn error_for_status(self) -> Result<Self, PluginError> {
        match classify_status(&self) {
            Some(e) => Err(e),
            None => Ok(self),
        }
    }
}

/// Classifies a non-2xx response: 408, 425, 429, 500, 502, 503 and 504 are retryable (honouring
/// `Retry-After`); every other status is permanent with code `http-<status>`.
pub fn classify_status(response: &HttpResponse) -> Option<PluginError> {
    let status = response.status;
    if (200..300).contains(&status) {
        return None;
    }
    let mut snippet = response.text();
    if snippet.len() > ERROR_BODY_SNIPPET {
        let mut cut = ERROR_BODY_SNIPPET;
        while !snippet.is_char_boundary(cut) {
            cut -= 1;
        }
        snippet.truncate(cut);
        snippet.push('…');
    }
    let message = format!("HTTP {status}: {snippet}");
    if matches!(status, 408 | 425 | 429 | 500 | 502 | 503 | 504) {
        let retry_after = response.header("retry-after").and_then(parse_retry_after);
        return Some(PluginError::Retryable {
            message,
            retry_after,
        });
    }
    Some(PluginError::permanent(format!("http-{status}"), message))
}

/// `Retry-After` is either delta-seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Makes requests through the host. Get one from [`crate::Host::http`].
pub struct Http<'a> {
    backend: &'a dyn Backend,
}

impl<'a> Http<'a> {
    pub(crate) fn new(backend: &'a dyn Backend) -> Self {
        Self { backend }
    }

    /// A request with any method.
    pub fn request(&self, method: Method, url: impl Into<String>) -> RequestBuilder<'a> {
        RequestBuilder {
            backend: self.backend,
            request: HttpRequest {
                method,
                url: url.into(),
                headers: Vec::new(),
                body: None,
                timeout_ms: None,
            },
        }
    }

    /// A GET request.
    pub fn get(&self, url: impl Into<String>) -> RequestBuilder<'a> {
        self.request(Method::Get, url)
    }

    /// A POST request.
    pub fn post(&self, url: impl Into<String>) -> RequestBuilder<'a> {
        self.request(Method::Post, url)
    }

    /// A PATCH request.
    pub fn patch(&self, url: impl Into<String>) -> RequestBuilder<'a> {
        self.request(Method::Patch, url)
    }
}

/// A request being built.
pub struct RequestBuilder<'a> {
    backend: &'a dyn Backend,
    request: HttpRequest,
}

impl RequestBuilder<'_> {
    /// Adds a header. The value may contain [`secret`] placeholders.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request.headers.push((name.into(), value.into()));
        self
    }

    /// `Authorization: Bearer <secret>` with the secret substituted by the host.
    pub fn bearer_secret(self, secret_name: &str) -> Self {
        self.header("authorization", format!("Bearer {}", secret(secret_name)))
    }

    /// A JSON body (and its content type).
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self, PluginError> {
        self.request.body = Some(serde_json::to_vec(body)?);
        Ok(self.header("content-type", "application/json"))
    }

    /// A raw body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.request.body = Some(body.into());
        self
    }

    /// Asks for a timeout; the host never waits past the attempt's deadline.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.request.timeout_ms = Some(u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX));
        self
    }

    /// Sends the request and returns whatever status came back.
    pub fn send(self) -> Result<HttpResponse, HttpError> {
        self.backend.http(self.request)
    }

    /// Sends the request, classifies a non-2xx status, and decodes the JSON body.
    pub fn send_json<T: DeserializeOwned>(self) -> Result<T, PluginError> {
        self.send()?.error_for_status()?.json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)]) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: b"{\"error\":\"nope\"}".to_vec(),
        }
    }

    #[test]
    fn rate_limited_and_unavailable_are_retryable_with_retry_after() {
        let e = classify_status(&response(429, &[("Retry-After", "7")])).unwrap();
        assert_eq!(
            e,
            PluginError::Retryable {
                message: "HTTP 429: {\"error\":\"nope\"}".into(),
                retry_after: Some(Duration::from_secs(7)),
            }
        );
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        match classify_status(&response(503, &[("retry-after", &later)])).unwrap() {
            PluginError::Retryable {
                retry_after: Some(d),
                ..
            } => {
                assert!(
                    d > Duration::from_secs(100) && d <= Duration::from_secs(120),
                    "{d:?}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn client_errors_are_permanent_and_success_is_none() {
        let e = classify_status(&response(403, &[])).unwrap();
        assert!(matches!(e, PluginError::Permanent { ref code, .. } if code == "http-403"));
        assert!(classify_status(&response(404, &[])).is_some_and(|e| !e.is_retryable()));
        assert!(classify_status(&response(201, &[])).is_none());
    }

    #[test]
    fn host_refusals_are_permanent_and_network_trouble_retryable() {
        assert!(PluginError::from(HttpError::Timeout).is_retryable());
        assert!(PluginError::from(HttpError::Connection("refused".into())).is_retryable());
        assert!(!PluginError::from(HttpError::Denied("no".into())).is_retryable());
        assert!(!PluginError::from(HttpError::TooManyRequests(3)).is_retryable());
    }
}
