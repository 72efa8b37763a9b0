//! `--state` across runs (issue 11): a live fd leak named by fd.leak_trend after four runs, runs at
//! once on one state file and one killed mid-run, and files that cannot be trusted (corrupt, of a
//! newer version) or must be migrated (version 1, `tests/data/state/v1.json`, written by hand in the
//! format of the version 1 `state.rs`: `version`, `runs` of `{time, findings}`, `counters`).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::{check_json, fixture, loadgen, machine_lock, osdoctor, repo, run};

/// `loadgen leak N --nofile 1024`: opens N more files each time it is told to.
struct Leaker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pid: i32,
}

impl Leaker {
    fn start(step: usize) -> Leaker {
        let mut child = loadgen()
            .args(["leak", &step.to_string(), "--nofile", "1024", "--secs", "120"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start loadgen leak");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let pid = line
            .strip_prefix("ready ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("loadgen leak: {line:?}"));
        Leaker {
            child,
            stdin,
            stdout,
            pid,
        }
    }

    /// Open `step` more files; returns how many it holds.
    fn leak(&mut self) -> usize {
        writeln!(self.stdin, "go").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim()
            .strip_prefix("opened ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("loadgen leak: {line:?}"))
    }
}

impl Drop for Leaker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn trend_findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

fn not_evaluated_reason(report: &Value, rule: &str) -> Option<String> {
    report["coverage"]["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["rule"] == rule)
        .map(|n| n["reason"].as_str().unwrap().to_string())
}

fn notes(report: &Value) -> Vec<String> {
    report["coverage"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

fn saved(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON ({e}): {text}", path.display()))
}

#[test]
fn four_runs_while_a_process_leaks_20_fds_each_name_it_with_the_time_to_its_limit() {
    let _quiet = machine_lock();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state = state.to_str().unwrap();
    // Without --state the rule says what it needs.
    let (_, report) = check_json(&["--interval", "0"]);
    assert_eq!(
        not_evaluated_reason(&report, "fd.leak_trend").as_deref(),
        Some("needs --state (a trend is seen across runs)")
    );
    let mut leaky = Leaker::start(20);
    let mut flat = Leaker::start(0);
    let mut last = Value::Null;
    for run in 1..=4 {
        let held = leaky.leak();
        assert_eq!(held, 20 * run);
        assert_eq!(flat.leak(), 0);
        let (_, report) = check_json(&["--state", state]);
        if run < 4 {
            assert_eq!(
                not_evaluated_reason(&report, "fd.leak_trend"),
                Some(format!("needs 4 runs with --state; have {run}")),
                "run {run}"
            );
        }
        last = report;
    }
    let found = trend_findings(&last, "fd.leak_trend");
    let mine: Vec<&&Value> = found
        .iter()
        .filter(|f| f["subject"]["pid"] == leaky.pid)
        .collect();
    assert_eq!(mine.len(), 1, "{found:#?}");
    let f = mine[0];
    assert_eq!(f["subject"]["kind"], "process");
    assert_eq!(f["subject"]["comm"], "loadgen");
    // Runs seconds apart: 20 fds every second or two leave about a minute to 1,024; but a history of
    // seconds cannot tell a leak from a pool filling up, so a warning until it spans an hour.
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert_eq!(f["evidence"]["proc.fd.growth_per_run"]["value"], 20.0);
    assert_eq!(f["evidence"]["proc.fd.growth_runs"]["value"], 3.0);
    assert_eq!(f["evidence"]["proc.fd.limit_soft"]["value"], 1024.0);
    let left = f["evidence"]["proc.fd.seconds_to_limit"]["value"]
        .as_f64()
        .unwrap();
    assert!(left.is_finite() && left > 0.0 && left < 3600.0, "{left}");
    let summary = f["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("+20 fds per run, its soft limit of 1,024 reached in ~"),
        "{summary}"
    );
    // What the fds are: the scan did not read this table (far from its limit), so it was read after
    // the rules; the classes sum to the count.
    let open = f["evidence"]["proc.fd.open"]["value"].as_f64().unwrap();
    let breakdown = f["evidence"]["proc.fd.breakdown"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{f:#}"));
    assert!(
        breakdown.starts_with(&format!("{open} fds: ")),
        "{breakdown} {open}"
    );
    let class_sum: f64 = [
        "proc.fd.tcp",
        "proc.fd.other_sockets",
        "proc.fd.files",
        "proc.fd.deleted",
        "proc.fd.pipes",
        "proc.fd.anon_inodes",
        "proc.fd.other",
    ]
    .iter()
    .map(|c| {
        f["evidence"][c]["value"]
            .as_f64()
            .unwrap_or_else(|| panic!("{c}: {f:#}"))
    })
    .sum();
    assert_eq!(class_sum, open, "{f:#}");
    assert!(
        f["evidence"]["proc.fd.files"]["value"].as_f64().unwrap() >= 80.0,
        "{f:#}"
    );
    let top = f["evidence"]["proc.fd.top_files"]["value"].as_str().unwrap();
    assert!(top.starts_with("/dev/null ("), "{top}");
    // The flat process is not named.
    assert!(
        !found.iter().any(|f| f["subject"]["pid"] == flat.pid),
        "{found:#?}"
    );
    // The history holds the leaker's points, keyed by pid and start time.
    let file = saved(Path::new(state));
    assert_eq!(file["version"], 2);
    // The boot the keys belong to (a reboot drops them).
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    assert_eq!(file["history"]["boot_id"], boot.trim());
    let start = f["subject"]["start_time"].as_u64().unwrap();
    let series = &file["history"]["series"]["process"][format!("{}:{start}", leaky.pid)];
    let fds: Vec<f64> = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1][0].as_f64().unwrap())
        .collect();
    assert_eq!(fds.len(), 4, "{series}");
    assert!(fds.windows(2).all(|w| w[1] - w[0] == 20.0), "{fds:?}");
}

#[test]
fn runs_at_once_and_one_killed_mid_run_leave_a_valid_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let healthy = fixture("healthy");
    let start = || {
        osdoctor()
            .args(["check", "--format", "json", "--state"])
            .arg(&state)
            .arg("--root")
            .arg(&healthy)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut killed = osdoctor()
        .args(["check", "--format", "json", "--interval", "2", "--state"])
        .arg(&state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let runs: Vec<Child> = (0..4).map(|_| start()).collect();
    std::thread::sleep(Duration::from_millis(300));
    killed.kill().unwrap();
    killed.wait().unwrap();
    let mut updated = 0;
    for child in runs {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        assert_eq!(out.status.code(), Some(0), "{text}");
        if !notes(&report).iter().any(|n| n.contains("did not update")) {
            updated += 1;
        }
    }
    let file = saved(&state);
    assert_eq!(file["version"], 2);
    assert_eq!(file["runs"].as_array().unwrap().len(), updated);
    assert!(updated >= 1);
    // The lock file stays beside it; no temporary file is left by the runs that finished.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.contains(".tmp."))
        .collect();
    names.sort();
    assert_eq!(names, ["state.json", "state.json.lock"]);

    // Runs killed at every moment of a replay (which takes a few hundred ms: some die sampling, some
    // judging, some while writing): the file is always whole, the old one or the new one.
    for delay_ms in [10, 40, 80, 120, 160, 200, 250, 300, 400] {
        let mut child = start();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let file = saved(&state);
        assert_eq!(file["version"], 2, "after a kill at {delay_ms} ms");
    }

    // A run that cannot get the lock (held here) waits, then reports without updating the file.
    let lock = std::fs::File::open(dir.path().join("state.json.lock")).unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let before = std::fs::read(&state).unwrap();
    let out = start().wait_with_output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        notes(&report)
            .iter()
            .any(|n| n.contains("another osdoctor run held its lock for 2s")),
        "{:?}",
        notes(&report)
    );
    assert_eq!(std::fs::read(&state).unwrap(), before);
}

#[test]
fn a_corrupt_file_is_set_aside_a_newer_one_left_alone_and_a_v1_one_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let healthy = fixture("healthy");
    let check = || {
        let (code, out, err) = run(osdoctor()
            .args(["check", "--format", "json", "--state"])
            .arg(&state)
            .arg("--root")
            .arg(&healthy));
        let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        (code, report, err)
    };

    // Corrupt: set aside with a warning, never trusted; a new file is started.
    std::fs::write(&state, "{\"version\": 2, \"runs\": [tru").unwrap();
    let (code, report, err) = check();
    assert_eq!(code, 0);
    assert!(err.contains("not an osdoctor state file"), "{err}");
    assert!(
        notes(&report).iter().any(|n| n.contains("set aside as")),
        "{:?}",
        notes(&report)
    );
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("state.json.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join(&aside[0])).unwrap(),
        "{\"version\": 2, \"runs\": [tru"
    );
    assert_eq!(saved(&state)["runs"].as_array().unwrap().len(), 1);

    // Another program's JSON is foreign too.
    std::fs::write(&state, "{\"name\": \"not ours\"}").unwrap();
    let (code, _, err) = check();
    assert_eq!(code, 0);
    assert!(err.contains("no version"), "{err}");
    assert_eq!(saved(&state)["version"], 2);

    // Newer: left as it is, and the run says so.
    let newer = "{\"version\": 3, \"runs\": [], \"something\": \"new\"}\n";
    std::fs::write(&state, newer).unwrap();
    let (code, report, err) = check();
    assert_eq!(code, 0);
    assert!(err.contains("version 3 is newer"), "{err}");
    assert!(
        notes(&report).iter().any(|n| n.contains("not updated")),
        "{:?}",
        notes(&report)
    );
    assert_eq!(std::fs::read_to_string(&state).unwrap(), newer);

    // Version 1: read (its runs hold the findings for hysteresis) and written back as version 2.
    std::fs::copy(repo().join("tests/data/state/v1.json"), &state).unwrap();
    let (code, report, _) = check();
    assert_eq!(code, 0);
    assert!(
        notes(&report)
            .iter()
            .any(|n| n.contains("a version 1 file, read as it is (its 2 runs kept)")),
        "{:?}",
        notes(&report)
    );
    let file = saved(&state);
    assert_eq!(file["version"], 2);
    let runs = file["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0]["time"], "2026-11-30T10:00:00Z");
    assert_eq!(runs[1]["findings"][1]["rule"], "fd.process_near_limit");
    // A --root run adds no trend points.
    assert_eq!(file["history"]["runs"], 0);
}

#[test]
fn a_pid_run_leaves_the_state_alone_and_min_severity_only_filters_display() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let healthy = fixture("healthy");
    let (_, report) = check_json(&[
        "--root",
        healthy.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--pid",
        "1",
    ]);
    assert!(
        notes(&report)
            .iter()
            .any(|n| n.contains("not updated by a --pid run")),
        "{:?}",
        notes(&report)
    );
    assert!(!state.exists());
    // --min-severity only filters what is shown: the state records every finding.
    let cpu = fixture("cpu-saturation");
    let (_, report) = check_json(&[
        "--root",
        cpu.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--min-severity",
        "critical",
    ]);
    let shown = report["findings"].as_array().unwrap().len();
    let file = saved(&state);
    let recorded = file["runs"][0]["findings"].as_array().unwrap().len();
    assert!(recorded >= shown, "{recorded} recorded, {shown} shown");
    // A --root run adds no trend points.
    assert_eq!(file["history"]["runs"], 0);
}

#[test]
fn a_run_of_a_root_tree_or_a_snapshot_neither_adds_trend_points_nor_forgets_any() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let point = |t: i64, v: f64| serde_json::json!([t, [v, 1.0, 1.0]]);
    let history = serde_json::json!({
        "runs": 5,
        "series": {
            "process": { "4242:99": { "label": "leaky", "points": [point(1, 10.0), point(2, 20.0)] } },
            "mount": { "/data": { "points": [[1, [1e9, 5.0]]] } },
        },
    });
    let before = serde_json::json!({ "version": 2, "runs": [], "counters": {}, "history": history });
    std::fs::write(&state, before.to_string()).unwrap();
    // A snapshot, and one of its samples as a root tree.
    for root in [fixture("healthy"), fixture("healthy").join("sample1")] {
        let (_, report) = check_json(&[
            "--root",
            root.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ]);
        assert!(
            notes(&report)
                .iter()
                .any(|n| n
                    .contains("a run of a snapshot or of a --root tree that is not a mounted /proc adds no trend points and forgets none")),
            "{:?}",
            notes(&report)
        );
    }
    let file = saved(&state);
    assert_eq!(file["runs"].as_array().unwrap().len(), 2);
    assert_eq!(file["history"]["runs"], 5);
    assert_eq!(file["history"]["series"], before["history"]["series"]);
}

#[test]
fn a_partial_run_records_no_findings_counters_or_trend_points() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let cpu = fixture("cpu-saturation");
    let check = |root: &Path| {
        check_json(&[
            "--root",
            root.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ])
        .1
    };
    check(&cpu);
    let before = std::fs::read(&state).unwrap();
    assert_eq!(saved(&state)["runs"].as_array().unwrap().len(), 1);
    // The same snapshot marked partial (its capture cut at the deadline).
    let copy = dir.path().join("partial");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(&cpu)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let meta_path = copy.join("osdoctor-snapshot.json");
    let mut meta: Value = serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
    meta["partial"] = Value::Bool(true);
    std::fs::write(&meta_path, meta.to_string()).unwrap();
    let report = check(&copy);
    assert_eq!(report["partial"], true);
    assert!(
        notes(&report)
            .iter()
            .any(|n| n.contains("not updated by a partial run")),
        "{:?}",
        notes(&report)
    );
    assert_eq!(std::fs::read(&state).unwrap(), before);
}
