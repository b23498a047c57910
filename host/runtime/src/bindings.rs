//! The one binding boundary between the host and plugins: the `bindgen!` of the `weft:plugin`
//! world. Everything else in the runtime uses the names re-exported here.

#![allow(missing_docs, reason = "generated code")]

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../../wit",
    imports: {
        "weft:plugin/http.send": async,
        "weft:plugin/xref.get": async,
        "weft:plugin/xref.put": async,
        "weft:plugin/xref.unlink": async,
        default: tracing,
    },
    exports: { default: async },
});

pub(crate) use weft::plugin::{config, context, http, log, types, xref};
