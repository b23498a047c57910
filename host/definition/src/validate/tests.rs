//! Tests of `compile`: the grammar, the reference rules, the catalog, and error positions.

use std::time::Duration;

use serde_json::json;

use crate::*;

/// Knows the operations of the README example, plus `shop.broken`, whose manifest names a
/// compensation that does not exist.
pub(super) struct TestCatalog;

impl Catalog for TestCatalog {
    fn operation(&self, plugin: &str, operation: &str) -> Result<Option<String>, String> {
        match (plugin, operation) {
            ("odoo", "create-sale-order") => Ok(Some("cancel-sale-order".into())),
            ("shop", "broken") => Ok(Some("undo-broken".into())),
            ("odoo", "ensure-partner" | "cancel-sale-order")
            | ("map", "order")
            | ("shop", "mark-shipped") => Ok(None),
            ("odoo" | "map" | "shop", _) => {
                Err(format!("plugin `{plugin}` has no operation `{operation}`"))
            }
            _ => Err(format!("plugin `{plugin}` is not pinned for this tenant")),
        }
    }
}

const EXAMPLE: &str = r"name: store-order-to-erp
version: 3
key: ${input.order.code}
steps:
  - id: customer
    call: odoo.ensure-partner
    input:
      email: ${input.order.customer.email}
      name: ${input.order.customer.name}
  - id: order_vals
    call: map.order
    input:
      order: ${input.order}
      partner_id: ${steps.customer.output.id}
  - id: sale_order
    call: odoo.create-sale-order
    input: ${steps.order_vals.output}
    retry: { max_attempts: 8, initial: 1s, multiplier: 2, max: 5m }
    timeout: 30s
  - id: shipped
    wait: { signal: shipped, timeout: 7d }
  - id: pause
    sleep: 10s
    when: ${steps.shipped.output.delayed}
  - id: tracking
    call: shop.mark-shipped
    input:
      order: ${input.order.code}
      tracking: ${steps.shipped.output.tracking}
";

pub(super) fn compiled(source: &str) -> Definition {
    match compile(source, &TestCatalog) {
        Ok(definition) => definition,
        Err(errors) => panic!("{errors:#?}"),
    }
}

pub(super) fn errors(source: &str) -> Vec<(usize, String)> {
    compile(source, &TestCatalog)
        .unwrap_err()
        .into_iter()
        .map(|e| (e.line, e.field))
        .collect()
}

/// The only error, checked to be at `line` and `field`; returns its message.
pub(super) fn error_at(source: &str, line: usize, field: &str) -> String {
    let errors = compile(source, &TestCatalog).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(
        (errors[0].line, errors[0].field.as_str()),
        (line, field),
        "{errors:#?}"
    );
    errors[0].message.clone()
}

/// `name: t`, then `steps:` on line 2, so the first step starts on line 3.
pub(super) fn steps(yaml: &str) -> String {
    format!("name: t\nsteps:\n{yaml}")
}

pub(super) fn reference(text: &str) -> Reference {
    Reference::parse(text).unwrap()
}

pub(super) fn call(definition: &Definition, index: usize) -> &Call {
    match &definition.steps[index].kind {
        StepKind::Call(call) => call,
        other => panic!("not a call: {other:?}"),
    }
}

#[test]
fn the_example_compiles_with_the_right_structure() {
    let d = compiled(EXAMPLE);
    assert_eq!(d.name, "store-order-to-erp");
    assert_eq!(d.key, Some(reference("${input.order.code}")));
    let ids: Vec<(&str, usize)> = d.steps.iter().map(|s| (s.id.as_str(), s.line)).collect();
    assert_eq!(
        ids,
        [
            ("customer", 5),
            ("order_vals", 10),
            ("sale_order", 15),
            ("shipped", 20),
            ("pause", 22),
            ("tracking", 25)
        ]
    );

    let customer = call(&d, 0);
    assert_eq!(
        (customer.plugin.as_str(), customer.operation.as_str()),
        ("odoo", "ensure-partner")
    );
    assert_eq!(
        customer.input,
        json!({ "email": "${input.order.customer.email}", "name": "${input.order.customer.name}" })
    );
    assert_eq!(customer.retry, RetryPolicy::default());
    assert_eq!((customer.timeout, &customer.compensate), (None, &None));

    let sale_order = call(&d, 2);
    assert_eq!(sale_order.input, json!("${steps.order_vals.output}"));
    assert_eq!(
        sale_order.retry,
        RetryPolicy {
            max_attempts: 8,
            initial: Duration::from_secs(1),
            multiplier: 2.0,
            max: Duration::from_secs(300),
            ..RetryPolicy::default()
        }
    );
    assert_eq!(sale_order.timeout, Some(Duration::from_secs(30)));
    assert_eq!(
        sale_order.compensate,
        Some(OperationRef {
            plugin: "odoo".into(),
            operation: "cancel-sale-order".into()
        }),
        "the manifest's compensation applies when `compensate:` is absent"
    );

    assert_eq!(
        d.steps[3].kind,
        StepKind::Wait {
            signal: "shipped".into(),
            timeout: Some(Duration::from_secs(7 * 86_400))
        }
    );
    assert_eq!(
        d.steps[4].kind,
        StepKind::Sleep {
            duration: Duration::from_secs(10)
        }
    );
    assert_eq!(
        d.steps[4].when,
        Some(reference("${steps.shipped.output.delayed}"))
    );
    assert_eq!(d.steps[5].when, None);
}

#[test]
fn a_compiled_definition_round_trips_through_json() {
    let d = compiled(EXAMPLE);
    let stored = serde_json::to_string(&d).unwrap();
    assert_eq!(serde_json::from_str::<Definition>(&stored).unwrap(), d);
}

#[test]
fn unknown_keys_are_named_with_the_allowed_ones() {
    let message = error_at(
        "name: t\nretries: 3\nsteps:\n  - id: a\n    sleep: 1s\n",
        2,
        "retries",
    );
    assert_eq!(
        message,
        "unknown key `retries`; allowed at the top level: name, version, key, steps"
    );
    let message = error_at(
        &steps("  - id: a\n    sleep: 1s\n    input: {}\n"),
        5,
        "steps[0].input",
    );
    assert_eq!(
        message,
        "unknown key `input`; allowed in a `sleep` step: id, when, sleep"
    );
    let message = error_at(
        &steps("  - id: a\n    call: map.order\n    retry:\n      attempts: 3\n"),
        6,
        "steps[0].retry.attempts",
    );
    assert!(message.starts_with("unknown key `attempts`; allowed in `retry`: max_attempts,"));
}

#[test]
fn a_duplicate_step_id_is_reported_on_the_second_step() {
    let message = error_at(
        &steps("  - id: a\n    sleep: 1s\n  - id: a\n    sleep: 2s\n"),
        5,
        "steps[1].id",
    );
    assert_eq!(message, "duplicate step id `a` (first on line 3)");
}

#[test]
fn a_missing_id_is_reported_on_the_step() {
    let message = error_at(
        &steps("  - sleep: 1s\n  -\n    sleep: 1s\n    id: b\n"),
        3,
        "steps[0].id",
    );
    assert_eq!(message, "missing `id`");
    error_at(&steps("  - id: a b\n    sleep: 1s\n"), 3, "steps[0].id");
}

#[test]
fn a_step_does_exactly_one_thing() {
    let message = error_at(
        &steps("  - id: a\n    call: map.order\n    sleep: 1s\n"),
        3,
        "steps[0]",
    );
    assert!(message.contains("has `call` and `sleep`"), "{message}");
    let message = error_at(&steps("  - id: a\n    when: ${input.x}\n"), 3, "steps[0]");
    assert_eq!(message, "a step needs one of `call`, `wait` or `sleep`");
}

#[test]
fn bad_durations_are_rejected_and_bare_integers_ask_for_a_unit() {
    let message = error_at(&steps("  - id: a\n    sleep: 1.5s\n"), 4, "steps[0].sleep");
    assert!(message.starts_with("`1.5s` is not a duration"), "{message}");
    let message = error_at(&steps("  - id: a\n    sleep: 30\n"), 4, "steps[0].sleep");
    assert_eq!(
        message,
        "`30` has no unit; write e.g. `30s` (units: ms, s, m, h, d)"
    );
    error_at(
        &steps("  - id: a\n    call: map.order\n    timeout: 0s\n"),
        5,
        "steps[0].timeout",
    );
    error_at(
        &steps("  - id: a\n    wait:\n      signal: s\n      timeout: 1w\n"),
        6,
        "steps[0].wait.timeout",
    );
}

#[test]
fn timers_past_a_year_and_step_timeouts_past_fifteen_minutes_are_refused() {
    let source = steps(
        "  - id: a\n    sleep: 366d\n  - id: b\n    wait: { signal: s, timeout: 999999999d }\n  - id: c\n    call: map.order\n    timeout: 16m\n",
    );
    assert_eq!(
        errors(&source),
        [
            (4, "steps[0].sleep".to_owned()),
            (6, "steps[1].wait.timeout".to_owned()),
            (9, "steps[2].timeout".to_owned()),
        ]
    );
    let message = error_at(&steps("  - id: a\n    sleep: 366d\n"), 4, "steps[0].sleep");
    assert_eq!(
        message,
        "`366d` is longer than the longest allowed, `365d` \
         (timers and retry delays are bounded to a year)"
    );
    compiled(&steps(
        "  - id: a\n    sleep: 365d\n  - id: b\n    wait: { signal: s, timeout: 8760h }\n  - id: c\n    call: map.order\n    timeout: 15m\n",
    ));
}

#[test]
fn wait_needs_a_well_formed_signal() {
    let message = error_at(
        &steps("  - id: a\n    wait: { timeout: 1d }\n"),
        4,
        "steps[0].wait.signal",
    );
    assert_eq!(message, "missing `signal`");
    error_at(
        &steps("  - id: a\n    wait: { signal: Shipped }\n"),
        4,
        "steps[0].wait.signal",
    );
    error_at(&steps("  - id: a\n    wait: shipped\n"), 4, "steps[0].wait");
}

#[test]
fn the_document_needs_a_good_name_and_steps() {
    assert_eq!(
        errors("version: x\n"),
        [
            (1, "name".to_owned()),
            (1, "version".to_owned()),
            (1, "steps".to_owned())
        ]
    );
    error_at(
        "name: Orders\nsteps:\n  - id: a\n    sleep: 1s\n",
        1,
        "name",
    );
    error_at("name: t\nsteps: []\n", 2, "steps");
    error_at("- a\n", 1, "(definition)");
}

#[test]
fn all_errors_are_collected_in_line_order() {
    let source = concat!(
        "name: t\n",                    // 1
        "steps:\n",                     // 2
        "  - id: a\n",                  // 3
        "    call: crm.find\n",         // 4: plugin not pinned
        "    input:\n",                 // 5
        "      x: ${steps.b.output}\n", // 6: no step `b`
        "  - id: a\n",                  // 7: duplicate id
        "    sleep: 5\n",               // 8: no unit
        "  - id: c\n",                  // 9
        "    wait: { signal: s }\n",    // 10
        "    input: 1\n",               // 11: not a key of a `wait` step
        "extra: true\n",                // 12: unknown key
    );
    assert_eq!(
        errors(source),
        [
            (4, "steps[0].call".to_owned()),
            (6, "steps[0].input.x".to_owned()),
            (7, "steps[1].id".to_owned()),
            (8, "steps[1].sleep".to_owned()),
            (11, "steps[2].input".to_owned()),
            (12, "extra".to_owned()),
        ]
    );
}
