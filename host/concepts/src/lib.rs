//! The nouns several Weft host crates share, so that none of them has to depend on another just
//! to name them: the [`Clock`], the [`OutcomeClass`] of a failed attempt or a parked run, the
//! [`WorkKind`] of a work item, and the [`AuditRecord`] of an outbound call. Nothing here knows
//! about PostgreSQL or WebAssembly.

mod audit;
mod class;
mod clock;
pub mod serde_time;
mod work;

pub use audit::{AuditFuture, AuditOutcome, AuditRecord, AuditSink, TracingAudit};
pub use class::{OutcomeClass, UnknownClass};
pub use clock::{Clock, ManualClock, SystemClock};
pub use work::{UnknownWorkKind, WorkKind};
