//! The wasm side: the one `wit_bindgen::generate!` of the SDK, and the glue between the
//! generated bindings and [`Plugin`]. Plugin authors never see any of it.

use crate::host::{Backend, Level, StepContext};
use crate::http::{HttpError, HttpRequest, HttpResponse, Method};
use crate::xref::XrefError;
use crate::{Host, Plugin, PluginError};

#[doc(hidden)]
#[allow(unsafe_code, reason = "generated canonical-ABI glue")]
pub mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "__weft_export",
        default_bindings_module: "weft_plugin_sdk::__private::bindings",
        runtime_path: "weft_plugin_sdk::__private::wit_bindgen_rt",
    });
}

use bindings::weft::plugin::{config, context, http, log, types, xref};

struct WitBackend;

impl Backend for WitBackend {
    fn context(&self) -> StepContext {
        let c = context::get();
        StepContext {
            tenant: c.tenant,
            run_id: c.run_id,
            step_id: c.step_id,
            attempt: c.attempt,
            idempotency_key: c.idempotency_key,
            deadline_unix_ms: c.deadline_unix_ms,
        }
    }

    fn config(&self, key: &str) -> Option<String> {
        config::get(key)
    }

    fn log(&self, level: Level, message: &str) {
        let level = match level {
            Level::Trace => log::Level::Trace,
            Level::Debug => log::Level::Debug,
            Level::Info => log::Level::Info,
            Level::Warn => log::Level::Warn,
            Level::Error => log::Level::Error,
        };
        log::log(level, message);
    }

    fn http(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let method = match request.method {
            Method::Get => http::Method::Get,
            Method::Head => http::Method::Head,
            Method::Post => http::Method::Post,
            Method::Put => http::Method::Put,
            Method::Patch => http::Method::Patch,
            Method::Delete => http::Method::Delete,
            Method::Options => http::Method::Options,
        };
        let request = http::Request {
            method,
            url: request.url,
            headers: request.headers,
            body: request.body,
            timeout_ms: request.timeout_ms,
        };
        match http::send(&request) {
            Ok(r) => Ok(HttpResponse {
                status: r.status,
                headers: r.headers,
                body: r.body,
            }),
            Err(e) => Err(match e {
                http::HttpError::Denied(m) => HttpError::Denied(m),
                http::HttpError::InvalidRequest(m) => HttpError::InvalidRequest(m),
                http::HttpError::Timeout => HttpError::Timeout,
                http::HttpError::Connection(m) => HttpError::Connection(m),
                http::HttpError::RequestTooLarge(n) => HttpError::RequestTooLarge(n),
                http::HttpError::ResponseTooLarge(n) => HttpError::ResponseTooLarge(n),
                http::HttpError::TooManyRequests(n) => HttpError::TooManyRequests(n),
            }),
        }
    }

    fn xref_get(&self, from: &str, system: &str) -> Result<Option<String>, XrefError> {
        xref::get(from, system).map_err(xref_error)
    }

    fn xref_put(&self, a: &str, b: &str) -> Result<(), XrefError> {
        xref::put(a, b).map_err(xref_error)
    }

    fn xref_unlink(&self, a: &str, b: &str) -> Result<bool, XrefError> {
        xref::unlink(a, b).map_err(xref_error)
    }
}

fn xref_error(e: xref::XrefError) -> XrefError {
    match e {
        xref::XrefError::Invalid(i) => XrefError::Invalid {
            argument: i.argument,
            message: i.message,
        },
        xref::XrefError::Unavailable(m) => XrefError::Unavailable(m),
        xref::XrefError::TooManyCalls(n) => XrefError::TooManyCalls(n),
    }
}

/// `describe`, for the export glue.
pub fn describe(plugin: &Plugin) -> types::Manifest {
    let m = plugin.manifest();
    types::Manifest {
        name: m.name,
        version: m.version,
        description: m.description,
        operations: m
            .operations
            .into_iter()
            .map(|op| types::Operation {
                name: op.name,
                description: op.description,
                input_schema: op.input_schema,
                output_schema: op.output_schema,
                compensated_by: op.compensated_by,
            })
            .collect(),
        capabilities: types::Capabilities {
            outbound_hosts: m.capabilities.outbound_hosts,
            secrets: m.capabilities.secrets,
            config_keys: m.capabilities.config_keys,
        },
    }
}

/// `invoke`, for the export glue.
pub fn invoke(plugin: &Plugin, operation: &str, input: &str) -> Result<String, types::PluginError> {
    let backend = WitBackend;
    plugin
        .invoke(&Host::new(&backend), operation, input)
        .map_err(|e| match e {
            PluginError::Retryable {
                message,
                retry_after,
            } => types::PluginError::Retryable(types::RetryableError {
                message,
                retry_after_ms: retry_after
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            }),
            PluginError::Permanent { code, message } => {
                types::PluginError::Permanent(types::PermanentError { code, message })
            }
            PluginError::InvalidInput { message, field } => {
                types::PluginError::InvalidInput(types::InvalidInputError { message, field })
            }
        })
}
