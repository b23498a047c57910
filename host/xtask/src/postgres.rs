//! A private, throw-away PostgreSQL cluster for tests and `dev`, unless `DATABASE_URL` points at
//! one already. PostgreSQL refuses to run as root, so as root the cluster belongs to the
//! `postgres` user and its commands run through `runuser`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::cmd;

/// A running cluster; stopped and deleted when dropped.
pub struct Cluster {
    pub url: String,
    bin_dir: PathBuf,
    base: PathBuf,
    as_postgres: bool,
}

impl Cluster {
    pub fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    fn command(&self, name: &str) -> Command {
        command(&self.bin(name), self.as_postgres)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.base.join("data");
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["stop", "-m", "fast"])
            .output();
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn command(program: &Path, as_postgres: bool) -> Command {
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Starts a cluster when the workspace uses a database (sqlx is in Cargo.lock) and
/// `DATABASE_URL` is not set.
pub fn start_if_needed() -> anyhow::Result<Option<Cluster>> {
    let lock = std::fs::read_to_string(cmd::root().join("Cargo.lock")).unwrap_or_default();
    if !lock.contains("name = \"sqlx\"") {
        return Ok(None);
    }
    start_private(Durability::Fast)
}

/// How a private cluster treats commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// No fsync: tests, where the machine never crashes under the database.
    Fast,
    /// PostgreSQL's defaults: benchmarks, where a commit must cost what it costs in production.
    Durable,
}

/// Starts a fresh cluster on a free loopback port.
pub fn start_private(durability: Durability) -> anyhow::Result<Option<Cluster>> {
    if std::env::var_os("DATABASE_URL").is_some() {
        eprintln!("xtask: using DATABASE_URL");
        return Ok(None);
    }
    let bin_dir = bin_dir()?;
    let as_postgres = cmd::output(Command::new("id").arg("-u"))?.trim() == "0";
    // Outside the checkout: as root the `postgres` user must be able to reach it, and a
    // checkout under /root is not reachable.
    let base = std::env::temp_dir().join(format!("weft-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).with_context(|| format!("cannot create {}", base.display()))?;
    if as_postgres {
        ensure_postgres_user()?;
        cmd::output(Command::new("chown").args(["-R", "postgres:"]).arg(&base))?;
    }
    let port = free_port()?;
    let cluster = Cluster {
        url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        bin_dir,
        base: base.clone(),
        as_postgres,
    };
    let data = base.join("data");
    cmd::output(cluster.command("initdb").arg("-D").arg(&data).args([
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-sync",
    ]))?;
    let tuning = match durability {
        Durability::Fast => "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        Durability::Durable => "",
    };
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 {tuning}",
        base.display()
    );
    cmd::output(
        cluster
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(base.join("postgres.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"]),
    )
    .with_context(|| format!("see {}", base.join("postgres.log").display()))?;
    eprintln!("xtask: private PostgreSQL at {}", cluster.url);
    Ok(Some(cluster))
}

/// `pg_config --bindir`, or the directory of `initdb` on PATH.
fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(out) = cmd::output(Command::new("pg_config").arg("--bindir")) {
        let dir = PathBuf::from(out.trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        if dir.join("initdb").exists() && dir.join("pg_ctl").exists() {
            return Ok(dir);
        }
    }
    bail!("PostgreSQL 15 binaries not found: install them (initdb, pg_ctl) or set DATABASE_URL")
}

fn ensure_postgres_user() -> anyhow::Result<()> {
    if Command::new("id")
        .arg("postgres")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(());
    }
    cmd::output(Command::new("useradd").args(["--system", "--no-create-home", "postgres"]))
        .map(|_| ())
        .context("running as root needs a `postgres` user for PostgreSQL")
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("no free loopback port")?;
    Ok(listener.local_addr()?.port())
}
