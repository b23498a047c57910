//! `weft serve`: workers against `DATABASE_URL`. Many processes on one database share the work;
//! SIGTERM or Ctrl-C stops claiming, finishes what is held, and exits.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use weft_engine::EngineConfig;

#[derive(Args)]
pub struct ServeArgs {
    /// PostgreSQL to use.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Work items this process executes at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// How long a claim holds an item before another host may take it over (ms).
    #[arg(long, default_value_t = 60_000)]
    lease_ms: u64,
    /// How often held leases are extended (ms).
    #[arg(long, default_value_t = 15_000)]
    heartbeat_ms: u64,
    /// Claims of a step after which it parks its run instead of running again (its hosts keep
    /// crashing or stalling on it, or its result cannot be stored).
    #[arg(long, default_value_t = 10)]
    max_claims: i32,
    /// Longest idle wait without a notification (ms).
    #[arg(long, default_value_t = 1_000)]
    poll_ms: u64,
    /// Database connections.
    #[arg(long, default_value_t = 20)]
    connections: u32,
    /// Where compiled plugins are cached.
    #[arg(long, env = "WEFT_CACHE_DIR")]
    cache_dir: Option<std::path::PathBuf>,
    /// Let plugins reach loopback, private, link-local and other non-public addresses (refused
    /// by default, after DNS resolution, whatever a tenant's allow-list says). For development
    /// and for deployments whose remote systems are on a private network.
    #[arg(long, env = "WEFT_ALLOW_PRIVATE_EGRESS", value_parser = clap::builder::BoolishValueParser::new())]
    allow_private_egress: bool,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let pool = weft_store::connect(&args.database_url, args.connections)
        .await
        .context("cannot reach or migrate the database")?;
    let config = EngineConfig {
        concurrency: args.concurrency.max(1),
        lease: Duration::from_millis(args.lease_ms),
        heartbeat: Duration::from_millis(args.heartbeat_ms),
        poll: Duration::from_millis(args.poll_ms),
        max_claims: args.max_claims.max(1),
        ..EngineConfig::default()
    };
    let owner = config.owner.clone();
    let engine = crate::host::engine(pool, args.cache_dir, config, args.allow_private_egress)?;
    tracing::info!(%owner, "serving");
    engine.serve(shutdown_signal()).await?;
    tracing::info!(%owner, "stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}
