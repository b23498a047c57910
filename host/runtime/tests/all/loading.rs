//! Loading: manifests, the compile cache, and components the host must refuse.

use weft_runtime::{LoadError, RuntimeConfig};

use crate::support::{config, load, plugin_bytes, runtime, runtime_with};

#[tokio::test(flavor = "multi_thread")]
async fn manifest_is_read_from_the_plugin() {
    let (rt, _) = runtime();
    let echo = load(&rt, "weft_test_echo").await;
    let m = echo.manifest();
    assert_eq!(echo.id(), "echo@0.1.0");
    assert_eq!(m.capabilities.secrets, vec!["api-key".to_owned()]);
    assert_eq!(m.capabilities.config_keys, vec!["greeting".to_owned()]);
    let fail = echo.operation("fail").unwrap();
    assert_eq!(fail.compensated_by.as_deref(), Some("echo"));
    let schema: serde_json::Value =
        serde_json::from_str(&echo.operation("echo").unwrap().input_schema).unwrap();
    assert_eq!(schema["properties"]["message"]["type"], "string");
    assert_eq!(
        echo.hash(),
        weft_runtime::sha256_hex(&plugin_bytes("weft_test_echo"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn compiled_plugins_are_reused_from_the_disk_cache() {
    let dir = std::env::temp_dir().join(format!("weft-cache-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = RuntimeConfig {
        cache_dir: Some(dir.clone()),
        ..config()
    };
    let (first, _) = runtime_with(cfg.clone());
    assert!(!load(&first, "weft_test_hostile").await.from_cache());
    let (second, _) = runtime_with(cfg);
    assert!(load(&second, "weft_test_hostile").await.from_cache());
    // A corrupt artifact is recompiled, not trusted.
    for entry in std::fs::read_dir(&dir).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    let (third, _) = runtime_with(RuntimeConfig {
        cache_dir: Some(dir.clone()),
        ..config()
    });
    assert!(!load(&third, "weft_test_hostile").await.from_cache());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_files_are_refused_with_a_clear_error() {
    let (rt, _) = runtime();
    let err = rt.load(b"definitely not wasm").await.unwrap_err();
    assert!(matches!(err, LoadError::Malformed(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("not a valid WebAssembly component"),
        "{err}"
    );

    let core_module = b"\0asm\x01\0\0\0";
    let err = rt.load(core_module).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("core WebAssembly module, not a component"),
        "{err}"
    );

    let mut truncated = plugin_bytes("weft_test_echo");
    truncated.truncate(truncated.len() / 2);
    assert!(matches!(
        rt.load(&truncated).await.unwrap_err(),
        LoadError::Malformed(_)
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn components_of_another_world_are_refused() {
    let (rt, _) = runtime();
    let err = rt
        .load(&plugin_bytes("weft_test_other_world"))
        .await
        .unwrap_err();
    assert!(matches!(err, LoadError::Incompatible(_)), "{err}");
    let text = err.to_string();
    assert!(text.contains("weft:plugin@0.1.0"), "{text}");
    assert!(
        text.contains("describe") || text.contains("invoke"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_files_are_refused_before_compiling() {
    let (rt, _) = runtime_with(RuntimeConfig {
        max_component_bytes: 1000,
        ..config()
    });
    let err = rt.load(&plugin_bytes("weft_test_echo")).await.unwrap_err();
    assert!(
        matches!(err, LoadError::TooLarge { limit: 1000, .. }),
        "{err}"
    );
}
