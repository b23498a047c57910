//! Values PostgreSQL cannot store (the character U+0000) fail the step that produced them or the
//! request that carried them, with a clear reason, instead of failing every commit and retry.

use serde_json::json;
use weft_engine::{EngineError, RunStatus};
use weft_test_support::{TENANT, plugin_bytes};

use crate::{setup, start, status};

const NUL_OUTPUT: &str = r#"
name: nul-output
key: ${input.order}
steps:
  - id: bad
    call: hostile.nul
    input: {}
"#;

const NUL_ERROR: &str = r#"
name: nul-error
key: ${input.order}
steps:
  - id: bad
    call: hostile.nul-error
    input: {}
"#;

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn plugin_output_and_errors_holding_nul_fail_their_step_and_nothing_else(pool: sqlx::PgPool) {
    let (engine, _, _) = setup(pool).await;
    engine
        .publish_plugin(TENANT, &plugin_bytes("weft_test_hostile"), true)
        .await
        .unwrap();

    let run = start(&engine, NUL_OUTPUT, json!({"order": "N1"})).await;
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Failed);
    let reason = engine.run(TENANT, run).await.unwrap().core.reason.unwrap();
    assert_eq!(reason.class, "bad-output");
    assert!(
        reason.message.contains("U+0000 at `/name`"),
        "{}",
        reason.message
    );

    let run = start(&engine, NUL_ERROR, json!({"order": "N2"})).await;
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Failed);
    let reason = engine.run(TENANT, run).await.unwrap().core.reason.unwrap();
    assert_eq!(reason.class, "plugin-permanent");
    assert!(
        reason.message.contains("before\u{FFFD}after"),
        "{}",
        reason.message
    );
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn run_inputs_and_signals_holding_nul_are_refused_as_invalid(pool: sqlx::PgPool) {
    let (engine, _, _) = setup(pool).await;
    engine
        .publish_plugin(TENANT, &plugin_bytes("weft_test_hostile"), true)
        .await
        .unwrap();
    engine.apply_definition(TENANT, NUL_OUTPUT).await.unwrap();
    let refused = engine
        .start_run(
            TENANT,
            "nul-output",
            json!({"order": "N3", "note": "a\u{0}"}),
            None,
        )
        .await;
    match refused {
        Err(EngineError::InvalidInput(m)) => assert!(m.contains("`/note`"), "{m}"),
        other => panic!("{other:?}"),
    }
    let run = start(&engine, NUL_OUTPUT, json!({"order": "N4"})).await;
    let refused = engine
        .signal(TENANT, run, "go", json!({"x": ["\u{0}"]}), None)
        .await;
    match refused {
        Err(EngineError::InvalidInput(m)) => assert!(m.contains("`/x/0`"), "{m}"),
        other => panic!("{other:?}"),
    }
    engine.run_until_idle().await.unwrap();
    assert_eq!(status(&engine, run).await, RunStatus::Failed);
}
