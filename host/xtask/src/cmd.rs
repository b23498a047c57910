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

/// Runs `cargo test` passing its output through, and prints the totals of every test binary as
/// the last line (`tests: N passed, M failed`): cargo's own last line is the last binary's,
/// often a doc-test run with nothing in it.
pub fn cargo_test(args: &[&str], env: &[(&str, &OsStr)]) -> anyhow::Result<()> {
    use std::io::{BufRead, BufReader};
    let mut c = Command::new(cargo_bin());
    c.args(args)
        .current_dir(root())
        .stdout(std::process::Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let shown = format!("{c:?}");
    eprintln!("xtask: running {shown}");
    let mut child = c.spawn().with_context(|| format!("cannot start {shown}"))?;
    let (mut passed, mut failed) = (0u64, 0u64);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line?;
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                passed += count(rest, " passed");
                failed += count(rest, " failed");
            }
        }
    }
    let status = child.wait()?;
    println!("tests: {passed} passed, {failed} failed");
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// The number before `label` in `ok. 12 passed; 0 failed; ...`.
fn count(summary: &str, label: &str) -> u64 {
    summary
        .split(';')
        .find_map(|part| {
            part.trim()
                .trim_start_matches("ok. ")
                .trim_start_matches("FAILED. ")
                .strip_suffix(label.trim_start())
                .map(str::trim)
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_are_read_from_cargo_summaries() {
        let ok =
            "ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s";
        assert_eq!((count(ok, " passed"), count(ok, " failed")), (12, 0));
        let bad =
            "FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1s";
        assert_eq!((count(bad, " passed"), count(bad, " failed")), (3, 2));
    }
}
