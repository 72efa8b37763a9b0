//! The command surface: exit codes, formats, and bad input that must give a clear message and exit 3.

use crate::util::*;

#[test]
fn help_and_version_exit_0() {
    let (code, out, _) = run(osdoctor().arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("check"), "{out}");
    let (code, out, _) = run(osdoctor().arg("--version"));
    assert_eq!(code, 0);
    assert!(out.starts_with("osdoctor "), "{out}");
}

#[test]
fn usage_errors_exit_3_not_2() {
    for args in [
        vec!["check", "--frobnicate"],
        vec![],
        vec!["check", "--interval", "soon"],
        vec!["nonsense"],
    ] {
        let (code, _, err) = run(osdoctor().args(&args));
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(!err.is_empty(), "{args:?} printed no message");
    }
}

#[test]
fn missing_root_exits_3_with_message() {
    let (code, out, err) = run(osdoctor().args(["check", "--root", "/nonexistent/osdoctor-root"]));
    assert_eq!(code, 3);
    assert!(out.is_empty());
    assert!(
        err.contains("/nonexistent/osdoctor-root") && err.contains("no such directory"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = run(osdoctor().args(["check", "--root"]).arg(empty.path()));
    assert_eq!(code, 3);
    assert!(err.contains("neither a snapshot"), "{err}");
}

#[test]
fn garbage_rules_exit_3_with_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[rule]]\nid = \"cpu.x\"\ntitle = 3\n",
    )
    .unwrap();
    let (code, out, err) = run(osdoctor()
        .args(["check", "--interval", "0", "--rules"])
        .arg(dir.path()));
    assert_eq!(code, 3, "{out}");
    assert!(out.is_empty());
    assert!(err.contains("bad.toml:3:9:"), "{err}");
    let (code, _, err) = run(osdoctor().args(["rules", "check"]).arg(dir.path()));
    assert_eq!(code, 3);
    assert!(err.contains("bad.toml:3:9:"), "{err}");
    std::fs::write(dir.path().join("bad.toml"), "\u{0}\u{1}garbage ]]] [[[").unwrap();
    let (code, _, err) = run(osdoctor().args(["rules", "check"]).arg(dir.path()));
    assert_eq!(code, 3);
    assert!(err.contains("bad.toml:1:"), "{err}");
}

#[test]
fn custom_rules_extend_and_override() {
    let dir = tempfile::tempdir().unwrap();
    // Override cpu.runqueue so it fires on any host, and add a new rule.
    let rule = r#"
[[rule]]
id = "cpu.runqueue"
title = "always"
resource = "cpu"
use = "saturation"
subject = "host"
metric = "host.cpus"
warn = { ge = 1 }
summary = "{host.cpus} CPUs"
cause = "test"
provenance = "test"

[[rule]]
id = "site.tasks_seen"
title = "tasks exist"
resource = "tasks"
use = "utilization"
subject = "host"
metric = "host.tasks.count"
info = { ge = 1 }
summary = "{host.tasks.count} tasks"
cause = "test"
provenance = "test"
"#;
    std::fs::write(dir.path().join("site.toml"), rule).unwrap();
    let (code, report) = check_json(&[
        "--root",
        fixture("healthy").to_str().unwrap(),
        "--rules",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let f = finding(&report, "cpu.runqueue").expect("override fires");
    assert_eq!(f["summary"], "2 CPUs");
    assert!(finding(&report, "site.tasks_seen").is_some());
    let (code, out, _) = run(osdoctor().args(["rules", "list", "--rules"]).arg(dir.path()));
    assert_eq!(code, 0);
    assert!(out.contains("site.tasks_seen"));
}

#[test]
fn rules_list_explain_and_facts() {
    let (code, out, _) = run(osdoctor().args(["rules", "list"]));
    assert_eq!(code, 0);
    for id in [
        "cpu.runqueue",
        "cpu.context_switch_storm",
        "mem.swap_thrashing",
        "fd.system_near_limit",
        "tasks.system_limit",
    ] {
        assert!(out.contains(id), "{id} missing from rules list");
    }
    let (code, out, _) = run(osdoctor().args(["rules", "explain", "cpu.runqueue"]));
    assert_eq!(code, 0);
    assert!(out.contains("host.cpu.runnable_per_cpu >= 2"), "{out}");
    assert!(out.contains("clear"), "{out}");
    let (code, _, err) = run(osdoctor().args(["rules", "explain", "cpu.nope"]));
    assert_eq!(code, 3);
    assert!(err.contains("cpu.runqueue"), "suggests nearby rules: {err}");
    let (code, out, _) = run(osdoctor().args(["rules", "facts"]));
    assert_eq!(code, 0);
    assert!(out.contains("host.cpu.ctxt_per_cpu_rate"));
}

#[test]
fn json_has_every_contract_key_even_when_files_are_unreadable() {
    // A root tree with a truncated meminfo and nothing else but stat.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("proc")).unwrap();
    std::fs::write(
        dir.path().join("proc/meminfo"),
        "MemTotal:       16000000 kB\nMemFree:  ",
    )
    .unwrap();
    std::fs::copy(
        fixture("healthy").join("sample1/proc/stat"),
        dir.path().join("proc/stat"),
    )
    .unwrap();
    let (code, report) = check_json(&["--root", dir.path().to_str().unwrap(), "--interval", "0"]);
    // A malformed file makes the verdict UNKNOWN, but the rest is still reported.
    assert_eq!(code, 3);
    for key in [
        "schema_version",
        "tool",
        "host",
        "started_at",
        "interval_s",
        "status",
        "findings",
        "diagnoses",
        "cleared",
        "use_matrix",
        "coverage",
    ] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
    assert_eq!(report["status"], "unknown");
    assert_eq!(report["host"]["cpus"], 2);
    let unreadable = report["coverage"]["unreadable"].as_array().unwrap();
    let meminfo = unreadable
        .iter()
        .find(|p| p["path"] == "/proc/meminfo")
        .expect("meminfo listed");
    assert_eq!(meminfo["kind"], "malformed");
    let not_eval = report["coverage"]["not_evaluated"].as_array().unwrap();
    let avail = not_eval
        .iter()
        .find(|n| n["rule"] == "mem.available_low")
        .expect("mem.available_low not evaluated");
    assert!(
        avail["reason"].as_str().unwrap().starts_with("/proc/meminfo:"),
        "{avail}"
    );
    // Rate rules say why with one sample.
    let ctxt = not_eval
        .iter()
        .find(|n| n["rule"] == "cpu.context_switch_storm")
        .unwrap();
    assert!(ctxt["reason"].as_str().unwrap().contains("--interval"), "{ctxt}");
}

#[test]
fn schema_lists_the_contract_keys() {
    let (code, out, _) = run(osdoctor().arg("schema"));
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&out).unwrap();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let (_, report) = check_json(&["--root", fixture("healthy").to_str().unwrap()]);
    let mut keys: Vec<&str> = report.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    let mut req = required.clone();
    req.sort();
    assert_eq!(keys, req);
}

#[test]
fn prometheus_and_nagios_formats() {
    let root = fixture("cpu-saturation");
    let (code, out, _) = run(osdoctor()
        .args(["check", "--format", "prometheus", "--root"])
        .arg(&root));
    assert_eq!(code, 2);
    assert!(out.contains("osdoctor_status 2\n"), "{out}");
    assert!(out.contains("osdoctor_finding{rule=\"cpu.runqueue\",severity=\"critical\",resource=\"cpu\",use=\"saturation\",subject=\"host\"}"), "{out}");
    let (code, out, _) = run(osdoctor()
        .args(["check", "--format", "nagios", "--root"])
        .arg(&root));
    assert_eq!(code, 2);
    assert!(out.starts_with("OSDOCTOR CRITICAL - "), "{out}");
    assert!(out.lines().next().unwrap().contains("| critical="), "{out}");
}

/// `check`'s Prometheus text passes `promtool check metrics` (when installed) on fixtures with
/// findings, coverage gaps and none.
#[test]
fn check_prometheus_is_clean_for_promtool() {
    for name in [
        "cpu-saturation",
        "oom-kill",
        "healthy",
        "v2-pod-systemd-containerd",
    ] {
        let (code, out, err) = run(osdoctor()
            .args(["check", "--interval", "0", "--format", "prometheus", "--root"])
            .arg(fixture(name)));
        assert!((0..=3).contains(&code), "{name}: {err}");
        assert_eq!(series_value(&out, "osdoctor_status"), Some(code as f64), "{out}");
        assert_clean_prometheus(name, &out);
    }
}

/// Every command serves the four formats; anything else is refused by clap, exit 3 (UNKNOWN), not
/// clap's 2 (CRITICAL), and never replaced by another format.
#[test]
fn every_command_refuses_an_unknown_format_with_exit_3() {
    let root = fixture("v2-pod-systemd-containerd");
    let root = root.to_str().unwrap();
    let log = repo().join("tests/data/kernel_log/induced-6.18-memcg-v1-oom.dmesg");
    let log = log.to_str().unwrap();
    for args in [
        vec!["check", "--root", root],
        vec!["cgroup", "/", "--root", root],
        vec!["kernel-log", "--file", log],
    ] {
        for format in ["xml", "Prometheus", "text"] {
            let (code, out, err) = run(osdoctor().args(&args).args(["--format", format]));
            assert_eq!(code, 3, "{args:?} --format {format:?}: {out}{err}");
            assert!(out.is_empty(), "{args:?} --format {format:?}: {out}");
            assert!(err.contains("invalid value"), "{args:?}: {err}");
            assert!(
                err.contains("[possible values: table, json, prometheus, nagios]"),
                "{args:?}: {err}"
            );
        }
    }
}

#[test]
fn table_is_plain_when_not_a_terminal_and_names_the_verdict_first() {
    let (code, out, _) = run(osdoctor()
        .args(["check", "--root"])
        .arg(fixture("cpu-saturation")));
    assert_eq!(code, 2);
    assert!(out.starts_with("osdoctor: CRITICAL"), "{out}");
    assert!(!out.contains('\x1b'), "colour codes in a pipe");
    let crit_line = out
        .lines()
        .find(|l| l.starts_with("CRIT  cpu.runqueue"))
        .expect("runqueue line");
    assert!(crit_line.contains("runnable tasks per CPU"), "{crit_line}");
}

#[test]
fn state_file_holds_a_finding_until_its_clear_level() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let (code, _) = check_json(&[
        "--root",
        fixture("cpu-saturation").to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["runs"].as_array().unwrap().len(), 1);
    let (code, _) = check_json(&[
        "--root",
        fixture("healthy").to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "healthy values are below every clear level");
    std::fs::write(&state, "not json").unwrap();
    let (code, out, err) = run(osdoctor()
        .args(["check", "--state"])
        .arg(&state)
        .args(["--root"])
        .arg(fixture("healthy")));
    // A file that is not a state file is set aside, never trusted and never a crash (issue 11).
    assert_eq!(code, 0, "{out}");
    assert!(err.contains("not an osdoctor state file"), "{err}");
    assert!(err.contains(".corrupt-"), "{err}");
}

#[test]
fn broken_pipe_is_quiet() {
    use std::process::Stdio;
    let mut child = osdoctor()
        .args(["rules", "facts"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
