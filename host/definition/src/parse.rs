//! YAML text to a small tree that remembers the line of every node.
//!
//! saphyr's `MarkedYamlOwned` carries spans but also YAML features a definition has no use for
//! (tags, aliases, non-string keys, unparsed representations). Converting once into [`Node`]
//! keeps validation simple: it sees only null, booleans, numbers, strings, sequences and
//! mappings with string keys in source order. Problems found while converting are reported with
//! the path of the node, like validation errors; YAML syntax errors, including duplicate keys
//! (saphyr rejects them), get the field `(yaml)` and the scanner's line.
//!
//! The source is bounded before anything is built from it: at most [`MAX_SOURCE_BYTES`], no
//! anchors or aliases, and at most [`MAX_DEPTH`] nested collections. saphyr resolves an alias by
//! cloning its anchor and budgets that by node count, not bytes, so a 1.5 MB document of aliases
//! to a 1 MiB string would expand to some 100 GB; the parser's events are therefore checked one
//! by one and the document is refused at the first anchor, before the loader copies anything.

use std::collections::BTreeSet;

use saphyr::{MarkedYamlOwned, ScalarOwned, ScanError, YamlDataOwned, YamlLoader};
use saphyr_parser::{Event, Parser, Span, SpannedEventReceiver};

use crate::DefinitionError;

/// Largest definition source accepted, in bytes. The longest real definitions are a few KiB; the
/// cap keeps what is parsed, stored and sent back to operators small.
pub const MAX_SOURCE_BYTES: usize = 256 << 10;

/// Deepest nesting of lists and mappings accepted. Validation and conversion walk the tree
/// recursively, so depth must be bounded for the host's stack; `input:` templates are the
/// deepest part of a definition and rarely go past five levels.
pub(crate) const MAX_DEPTH: usize = 64;

/// A YAML node and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) line: usize,
    pub(crate) value: Value,
}

/// The data of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// Always finite: JSON has no NaN or infinity, so they are rejected here.
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in source order; keys are unique.
    Map(Vec<Entry>),
}

/// One `key: value` of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) key_line: usize,
    pub(crate) value: Node,
}

impl Value {
    /// What the value is, for messages such as "expected a mapping, found a list".
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// `parent.key`, or `parent["a key"]` when the key is not a plain name, so that a path stays
/// unambiguous; `key` alone at the root.
pub(crate) fn key_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (plain, parent.is_empty()) {
        (true, true) => key.to_owned(),
        (true, false) => format!("{parent}.{key}"),
        (false, _) => {
            let quoted = serde_json::Value::String(key.to_owned()).to_string();
            format!("{parent}[{quoted}]")
        }
    }
}

/// `parent[index]`.
pub(crate) fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// Parses exactly one YAML document.
pub(crate) fn parse(source: &str) -> Result<Node, Vec<DefinitionError>> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(vec![DefinitionError::new(
            1,
            "(definition)",
            format!(
                "the definition is {} bytes; at most {MAX_SOURCE_BYTES} (256 KiB) are accepted: \
                 move large constants into the run's input or a plugin's configuration",
                source.len()
            ),
        )]);
    }
    let docs = load(source).map_err(|e| vec![e])?;
    let mut docs = docs.into_iter();
    let Some(doc) = docs.next() else {
        return Err(vec![DefinitionError::new(
            1,
            "(yaml)",
            "the definition is empty",
        )]);
    };
    if let Some(second) = docs.next() {
        // Several documents would make "which one is the definition" a guess.
        return Err(vec![DefinitionError::new(
            line(&second),
            "(yaml)",
            "a definition is exactly one YAML document; remove the `---` that starts a second one",
        )]);
    }
    let mut errors = Vec::new();
    let node = convert(doc, "", &mut errors);
    if errors.is_empty() {
        Ok(node)
    } else {
        Err(errors)
    }
}

/// The documents of `source`, built by saphyr's loader from events this function has checked.
fn load(source: &str) -> Result<Vec<MarkedYamlOwned>, DefinitionError> {
    let mut loader = YamlLoader::<MarkedYamlOwned>::default();
    let mut depth = 0usize;
    for event in Parser::new_from_str(source) {
        let (event, span) = event.map_err(|e| syntax(source, &e))?;
        let anchored = match &event {
            Event::Alias(_) => {
                return Err(refusal(
                    span,
                    "YAML aliases (`*name`) are not supported; write the value out in full",
                ));
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(refusal(
                        span,
                        &format!("lists and mappings are nested more than {MAX_DEPTH} deep"),
                    ));
                }
                *anchor
            }
            Event::SequenceEnd | Event::MappingEnd => {
                depth = depth.saturating_sub(1);
                0
            }
            Event::Scalar(_, _, anchor, _) => *anchor,
            _ => 0,
        };
        if anchored > 0 {
            return Err(refusal(
                span,
                "YAML anchors (`&name`) are not supported; write the value out in full",
            ));
        }
        loader.on_event(event, span);
        if let Some(e) = loader.error() {
            return Err(syntax(source, e));
        }
    }
    Ok(loader.into_documents())
}

fn refusal(span: Span, message: &str) -> DefinitionError {
    DefinitionError::new(span.start.line().max(1), "(yaml)", message)
}

fn line(node: &MarkedYamlOwned) -> usize {
    node.span.start.line().max(1)
}

/// A scanner error, with advice for the mistake authors make most: an unquoted `${...}` inside a
/// flow collection, where `{` and `}` are YAML syntax.
fn syntax(source: &str, e: &ScanError) -> DefinitionError {
    let line_no = e.marker().line().max(1);
    let col = e.marker().col() + 1;
    let text = source.lines().nth(line_no - 1).unwrap_or("");
    let mut message = if e.info() == "duplicated key in mapping" {
        let key: String = text
            .chars()
            .skip(col - 1)
            .take_while(|&c| c != ':')
            .collect();
        match key.trim() {
            "" => "duplicate key".to_owned(),
            key => format!("duplicate key `{key}`"),
        }
    } else {
        format!("{} (column {col})", e.info())
    };
    if text.contains("${") && e.info().contains("flow") {
        message.push_str(
            "; a `${...}` reference inside `{ }` or `[ ]` must be quoted, as in \
             `{ email: \"${input.email}\" }`, or written in block style, one `key: value` per line",
        );
    }
    DefinitionError::new(line_no, "(yaml)", message)
}

fn convert(node: MarkedYamlOwned, path: &str, errors: &mut Vec<DefinitionError>) -> Node {
    let line = line(&node);
    let mut fail = |message: String| {
        errors.push(DefinitionError::new(line, display(path), message));
        Value::Null
    };
    let value = match node.data {
        YamlDataOwned::Value(scalar) => match scalar {
            ScalarOwned::Null => Value::Null,
            ScalarOwned::Boolean(b) => Value::Bool(b),
            ScalarOwned::Integer(i) => Value::Int(i),
            ScalarOwned::FloatingPoint(f) if f.is_finite() => Value::Float(f.into_inner()),
            ScalarOwned::FloatingPoint(f) => fail(format!("`{f}` is not a number JSON can hold")),
            ScalarOwned::String(s) => Value::Str(s),
        },
        // Only produced when the loader is told not to parse scalars, which it is not; a string
        // is the honest reading should that ever change.
        YamlDataOwned::Representation(s, _, _) => Value::Str(s),
        YamlDataOwned::Sequence(items) => Value::Seq(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| convert(item, &index_path(path, i), errors))
                .collect(),
        ),
        YamlDataOwned::Mapping(map) => Value::Map(entries(map, path, errors)),
        YamlDataOwned::Tagged(tag, _) => fail(format!(
            "YAML tags such as `{tag}` are not supported; write the plain value"
        )),
        // Aliases are refused while loading (see `load`); this is only reached if that changes.
        YamlDataOwned::Alias(_) => fail("YAML aliases are not supported".to_owned()),
        YamlDataOwned::BadValue => fail("the value does not match its YAML tag".to_owned()),
    };
    Node { line, value }
}

fn entries(
    map: saphyr::AnnotatedMappingOwned<MarkedYamlOwned>,
    path: &str,
    errors: &mut Vec<DefinitionError>,
) -> Vec<Entry> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(map.len());
    for (key, value) in map {
        let key_line = line(&key);
        // Keys become JSON object keys and definition keywords, so they must be text. Scalars
        // are taken as written (`1:` is the key "1"); collections cannot be keys.
        let text = match key.data {
            YamlDataOwned::Value(ScalarOwned::String(s)) => s,
            YamlDataOwned::Value(ScalarOwned::Integer(i)) => i.to_string(),
            YamlDataOwned::Value(ScalarOwned::Boolean(b)) => b.to_string(),
            YamlDataOwned::Value(ScalarOwned::FloatingPoint(f)) => f.to_string(),
            YamlDataOwned::Value(ScalarOwned::Null) => "null".to_owned(),
            _ => {
                errors.push(DefinitionError::new(
                    key_line,
                    display(path),
                    "a mapping key must be plain text, not a list or a mapping",
                ));
                continue;
            }
        };
        let child = key_path(path, &text);
        // saphyr compares keys as YAML values, so `1:` and `"1":` both pass it; as text they
        // clash.
        if !seen.insert(text.clone()) {
            errors.push(DefinitionError::new(
                key_line,
                "(yaml)",
                format!("duplicate key `{text}`"),
            ));
            continue;
        }
        let value = convert(value, &child, errors);
        out.push(Entry {
            key: text,
            key_line,
            value,
        });
    }
    out
}

/// The root has an empty path; messages call it `(definition)`.
pub(crate) fn display(path: &str) -> String {
    if path.is_empty() {
        "(definition)".to_owned()
    } else {
        path.to_owned()
    }
}

#[cfg(test)]
mod tests;
