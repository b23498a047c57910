//! What the engine accepts from its callers, checked before anything reaches PostgreSQL: sizes
//! (a value past them would be refused by the database with a raw error, or would bloat every
//! read of the run), U+0000 (which PostgreSQL cannot store), and business keys in one canonical
//! form (so `1`, `1.0` and ` 1 ` are one order, not three).

use crate::error::EngineError;

/// A run's input, serialized.
pub const MAX_RUN_INPUT_BYTES: usize = 1 << 20;
/// A business key. PostgreSQL's btree refuses index entries past ~2.7 KB with a raw error.
pub const MAX_BUSINESS_KEY_BYTES: usize = 512;
/// A signal's name.
pub const MAX_SIGNAL_NAME_BYTES: usize = 128;
/// A signal's payload, serialized: it becomes the waiting step's output, so it is bounded like
/// a plugin's output by default.
pub const MAX_SIGNAL_PAYLOAD_BYTES: usize = 1 << 20;
/// A signal's deduplication id (a webhook delivery id, say).
pub const MAX_SIGNAL_ID_BYTES: usize = 256;
/// Who performed an operator action.
pub const MAX_ACTOR_BYTES: usize = 200;
/// Why an operator acted.
pub const MAX_REASON_BYTES: usize = 2000;

/// Refuses a caller's value PostgreSQL cannot store (U+0000), naming where it is, or one whose
/// serialized form is past `max` bytes.
pub(crate) fn checked(
    what: &str,
    value: &serde_json::Value,
    max: usize,
) -> Result<(), EngineError> {
    if let Some(at) = weft_runtime::unstorable_at(value) {
        return Err(EngineError::InvalidInput(format!(
            "{what} holds the character U+0000 at `{}`, which cannot be stored; remove it",
            at.replace('\0', "\\u0000")
        )));
    }
    let size = serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
    if size > max {
        return Err(EngineError::InvalidInput(format!(
            "{what} is {size} bytes, more than the {max} accepted; send less (large documents \
             belong in the remote system, referenced by id)"
        )));
    }
    Ok(())
}

/// [`checked`] for a text.
pub(crate) fn checked_text(what: &str, text: &str, max: usize) -> Result<(), EngineError> {
    checked(what, &serde_json::Value::from(text), max)
}

/// A business key in its canonical form: surrounding whitespace removed; integers written
/// plainly (`1.0` and `1e3` from JSON are `1` and `1000`); other numbers, control characters and
/// empty keys refused.
pub(crate) fn business_key(value: &serde_json::Value) -> Result<String, EngineError> {
    let key = match value {
        serde_json::Value::String(s) => s.trim().to_owned(),
        serde_json::Value::Number(n) => integer(n).ok_or_else(|| {
            EngineError::InvalidInput(format!(
                "the business key {n} is not an integer; use a string or an integer"
            ))
        })?,
        other => {
            return Err(EngineError::InvalidInput(format!(
                "the business key must be a string or an integer, not {}",
                kind(other)
            )));
        }
    };
    if key.is_empty() {
        return Err(EngineError::InvalidInput(
            "the business key is empty".into(),
        ));
    }
    if key.chars().any(char::is_control) {
        return Err(EngineError::InvalidInput(
            "the business key holds control characters; remove them".into(),
        ));
    }
    checked_text("the business key", &key, MAX_BUSINESS_KEY_BYTES)?;
    Ok(key)
}

/// `n` as an integer, if it is one (`3`, `3.0`, `3e0`), exactly.
fn integer(n: &serde_json::Number) -> Option<String> {
    if let Some(i) = n.as_i64() {
        return Some(i.to_string());
    }
    if let Some(u) = n.as_u64() {
        return Some(u.to_string());
    }
    let f = n.as_f64()?;
    // Past 2^53 a float no longer holds every integer: `9007199254740993.0` would silently
    // become another key.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    (f.fract() == 0.0 && f.abs() <= EXACT).then(|| format!("{f:.0}"))
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn numbers_that_are_integers_make_one_key() {
        for v in [json!(1000), json!(1000.0), json!(1e3), json!(" 1000 ")] {
            assert_eq!(business_key(&v).unwrap(), "1000", "{v}");
        }
        assert_eq!(business_key(&json!(-7)).unwrap(), "-7");
    }

    #[test]
    fn keys_that_cannot_name_one_order_are_refused() {
        for v in [
            json!(1.5),
            json!(1e300),
            json!(""),
            json!("   "),
            json!("SO\u{7}1"),
            json!(null),
            json!(true),
            json!({"code": 1}),
            json!("k".repeat(MAX_BUSINESS_KEY_BYTES + 1)),
        ] {
            assert!(
                matches!(business_key(&v), Err(EngineError::InvalidInput(_))),
                "{v} was accepted"
            );
        }
    }

    #[test]
    fn values_past_their_bound_are_refused_with_their_size() {
        let big = json!({ "note": "x".repeat(100) });
        let err = checked("the run's input", &big, 50)
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than the 50 accepted"), "{err}");
        assert!(checked("the run's input", &big, 1000).is_ok());
    }
}
