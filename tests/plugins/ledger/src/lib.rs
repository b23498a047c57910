//! A test connector for the engine: `create` makes a record in a ledger HTTP server, sending the
//! step's idempotency key so a repeated attempt finds the record instead of making another;
//! `cancel` (its compensation) cancels it. Configuration can break it the way a misconfigured
//! connector breaks, until an operator fixes it: `refuse: X` refuses to create records whose
//! data is the string X, `cancel: broken` makes every cancellation fail.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use weft_plugin_sdk::{Host, Plugin, PluginError};

/// Input of `create`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Create {
    /// Anything to store.
    #[serde(default)]
    pub data: serde_json::Value,
    /// The server answers 503 to the first this many calls for this key.
    #[serde(default)]
    pub fail_times: u32,
    /// The server refuses the record (422).
    #[serde(default)]
    pub reject: bool,
    /// The server makes the record but answers 502, as if the response were lost.
    #[serde(default)]
    pub lose_response: bool,
}

/// A record.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Record {
    /// The ledger's id.
    pub id: u64,
    /// False when the key had a record already.
    pub created: bool,
}

/// Input of `cancel`: the compensated step's input, its output when it completed, and its
/// idempotency key (to find what an attempt whose answer was lost made).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Cancel {
    /// What `create` was given.
    pub input: serde_json::Value,
    /// What `create` returned; absent when no attempt completed.
    #[serde(default)]
    pub output: Option<Record>,
    /// The idempotency key `create`'s attempts sent.
    pub step_key: String,
}

/// Output of `cancel`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Cancelled {
    /// The record cancelled; none when there was nothing to undo.
    pub id: Option<u64>,
}

fn create(host: &Host<'_>, input: Create) -> Result<Record, PluginError> {
    let base = host.require_config("base_url")?;
    if let Some(refused) = host.config("refuse")
        && input.data.as_str() == Some(refused.as_str())
    {
        return Err(PluginError::permanent(
            "refused",
            format!("configured to refuse `{refused}`"),
        ));
    }
    let key = host.context().idempotency_key;
    host.http()
        .post(format!(
            "{base}/records?fail_times={}&reject={}&lose_response={}",
            input.fail_times, input.reject, input.lose_response
        ))
        .header("idempotency-key", key)
        .json(&input.data)?
        .send_json()
}

fn cancel(host: &Host<'_>, input: Cancel) -> Result<Cancelled, PluginError> {
    let base = host.require_config("base_url")?;
    if host.config("cancel").as_deref() == Some("broken") {
        return Err(PluginError::permanent(
            "misconfigured",
            "cancel is `broken`; fix the configuration",
        ));
    }
    let Some(record) = input.output else {
        // No attempt completed, but one may have made the record: look it up by its key.
        return host
            .http()
            .post(format!("{base}/records/cancel-by-key"))
            .header("idempotency-key", &input.step_key)
            .send_json();
    };
    host.http()
        .post(format!("{base}/records/{}/cancel", record.id))
        .send()?
        .error_for_status()?;
    Ok(Cancelled {
        id: Some(record.id),
    })
}

/// The plugin.
pub fn plugin() -> Plugin {
    Plugin::new("ledger", env!("CARGO_PKG_VERSION"))
        .description("Creates ledger records once per idempotency key")
        .operation("create", "Creates a record", create)
        .compensated_by("cancel")
        .operation("cancel", "Cancels a record", cancel)
        .config_key("base_url")
        .config_key("refuse")
        .config_key("cancel")
}

weft_plugin_sdk::export_plugin!(plugin);
