//! Tests of references in definitions: where they may point, and how they must be written.

use serde_json::json;

use crate::validate::tests::{call, compiled, error_at, reference, steps};

#[test]
fn references_work_quoted_in_flow_style_and_unquoted_in_block_style() {
    let flow = compiled(&steps(
        "  - id: a\n    call: map.order\n    input: { e: \"${input.e}\", n: [\"${input.n}\"] }\n",
    ));
    let block = compiled(&steps(
        "  - id: a\n    call: map.order\n    input:\n      e: ${input.e}\n      n:\n        - ${input.n}\n",
    ));
    assert_eq!(
        call(&flow, 0).input,
        json!({ "e": "${input.e}", "n": ["${input.n}"] })
    );
    assert_eq!(call(&block, 0).input, call(&flow, 0).input);
}

#[test]
fn an_unquoted_reference_in_flow_style_is_an_error_with_advice_not_a_wrong_value() {
    let message = error_at(
        &steps("  - id: a\n    call: map.order\n    input: { email: ${input.email} }\n"),
        5,
        "(yaml)",
    );
    assert!(
        message.contains("must be quoted") && message.contains("block style"),
        "{message}"
    );
}

#[test]
fn a_reference_to_a_later_step_is_an_error() {
    let source = steps(
        "  - id: a\n    call: map.order\n    input:\n      x: ${steps.b.output.x}\n  - id: b\n    sleep: 1s\n",
    );
    let message = error_at(&source, 6, "steps[0].input.x");
    assert!(
        message.contains("step `b` comes later (line 7)"),
        "{message}"
    );
}

#[test]
fn a_reference_to_an_unknown_step_is_an_error() {
    let source = steps("  - id: a\n    sleep: 1s\n    when: ${steps.nope.output}\n");
    let message = error_at(&source, 5, "steps[0].when");
    assert_eq!(message, "`${steps.nope.output}`: there is no step `nope`");
}

#[test]
fn a_step_cannot_read_its_own_output_or_a_sleeps() {
    let own = steps("  - id: a\n    call: map.order\n    input: ${steps.a.output}\n");
    assert!(error_at(&own, 5, "steps[0].input").contains("its own output"));
    let sleep = steps(
        "  - id: a\n    sleep: 1s\n  - id: b\n    call: map.order\n    input: [\"${steps.a.output}\"]\n",
    );
    assert!(error_at(&sleep, 7, "steps[1].input[0]").contains("`sleep` step, which has no output"));
}

#[test]
fn the_key_may_only_reference_the_input() {
    let source = "name: t\nkey: ${steps.a.output.id}\nsteps:\n  - id: a\n    sleep: 1s\n";
    assert!(error_at(source, 2, "key").contains("may only reference `input`"));
    error_at(
        "name: t\nkey: order\nsteps:\n  - id: a\n    sleep: 1s\n",
        2,
        "key",
    );
}

#[test]
fn text_around_a_reference_is_rejected() {
    let source =
        steps("  - id: a\n    call: map.order\n    input:\n      subject: Order ${input.code}\n");
    let message = error_at(&source, 6, "steps[0].input.subject");
    assert_eq!(
        message,
        "a reference must be the whole value; put formatting in a mapping plugin"
    );
    let source = steps("  - id: a\n    call: map.order\n    input:\n      x: ${input.a b}\n");
    assert!(error_at(&source, 6, "steps[0].input.x").contains("is not a valid reference"));
}

#[test]
fn a_wait_steps_output_is_the_signal_payload_and_can_be_referenced() {
    let d = compiled(&steps(
        "  - id: w\n    wait: { signal: s }\n  - id: c\n    call: map.order\n    input: ${steps.w.output.tracking}\n    when: ${steps.w.output}\n",
    ));
    assert_eq!(d.steps[1].when, Some(reference("${steps.w.output}")));
}

#[test]
fn a_reference_written_without_its_dollar_gets_advice() {
    let source = steps("  - id: a\n    sleep: 1s\n    when: {input.go}\n");
    let message = error_at(&source, 5, "steps[0].when");
    assert!(
        message.starts_with("expected one reference such as `${input.x}`, found a mapping"),
        "{message}"
    );
}
