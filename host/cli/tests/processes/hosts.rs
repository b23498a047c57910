//! `weft serve` children against the test's database, and the loop that kills and restarts them.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use weft_test_support::{LedgerServer, cache_dir};

/// The crash test's lease: short, so a killed host's work is taken over quickly.
pub const CRASH_LEASE_MS: u32 = 1500;

/// The URL of the test's own database, for the child processes.
pub fn database_url(pool: &sqlx::PgPool) -> String {
    let base = std::env::var("DATABASE_URL").unwrap();
    let db = pool
        .connect_options()
        .get_database()
        .unwrap_or("postgres")
        .to_owned();
    let (server, _) = base.rsplit_once('/').unwrap();
    format!("{server}/{db}")
}

/// A `weft serve` child. The crash test uses a short lease so a killed host's work is taken
/// over quickly; without kills a long one keeps a loaded machine from expiring leases.
pub fn serve(url: &str, lease_ms: u32) -> Child {
    let verbose = std::env::var_os("WEFT_TEST_VERBOSE").is_some();
    let out = || {
        if verbose {
            Stdio::inherit()
        } else {
            Stdio::null()
        }
    };
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args([
            "serve",
            "--lease-ms",
            &lease_ms.to_string(),
            "--heartbeat-ms",
            "300",
        ])
        .args(["--poll-ms", "200"])
        // Kills here are not the items' fault: the safety valve that parks a run whose item was
        // claimed too often without a commit would end a long soak in `parked` runs.
        .args(["--max-claims", "1000"])
        .args(["--concurrency", "8", "--connections", "6"])
        .env("DATABASE_URL", url)
        .env("WEFT_CACHE_DIR", cache_dir())
        // The ledger listens on 127.0.0.1.
        .env("WEFT_ALLOW_PRIVATE_EGRESS", "true")
        .stdout(out())
        .stderr(out())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// How many kills a crash test makes: `WEFT_CRASH_KILLS`, 50 by default.
pub fn kills() -> u32 {
    std::env::var("WEFT_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

/// Kills a host at random instants, `kills` times, restarting it each time; returns the host
/// running at the end. The first kill is not left to chance: it lands while the host's requests
/// are held at the ledger, so at least one request reaches the remote from a host that dies
/// before its result is committed, and another host must take the step over.
pub async fn kill_repeatedly(url: &str, ledger: &LedgerServer, kills: u32) -> Child {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("crash test seed {seed}, {kills} kills");
    ledger.hold();
    let mut child = serve(url, CRASH_LEASE_MS);
    ledger.until_held(1).await;
    child.kill().await.unwrap();
    ledger.release();
    child = serve(url, CRASH_LEASE_MS);
    for _ in 1..kills {
        // xorshift: a kill 50-400 ms after the (re)start, anywhere in a step.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(50 + seed % 350)).await;
        child.kill().await.unwrap();
        child = serve(url, CRASH_LEASE_MS);
    }
    child
}
