//! `pgbench -N` (simple updates, no branch contention) on the benchmark cluster: the ceiling a
//! durable step is measured against.

use std::process::Command;

use anyhow::Context;

use crate::cmd;
use crate::postgres::Cluster;

/// Clients and run time match the engine benchmark: 16 concurrent transactions for 15 s.
const CLIENTS: &str = "16";
const SECONDS: &str = "15";

pub fn tps(cluster: Option<&Cluster>, url: &str) -> anyhow::Result<f64> {
    let pgbench = cluster.map_or_else(|| "pgbench".into(), |c| c.bin("pgbench"));
    cmd::output(Command::new(&pgbench).args(["-i", "-q", "-s", "10", url]))
        .context("pgbench -i failed")?;
    let out = cmd::output(
        Command::new(&pgbench).args(["-N", "-c", CLIENTS, "-j", "2", "-T", SECONDS, url]),
    )?;
    out.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no tps in pgbench output:\n{out}"))
}
