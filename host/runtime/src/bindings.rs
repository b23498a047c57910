//! The one binding boundary between the host and plugins: the `bindgen!` of the `weft:plugin`
//! world. Everything else in the runtime uses the names re-exported here.

#![allow(missing_docs, reason = "generated code")]

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../../wit",
    imports: {
        // Trappable: a host call can end the attempt (its wall time ran out during host work, a
        // weak secret was asked for) instead of handing the plugin an error it could ignore.
        "weft:plugin/http.send": async | trappable,
        "weft:plugin/log.log": trappable,
        "weft:plugin/xref.get": async,
        "weft:plugin/xref.put": async,
        "weft:plugin/xref.unlink": async,
        default: tracing,
    },
    exports: { default: async },
});

pub(crate) use weft::plugin::{config, context, http, log, types, xref};
