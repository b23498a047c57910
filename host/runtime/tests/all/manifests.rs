//! Hostile manifests are refused at load, and output validation cannot take the host down.

use serde_json::json;
use weft_runtime::{LoadError, OutcomeClass};

use crate::support::{load, plugin_bytes, request, runtime};

#[tokio::test(flavor = "multi_thread")]
async fn an_output_schema_that_is_a_40000_link_ref_chain_is_refused_at_load() {
    let (rt, _) = runtime();
    let err = rt
        .load(&plugin_bytes("weft_test_hostile_manifest"))
        .await
        .unwrap_err();
    match err {
        // 40,000 links do not fit the manifest's size bound; the depth bound (which a shorter
        // chain meets) is proven on 30,000 links by the unit tests of `schema_bounds`.
        LoadError::BadManifest(message) => {
            assert!(message.contains("at most 1048576"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // The host is still up and runs other plugins.
    let hostile = load(&rt, "weft_test_hostile").await;
    let report = rt.invoke(&hostile, request("ok", json!({}))).await;
    assert_eq!(report.outcome.class(), OutcomeClass::Ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recursive_schema_validates_deep_output_without_overflowing() {
    let (rt, _) = runtime();
    let hostile = load(&rt, "weft_test_hostile").await;
    let report = rt
        .invoke(&hostile, request("deep-output", json!({"depth": 127})))
        .await;
    assert_eq!(
        report.outcome.class(),
        OutcomeClass::Ok,
        "{:?}",
        report.outcome
    );
}
