//! Tests of the YAML tree: lines, scalar types, and what is refused before validation.

use super::*;

fn parsed(source: &str) -> Node {
    parse(source).unwrap()
}

fn error(source: &str) -> DefinitionError {
    let errors = parse(source).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.into_iter().next().unwrap()
}

#[test]
fn nodes_carry_the_line_they_start_on() {
    let node = parsed("# comment\nname: a\nsteps:\n  - id: x\n    sleep: 1s\n");
    let Value::Map(entries) = node.value else {
        panic!("not a mapping")
    };
    assert_eq!(entries[0].key, "name");
    assert_eq!(entries[0].key_line, 2);
    assert_eq!(entries[1].value.line, 4);
    let Value::Seq(steps) = &entries[1].value.value else {
        panic!("not a list")
    };
    assert_eq!(steps[0].line, 4);
    let Value::Map(step) = &steps[0].value else {
        panic!("not a mapping")
    };
    assert_eq!(step[1].value.line, 5);
    assert_eq!(step[1].value.value, Value::Str("1s".into()));
}

#[test]
fn scalars_keep_their_yaml_types() {
    let node = parsed("a: 1\nb: 1.5\nc: true\nd: ~\ne: \"1\"\nf: ${input.x}\n");
    let Value::Map(entries) = node.value else {
        panic!("not a mapping")
    };
    let values: Vec<Value> = entries.into_iter().map(|e| e.value.value).collect();
    assert_eq!(
        values,
        [
            Value::Int(1),
            Value::Float(1.5),
            Value::Bool(true),
            Value::Null,
            Value::Str("1".into()),
            Value::Str("${input.x}".into()),
        ]
    );
}

#[test]
fn duplicate_keys_are_an_error_on_the_second_key() {
    let e = error("name: a\nsteps: []\nname: b\n");
    assert_eq!((e.line, e.field.as_str()), (3, "(yaml)"));
    assert_eq!(e.message, "duplicate key `name`");
}

#[test]
fn keys_equal_as_text_are_duplicates() {
    let e = error("a:\n  1: x\n  \"1\": y\n");
    assert_eq!((e.line, e.field.as_str()), (3, "(yaml)"));
}

#[test]
fn syntax_errors_name_the_scanner_line() {
    let e = error("name: a\nsteps: [1,\n");
    assert_eq!((e.line, e.field.as_str()), (3, "(yaml)"));
}

#[test]
fn an_unquoted_reference_in_a_flow_mapping_gets_advice() {
    let e = error("steps:\n  - input: { email: ${input.email} }\n");
    assert_eq!((e.line, e.field.as_str()), (2, "(yaml)"));
    assert!(e.message.contains("must be quoted"), "{}", e.message);
    assert!(e.message.contains("block style"), "{}", e.message);
}

#[test]
fn a_quoted_reference_in_a_flow_mapping_is_a_string() {
    let node = parsed("input: { email: \"${input.email}\" }\n");
    let Value::Map(entries) = node.value else {
        panic!("not a mapping")
    };
    let Value::Map(input) = &entries[0].value.value else {
        panic!("not a mapping")
    };
    assert_eq!(input[0].value.value, Value::Str("${input.email}".into()));
}

#[test]
fn only_one_document_is_allowed() {
    let e = error("name: a\n---\nname: b\n");
    assert_eq!((e.line, e.field.as_str()), (3, "(yaml)"));
}

#[test]
fn an_empty_source_is_an_error() {
    let e = error("# nothing\n");
    assert_eq!(e.message, "the definition is empty");
}

#[test]
fn tags_and_non_json_numbers_are_rejected_with_their_path() {
    let errors = parse("a: !custom x\nb:\n  - .nan\n").unwrap_err();
    let found: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.field.as_str())).collect();
    assert_eq!(found, [(1, "a"), (3, "b[0]")]);
}

#[test]
fn anchors_and_aliases_are_refused_where_they_stand() {
    let e = error("name: a\nx: &big \"text\"\ny: *big\n");
    assert_eq!((e.line, e.field.as_str()), (2, "(yaml)"));
    assert_eq!(
        e.message,
        "YAML anchors (`&name`) are not supported; write the value out in full"
    );
    let e = error("a:\n  - &m { k: v }\n");
    assert_eq!((e.line, e.field.as_str()), (2, "(yaml)"));
    let e = error("a: *nowhere\n");
    assert_eq!((e.line, e.field.as_str()), (1, "(yaml)"));
}

#[test]
fn an_alias_bomb_is_refused_before_anything_is_copied() {
    // 64 KiB behind an anchor and 30,000 aliases to it: about 1.9 GiB once expanded, in a
    // source under the size cap.
    let mut source = format!("a: &x \"{}\"\nb:\n", "y".repeat(64 << 10));
    for _ in 0..30_000 {
        source.push_str("- *x\n");
    }
    assert!(source.len() <= MAX_SOURCE_BYTES);
    let e = error(&source);
    assert_eq!((e.line, e.field.as_str()), (1, "(yaml)"));
}

#[test]
fn a_source_past_256_kib_is_refused_unread() {
    let source = format!("name: a\n# {}\n", "x".repeat(MAX_SOURCE_BYTES));
    let e = error(&source);
    assert_eq!((e.line, e.field.as_str()), (1, "(definition)"));
    assert!(e.message.contains("at most 262144"), "{}", e.message);
    let fits = format!("name: a\n#{}\n", "x".repeat(MAX_SOURCE_BYTES - 10));
    assert_eq!(fits.len(), MAX_SOURCE_BYTES);
    parsed(&fits);
}

#[test]
fn nesting_past_the_depth_limit_is_refused() {
    let deep = |n: usize| format!("a: {}{}\n", "[".repeat(n), "]".repeat(n));
    parsed(&deep(MAX_DEPTH - 1));
    let e = error(&deep(MAX_DEPTH));
    assert_eq!((e.line, e.field.as_str()), (1, "(yaml)"));
    let mut block = String::new();
    for level in 0..=MAX_DEPTH {
        block.push_str(&" ".repeat(level * 2));
        block.push_str("- \n");
    }
    let e = error(&block);
    assert_eq!(e.field, "(yaml)");
    assert!(
        e.message.contains("nested more than 64 deep"),
        "{}",
        e.message
    );
}

#[test]
fn paths_quote_keys_that_are_not_plain_names() {
    assert_eq!(key_path("", "steps"), "steps");
    assert_eq!(key_path(&index_path("steps", 2), "retry"), "steps[2].retry");
    assert_eq!(key_path("input", "a.b"), "input[\"a.b\"]");
}
