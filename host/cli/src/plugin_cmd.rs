//! `weft plugin describe|invoke`: a plugin author's loop without a deployment. `invoke` runs one
//! attempt in the same sandbox, with the same limits and audit, as `weft serve` does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;
use weft_runtime::{
    AttemptRequest, EgressPolicy, EgressRule, LimitOverrides, Limits, OutcomeClass, Runtime,
    RuntimeConfig, SecretValue, Services, StepContext,
};

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Print a plugin's manifest (operations, schemas, capabilities) as JSON.
    Describe {
        /// The plugin's `.wasm` component.
        file: PathBuf,
        /// Where compiled plugins are cached.
        #[arg(long, env = "WEFT_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// Run one operation and print the attempt's report (outcome, logs, outbound calls) as JSON.
    /// Exits 0 when the outcome is ok, 1 otherwise.
    Invoke {
        /// The plugin's `.wasm` component.
        file: PathBuf,
        /// The operation to run.
        operation: String,
        /// JSON input, or `@path` to read it from a file.
        #[arg(long, default_value = "{}")]
        input: String,
        /// A configuration value, `KEY=VALUE` (repeatable).
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
        /// A secret taken from an environment variable, `NAME=ENV_VAR` (repeatable). Values are
        /// never read from the command line, where other users could see them.
        #[arg(long = "secret-env", value_name = "NAME=ENV_VAR")]
        secrets: Vec<String>,
        /// A base URL the plugin may call, e.g. `https://acme.odoo.com` (repeatable).
        #[arg(long = "allow", value_name = "URL")]
        allow: Vec<String>,
        /// Limit overrides as JSON, e.g. `{"cpu_time": 500, "memory_bytes": 33554432}`.
        #[arg(long, default_value = "{}")]
        limits: String,
        /// Let the plugin reach loopback and private addresses (e.g. a system on localhost).
        #[arg(long, env = "WEFT_ALLOW_PRIVATE_EGRESS", value_parser = clap::builder::BoolishValueParser::new())]
        allow_private_egress: bool,
        /// Where compiled plugins are cached.
        #[arg(long, env = "WEFT_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
    },
}

pub async fn run(command: PluginCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::Describe { file, cache_dir } => {
            let (runtime, _) = start(cache_dir, false)?;
            let plugin = load(&runtime, &file).await?;
            let mut out = serde_json::to_value(plugin.manifest())?;
            out["sha256"] = plugin.hash().into();
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Invoke {
            file,
            operation,
            input,
            config,
            secrets,
            allow,
            limits,
            allow_private_egress,
            cache_dir,
        } => {
            let (runtime, audit) = start(cache_dir, allow_private_egress)?;
            let plugin = load(&runtime, &file).await?;
            let input = match input.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read input file {path}"))?,
                None => input,
            };
            serde_json::from_str::<serde_json::Value>(&input).context("--input is not JSON")?;
            let overrides: LimitOverrides =
                serde_json::from_str(&limits).context("--limits is not valid")?;
            let context = StepContext {
                tenant: "local".into(),
                run_id: "cli".into(),
                step_id: operation.clone(),
                attempt: 1,
                idempotency_key: format!("local/cli/{operation}"),
            };
            let mut request = AttemptRequest::new(context, &operation, input);
            request.config = Arc::new(pairs(&config, "--config")?);
            request.secrets = Arc::new(secret_values(&secrets)?);
            let rules = allow
                .iter()
                .map(|u| EgressRule::from_url(u).map_err(anyhow::Error::msg))
                .collect::<anyhow::Result<Vec<_>>>()?;
            request.egress = Arc::new(EgressPolicy::new(rules));
            request.limits = Limits::default().with(&overrides);
            let report = runtime.invoke(&plugin, request).await;
            let ok = report.outcome.class() == OutcomeClass::Ok;
            let out = serde_json::json!({
                "plugin": plugin.id(),
                "outcome": report.outcome,
                "summary": report.outcome.describe(),
                "logs": report.logs,
                "logs_dropped": report.logs_dropped,
                "http_calls": audit.records(),
                "duration_ms": report.duration.as_secs_f64() * 1e3,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn start(
    cache_dir: Option<PathBuf>,
    allow_private_egress: bool,
) -> anyhow::Result<(Runtime, Arc<weft_runtime::MemoryAudit>)> {
    let (services, audit) = Services::in_memory();
    let config = RuntimeConfig {
        cache_dir,
        allow_private_egress,
        ..RuntimeConfig::default()
    };
    Ok((Runtime::new(config, services)?, audit))
}

async fn load(runtime: &Runtime, file: &Path) -> anyhow::Result<Arc<weft_runtime::LoadedPlugin>> {
    let bytes =
        std::fs::read(file).with_context(|| format!("cannot read plugin {}", file.display()))?;
    runtime
        .load(&bytes)
        .await
        .with_context(|| format!("cannot load {}", file.display()))
}

fn pairs(items: &[String], flag: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for item in items {
        let Some((k, v)) = item.split_once('=') else {
            bail!("{flag} takes KEY=VALUE, got `{item}`");
        };
        map.insert(k.to_owned(), v.to_owned());
    }
    Ok(map)
}

fn secret_values(items: &[String]) -> anyhow::Result<BTreeMap<String, SecretValue>> {
    pairs(items, "--secret-env")?
        .into_iter()
        .map(|(name, var)| {
            let value = std::env::var(&var).with_context(|| {
                format!("secret `{name}`: environment variable {var} is not set")
            })?;
            Ok((name, SecretValue::new(value)))
        })
        .collect()
}
