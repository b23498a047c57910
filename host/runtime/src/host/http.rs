//! Outbound HTTP on a plugin's behalf: checked against the tenant's allow-list, secrets
//! substituted only where granted, time- and size-capped, audited, and secrets redacted from what
//! comes back.

use std::time::{Instant, SystemTime};

use crate::audit::{RefusedCalls, audit_url};
use crate::bindings::http::{Host, HttpError, Method, Request, Response};
use crate::egress::address;
use crate::outcome::{Outcome as AttemptOutcome, cap_message};
use crate::redact::Expired;
use crate::state::AttemptState;
use weft_concepts::{AuditOutcome, AuditRecord};

/// Why a call produced no response, and whether it left the host.
enum Failure {
    /// Refused before sending.
    Refused(HttpError),
    /// Sent, but no usable response.
    Failed(HttpError),
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
