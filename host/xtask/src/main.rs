//! Build tasks behind `cargo xtask`:
//! - `dev`: build the plugins and the host, then run a sample through the sandbox and report,
//! - `test`: build the plugins, start a private PostgreSQL when the tests need one, and run
//!   formatting, lints and every test (what `.ci/run` runs),
//! - `bench`: the benchmarks, printing `BENCH <name> <value> <unit>` lines,
//! - `plugins`: only build the plugins.

mod cmd;
mod dev;
mod pgbench;
mod plugins;
mod postgres;

use std::ffi::OsStr;
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <dev | test | bench | plugins | postgres-check>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("dev") => dev::run(),
        Some("test") => test(&args[1..]),
        Some("bench") => bench(),
        Some("plugins") => plugins::build().map(|_| ()),
        Some("postgres-check") => postgres_check(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Everything CI checks. Extra arguments go to `cargo test` (e.g. a test name filter).
fn test(extra: &[String]) -> anyhow::Result<()> {
    let plugin_dir = plugins::build()?;
    let db = postgres::start_if_needed()?;
    cmd::cargo(&["fmt", "--all", "--check"])?;
    cmd::cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--quiet",
        "--",
        "-D",
        "warnings",
    ])?;
    let mut args = vec!["test", "--workspace"];
    args.extend(extra.iter().map(String::as_str));
    let mut env = vec![("WEFT_PLUGIN_DIR", plugin_dir.as_os_str())];
    if let Some(db) = &db {
        env.push(("DATABASE_URL", OsStr::new(&db.url)));
    }
    cmd::cargo_test(&args, &env)
}

/// The runtime's benchmarks, then the engine's against `pgbench -N` on the same (durable)
/// cluster, so the ratio compares like with like.
fn bench() -> anyhow::Result<()> {
    let plugin_dir = plugins::build()?;
    let plugins = ("WEFT_PLUGIN_DIR", plugin_dir.as_os_str());
    let runtime_bench = [
        "bench",
        "--package",
        "weft-runtime",
        "--bench",
        "runtime",
        "--quiet",
    ];
    cmd::cargo_with_env(&runtime_bench, &[plugins])?;
    let cluster = postgres::start_private(postgres::Durability::Durable)?;
    let url = match (&cluster, std::env::var("DATABASE_URL")) {
        (Some(c), _) => c.url.clone(),
        (None, Ok(url)) => url,
        (None, Err(_)) => anyhow::bail!("no database for the engine benchmark"),
    };
    let tps = pgbench::tps(cluster.as_ref(), &url)?;
    println!("BENCH pg.tps {tps:.1} tx/s");
    let tps = tps.to_string();
    let engine_bench = [
        "bench",
        "--package",
        "weft-cli",
        "--bench",
        "engine",
        "--quiet",
    ];
    cmd::cargo_with_env(
        &engine_bench,
        &[
            plugins,
            ("DATABASE_URL", OsStr::new(&url)),
            ("WEFT_PG_TPS", OsStr::new(&tps)),
        ],
    )?;
    let storage_bench = [
        "bench",
        "--package",
        "weft-cli",
        "--bench",
        "storage",
        "--quiet",
    ];
    cmd::cargo_with_env(
        &storage_bench,
        &[plugins, ("DATABASE_URL", OsStr::new(&url))],
    )
}

/// Starts the private cluster, runs one query, stops it: checks the set-up on this machine.
fn postgres_check() -> anyhow::Result<()> {
    let Some(cluster) = postgres::start_private(postgres::Durability::Fast)? else {
        anyhow::bail!("DATABASE_URL is set: no private cluster to check");
    };
    cmd::run_checked(std::process::Command::new(cluster.bin("psql")).args([
        &cluster.url,
        "-c",
        "select version()",
    ]))?;
    println!("private PostgreSQL works at {}", cluster.url);
    Ok(())
}
