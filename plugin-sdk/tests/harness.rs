//! The native harness runs operations against real HTTP, with the host's secret handling.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly, like the tests"
)]

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weft_plugin_sdk::testing::TestHost;
use weft_plugin_sdk::{Host, HttpError, Plugin, PluginError};

#[derive(Deserialize, JsonSchema)]
struct Call {
    url: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Answer {
    status: u16,
    body: String,
}

fn call(host: &Host<'_>, input: Call) -> Result<Answer, PluginError> {
    let response = host
        .http()
        .post(input.url)
        .bearer_secret("token")
        .json(&serde_json::json!({"key": weft_plugin_sdk::secret("token")}))?
        .send()?
        .error_for_status()?;
    Ok(Answer {
        status: response.status,
        body: response.text(),
    })
}

fn plugin() -> Plugin {
    Plugin::new("harness-test", "1.2.3")
        .operation("call", "POSTs with a secret", call)
        .secret("token")
}

/// Serves one request: replies with `status` and, as the body, the request's headers and body.
fn serve_once(
    status: u16,
    extra: Option<(&'static str, &'static str)>,
) -> (String, std::thread::JoinHandle<()>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/x",
        server.server_addr().to_ip().unwrap().port()
    );
    let handle = std::thread::spawn(move || {
        let mut request = server.recv().unwrap();
        let mut body = String::new();
        request.as_reader().read_to_string(&mut body).unwrap();
        let auth = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("authorization"))
            .map(|h| h.value.to_string())
            .unwrap_or_default();
        let mut response =
            tiny_http::Response::from_string(format!("{auth} | {body}")).with_status_code(status);
        if let Some((k, v)) = extra {
            response = response.with_header(tiny_http::Header::from_bytes(k, v).unwrap());
        }
        request.respond(response).unwrap();
    });
    (url, handle)
}

#[test]
fn secrets_are_substituted_on_the_way_out_and_redacted_on_the_way_in() {
    let (url, server) = serve_once(200, None);
    let host = TestHost::new().with_secret("token", "tok-123456");
    let answer: Answer = host
        .invoke(&plugin(), "call", &serde_json::json!({ "url": url }))
        .unwrap();
    server.join().unwrap();
    assert_eq!(answer.status, 200);
    // The server saw the value; the plugin sees only placeholders.
    assert_eq!(
        answer.body,
        r#"Bearer {{secret:token}} | {"key":"{{secret:token}}"}"#
    );
    assert_eq!(host.requests().len(), 1);
}

#[test]
fn status_codes_are_classified_with_retry_after() {
    let (url, server) = serve_once(429, Some(("Retry-After", "9")));
    let host = TestHost::new().with_secret("token", "tok-123456");
    let err = host
        .invoke::<Answer>(&plugin(), "call", &serde_json::json!({ "url": url }))
        .unwrap_err();
    server.join().unwrap();
    match err {
        PluginError::Retryable {
            retry_after,
            message,
        } => {
            assert_eq!(retry_after, Some(Duration::from_secs(9)));
            assert!(!message.contains("tok-123456"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_secrets_and_placeholders_in_urls_are_refused() {
    let host = TestHost::new();
    let err = host
        .invoke::<Answer>(
            &plugin(),
            "call",
            &serde_json::json!({"url": "http://127.0.0.1:9/x"}),
        )
        .unwrap_err();
    assert!(
        matches!(&err, PluginError::Permanent { code, message }
        if code == "http-denied" && message.contains("`token`")),
        "{err:?}"
    );

    let probe = |host: &Host<'_>, _: serde_json::Value| -> Result<String, PluginError> {
        match host
            .http()
            .get("http://127.0.0.1:9/?k={{secret:token}}")
            .send()
        {
            Err(HttpError::InvalidRequest(m)) => Ok(m),
            other => Err(PluginError::permanent("unexpected", format!("{other:?}"))),
        }
    };
    let p = Plugin::new("probe", "0.1.0")
        .operation("probe", "", probe)
        .secret("token");
    let message: String = TestHost::new()
        .with_secret("token", "tok-123456")
        .invoke(&p, "probe", &serde_json::json!({}))
        .unwrap();
    assert!(message.contains("never in URLs"), "{message}");
}

#[test]
fn unknown_operations_and_bad_manifests_are_reported() {
    let host = TestHost::new();
    let err = host
        .invoke::<Answer>(&plugin(), "nope", &serde_json::json!({}))
        .unwrap_err();
    assert!(
        matches!(&err, PluginError::InvalidInput { message, .. } if message.contains("it has: call"))
    );

    let twice = Plugin::new("twice", "1.0.0")
        .operation("call", "", call)
        .operation("call", "", call)
        .compensated_by("undo");
    assert_eq!(
        host.describe(&twice).unwrap_err(),
        "operation `call` is declared twice"
    );
    let unversioned = Plugin::new("x", "latest");
    assert!(
        host.describe(&unversioned)
            .unwrap_err()
            .contains("not semantic")
    );
    let dangling = Plugin::new("x", "1.0.0")
        .operation("call", "", call)
        .compensated_by("undo");
    assert!(host.describe(&dangling).unwrap_err().contains("`undo`"));
    assert!(host.describe(&plugin()).is_ok());
}
