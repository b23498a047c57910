//! A plugin's definition: its operations (typed handlers), what they compensate, and the
//! capabilities it asks for. From it come the manifest and the dispatch of `invoke`.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::json::{decode_input, encode_output};
use crate::{Host, PluginError};

type Handler = Box<dyn Fn(&Host<'_>, &str) -> Result<String, PluginError>>;

/// A plugin: a name, a version and typed operations. Build one in a function and hand that
/// function to [`crate::export_plugin!`].
pub struct Plugin {
    name: String,
    version: String,
    description: String,
    operations: Vec<Operation>,
    capabilities: Capabilities,
}

struct Operation {
    name: String,
    description: String,
    // Schemas are only built for `describe`, not on every invoke.
    input_schema: fn() -> schemars::Schema,
    output_schema: fn() -> schemars::Schema,
    compensated_by: Option<String>,
    handler: Handler,
}

/// What a plugin is; the host reads it once when the plugin is loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The plugin's name, e.g. `odoo`.
    pub name: String,
    /// Its semantic version.
    pub version: String,
    /// One line for operators.
    pub description: String,
    /// Its operations.
    pub operations: Vec<OperationInfo>,
    /// What it asks to be granted.
    pub capabilities: Capabilities,
}

/// One operation in a [`Manifest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationInfo {
    /// Name, e.g. `create-sale-order`.
    pub name: String,
    /// One line for operators.
    pub description: String,
    /// JSON Schema of the input, as JSON text.
    pub input_schema: String,
    /// JSON Schema of the output, as JSON text.
    pub output_schema: String,
    /// The operation that undoes this one.
    pub compensated_by: Option<String>,
}

/// What a plugin asks the operator to grant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Base URLs it calls.
    pub outbound_hosts: Vec<String>,
    /// Secret names it refers to.
    pub secrets: Vec<String>,
    /// Configuration keys it reads.
    pub config_keys: Vec<String>,
}

impl Plugin {
    /// A plugin named `name` at `version` (use `env!("CARGO_PKG_VERSION")`).
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            description: String::new(),
            operations: Vec::new(),
            capabilities: Capabilities::default(),
        }
    }

    /// One line saying what the plugin is for.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Adds an operation. Its input and output schemas come from the types `I` and `O`; input
    /// that does not decode into `I` is refused with the path of the offending field before
    /// `handler` runs.
    pub fn operation<I, O, F>(
        mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        handler: F,
    ) -> Self
    where
        I: DeserializeOwned + JsonSchema,
        O: Serialize + JsonSchema,
        F: Fn(&Host<'_>, I) -> Result<O, PluginError> + 'static,
    {
        self.operations.push(Operation {
            name: name.into(),
            description: description.into(),
            input_schema: || schemars::schema_for!(I),
            output_schema: || schemars::schema_for!(O),
            compensated_by: None,
            handler: Box::new(move |host, input| {
                let input: I = decode_input(input)?;
                encode_output(&handler(host, input)?)
            }),
        });
        self
    }

    /// Declares that `operation` undoes the operation added just before this call. The host runs
    /// it, with the same input, when a later step of the run fails for good.
    pub fn compensated_by(mut self, operation: impl Into<String>) -> Self {
        if let Some(last) = self.operations.last_mut() {
            last.compensated_by = Some(operation.into());
        }
        self
    }

    /// Asks for outbound access to `base_url` (scheme, host, optional port and path prefix).
    pub fn outbound_host(mut self, base_url: impl Into<String>) -> Self {
        self.capabilities.outbound_hosts.push(base_url.into());
        self
    }

    /// Declares a secret the plugin refers to with [`crate::secret`] placeholders.
    pub fn secret(mut self, name: impl Into<String>) -> Self {
        self.capabilities.secrets.push(name.into());
        self
    }

    /// Declares a configuration key the plugin reads.
    pub fn config_key(mut self, key: impl Into<String>) -> Self {
        self.capabilities.config_keys.push(key.into());
        self
    }

    /// The manifest the host reads.
    pub fn manifest(&self) -> Manifest {
        Manifest {
            name: self.name.clone(),
            version: self.version.clone(),
            description: self.description.clone(),
            operations: self
                .operations
                .iter()
                .map(|op| OperationInfo {
                    name: op.name.clone(),
                    description: op.description.clone(),
                    input_schema: schema_text((op.input_schema)()),
                    output_schema: schema_text((op.output_schema)()),
                    compensated_by: op.compensated_by.clone(),
                })
                .collect(),
            capabilities: self.capabilities.clone(),
        }
    }

    /// Runs `operation` on JSON `input`.
    pub(crate) fn invoke(
        &self,
        host: &Host<'_>,
        operation: &str,
        input: &str,
    ) -> Result<String, PluginError> {
        match self.operations.iter().find(|op| op.name == operation) {
            Some(op) => (op.handler)(host, input),
            None => Err(PluginError::invalid_input(format!(
                "plugin `{}` has no operation `{operation}`; it has: {}",
                self.name,
                self.operations
                    .iter()
                    .map(|op| op.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

fn schema_text(schema: schemars::Schema) -> String {
    // A schemars schema is a JSON value; encoding it cannot fail.
    serde_json::to_string(&schema).unwrap_or_else(|_| "{}".to_owned())
}

impl Manifest {
    /// Checks what the host checks when it loads a plugin: a name, a `major.minor.patch`
    /// version, unique operation names, and compensations that name an existing operation.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!(
                "plugin name `{}` must be lower-case letters, digits and `-`",
                self.name
            ));
        }
        let core = self.version.split(['-', '+']).next().unwrap_or_default();
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() != 3
            || parts
                .iter()
                .any(|p| p.is_empty() || p.parse::<u64>().is_err())
        {
            return Err(format!(
                "version `{}` is not semantic (major.minor.patch)",
                self.version
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for op in &self.operations {
            check_operation_name(&op.name)?;
            if !seen.insert(op.name.as_str()) {
                return Err(format!("operation `{}` is declared twice", op.name));
            }
            if let Some(c) = &op.compensated_by
                && !self.operations.iter().any(|o| &o.name == c)
            {
                return Err(format!(
                    "operation `{}` is compensated by `{c}`, which the plugin does not have",
                    op.name
                ));
            }
        }
        Ok(())
    }
}

/// Longest operation name.
pub const MAX_OPERATION_NAME_BYTES: usize = 64;

/// Operation names appear in definitions, logs and error messages: no control characters, no
/// invisible reordering (bidi controls), nothing that could make one name read as another.
fn check_operation_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("an operation has an empty name".to_owned());
    }
    if name.len() > MAX_OPERATION_NAME_BYTES {
        return Err(format!(
            "an operation name is {} bytes; at most {MAX_OPERATION_NAME_BYTES} are allowed",
            name.len()
        ));
    }
    let bidi = |c: char| matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if let Some(c) = name
        .chars()
        .find(|&c| c.is_control() || bidi(c) || c.is_whitespace())
    {
        return Err(format!(
            "operation name `{}` holds the character U+{:04X}; names may not hold control, \
             bidirectional-override or whitespace characters",
            name.escape_debug(),
            u32::from(c)
        ));
    }
    Ok(())
}
