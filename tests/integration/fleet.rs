//! Running osdoctor across a fleet: `-o FILE` written atomically, `--every` until SIGTERM, shell
//! completions, `--ignore`, the Kubernetes DaemonSet (validated offline with `kubernetes-validate`
//! when installed) and `--root` over a recursive bind mount of this host's / (as root).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

/// The names in a directory, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn output_file_is_whole_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("osdoctor.prom");
    // A stale, longer file is replaced, not overwritten in place.
    std::fs::write(&prom, "x".repeat(1 << 20)).unwrap();
    let (code, out, err) = run(osdoctor()
        .args(["check", "--format", "prometheus", "-o"])
        .arg(&prom)
        .arg("--root")
        .arg(fixture("cpu-saturation")));
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "the report went to the file: {out}");
    let text = std::fs::read_to_string(&prom).unwrap();
    assert_eq!(series_value(&text, "osdoctor_status"), Some(2.0), "{text}");
    assert!(text.ends_with('\n') && !text.contains("xxxx"), "{text}");
    assert_clean_prometheus("check -o", &text);
    assert_eq!(names(dir.path()), ["osdoctor.prom"]);
    // The same bytes as standard output.
    let (_, stdout, _) = run(osdoctor()
        .args(["check", "--format", "prometheus", "--root"])
        .arg(fixture("cpu-saturation")));
    assert_eq!(
        stdout
            .lines()
            .filter(|l| !l.contains("_seconds"))
            .collect::<Vec<_>>(),
        text.lines()
            .filter(|l| !l.contains("_seconds"))
            .collect::<Vec<_>>()
    );
    // A directory that does not exist: exit 3, said, nothing left behind.
    let missing = dir.path().join("no/such/osdoctor.prom");
    let (code, _, err) = run(osdoctor()
        .args(["check", "-o"])
        .arg(&missing)
        .arg("--root")
        .arg(fixture("healthy")));
    assert_eq!(code, 3);
    assert!(err.contains("no/such/osdoctor.prom"), "{err}");
    assert_eq!(names(dir.path()), ["osdoctor.prom"]);
}

/// `cgroup` and `kernel-log` take -o too, written the same way.
#[test]
fn every_command_with_a_report_writes_o_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let log = repo().join("tests/data/kernel_log/induced-6.18-memcg-v1-oom.dmesg");
    for (name, args) in [
        (
            "cgroup.json",
            vec![
                "cgroup".to_string(),
                "/".to_string(),
                "--root".to_string(),
                fixture("v2-pod-systemd-containerd").display().to_string(),
            ],
        ),
        (
            "kernel-log.json",
            vec![
                "kernel-log".to_string(),
                "--file".to_string(),
                log.display().to_string(),
            ],
        ),
    ] {
        let out = dir.path().join(name);
        let (code, stdout, err) = run(osdoctor().args(&args).args(["--format", "json", "-o"]).arg(&out));
        assert!((0..=3).contains(&code), "{args:?}: {err}");
        assert!(stdout.is_empty(), "{stdout}");
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert!(report["findings"].is_array(), "{report}");
    }
    assert_eq!(names(dir.path()), ["cgroup.json", "kernel-log.json"]);
}

#[test]
fn every_repeats_until_sigterm_then_exits_0_with_the_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("osdoctor.json");
    let state = dir.path().join("state.json");
    let mut child = osdoctor()
        .args([
            "check",
            "--every",
            "1s",
            "--interval",
            "0",
            "--format",
            "json",
            "-o",
        ])
        .arg(&out)
        .arg("--state")
        .arg(&state)
        .arg("--root")
        .arg(fixture("cpu-saturation"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let sent = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let waited = sent.elapsed();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(waited < Duration::from_secs(1), "took {waited:?} to stop");
    assert!(output.stdout.is_empty());
    // One line per run on standard error, and the stop.
    let runs = stderr
        .lines()
        .filter(|l| l.contains(": CRITICAL, wrote "))
        .count();
    assert!(runs >= 2, "{stderr}");
    assert!(
        stderr.contains(&format!("stopped by a signal after {runs} runs")),
        "{stderr}"
    );
    // The report is whole, and every run recorded in the state.
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["status"], "critical");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["runs"].as_array().unwrap().len(), runs, "{stderr}");
    let mut left = names(dir.path());
    left.retain(|n| !n.starts_with("state.json"));
    assert_eq!(left, ["osdoctor.json"]);
}

#[test]
fn every_refuses_what_is_not_a_duration() {
    for bad in ["soon", "0s", "all", "5"] {
        let (code, _, err) = run(osdoctor().args(["check", "--every", bad]));
        assert_eq!(code, 3, "--every {bad}: {err}");
        assert!(err.contains("--every"), "{err}");
    }
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = run(osdoctor().args(["completions", shell]));
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains("check") && out.contains("--root"), "{shell}: {out}");
        assert!(out.contains("--ignore") && out.contains("kernel-log"), "{shell}");
        if shell == "bash" {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("osdoctor.bash");
            std::fs::write(&file, &out).unwrap();
            let (code, _, err) = run(std::process::Command::new("bash").arg("-n").arg(&file));
            assert_eq!(code, 0, "bash -n: {err}");
        }
    }
    let (code, _, err) = run(osdoctor().args(["completions", "tcsh"]));
    assert_eq!(code, 3, "{err}");
}

/// (rule, subject kind, severity) of the findings, as `findings` gives them.
fn rules_of(report: &Value) -> Vec<String> {
    findings(report).into_iter().map(|(rule, _, _)| rule).collect()
}

#[test]
fn ignored_findings_are_not_shown_not_counted_and_listed_in_coverage() {
    let root = fixture("fd-near-limit");
    let root = root.to_str().unwrap();
    let (code, all) = check_json(&["--root", root]);
    assert_eq!(code, 2);
    assert_eq!(
        rules_of(&all),
        [
            "cpu.pressure",
            "fd.process_near_limit",
            "io.pressure",
            "limits.nofile_low_for_server",
            "mem.oom_kill_count",
            "mem.page_cache_thrashing"
        ]
    );
    assert_eq!(all["coverage"]["ignored"], serde_json::json!([]));
    // The two critical findings ignored: a warning is left, exit 1.
    let (code, report) = check_json(&[
        "--root",
        root,
        "--ignore",
        "cpu.*",
        "--ignore",
        "fd.process_near_limit:pid * (loadgen)",
    ]);
    assert_eq!(code, 1);
    assert_eq!(report["status"], "warning");
    assert_eq!(
        rules_of(&report),
        [
            "io.pressure",
            "limits.nofile_low_for_server",
            "mem.oom_kill_count",
            "mem.page_cache_thrashing"
        ]
    );
    assert_eq!(
        report["coverage"]["ignored"],
        serde_json::json!([
            {"rule": "cpu.pressure", "severity": "critical", "subject": "host", "pattern": "cpu.*"},
            {"rule": "fd.process_near_limit", "severity": "critical", "subject": "pid 18964 (loadgen)",
             "pattern": "fd.process_near_limit:pid * (loadgen)"},
        ])
    );
    // No diagnosis names an ignored finding.
    let text = report["diagnoses"].to_string();
    assert!(
        !text.contains("cpu.pressure") && !text.contains("fd.process_near_limit"),
        "{text}"
    );
    // A subject pattern that matches nothing ignores nothing.
    let (code, report) = check_json(&["--root", root, "--ignore", "fd.process_near_limit:* (java)"]);
    assert_eq!(code, 2);
    assert_eq!(rules_of(&report), rules_of(&all));
    // The table says how many were ignored.
    let (code, out, _) = run(osdoctor().args(["check", "--root", root, "--ignore", "cpu.*"]));
    assert_eq!(code, 2);
    assert!(out.contains("\n1 finding ignored (--ignore"), "{out}");
    assert!(!out.contains("cpu.pressure"), "{out}");
}

#[test]
fn ignoring_a_cause_keeps_its_effects_and_says_what_explained_them() {
    let root = fixture("story-fd-leak");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ignore");
    std::fs::write(
        &file,
        "# a leak we know about\nfd.process_near_limit:* (loadgen)   # ticket 42\n\n",
    )
    .unwrap();
    let (code, report) = check_json(&[
        "--root",
        root.to_str().unwrap(),
        "--ignore-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "its effects are critical and still count");
    assert_eq!(
        rules_of(&report),
        ["fd.system_near_limit", "kernel.file_max_reached"]
    );
    let notes = report["coverage"]["notes"].to_string();
    assert!(
        notes.contains(
            "ignored fd.process_near_limit pid 23169 (loadgen) explains 2 findings shown without it"
        ),
        "{notes}"
    );
    // Every finding left is still in exactly one diagnosis.
    let members: usize = report["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| 1 + d["effects"].as_array().unwrap().len())
        .sum();
    assert_eq!(members, 2);
    // A bad line names the file and line; exit 3.
    std::fs::write(&file, "net.*\n:pid 1\n").unwrap();
    let (code, _, err) = run(osdoctor()
        .args(["check", "--root"])
        .arg(&root)
        .arg("--ignore-file")
        .arg(&file));
    assert_eq!(code, 3);
    assert!(err.contains(&format!("{}:2: ", file.display())), "{err}");
}
