//! Building every plugin crate (those with `[package.metadata.weft] plugin = true`) as a
//! `wasm32-wasip2` component with the size-optimised `plugin` profile.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;

use crate::cmd;

pub const TARGET: &str = "wasm32-wasip2";

/// Builds the plugins; returns the directory holding the `.wasm` files.
pub fn build() -> anyhow::Result<PathBuf> {
    ensure_target()?;
    let metadata = cmd::output(
        Command::new(cmd::cargo_bin())
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(cmd::root()),
    )?;
    let metadata: serde_json::Value =
        serde_json::from_str(&metadata).context("cargo metadata is not JSON")?;
    let names: Vec<String> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["metadata"]["weft"]["plugin"].as_bool() == Some(true))
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    let mut args = vec![
        "build",
        "--quiet",
        "--target",
        TARGET,
        "--profile",
        "plugin",
    ];
    for name in &names {
        args.extend(["--package", name.as_str()]);
    }
    cmd::cargo(&args)?;
    let target_dir = metadata["target_directory"]
        .as_str()
        .context("no target_directory")?;
    let dir = PathBuf::from(target_dir).join(TARGET).join("plugin");
    eprintln!("xtask: {} plugins in {}", names.len(), dir.display());
    Ok(dir)
}

/// Installs the wasm target when it is missing (a fresh machine has only the host target).
fn ensure_target() -> anyhow::Result<()> {
    let installed = cmd::output(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("rustup is needed to install the wasm32-wasip2 target")?;
    if installed.lines().any(|l| l.trim() == TARGET) {
        return Ok(());
    }
    cmd::run_checked(Command::new("rustup").args(["target", "add", TARGET]))
}
