//! A loaded plugin: compiled once, pre-instantiated against the host's linker, its manifest read
//! and checked, the JSON-schema validators of its outputs built.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use weft_plugin_sdk::{Capabilities, Manifest, OperationInfo};

use crate::bindings::{PluginPre, types};
use crate::schema_bounds::{MAX_SCHEMA_BYTES, check_schema};
use crate::state::AttemptState;

/// Why a plugin could not be loaded. Each message says what the plugin's author must change.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Bigger than the runtime accepts.
    #[error("the plugin file is {size} bytes; the limit is {limit} (max_component_bytes)")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not a WebAssembly component at all, or a broken one.
    #[error("not a valid WebAssembly component: {0}")]
    Malformed(String),
    /// A component, but not one of the `weft:plugin` world (wrong imports or exports).
    #[error(
        "the component does not implement the weft:plugin@0.1.0 world (build it with \
         weft-plugin-sdk for wasm32-wasip2): {0}"
    )]
    Incompatible(String),
    /// `describe` failed or returned a manifest the host refuses.
    #[error("the plugin's manifest is refused: {0}")]
    BadManifest(String),
    /// The host itself failed (thread pool gone, ...): retry, or call an operator.
    #[error("internal error while loading the plugin: {0}")]
    Internal(String),
}

/// A plugin ready to run.
pub struct LoadedPlugin {
    pub(crate) hash: String,
    pub(crate) manifest: Manifest,
    pub(crate) pre: PluginPre<AttemptState>,
    pub(crate) validators: HashMap<String, Arc<jsonschema::Validator>>,
    pub(crate) declared_secrets: HashSet<String>,
    pub(crate) from_cache: bool,
}

impl fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("id", &self.id())
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

impl LoadedPlugin {
    /// Hex sha256 of the component: the plugin's identity.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// What the plugin says it is.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// `name@version`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.manifest.name, self.manifest.version)
    }

    /// Whether the compiled code came from the on-disk cache.
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }

    /// The operation named `name`.
    pub fn operation(&self, name: &str) -> Option<&OperationInfo> {
        self.manifest.operations.iter().find(|o| o.name == name)
    }
}

/// Most operations a plugin may declare (the manifest is checked and kept per loaded plugin).
const MAX_OPERATIONS: usize = 256;
/// Largest manifest accepted, all its text counted.
const MAX_MANIFEST_BYTES: usize = 1 << 20;

/// Converts and checks what `describe` returned.
pub(crate) fn check_manifest(
    m: types::Manifest,
) -> Result<(Manifest, HashMap<String, Arc<jsonschema::Validator>>), LoadError> {
    // Bounds first, before any work proportional to what the plugin sent.
    if m.operations.len() > MAX_OPERATIONS {
        return Err(LoadError::BadManifest(format!(
            "{} operations; at most {MAX_OPERATIONS} are allowed",
            m.operations.len()
        )));
    }
    let size: usize = m
        .operations
        .iter()
        .map(|o| o.name.len() + o.description.len() + o.input_schema.len() + o.output_schema.len())
        .sum::<usize>()
        + m.name.len()
        + m.version.len()
        + m.description.len();
    if size > MAX_MANIFEST_BYTES {
        return Err(LoadError::BadManifest(format!(
            "the manifest is {size} bytes; at most {MAX_MANIFEST_BYTES} are allowed"
        )));
    }
    let manifest = Manifest {
        name: m.name,
        version: m.version,
        description: m.description,
        operations: m
            .operations
            .into_iter()
            .map(|o| OperationInfo {
                name: o.name,
                description: o.description,
                input_schema: o.input_schema,
                output_schema: o.output_schema,
                compensated_by: o.compensated_by,
            })
            .collect(),
        capabilities: Capabilities {
            outbound_hosts: m.capabilities.outbound_hosts,
            secrets: m.capabilities.secrets,
            config_keys: m.capabilities.config_keys,
        },
    };
    manifest.validate().map_err(LoadError::BadManifest)?;
    if let Some(at) = serde_json::to_value(&manifest)
        .ok()
        .as_ref()
        .and_then(crate::unstorable_at)
    {
        return Err(LoadError::BadManifest(format!(
            "the manifest holds the character U+0000 at `{}`, which cannot be stored",
            at.replace('\0', "\\u0000")
        )));
    }
    let mut validators = HashMap::new();
    for op in &manifest.operations {
        for (what, text) in [("input", &op.input_schema), ("output", &op.output_schema)] {
            if text.len() > MAX_SCHEMA_BYTES {
                return Err(LoadError::BadManifest(format!(
                    "{what} schema of `{}` is {} bytes; at most {MAX_SCHEMA_BYTES} are allowed",
                    op.name,
                    text.len()
                )));
            }
        }
        let parse = |what: &str, text: &str| {
            serde_json::from_str::<serde_json::Value>(text).map_err(|e| {
                LoadError::BadManifest(format!("{what} schema of `{}` is not JSON: {e}", op.name))
            })
        };
        parse("input", &op.input_schema)?;
        let output = parse("output", &op.output_schema)?;
        check_schema(&output).map_err(|e| {
            LoadError::BadManifest(format!("output schema of `{}` is refused: {e}", op.name))
        })?;
        let validator = jsonschema::validator_for(&output).map_err(|e| {
            LoadError::BadManifest(format!("output schema of `{}` is invalid: {e}", op.name))
        })?;
        validators.insert(op.name.clone(), Arc::new(validator));
    }
    Ok((manifest, validators))
}
