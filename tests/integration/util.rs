//! Small helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

/// The osdoctor binary cargo built for these tests.
pub fn osdoctor() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_osdoctor"));
    c.env_remove("NO_COLOR");
    c
}

/// The repository's top directory.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture directory by name.
pub fn fixture(name: &str) -> PathBuf {
    repo().join("fixtures").join(name)
}

/// The load generator (examples/loadgen.rs), built by `cargo test` alongside the tests.
pub fn loadgen() -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/integration-HASH -> target/<profile>/examples/loadgen
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    Command::new(dir.join("examples").join("loadgen"))
}

/// Run and return (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run command");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// `osdoctor check ARGS --format json`, parsed; returns (exit code, report).
pub fn check_json(args: &[&str]) -> (i32, Value) {
    let (code, out, err) = run(osdoctor().arg("check").args(args).args(["--format", "json"]));
    let report: Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"));
    (code, report)
}

/// (rule, subject kind, severity) of every finding, sorted.
pub fn findings(report: &Value) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["subject"]["kind"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The finding of a rule, if there is exactly one.
pub fn finding<'a>(report: &'a Value, rule: &str) -> Option<&'a Value> {
    let all: Vec<&Value> = report["findings"]
        .as_array()?
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect();
    assert!(all.len() <= 1, "{rule} found {} times", all.len());
    all.into_iter().next()
}

/// An evidence value of a finding.
pub fn evidence(f: &Value, fact: &str) -> f64 {
    f["evidence"][fact]["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("no evidence {fact} in {f}"))
}

/// Tests that load the machine or need it quiet take this lock so they never overlap.
pub fn machine_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}
