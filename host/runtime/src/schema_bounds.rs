//! Bounds on a plugin's declared output schemas, checked at load before anything compiles them:
//! a schema is followed by the validator recursively, `$ref` links included, so a schema that is
//! a chain of tens of thousands of links would overflow the host's stack at the first output
//! check and abort every tenant's work with it. The walk here is iterative and has a budget.

use serde_json::Value;

/// Largest schema text accepted.
pub(crate) const MAX_SCHEMA_BYTES: usize = 256 << 10;
/// Deepest nesting of a schema, counting each `$ref` link followed as one level. A `$ref` back
/// to a schema already on the path (a recursive type) is not followed: that recursion is bounded
/// by the output's own depth, which JSON parsing caps at 128.
pub(crate) const MAX_SCHEMA_DEPTH: usize = 64;
/// Most subschemas visited while checking, `$ref` targets counted each time they are reached:
/// bounds the check itself and schemas whose `$ref`s fan out exponentially.
pub(crate) const MAX_SCHEMA_VISITS: usize = 100_000;

/// `Err` with what is wrong when `schema` is past a bound.
pub(crate) fn check_schema(schema: &Value) -> Result<(), String> {
    // Each entry: a subschema, its depth, and the `$ref` targets followed to reach it.
    let mut stack: Vec<(&Value, usize, Vec<&str>)> = vec![(schema, 0, Vec::new())];
    let mut visits = 0usize;
    while let Some((node, depth, refs)) = stack.pop() {
        visits += 1;
        if visits > MAX_SCHEMA_VISITS {
            return Err(format!(
                "it is too complex: more than {MAX_SCHEMA_VISITS} subschemas to follow, \
                 counting `$ref` links"
            ));
        }
        if depth > MAX_SCHEMA_DEPTH {
            return Err(format!(
                "it nests deeper than {MAX_SCHEMA_DEPTH} levels, counting each `$ref` link"
            ));
        }
        match node {
            Value::Object(map) => {
                for (key, child) in map {
                    if key == "$ref" {
                        let Some(target) = child.as_str() else {
                            continue;
                        };
                        if refs.contains(&target) {
                            continue;
                        }
                        let Some(pointer) = target.strip_prefix('#') else {
                            return Err(format!(
                                "`$ref` `{}` is not local; only `#/...` references are allowed",
                                crate::outcome::cut_text(target.to_owned(), 128)
                            ));
                        };
                        let Some(resolved) = schema.pointer(pointer) else {
                            continue;
                        };
                        let mut followed = refs.clone();
                        followed.push(target);
                        stack.push((resolved, depth + 1, followed));
                    } else if child.is_object() || child.is_array() {
                        stack.push((child, depth + 1, refs.clone()));
                    }
                }
            }
            Value::Array(items) => {
                for child in items {
                    stack.push((child, depth + 1, refs.clone()));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn chain(links: usize) -> Value {
        let mut defs = serde_json::Map::new();
        for i in 0..links {
            defs.insert(
                format!("d{i}"),
                json!({"$ref": format!("#/$defs/d{}", i + 1)}),
            );
        }
        defs.insert(format!("d{links}"), json!({"type": "object"}));
        json!({"$defs": defs, "$ref": "#/$defs/d0"})
    }

    #[test]
    fn a_long_ref_chain_is_refused() {
        let err = check_schema(&chain(30_000)).unwrap_err();
        assert!(err.contains("deeper than 64"), "{err}");
        check_schema(&chain(20)).unwrap();
    }

    #[test]
    fn recursive_types_are_allowed() {
        let tree = json!({
            "$defs": {"node": {"type": "object", "properties": {
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}},
            "$ref": "#/$defs/node"
        });
        check_schema(&tree).unwrap();
    }

    #[test]
    fn refs_that_fan_out_exponentially_are_refused() {
        let mut defs = serde_json::Map::new();
        for i in 0..20 {
            let next = format!("#/$defs/d{}", i + 1);
            defs.insert(
                format!("d{i}"),
                json!({"anyOf": [{"$ref": next}, {"$ref": next}]}),
            );
        }
        defs.insert("d20".into(), json!({}));
        let err = check_schema(&json!({"$defs": defs, "$ref": "#/$defs/d0"})).unwrap_err();
        assert!(err.contains("too complex"), "{err}");
    }

    #[test]
    fn remote_refs_are_refused() {
        let err = check_schema(&json!({"$ref": "https://example.com/s.json"})).unwrap_err();
        assert!(err.contains("not local"), "{err}");
    }
}
