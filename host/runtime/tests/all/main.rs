//! The runtime's tests against real components in wasmtime: one binary, one module per area.

#[path = "../support/mod.rs"]
mod support;

mod contract;
mod hostile;
mod http;
mod loading;
