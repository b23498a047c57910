//! `cargo xtask dev`: the first look. Builds the plugins and the `weft` binary, runs sample
//! attempts through the sandbox, then a sample workflow through the engine on a private
//! PostgreSQL (or `DATABASE_URL`), and reports what happened. (It grows into the full local
//! deployment — simulators, connectors, a quote-to-cash run — with those issues.)

use std::process::Command;

use anyhow::Context;

use crate::{cmd, plugins, postgres};

pub fn run() -> anyhow::Result<()> {
    let plugin_dir = plugins::build()?;
    cmd::cargo(&["build", "--quiet", "--package", "weft-cli"])?;
    let weft = cmd::root().join("target/debug/weft");
    let cache = cmd::root().join("target/weft-cache");
    let echo = plugin_dir.join("weft_test_echo.wasm");
    let hostile = plugin_dir.join("weft_test_hostile.wasm");

    let describe = weft_json(
        Command::new(&weft)
            .arg("plugin")
            .arg("describe")
            .arg(&echo)
            .arg("--cache-dir")
            .arg(&cache),
    )?;
    let ops: Vec<&str> = describe["operations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["name"].as_str())
        .collect();
    println!(
        "plugin echo@{} loaded: operations {}",
        describe["version"].as_str().unwrap_or("?"),
        ops.join(", ")
    );

    let samples: [(&std::path::Path, &str, &str, &str); 4] = [
        (
            &echo,
            "echo",
            r#"{"message":"order SO042 confirmed"}"#,
            "{}",
        ),
        (&echo, "echo", r#"{"message":42}"#, "{}"),
        (&hostile, "spin", "{}", r#"{"cpu_time":200}"#),
        (&hostile, "hog", "{}", r#"{"memory_bytes":16777216}"#),
    ];
    println!(
        "\n{:<8} {:<6} {:<16} {:>8}  summary",
        "plugin", "op", "outcome", "ms"
    );
    for (file, op, input, limits) in samples {
        let report = weft_json(
            Command::new(&weft)
                .args(["plugin", "invoke"])
                .arg(file)
                .arg(op)
                .args(["--input", input, "--limits", limits])
                .arg("--cache-dir")
                .arg(&cache),
        )?;
        println!(
            "{:<8} {:<6} {:<16} {:>8.2}  {}",
            report["plugin"]
                .as_str()
                .unwrap_or("?")
                .split('@')
                .next()
                .unwrap_or("?"),
            op,
            report["outcome"]["class"].as_str().unwrap_or("?"),
            report["duration_ms"].as_f64().unwrap_or(0.0),
            report["summary"].as_str().unwrap_or("?"),
        );
    }
    println!(
        "\nTry your own: target/debug/weft plugin invoke <file.wasm> <operation> --input '<json>'"
    );

    println!("\nThe engine: a workflow that waits for a signal and a timer");
    let cluster = postgres::start_private(postgres::Durability::Fast)?;
    let mut sample = Command::new(&weft);
    sample
        .arg("sample")
        .arg("--echo")
        .arg(&echo)
        .arg("--cache-dir")
        .arg(&cache);
    if let Some(c) = &cluster {
        sample.env("DATABASE_URL", &c.url);
    }
    cmd::run_checked(&mut sample)
}

/// Runs `weft` and parses its JSON, whatever its exit code (a failed attempt exits 1).
fn weft_json(c: &mut Command) -> anyhow::Result<serde_json::Value> {
    let shown = format!("{c:?}");
    let out = c
        .output()
        .with_context(|| format!("cannot start {shown}"))?;
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "{shown} printed no report: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}
