//! Running commands and saying exactly which one failed.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

/// The workspace root (xtask lives in `host/xtask`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

pub fn cargo(args: &[&str]) -> anyhow::Result<()> {
    cargo_with_env(args, &[])
}

pub fn cargo_with_env(args: &[&str], env: &[(&str, &OsStr)]) -> anyhow::Result<()> {
    let mut c = Command::new(cargo_bin());
    c.args(args).current_dir(root());
    for (k, v) in env {
        c.env(k, v);
    }
    run_checked(&mut c)
}

pub fn run_checked(c: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{c:?}");
    eprintln!("xtask: running {shown}");
    let status = c
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// Runs and returns stdout.
pub fn output(c: &mut Command) -> anyhow::Result<String> {
    let shown = format!("{c:?}");
    let out = c
        .output()
        .with_context(|| format!("cannot start {shown}"))?;
    if !out.status.success() {
        bail!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
