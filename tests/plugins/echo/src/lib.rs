//! A well-behaved test plugin built with the SDK: `echo` returns its input (the runtime benchmark
//! calls it), and one operation per host import shows what the host hands a plugin.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weft_plugin_sdk::{Host, Level, Plugin, PluginError};

/// Input and output of `echo`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Message {
    /// Any text.
    pub message: String,
}

/// Output of `context`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ContextOut {
    pub tenant: String,
    pub run_id: String,
    pub step_id: String,
    pub attempt: u32,
    pub idempotency_key: String,
    pub config_greeting: Option<String>,
}

/// Input of `fetch`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Fetch {
    /// URL to POST `body` to.
    pub url: String,
    /// Body to send; may contain `{{secret:NAME}}` placeholders.
    pub body: String,
    /// Sends `Authorization: Bearer {{secret:api-key}}` when set.
    #[serde(default)]
    pub with_api_key: bool,
}

/// Output of `fetch`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Fetched {
    pub status: u16,
    pub body: String,
}

/// Input of `link`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Link {
    pub from: String,
    pub to: String,
}

/// Output of `link`: what `from` resolves to in `to`'s system afterwards.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Linked {
    pub resolved: Option<String>,
}

fn echo(host: &Host<'_>, input: Message) -> Result<Message, PluginError> {
    host.log(Level::Debug, "echo");
    Ok(input)
}

fn context(host: &Host<'_>, _input: serde_json::Value) -> Result<ContextOut, PluginError> {
    let c = host.context();
    Ok(ContextOut {
        tenant: c.tenant,
        run_id: c.run_id,
        step_id: c.step_id,
        attempt: c.attempt,
        idempotency_key: c.idempotency_key,
        config_greeting: host.config("greeting"),
    })
}

fn fetch(host: &Host<'_>, input: Fetch) -> Result<Fetched, PluginError> {
    let mut request = host.http().post(&input.url).body(input.body.into_bytes());
    if input.with_api_key {
        request = request.bearer_secret("api-key");
    }
    let response = request.send()?.error_for_status()?;
    host.info(&format!("fetched {} bytes", response.body.len()));
    Ok(Fetched {
        status: response.status,
        body: response.text(),
    })
}

fn link(host: &Host<'_>, input: Link) -> Result<Linked, PluginError> {
    host.xref_put(&input.from, &input.to)?;
    let system = input.to.split(':').next().unwrap_or_default();
    Ok(Linked {
        resolved: host.xref_get(&input.from, system)?,
    })
}

/// Output of `unlink`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Unlinked {
    pub removed: bool,
}

/// Input of `xref-loop`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct XrefLoop {
    /// How many `xref.get` calls to make.
    pub calls: u32,
}

/// Output of `xref-loop`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct XrefLooped {
    pub calls: u32,
}

fn unlink(host: &Host<'_>, input: Link) -> Result<Unlinked, PluginError> {
    Ok(Unlinked {
        removed: host.xref_unlink(&input.from, &input.to)?,
    })
}

fn xref_loop(host: &Host<'_>, input: XrefLoop) -> Result<XrefLooped, PluginError> {
    for _ in 0..input.calls {
        host.xref_get("crm:account/1", "odoo")?;
    }
    Ok(XrefLooped { calls: input.calls })
}

fn fail(_host: &Host<'_>, input: Message) -> Result<Message, PluginError> {
    match input.message.as_str() {
        "retry" => Err(PluginError::retry_after(
            "try later",
            std::time::Duration::from_secs(3),
        )),
        "invalid" => Err(PluginError::invalid_field("message", "not acceptable")),
        _ => Err(PluginError::permanent(
            "refused",
            format!("refusing `{}`", input.message),
        )),
    }
}

/// The plugin.
pub fn plugin() -> Plugin {
    Plugin::new("echo", env!("CARGO_PKG_VERSION"))
        .description("Echoes input and shows what the host hands a plugin")
        .operation("echo", "Returns its input", echo)
        .operation(
            "context",
            "Returns the step context and the `greeting` config",
            context,
        )
        .operation(
            "fetch",
            "POSTs a body to a URL and returns the response",
            fetch,
        )
        .operation("link", "Links two references and resolves the first", link)
        .operation("fail", "Fails with the class named by the message", fail)
        .compensated_by("echo")
        .operation("unlink", "Removes the link between two references", unlink)
        .operation("xref-loop", "Calls xref.get `calls` times", xref_loop)
        .secret("api-key")
        .config_key("greeting")
}

weft_plugin_sdk::export_plugin!(plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use weft_plugin_sdk::testing::TestHost;

    #[test]
    fn echo_returns_the_message_and_the_manifest_is_valid() {
        let host = TestHost::new();
        let out: Message = host
            .invoke(&plugin(), "echo", &serde_json::json!({"message": "hi"}))
            .unwrap();
        assert_eq!(out.message, "hi");
        let manifest = host.describe(&plugin()).unwrap();
        assert_eq!(manifest.operations.len(), 7);
        assert_eq!(
            manifest.operations[4].compensated_by.as_deref(),
            Some("echo")
        );
    }

    #[test]
    fn fail_classifies_by_message() {
        let host = TestHost::new();
        let err = host
            .invoke::<Message>(&plugin(), "fail", &serde_json::json!({"message": "retry"}))
            .unwrap_err();
        assert!(err.is_retryable());
        let err = host
            .invoke::<Message>(&plugin(), "fail", &serde_json::json!({"message": "x"}))
            .unwrap_err();
        assert!(matches!(err, PluginError::Permanent { code, .. } if code == "refused"));
    }
}
