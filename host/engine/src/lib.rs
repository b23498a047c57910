//! Weft's durable engine on PostgreSQL: definitions, runs and their history, claimable work with
//! leases, retries with backoff, saga compensation, signals and timers, dead letters.
//!
//! Every state change of a run is one transaction that appends its history events, updates the
//! run and schedules the next work. Workers on any number of hosts share the work through
//! `FOR UPDATE SKIP LOCKED` claims with leases; a host killed at any instant loses its leases and
//! another carries on, handing the plugin the same idempotency key.

mod attempt;
mod bounds;
mod config;
mod db_clock;
mod decide;
mod definitions;
mod engine;
mod error;
mod events;
mod executed;
mod grants;
mod group_commit;
mod held;
mod operator;
mod park;
mod serve;
mod start;
mod state;
mod worker;
mod xref;

pub use bounds::{
    MAX_ACTOR_BYTES, MAX_BUSINESS_KEY_BYTES, MAX_REASON_BYTES, MAX_RUN_INPUT_BYTES,
    MAX_SIGNAL_ID_BYTES, MAX_SIGNAL_NAME_BYTES, MAX_SIGNAL_PAYLOAD_BYTES,
};
pub use config::{EngineConfig, defaults};
pub use db_clock::DatabaseClock;
pub use decide::backoff;
pub use definitions::Applied;
pub use engine::{Engine, HistoryEntry, MAX_HISTORY_PAGE, Started};
pub use error::{EngineError, ErrorKind};
pub use events::Event;
pub use grants::PluginSettings;
pub use operator::OperatorAction;
pub use state::{Phase, Reason, Run, RunCore, RunStatus, replay};
pub use weft_concepts::{Clock, ManualClock, SystemClock};
pub use xref::StoreXref;
