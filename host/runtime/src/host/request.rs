//! Building an outbound request from what a plugin asked for: every check that happens before
//! anything leaves the host (placeholders in the URL, the allow-list, addresses, sizes, headers),
//! and secrets substituted only where granted, measured after substitution.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::time::SystemTime;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;
use weft_plugin_sdk::placeholder::{self, SubstituteError};

use crate::bindings::http::{HttpError, Request};
use crate::egress::address;
use crate::outcome::{Outcome as AttemptOutcome, cut_text};
use crate::state::AttemptState;

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

/// What substituting a request's placeholders found out.
#[derive(Default)]
struct Substitution {
    /// Names of the secrets substituted.
    sent: RefCell<BTreeSet<String>>,
    /// Why the secret asked for is too guessable to send, if it is.
    weak: RefCell<Option<String>>,
}

impl AttemptState {
    /// Every check that happens before anything leaves the host.
    pub(super) fn prepare(
        &mut self,
        request: &Request,
        method: &str,
    ) -> Result<reqwest::Request, HttpError> {
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
}

fn header_too_large(max: usize) -> HttpError {
    HttpError::InvalidRequest(format!(
        "a header value is over {max} bytes once secrets are substituted"
    ))
}
