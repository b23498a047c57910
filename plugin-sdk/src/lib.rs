//! Write Weft plugins in Rust.
//!
//! A plugin is a set of typed operations. Each takes a `serde` input and returns a `serde`
//! output or a classified [`PluginError`]; the SDK does the JSON, refuses bad input with the path
//! of the offending field, derives the JSON schemas of the manifest from the types, and gives the
//! operation a [`Host`]: its step context, the tenant's configuration, logging, outbound HTTP (with
//! secrets as placeholders the host fills in) and cross-references.
//!
//! ```
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//! use weft_plugin_sdk::{Host, Plugin, PluginError};
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Ping {
//!     message: String,
//! }
//!
//! #[derive(Serialize, JsonSchema)]
//! struct Pong {
//!     message: String,
//!     attempt: u32,
//! }
//!
//! fn ping(host: &Host<'_>, input: Ping) -> Result<Pong, PluginError> {
//!     if input.message.is_empty() {
//!         return Err(PluginError::invalid_field("message", "must not be empty"));
//!     }
//!     Ok(Pong { message: input.message, attempt: host.context().attempt })
//! }
//!
//! fn plugin() -> Plugin {
//!     Plugin::new("ping", "1.0.0")
//!         .description("Answers pings")
//!         .operation("ping", "Echoes the message", ping)
//! }
//!
//! // In the plugin crate (a `cdylib` built for `wasm32-wasip2`):
//! weft_plugin_sdk::export_plugin!(plugin);
//! # fn main() {
//! #     let m = plugin().manifest();
//! #     assert_eq!(m.operations[0].name, "ping");
//! # }
//! ```
//!
//! Test operations natively with [`testing::TestHost`] (feature `testing`, on by default).
#![deny(missing_docs)]
// Without a guest or the harness (the host's view of the SDK) dispatch has no caller.
#![cfg_attr(
    not(any(target_arch = "wasm32", feature = "testing")),
    allow(
        dead_code,
        reason = "dispatch is used by the guest glue and the harness only"
    )
)]

// The generated bindings name the SDK by its crate name, as the plugin crates see it.
#[cfg(target_arch = "wasm32")]
extern crate self as weft_plugin_sdk;

mod error;
mod host;
mod http;
mod json;
pub mod placeholder;
mod plugin;
pub mod xref;

#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
pub mod testing;

#[cfg(target_arch = "wasm32")]
mod guest;

pub use error::PluginError;
pub use host::{Host, Level, StepContext};
pub use http::{
    Http, HttpError, HttpRequest, HttpResponse, Method, RequestBuilder, classify_status, secret,
};
pub use json::{decode_input, encode_output};
pub use plugin::{Capabilities, Manifest, OperationInfo, Plugin};

/// Re-exported so plugins and the export macro use the SDK's versions.
pub use schemars;

/// What [`export_plugin!`] expands to; not for direct use.
#[doc(hidden)]
pub mod __private {
    #[cfg(target_arch = "wasm32")]
    pub use crate::guest::{bindings, describe, invoke};
    #[cfg(target_arch = "wasm32")]
    pub use wit_bindgen::rt as wit_bindgen_rt;
}

/// Exports a plugin from a `cdylib` crate: give it a function returning the [`Plugin`].
/// On native targets it expands to nothing, so the crate's unit tests build as usual.
#[macro_export]
macro_rules! export_plugin {
    ($build:path) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct WeftPluginExport;

            impl $crate::__private::bindings::Guest for WeftPluginExport {
                fn describe() -> $crate::__private::bindings::weft::plugin::types::Manifest {
                    $crate::__private::describe(&$build())
                }

                fn invoke(
                    operation: ::std::string::String,
                    input: ::std::string::String,
                ) -> ::std::result::Result<
                    ::std::string::String,
                    $crate::__private::bindings::weft::plugin::types::PluginError,
                > {
                    $crate::__private::invoke(&$build(), &operation, &input)
                }
            }

            $crate::__private::bindings::__weft_export!(WeftPluginExport with_types_in $crate::__private::bindings);
        };
    };
}

/// The README's plugin example, compiled and run as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
