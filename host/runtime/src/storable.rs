//! What PostgreSQL can store. Its `text` and `jsonb` cannot hold the character U+0000, so a value
//! carrying one would fail the commit of whatever step produced it, again at every retry. Plugin
//! outputs with one are refused as bad output; messages have it replaced.

/// Where in `value` the first U+0000 is (a JSON pointer), in a key or a string; `None` if the
/// value can be stored.
pub fn unstorable_at(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => s.contains('\0').then(String::new),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| unstorable_at(v).map(|path| format!("/{i}{path}"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let key = k.replace('~', "~0").replace('/', "~1");
            if k.contains('\0') {
                Some(format!("/{key}"))
            } else {
                unstorable_at(v).map(|path| format!("/{key}{path}"))
            }
        }),
        _ => None,
    }
}

/// `text` with every U+0000 replaced by U+FFFD.
pub(crate) fn storable_text(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_the_nul_character_in_keys_strings_and_nested_values() {
        assert_eq!(
            unstorable_at(&json!({"a": [1, "ok", {"b/c": "x\u{0}"}]})).as_deref(),
            Some("/a/2/b~1c")
        );
        assert_eq!(
            unstorable_at(&json!({"k\u{0}": 1})).as_deref(),
            Some("/k\u{0}")
        );
        assert_eq!(unstorable_at(&json!("\u{0}")).as_deref(), Some(""));
        assert_eq!(
            unstorable_at(&json!({"text": "\\u0000 is fine as text"})),
            None
        );
    }

    #[test]
    fn messages_keep_everything_but_the_nul_character() {
        assert_eq!(storable_text("a\u{0}b".into()), "a\u{FFFD}b");
        assert_eq!(storable_text("plain".into()), "plain");
    }
}
