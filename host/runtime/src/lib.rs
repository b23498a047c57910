//! The Weft plugin runtime: runs WebAssembly component plugins of the `weft:plugin` world in a
//! sandbox with hard limits.
//!
//! One [`Runtime`] per process holds the wasmtime engine (pooling allocator, epoch interruption),
//! the linker with the host's imports, and the loaded plugins. [`Runtime::load`] compiles a
//! component once (or loads it precompiled from the on-disk cache), links it and reads its
//! manifest; [`Runtime::invoke`] runs one attempt in a fresh store and always ends in exactly one
//! classified [`Outcome`]: a plugin that loops, bloats, traps or lies fails its own attempt while
//! the host and every other attempt carry on.

mod audit;
mod bindings;
mod cache;
mod egress;
mod engine;
mod host;
mod limits;
mod outcome;
mod plugin;
mod redact;
mod runtime;
mod schema_bounds;
mod services;
mod state;
mod stderr;
mod storable;
mod validate;
mod verdict;

// Serde helpers shared with the other host crates; `crate::serde_time` in field attributes.
use weft_concepts::serde_time;

pub use audit::MemoryAudit;
pub use cache::sha256_hex;
pub use egress::{EgressPolicy, EgressRule};
pub use limits::{LimitOverrides, Limits};
pub use outcome::{AttemptReport, LogLevel, LogLine, Outcome};
pub use plugin::{LoadError, LoadedPlugin};
pub use runtime::{AttemptRequest, Runtime, RuntimeConfig, StartError, StepContext};
pub use services::{MemoryXref, SecretValue, Services, XrefStore};
pub use storable::unstorable_at;
pub use weft_plugin_sdk::xref as xref_ref;
pub use weft_plugin_sdk::{Capabilities, Manifest, OperationInfo};
// What moved to `weft-concepts`, re-exported so the runtime's users keep naming it here.
pub use weft_concepts::{
    AuditOutcome, AuditRecord, AuditSink, Clock, ManualClock, OutcomeClass, SystemClock,
    TracingAudit,
};
