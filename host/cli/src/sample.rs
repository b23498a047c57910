//! `weft sample`: a first look at the engine on a database (what `cargo xtask dev` runs): a
//! tenant, the echo plugin, a definition with a wait for a signal and a timer, a few runs driven
//! to the end by an in-process worker, and their histories.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use weft_engine::{EngineConfig, Event};

const TENANT: &str = "demo";
const DEFINITION: &str = r#"
name: order-confirmation
key: ${input.order}
steps:
  - id: validate
    call: echo.echo
    input:
      message: ${input.order}
  - id: confirmed
    wait: { signal: confirmed, timeout: 1h }
  - id: settle
    sleep: 1s
  - id: notify
    call: echo.echo
    input:
      message: ${steps.confirmed.output.note}
"#;

#[derive(Args)]
pub struct SampleArgs {
    /// PostgreSQL to use.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// The echo plugin component.
    #[arg(long)]
    echo: PathBuf,
    /// Where compiled plugins are cached.
    #[arg(long, env = "WEFT_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

pub async fn run(args: SampleArgs) -> anyhow::Result<()> {
    let pool = weft_store::connect(&args.database_url, 10)
        .await
        .context("database")?;
    // A first look on a developer's machine, where the systems to try against run locally.
    let engine = crate::host::engine(pool, args.cache_dir, EngineConfig::default(), true).await?;

    engine.create_tenant(TENANT, "Demo distributor").await?;
    let echo = std::fs::read(&args.echo).with_context(|| args.echo.display().to_string())?;
    engine.publish_plugin(TENANT, &echo, true).await?;
    let applied = engine.apply_definition(TENANT, DEFINITION).await?;
    println!("definition {} v{} applied", applied.name, applied.version);

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(engine.clone().serve(async {
        let _ = stopped.await;
    }));
    let mut runs = Vec::new();
    for order in ["SO100", "SO101", "SO100"] {
        let input = serde_json::json!({ "order": order });
        let started = engine.start_run(TENANT, &applied.name, input, None).await?;
        let what = if started.created {
            "started"
        } else {
            "already running (same key)"
        };
        println!("run {} for {order}: {what}", started.run_id);
        if started.created {
            runs.push(started.run_id);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for run in &runs {
        let note = serde_json::json!({ "note": format!("confirmed by sales for run {run}") });
        engine.signal(TENANT, *run, "confirmed", note, None).await?;
    }
    for run in &runs {
        for _ in 0..100 {
            if engine.run(TENANT, *run).await?.core.status.is_final() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let _ = stop.send(());
    worker.await??;
    for run in &runs {
        let state = engine.run(TENANT, *run).await?;
        println!("\nrun {run}: {}", state.core.status.as_str());
        for event in engine.history(TENANT, *run).await? {
            println!("  {}", summary(&event));
        }
    }
    Ok(())
}

fn summary(event: &Event) -> String {
    let json = serde_json::to_value(event).unwrap_or_default();
    let kind = json["type"].as_str().unwrap_or("?").to_owned();
    let step = json["step"]
        .as_str()
        .map(|s| format!(" {s}"))
        .unwrap_or_default();
    let attempt = json["attempt"]
        .as_i64()
        .map(|a| format!(" #{a}"))
        .unwrap_or_default();
    format!("{kind}{step}{attempt}")
}
