//! Input decoding with the path to the offending field, and output encoding.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::PluginError;

/// Decodes an operation's input. A mismatch becomes [`PluginError::InvalidInput`] naming the field
/// (`order.lines[2].qty`), so that an operator sees which value of which record to fix.
pub fn decode_input<T: DeserializeOwned>(input: &str) -> Result<T, PluginError> {
    let mut de = serde_json::Deserializer::from_str(input);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        if path == "." {
            PluginError::invalid_input(message)
        } else {
            PluginError::invalid_field(path, message)
        }
    })?;
    // Reject trailing garbage the way serde_json::from_str does.
    de.end()
        .map_err(|e| PluginError::invalid_input(e.to_string()))?;
    Ok(value)
}

/// Encodes an operation's output.
pub fn encode_output<T: Serialize>(output: &T) -> Result<String, PluginError> {
    serde_json::to_string(output)
        .map_err(|e| PluginError::permanent("bad-output", format!("cannot encode output: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code, reason = "fields are only decoded")]
    struct Order {
        code: String,
        lines: Vec<Line>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code, reason = "fields are only decoded")]
    struct Line {
        sku: String,
        qty: u32,
    }

    #[test]
    fn invalid_input_names_the_nested_field() {
        let err = decode_input::<Order>(
            r#"{"code":"A1","lines":[{"sku":"x","qty":1},{"sku":"y","qty":-2}]}"#,
        )
        .unwrap_err();
        match err {
            PluginError::InvalidInput { field, message } => {
                assert_eq!(field.as_deref(), Some("lines[1].qty"));
                assert!(message.contains("-2"), "{message}");
            }
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn missing_field_and_non_json_are_invalid_input() {
        let err = decode_input::<Order>(r#"{"lines":[]}"#).unwrap_err();
        assert!(
            matches!(&err, PluginError::InvalidInput { message, .. } if message.contains("code"))
        );
        let err = decode_input::<Order>("not json").unwrap_err();
        assert!(matches!(err, PluginError::InvalidInput { field: None, .. }));
        let err = decode_input::<Order>(r#"{"code":"a","lines":[]} x"#).unwrap_err();
        assert!(matches!(err, PluginError::InvalidInput { .. }));
    }
}
