//! The runtime's tests against real components in wasmtime: one binary, one module per area.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly, like the tests"
)]

#[path = "../support/mod.rs"]
mod support;

mod audit;
mod ceilings;
mod clock;
mod contract;
mod egress;
mod floods;
mod host_work;
mod hostile;
mod http;
mod loading;
mod manifests;
mod redaction;
mod requests;
