//! Conditions induced on this machine's kernel, checked with the live `osdoctor check`.
//! Each test holds the machine lock: a CPU storm must not overlap the idle check.

use std::time::Duration;

use crate::util::*;

#[test]
fn eight_busy_loops_on_this_host_saturate_the_run_queue() {
    let _lock = machine_lock();
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    // Four runnable tasks per CPU: the critical level, whatever the core count.
    let spinners = (4 * cpus).to_string();
    let _load = Load::start(&["spin", &spinners, "--secs", "30"]);
    std::thread::sleep(Duration::from_millis(500));
    let (code, report) = check_json(&["--interval", "1"]);
    assert_eq!(code, 2, "{report:#}");
    let f = finding(&report, "cpu.runqueue").expect("cpu.runqueue fires");
    assert_eq!(f["use"], "saturation");
    assert_eq!(f["severity"], "critical");
    assert!(
        evidence(f, "host.cpu.procs_running") >= (4 * cpus) as f64,
        "{f:#}"
    );
    assert!(evidence(f, "host.cpu.runnable_per_cpu") >= 4.0);
    let util = finding(&report, "cpu.utilization").expect("CPUs busy");
    assert!(evidence(util, "host.cpu.busy_ratio") >= 0.98, "{util:#}");
}

#[test]
fn a_pipe_ping_pong_is_a_context_switch_storm() {
    let _lock = machine_lock();
    let _load = Load::start(&["pingpong", "4", "--secs", "30"]);
    std::thread::sleep(Duration::from_millis(300));
    let (_, report) = check_json(&["--interval", "1"]);
    let f = finding(&report, "cpu.context_switch_storm").expect("storm named");
    assert_eq!(f["use"], "saturation");
    assert!(evidence(f, "host.cpu.ctxt_per_cpu_rate") >= 25_000.0, "{f:#}");
    assert!(evidence(f, "host.cpu.ctxt_rate") >= 50_000.0, "{f:#}");
}

#[test]
fn an_idle_host_has_neither_run_queue_nor_storm() {
    let _lock = machine_lock();
    let (code, report) = check_json(&["--interval", "1"]);
    assert_ne!(code, 3, "{report:#}");
    for rule in ["cpu.runqueue", "cpu.context_switch_storm"] {
        assert!(
            finding(&report, rule).is_none(),
            "{rule} on an idle host: {report:#}"
        );
    }
    // Both rules were evaluated, not skipped.
    let not_eval = report["coverage"]["not_evaluated"].as_array().unwrap();
    assert!(
        !not_eval
            .iter()
            .any(|n| n["rule"] == "cpu.runqueue" || n["rule"] == "cpu.context_switch_storm")
    );
}

#[test]
fn a_snapshot_replays_to_the_findings_of_the_run_it_captured() {
    let _lock = machine_lock();
    let _load = Load::start(&["spin", "8", "--secs", "30"]);
    std::thread::sleep(Duration::from_millis(500));
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    let (code, _, err) = run(osdoctor().args(["snapshot", "-o"]).arg(&snap));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("replay with: osdoctor check --root"), "{err}");
    let captured: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(snap.join("report.json")).unwrap()).unwrap();
    let (_, replayed) = check_json(&["--root", snap.to_str().unwrap()]);
    assert_eq!(findings(&replayed), findings(&captured));
    assert!(finding(&replayed, "cpu.runqueue").is_some());
    // The same numbers, not just the same rule ids.
    let (a, b) = (
        finding(&captured, "cpu.runqueue").unwrap(),
        finding(&replayed, "cpu.runqueue").unwrap(),
    );
    assert_eq!(a["summary"], b["summary"]);
    // And from an archive.
    let archive = dir.path().join("snap.tar.gz");
    let (code, _, err) = run(osdoctor()
        .args(["snapshot", "--interval", "0.5", "-o"])
        .arg(&archive));
    assert_eq!(code, 0, "{err}");
    let (_, from_archive) = check_json(&["--root", archive.to_str().unwrap()]);
    assert!(
        finding(&from_archive, "cpu.runqueue").is_some(),
        "{from_archive:#}"
    );
}

#[test]
fn one_sample_reports_rate_rules_as_not_evaluated() {
    let (code, report) = check_json(&["--interval", "0"]);
    assert_ne!(code, 3);
    assert_eq!(report["interval_s"], 0.0);
    let not_eval = report["coverage"]["not_evaluated"].as_array().unwrap();
    for rule in [
        "cpu.utilization",
        "cpu.context_switch_storm",
        "mem.major_faults",
        "disk.utilization",
    ] {
        let n = not_eval
            .iter()
            .find(|n| n["rule"] == rule)
            .unwrap_or_else(|| panic!("{rule} evaluated"));
        assert_eq!(
            n["reason"],
            "needs two samples (run with --interval greater than 0)"
        );
    }
}
