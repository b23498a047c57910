//! Applying definitions: idempotent, versioned, validated against the tenant's plugins.

use weft_engine::EngineError;
use weft_test_support::TENANT;

use crate::setup;

const DEF: &str = r#"
name: simple
steps:
  - id: one
    call: echo.echo
    input:
      message: ${input.text}
"#;

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn applying_the_same_text_twice_is_a_no_op_and_a_change_is_a_new_version(pool: sqlx::PgPool) {
    let (engine, _, _) = setup(pool).await;
    let first = engine.apply_definition(TENANT, DEF).await.unwrap();
    assert_eq!((first.version, first.created), (1, true));
    let again = engine.apply_definition(TENANT, DEF).await.unwrap();
    assert_eq!((again.version, again.created), (1, false));
    let changed = engine
        .apply_definition(TENANT, &DEF.replace("text", "body"))
        .await
        .unwrap();
    assert_eq!((changed.version, changed.created), (2, true));
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn definitions_calling_unknown_operations_are_refused_with_their_line(pool: sqlx::PgPool) {
    let (engine, _, _) = setup(pool).await;
    let bad = DEF.replace("echo.echo", "echo.shout");
    match engine.apply_definition(TENANT, &bad).await.unwrap_err() {
        EngineError::InvalidDefinition(errors) => {
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].line, 5);
            assert!(
                errors[0].message.contains("no operation `shout`"),
                "{}",
                errors[0]
            );
        }
        other => panic!("{other:?}"),
    }
    let err = engine.apply_definition("nobody", DEF).await.unwrap_err();
    assert!(matches!(err, EngineError::NotFound(_)), "{err}");
    let err = engine
        .start_run(TENANT, "simple", serde_json::json!({}), None)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotFound(_)), "{err}");
}

#[sqlx::test(migrator = "weft_store::MIGRATOR")]
async fn a_definition_that_would_expand_to_gigabytes_is_refused_unexpanded(pool: sqlx::PgPool) {
    let (engine, _, _) = crate::setup(pool).await;
    // One 100 KiB anchor, referenced 1,000 times: about 100 MB once expanded.
    let mut yaml = format!(
        "name: bomb\nkey: ${{input.order}}\nx: &big \"{}\"\nsteps:\n",
        "a".repeat(100 << 10)
    );
    for i in 0..1000 {
        yaml.push_str(&format!("  - id: s{i}\n    sleep: *big\n"));
    }
    match engine
        .apply_definition(weft_test_support::TENANT, &yaml)
        .await
    {
        Err(weft_engine::EngineError::InvalidDefinition(errors)) => {
            let text = errors.iter().map(ToString::to_string).collect::<String>();
            assert!(text.contains("anchor") || text.contains("alias"), "{text}");
        }
        other => panic!("expected the anchors to be refused: {other:?}"),
    }
}
