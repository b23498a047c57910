//! Tests of reference parsing, resolution and truthiness.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;

fn reference(text: &str) -> Reference {
    Reference::parse(text).unwrap()
}

#[test]
fn input_references_parse_into_keys_and_indexes() {
    assert_eq!(
        reference("${input.a.b[0]}"),
        Reference {
            root: Root::Input,
            path: vec![
                Segment::Key("a".into()),
                Segment::Key("b".into()),
                Segment::Index(0),
            ],
        }
    );
}

#[test]
fn step_references_name_their_step() {
    let r = reference("${steps.customer.output.id}");
    assert_eq!(r.root, Root::StepOutput("customer".into()));
    assert_eq!(r.path, [Segment::Key("id".into())]);
    assert_eq!(r.step(), Some("customer"));
    assert_eq!(reference("${input}").step(), None);
}

#[test]
fn references_print_as_they_were_written() {
    for text in [
        "${input}",
        "${input.order.lines[10][2].sku}",
        "${steps.order_vals.output}",
        "${steps.a-1.output.x_y[0]}",
    ] {
        assert_eq!(reference(text).to_string(), text);
    }
}

#[test]
fn malformed_references_say_what_is_wrong() {
    for (text, reason) in [
        ("input.a", "a reference is written"),
        ("${inputs.a}", "unexpected `s`"),
        ("${output.a}", "starts with `input` or `steps.<id>.output`"),
        ("${steps.a}", "`steps.a` must be followed by `.output`"),
        ("${steps..output}", "must be followed by a step id"),
        ("${input.}", "`.` must be followed by a name"),
        ("${input.a[x]}", "`[` must be followed by a whole number"),
        ("${input.a[01]}", "`[01]` is not an index"),
        ("${input. a}", "`.` must be followed by a name"),
        ("${input.a b}", "unexpected ` `"),
    ] {
        let e = Reference::parse(text).unwrap_err();
        assert_eq!(e.text, text);
        assert!(e.reason.contains(reason), "{text}: {}", e.reason);
    }
}

#[test]
fn strings_are_classified_as_literal_reference_or_embedded() {
    assert!(matches!(classify("plain"), Text::Literal));
    assert!(matches!(classify("${input.a}"), Text::Reference(Ok(_))));
    assert!(matches!(classify("${input.a"), Text::Reference(Err(_))));
    assert!(matches!(classify("order ${input.a}"), Text::Embedded));
    assert!(matches!(classify("${input.a}-${input.b}"), Text::Embedded));
    assert!(matches!(classify("${input.a}\n"), Text::Embedded));
}

fn outputs() -> BTreeMap<String, Value> {
    BTreeMap::from([
        (
            "customer".to_owned(),
            json!({ "id": 42, "tags": ["a", "b"] }),
        ),
        ("shipped".to_owned(), json!({ "delayed": false })),
    ])
}

#[test]
fn resolve_replaces_nested_references_with_any_json() {
    let input = json!({ "order": { "code": "SO1", "lines": [{ "sku": "X" }] } });
    let outputs = outputs();
    let scope = Scope {
        input: &input,
        outputs: &outputs,
    };
    let template = json!({
        "code": "${input.order.code}",
        "partner": { "id": "${steps.customer.output.id}", "tags": "${steps.customer.output.tags}" },
        "skus": ["${input.order.lines[0].sku}", "literal"],
        "${input.order.code}": 1,
        "n": 3,
    });
    assert_eq!(
        resolve(&template, &scope).unwrap(),
        json!({
            "code": "SO1",
            "partner": { "id": 42, "tags": ["a", "b"] },
            "skus": ["X", "literal"],
            "${input.order.code}": 1,
            "n": 3,
        })
    );
    assert_eq!(
        resolve(&json!("${input}"), &scope).unwrap(),
        input,
        "a whole template can be one reference"
    );
}

#[test]
fn resolve_reports_a_missing_path_with_the_reference_and_where_it_stopped() {
    let input = json!({ "order": { "lines": [] } });
    let outputs = outputs();
    let scope = Scope {
        input: &input,
        outputs: &outputs,
    };
    let missing = |template: Value| resolve(&template, &scope).unwrap_err().to_string();
    assert_eq!(
        missing(json!({ "p": ["${steps.customer.output.email}"] })),
        "${steps.customer.output.email} (at p[0]): `${steps.customer.output}` has no key `email`"
    );
    assert_eq!(
        missing(json!("${input.order.lines[0]}")),
        "${input.order.lines[0]}: `${input.order.lines}` has 0 items, so no [0]"
    );
    assert_eq!(
        missing(json!({ "x": "${steps.customer.output.id.value}" })),
        "${steps.customer.output.id.value} (at x): `${steps.customer.output.id}` is a number, \
         so it has no key `value`"
    );
    assert_eq!(
        missing(json!("${steps.pause.output}")),
        "${steps.pause.output}: step `pause` has no output (it did not run or was skipped)"
    );
    assert!(matches!(
        resolve(&json!("${nope}"), &scope),
        Err(ResolveError::Invalid(_))
    ));
}

#[test]
fn resolve_reference_finds_values_or_nothing() {
    let input = json!({ "a": [1, 2] });
    let outputs = outputs();
    let scope = Scope {
        input: &input,
        outputs: &outputs,
    };
    assert_eq!(
        resolve_reference(&reference("${input.a[1]}"), &scope),
        Some(&json!(2))
    );
    assert_eq!(
        resolve_reference(&reference("${steps.shipped.output.delayed}"), &scope),
        Some(&json!(false))
    );
    assert_eq!(resolve_reference(&reference("${input.b}"), &scope), None);
    assert_eq!(
        resolve_reference(&reference("${steps.nope.output}"), &scope),
        None
    );
}

#[test]
fn scopes_accept_hash_maps_too() {
    let input = json!(null);
    let outputs = std::collections::HashMap::from([("s".to_owned(), json!(1))]);
    let scope = Scope {
        input: &input,
        outputs: &outputs,
    };
    assert_eq!(
        resolve_reference(&reference("${steps.s.output}"), &scope),
        Some(&json!(1))
    );
}

#[test]
fn null_false_zero_empty_string_and_missing_are_falsy() {
    for v in [
        json!(null),
        json!(false),
        json!(0),
        json!(0.0),
        json!(-0.0),
        json!(""),
    ] {
        assert!(!is_truthy(Some(&v)), "{v}");
    }
    assert!(!is_truthy(None));
}

#[test]
fn everything_else_is_truthy_including_empty_collections() {
    for v in [
        json!(true),
        json!(1),
        json!(-0.5),
        json!("no"),
        json!("false"),
        json!([]),
        json!({}),
    ] {
        assert!(is_truthy(Some(&v)), "{v}");
    }
}
