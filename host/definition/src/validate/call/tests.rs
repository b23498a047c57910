//! Tests of `call:` steps: the catalog, compensation and retry policies.

use std::time::Duration;

use crate::validate::tests::{call, compiled, error_at, errors, steps};

#[test]
fn unknown_plugins_and_operations_carry_the_catalogs_message() {
    let message = error_at(
        &steps("  - id: a\n    call: crm.find\n"),
        4,
        "steps[0].call",
    );
    assert_eq!(message, "plugin `crm` is not pinned for this tenant");
    let message = error_at(
        &steps("  - id: a\n    call: odoo.delete\n"),
        4,
        "steps[0].call",
    );
    assert_eq!(message, "plugin `odoo` has no operation `delete`");
    error_at(&steps("  - id: a\n    call: odoo\n"), 4, "steps[0].call");
}

#[test]
fn compensation_can_be_given_and_is_checked() {
    let d = compiled(&steps(
        "  - id: a\n    call: odoo.create-sale-order\n    compensate: shop.mark-shipped\n",
    ));
    assert_eq!(
        call(&d, 0)
            .compensate
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("shop.mark-shipped")
    );
    error_at(
        &steps("  - id: a\n    call: map.order\n    compensate: map.unorder\n"),
        5,
        "steps[0].compensate",
    );
    let message = error_at(
        &steps("  - id: a\n    call: shop.broken\n"),
        4,
        "steps[0].call",
    );
    assert!(
        message.starts_with(
            "the manifest names `shop.undo-broken` as the compensation of `shop.broken`"
        )
    );
}

#[test]
fn bad_retry_values_are_each_reported() {
    let source = steps(
        "  - id: a\n    call: map.order\n    retry:\n      max_attempts: 0\n      multiplier: 0.5\n      jitter: 2\n      non_retryable: [trap, plugin-permanent, oops]\n",
    );
    assert_eq!(
        errors(&source),
        [
            (6, "steps[0].retry.max_attempts".to_owned()),
            (7, "steps[0].retry.multiplier".to_owned()),
            (8, "steps[0].retry.jitter".to_owned()),
            (9, "steps[0].retry.non_retryable[1]".to_owned()),
            (9, "steps[0].retry.non_retryable[2]".to_owned()),
        ]
    );
    let message = error_at(
        &steps("  - id: a\n    call: map.order\n    retry: { initial: 10m }\n"),
        5,
        "steps[0].retry.initial",
    );
    assert_eq!(
        message,
        "initial (`10m`) is longer than max (`5m`, the default)"
    );
}

#[test]
fn retry_policies_past_their_ceilings_are_refused() {
    let source = steps(
        "  - id: a\n    call: map.order\n    retry:\n      max_attempts: 4294967295\n      initial: 400d\n      multiplier: 1000\n  - id: b\n    call: map.order\n    retry: { max_attempts: 101 }\n",
    );
    assert_eq!(
        errors(&source),
        [
            (6, "steps[0].retry.max_attempts".to_owned()),
            (7, "steps[0].retry.initial".to_owned()),
            (8, "steps[0].retry.multiplier".to_owned()),
            (11, "steps[1].retry.max_attempts".to_owned()),
        ]
    );
    let d = compiled(&steps(
        "  - id: a\n    call: map.order\n    retry: { max_attempts: 100, multiplier: 10, max: 365d }\n",
    ));
    assert_eq!(call(&d, 0).retry.max_attempts, 100);
}

#[test]
fn a_retried_step_waits_at_least_100ms_before_its_second_attempt() {
    let message = error_at(
        &steps("  - id: a\n    call: map.order\n    retry: { initial: 0ms, max: 0ms }\n"),
        5,
        "steps[0].retry.initial",
    );
    assert_eq!(
        message,
        "must be at least `100ms` when the step is retried (max_attempts > 1), so that a \
         failing remote is not called in a tight loop"
    );
    error_at(
        &steps(
            "  - id: a\n    call: map.order\n    retry: { max_attempts: 4294967295, initial: 99ms }\n",
        ),
        5,
        "steps[0].retry.max_attempts",
    );
    let d = compiled(&steps(
        "  - id: a\n    call: map.order\n    retry: { initial: 100ms, max: 100ms }\n",
    ));
    assert_eq!(call(&d, 0).retry.initial, Duration::from_millis(100));
}

#[test]
fn retry_accepts_zero_delays_without_retries_and_integer_or_float_numbers() {
    let d = compiled(&steps(
        "  - id: a\n    call: map.order\n    retry: { max_attempts: 1, initial: 0s, max: 0s, multiplier: 1, jitter: 0.5, non_retryable: [] }\n",
    ));
    let retry = &call(&d, 0).retry;
    assert_eq!(
        (retry.initial, retry.max, retry.multiplier, retry.jitter),
        (Duration::ZERO, Duration::ZERO, 1.0, 0.5)
    );
    assert!(retry.non_retryable.is_empty());
}
