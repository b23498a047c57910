//! The host side of each `weft:plugin` import, one file per interface.

mod config;
mod context;
mod http;
mod log;
mod request;
mod xref;

use crate::bindings::types;
use crate::state::AttemptState;

// `types` has no functions, but its generated `Host` trait must be implemented.
impl types::Host for AttemptState {}
