//! Workflow definitions: YAML in, a validated [`Definition`] out, with every error naming its
//! line and field.

mod model;

pub use model::*;
