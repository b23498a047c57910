//! Outbound HTTP on a plugin's behalf: checked against the tenant's allow-list, secrets
//! substituted only where granted, time- and size-capped, audited, and secrets redacted from what
//! comes back.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::time::{Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;
use weft_plugin_sdk::placeholder::{self, SubstituteError};

use crate::audit::{RefusedCalls, audit_url};
use crate::bindings::http::{Host, HttpError, Method, Request, Response};
use crate::egress::address;
use crate::outcome::{Outcome as AttemptOutcome, cap_message, cut_text};
use crate::redact::Expired;
use crate::state::AttemptState;
use weft_concepts::{AuditOutcome, AuditRecord};

/// Most headers one request may carry. `HeaderMap` panics past 32,768 entries; far fewer are
/// ever needed.
const MAX_REQUEST_HEADERS: usize = 100;
/// Longest header name.
const MAX_HEADER_NAME_BYTES: usize = 256;
/// Longest header value, secrets substituted.
const MAX_HEADER_VALUE_BYTES: usize = 8 << 10;

/// The code of the outcome that ends an attempt asking for a secret too guessable to send.
const WEAK_SECRET: &str = "weak-secret";

/// Longest piece of a plugin's own text (a URL, a header name) quoted back in an error message.
const MAX_QUOTED_BYTES: usize = 256;

/// Headers a plugin may not set: the host owns framing and routing.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
];

/// Why a call produced no response, and whether it left the host.
enum Failure {
    /// Refused before sending.
    Refused(HttpError),
    /// Sent, but no usable response.
    Failed(HttpError),
}

/// What substituting a request's placeholders found out.
#[derive(Default)]
struct Substitution {
    /// Names of the secrets substituted.
    sent: RefCell<BTreeSet<String>>,
    /// Why the secret asked for is too guessable to send, if it is.
    weak: RefCell<Option<String>>,
}

struct Outcome {
    result: Result<Response, Failure>,
    status: Option<u16>,
    response_bytes: u64,
}

impl Host for AttemptState {
    async fn send(&mut self, request: Request) -> wasmtime::Result<Result<Response, HttpError>> {
        let at = self.services.now();
        let started = Instant::now();
        let method = method_name(request.method);
        self.http_calls = self.http_calls.saturating_add(1);
        if self.http_calls > self.limits.max_http_calls {
            self.refuse_over_limit(at, method, request.url);
            self.check_deadline()?;
            return Ok(Err(HttpError::TooManyRequests(self.limits.max_http_calls)));
        }
        let request_bytes = request.body.as_ref().map_or(0, |b| b.len() as u64);
        let id = uuid::Uuid::new_v4();
        let prepared = match self.prepare(&request, method) {
            Ok(prepared) => self
                .announce(id, at, method, &request.url, request_bytes)
                .await
                .map(|()| prepared),
            Err(e) => Err(e),
        };
        let outcome = match prepared {
            Ok(prepared) => self.perform(prepared).await,
            Err(e) => Outcome {
                result: Err(Failure::Refused(e)),
                status: None,
                response_bytes: 0,
            },
        };
        let (audit_outcome, result) = match outcome.result {
            Ok(response) => (AuditOutcome::Completed, Ok(response)),
            Err(Failure::Refused(e)) => (AuditOutcome::Refused(self.detail(&e)), Err(e)),
            Err(Failure::Failed(e)) => (AuditOutcome::Failed(self.detail(&e)), Err(e)),
        };
        let url = audit_url(self.grants.redact(request.url));
        let record = AuditRecord {
            status: outcome.status,
            request_bytes,
            response_bytes: outcome.response_bytes,
            duration: started.elapsed(),
            ..self.audit_record(id, at, method, url, audit_outcome)
        };
        self.record(record);
        if let Some(outcome) = self.ended.clone() {
            return Err(self.end(outcome));
        }
        // The host's work for this call (substitution, reading and redacting the response)
        // counts against the attempt's wall time like the plugin's own.
        self.check_deadline()?;
        Ok(result)
    }
}

impl AttemptState {
    fn record(&mut self, record: AuditRecord) {
        self.services.audit.record(record.clone());
        self.calls.push(record);
    }

    /// What an audit record says about a failed call: redacted, storable, capped.
    fn detail(&self, e: &HttpError) -> String {
        cap_message(self.grants.redact(describe(e)))
    }

    /// Counts a call refused past `max_http_calls`; only the first one's URL is kept.
    fn refuse_over_limit(&mut self, at: SystemTime, method: &'static str, url: String) {
        match &mut self.refused_over_limit {
            Some(refused) => refused.count = refused.count.saturating_add(1),
            None => {
                self.refused_over_limit = Some(RefusedCalls {
                    at,
                    method,
                    url: audit_url(self.grants.redact(url)),
                    count: 1,
                });
            }
        }
    }

    /// Records the summary of the calls refused past `max_http_calls`, if any. Called once, when
    /// the attempt ends.
    pub(crate) fn close_refused_calls(&mut self) {
        let Some(refused) = self.refused_over_limit.take() else {
            return;
        };
        let outcome = AuditOutcome::Refused(refused.detail(self.limits.max_http_calls));
        let record = self.audit_record(
            uuid::Uuid::new_v4(),
            refused.at,
            refused.method,
            refused.url,
            outcome,
        );
        self.record(record);
    }

    /// Every check that happens before anything leaves the host.
    fn prepare(&mut self, request: &Request, method: &str) -> Result<reqwest::Request, HttpError> {
        let substitution = Substitution::default();
        let prepared = self.build_request(request, method, &substitution);
        if let Some(why) = substitution.weak.into_inner() {
            // Not an error the plugin may work around: the operator must set a stronger secret.
            self.end(AttemptOutcome::PluginPermanent {
                code: WEAK_SECRET.into(),
                message: why.clone(),
            });
            return Err(HttpError::Denied(why));
        }
        if prepared.is_ok() {
            let sent = substitution.sent.into_inner();
            self.grants.mark_sent(sent.iter().map(String::as_str));
        }
        prepared
    }

    fn build_request(
        &self,
        request: &Request,
        method: &str,
        substitution: &Substitution,
    ) -> Result<reqwest::Request, HttpError> {
        if placeholder::contains_placeholder(request.url.as_bytes()) {
            return Err(HttpError::InvalidRequest(
                "secret placeholders are substituted in header values and bodies only, never in \
                 URLs (where proxies and logs would keep them)"
                    .into(),
            ));
        }
        let url = Url::parse(&request.url).map_err(|e| {
            HttpError::InvalidRequest(format!(
                "bad URL `{}`: {e}",
                cut_text(request.url.clone(), MAX_QUOTED_BYTES)
            ))
        })?;
        let rule = self
            .grants
            .egress
            .check(method, &url)
            .map_err(HttpError::Denied)?;
        if !self.allow_private_egress {
            address::check_literal(&url).map_err(HttpError::Denied)?;
        }
        let body = request.body.as_deref().unwrap_or_default();
        let max_body = self.limits.max_http_body_bytes;
        if body.len() as u64 > max_body {
            return Err(HttpError::RequestTooLarge(max_body));
        }
        let host = url.host_str().unwrap_or_default().to_owned();
        let Substitution { sent, weak } = substitution;
        let grants = &self.grants;
        let lookup = |name: &str| {
            let pinned_ok = rule
                .secrets
                .as_ref()
                .is_none_or(|s| s.iter().any(|n| n == name));
            let value = grants
                .secrets
                .get(name)
                .filter(|_| pinned_ok)
                .map(|v| v.expose().as_bytes())?;
            if let Some(why) = grants.weak_secret(name) {
                weak.replace(Some(why));
                return None;
            }
            sent.borrow_mut().insert(name.to_owned());
            Some(value)
        };
        let substitute = |text: &[u8], max: usize, too_large: fn(usize) -> HttpError| {
            placeholder::substitute_within(text, lookup, max).map_err(|e| match e {
                SubstituteError::NotGranted(name) => match &*weak.borrow() {
                    Some(why) => HttpError::Denied(why.clone()),
                    None => HttpError::Denied(format!(
                        "secret `{name}` is not granted to this plugin for {host}"
                    )),
                },
                SubstituteError::Unterminated => {
                    HttpError::InvalidRequest("unterminated `{{secret:` placeholder".into())
                }
                SubstituteError::TooLarge(max) => too_large(max),
            })
        };
        if request.headers.len() > MAX_REQUEST_HEADERS {
            return Err(HttpError::InvalidRequest(format!(
                "{} headers; at most {MAX_REQUEST_HEADERS} are allowed",
                request.headers.len()
            )));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &request.headers {
            if name.len() > MAX_HEADER_NAME_BYTES {
                return Err(HttpError::InvalidRequest(format!(
                    "a header name is over {MAX_HEADER_NAME_BYTES} bytes"
                )));
            }
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                HttpError::InvalidRequest(format!(
                    "bad header name `{}`",
                    cut_text(name.clone(), MAX_QUOTED_BYTES)
                ))
            })?;
            if RESERVED_HEADERS.contains(&name.as_str()) {
                return Err(HttpError::InvalidRequest(format!(
                    "header `{name}` is set by the host"
                )));
            }
            let value = HeaderValue::from_bytes(&substitute(
                value.as_bytes(),
                MAX_HEADER_VALUE_BYTES,
                header_too_large,
            )?)
            .map_err(|_| HttpError::InvalidRequest(format!("bad value for header `{name}`")))?;
            headers.append(name, value);
        }
        // The size that counts is the one after substitution: checked while expanding.
        let body = if request.body.is_some() {
            let max = usize::try_from(max_body).unwrap_or(usize::MAX);
            Some(substitute(body, max, |max| {
                HttpError::RequestTooLarge(max as u64)
            })?)
        } else {
            None
        };
        let remaining = self
            .grants
            .deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        if remaining.is_zero() {
            return Err(HttpError::Timeout);
        }
        let asked = request
            .timeout_ms
            .map(|ms| std::time::Duration::from_millis(ms.into()));
        let timeout = [Some(self.limits.http_timeout), Some(remaining), asked]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(remaining);
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| HttpError::InvalidRequest("bad method".into()))?;
        let mut builder = self
            .http_client
            .request(method, url)
            .headers(headers)
            .timeout(timeout);
        if let Some(body) = body {
            builder = builder.body(body);
        }
        builder
            .build()
            .map_err(|e| HttpError::InvalidRequest(e.to_string()))
    }

    /// Sends, reads the body up to the cap, and redacts secrets from what came back.
    async fn perform(&mut self, request: reqwest::Request) -> Outcome {
        let failed = |e: HttpError, status: Option<u16>, bytes: u64| Outcome {
            result: Err(Failure::Failed(e)),
            status,
            response_bytes: bytes,
        };
        let mut response = match self.http_client.execute(request).await {
            Ok(r) => r,
            Err(e) => {
                // A name that resolved to non-public addresses only: refused, not sent.
                if let Some(reason) = address::refusal(&e) {
                    return Outcome {
                        result: Err(Failure::Refused(HttpError::Denied(reason))),
                        status: None,
                        response_bytes: 0,
                    };
                }
                return failed(self.transport_error(&e), None, 0);
            }
        };
        let status = response.status().as_u16();
        let cap = self.limits.max_http_body_bytes;
        if response.content_length().is_some_and(|n| n > cap) {
            return failed(HttpError::ResponseTooLarge(cap), Some(status), 0);
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if (body.len() + chunk.len()) as u64 > cap {
                        return failed(
                            HttpError::ResponseTooLarge(cap),
                            Some(status),
                            body.len() as u64,
                        );
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return failed(self.transport_error(&e), Some(status), body.len() as u64),
            }
        }
        let response_bytes = body.len() as u64;
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (
                    name.as_str().to_owned(),
                    self.grants.redact_for_plugin(value),
                )
            })
            .collect();
        let body = match self.grants.redact_body(&body) {
            Ok(redacted) => redacted.unwrap_or(body),
            Err(Expired) => {
                let outcome = AttemptOutcome::Timeout {
                    limit: self.limits.wall_time,
                };
                self.end(outcome);
                return failed(HttpError::Timeout, Some(status), response_bytes);
            }
        };
        Outcome {
            result: Ok(Response {
                status,
                headers,
                body,
            }),
            status: Some(status),
            response_bytes,
        }
    }

    fn transport_error(&self, e: &reqwest::Error) -> HttpError {
        if e.is_timeout() {
            return HttpError::Timeout;
        }
        // reqwest's message names the URL, which never holds a secret; redact anyway.
        let mut message = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        HttpError::Connection(self.grants.redact_for_plugin(message))
    }
}

fn header_too_large(max: usize) -> HttpError {
    HttpError::InvalidRequest(format!(
        "a header value is over {max} bytes once secrets are substituted"
    ))
}

fn method_name(method: Method) -> &'static str {
    match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
        Method::Options => "OPTIONS",
    }
}

fn describe(e: &HttpError) -> String {
    match e {
        HttpError::Denied(m) => format!("denied: {m}"),
        HttpError::InvalidRequest(m) => format!("invalid request: {m}"),
        HttpError::Timeout => "timeout".into(),
        HttpError::Connection(m) => format!("connection: {m}"),
        HttpError::RequestTooLarge(n) => format!("request body over {n} bytes"),
        HttpError::ResponseTooLarge(n) => format!("response body over {n} bytes"),
        HttpError::TooManyRequests(n) => format!("over {n} calls in one attempt"),
    }
}
