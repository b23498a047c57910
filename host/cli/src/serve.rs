//! `weft serve`: workers against `DATABASE_URL`. Many processes on one database share the work;
//! SIGTERM or Ctrl-C stops claiming, finishes what is held, and exits.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use weft_engine::{EngineConfig, defaults};

#[derive(Args)]
pub struct ServeArgs {
    /// PostgreSQL to use.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Work items this process executes at once.
    #[arg(long, default_value_t = defaults::CONCURRENCY)]
    concurrency: usize,
    /// How long a claim holds an item before another host may take it over (ms).
    #[arg(long, default_value_t = millis(defaults::LEASE))]
    lease_ms: u64,
    /// How often held leases are extended (ms); at most half the lease.
    #[arg(long, default_value_t = millis(defaults::HEARTBEAT))]
    heartbeat_ms: u64,
    /// Claims of a step after which it parks its run instead of running again (its hosts keep
    /// crashing or stalling on it, or its result cannot be stored).
    #[arg(long, default_value_t = defaults::MAX_CLAIMS)]
    max_claims: i32,
    /// Longest idle wait without a notification (ms).
    #[arg(long, default_value_t = millis(defaults::POLL))]
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

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = EngineConfig {
        concurrency: args.concurrency,
        lease: Duration::from_millis(args.lease_ms),
        heartbeat: Duration::from_millis(args.heartbeat_ms),
        poll: Duration::from_millis(args.poll_ms),
        max_claims: args.max_claims,
        ..EngineConfig::default()
    };
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
    let pool = weft_store::connect(&args.database_url, args.connections)
        .await
        .context("cannot reach or migrate the database")?;
    let owner = config.owner.clone();
    let engine =
        crate::host::engine(pool, args.cache_dir, config, args.allow_private_egress).await?;
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
