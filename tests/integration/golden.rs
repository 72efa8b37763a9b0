//! Behaviour kept across refactors: every fixture's findings, with their whole subjects, as the
//! binary gave them when tests/data/golden/ was written, and the kernel events every saved log gives.
//!
//! `expected-findings` (fixtures.rs) names rule, subject kind and severity; this adds which process,
//! cgroup or event group each finding is about, so a move of code that changes *who* a finding names
//! is caught too. A deliberate change of behaviour rewrites the files with
//! `OSDOCTOR_BLESS=1 cargo test golden`, and the diff shows what changed in review.

use std::path::Path;

use serde_json::Value;

use crate::util::*;

/// One line per finding: `fixture rule severity subject`, the subject its JSON fields in order
/// (kind first), without the command line (read late, and redacted).
fn finding_lines(name: &str, report: &Value) -> Vec<String> {
    let mut lines: Vec<String> = report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            let subject: Vec<String> = f["subject"]
                .as_object()
                .expect("subject object")
                .iter()
                .filter(|(k, _)| k.as_str() != "cmdline")
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect();
            format!(
                "{name} {} {} {}",
                f["rule"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                subject.join(",")
            )
        })
        .collect();
    lines.sort();
    lines
}

/// Compare with the golden file, or write it under `OSDOCTOR_BLESS=1`.
fn compare_or_bless(file: &str, got: Vec<String>) {
    let path = repo().join("tests/data/golden").join(file);
    let text = got.join("\n") + "\n";
    if std::env::var_os("OSDOCTOR_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (OSDOCTOR_BLESS=1 writes it)", path.display()));
    let mut want: Vec<&str> = want.lines().collect();
    let mut got: Vec<&str> = text.lines().collect();
    want.sort_unstable();
    got.sort_unstable();
    if want == got {
        return;
    }
    let lost: Vec<&&str> = want.iter().filter(|l| !got.contains(l)).collect();
    let new: Vec<&&str> = got.iter().filter(|l| !want.contains(l)).collect();
    panic!(
        "{}: behaviour changed (lines counted differently where both lists are empty)\n  lost: {lost:#?}\n  new: {new:#?}",
        path.display()
    );
}

fn fixture_dirs() -> Vec<(String, std::path::PathBuf)> {
    let mut dirs: Vec<_> = std::fs::read_dir(repo().join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|d| d.join("osdoctor-snapshot.json").is_file() || d.join("proc").is_dir())
        .map(|d| (d.file_name().unwrap().to_string_lossy().into_owned(), d))
        .collect();
    dirs.sort();
    dirs
}

fn interval_for(dir: &Path) -> &'static str {
    // A tree's files do not change between the two reads: a short interval will do.
    if dir.join("osdoctor-snapshot.json").is_file() {
        "1"
    } else {
        "0.1"
    }
}

#[test]
fn golden_check_findings_of_every_fixture() {
    let mut lines = Vec::new();
    for (name, dir) in fixture_dirs() {
        let (_, report) = check_json(&["--root", dir.to_str().unwrap(), "--interval", interval_for(&dir)]);
        lines.push(format!("{name} status {}", report["status"].as_str().unwrap()));
        lines.extend(finding_lines(&name, &report));
    }
    assert!(lines.len() > 40, "too few lines: {lines:#?}");
    compare_or_bless("check-findings.txt", lines);
}

#[test]
fn golden_cgroup_root_of_every_fixture_with_cgroups() {
    let mut lines = Vec::new();
    for (name, dir) in fixture_dirs() {
        let (code, out, err) = run(osdoctor().args([
            "cgroup",
            "/",
            "--format",
            "json",
            "--interval",
            interval_for(&dir),
            "--root",
            dir.to_str().unwrap(),
        ]));
        if code == 3 && out.trim().is_empty() {
            // No cgroup filesystem in this fixture: the error is the behaviour to keep.
            let first = err.lines().next().unwrap_or_default().to_string();
            lines.push(format!("{name} error {first}"));
            continue;
        }
        let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}: {out}"));
        lines.push(format!(
            "{name} status {} exit {code}",
            report["status"].as_str().unwrap()
        ));
        lines.extend(finding_lines(&name, &report));
    }
    compare_or_bless("cgroup-root-findings.txt", lines);
}

#[test]
fn golden_kernel_events_of_every_saved_log() {
    let dir = repo().join("tests/data/kernel_log");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    let mut lines = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let (code, out, err) = run(osdoctor()
            .args(["kernel-log", "--format", "json", "--file"])
            .arg(&file));
        let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}: {out} {err}"));
        lines.push(format!(
            "{name} status {} exit {code}",
            report["status"].as_str().unwrap()
        ));
        for e in report["events"].as_array().expect("events array") {
            lines.push(format!(
                "{name} event {} pid={} comm={}",
                e["kind"].as_str().unwrap_or("?"),
                e["pid"],
                e["comm"]
            ));
        }
        lines.extend(finding_lines(&name, &report));
    }
    compare_or_bless("kernel-log-events.txt", lines);
}
