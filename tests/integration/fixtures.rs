//! Replay every snapshot in fixtures/ and check its exact findings.
//!
//! Each fixture directory holds a snapshot (`osdoctor snapshot` output) or a root-like tree
//! (DIR/proc, DIR/sys, read twice like a live root), a README saying how it was made, and
//! `expected-findings`: one `rule subject-kind severity` line per finding, exactly the set the replay
//! must give. Where `report.json` (the live run's own report) is present, the replay must match it
//! too. Fixture-specific tests below check the numbers that matter.

use std::path::Path;

use crate::util::*;

fn expected(dir: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(dir.join("expected-findings"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("expected-findings").display()));
    let mut v: Vec<_> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(w.len(), 3, "bad expected-findings line {l:?}");
            (w[0].to_string(), w[1].to_string(), w[2].to_string())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_fixture_gives_exactly_its_expected_findings() {
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("fixtures")).unwrap() {
        let dir = entry.unwrap().path();
        let snapshot = dir.join("osdoctor-snapshot.json").is_file();
        let tree = dir.join("proc").is_dir() && dir.join("expected-findings").is_file();
        if !snapshot && !tree {
            continue;
        }
        assert!(dir.join("README.md").is_file(), "{} has no README", dir.display());
        // A tree's files do not change between the two reads: a short interval will do.
        let interval = if snapshot { "1" } else { "0.1" };
        let (code, report) = check_json(&["--root", dir.to_str().unwrap(), "--interval", interval]);
        let got = findings(&report);
        assert_eq!(got, expected(&dir), "{}", dir.display());
        if let Ok(text) = std::fs::read_to_string(dir.join("report.json")) {
            let live: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                got,
                findings(&live),
                "{}: replay differs from the live run",
                dir.display()
            );
        }
        let worst = got.iter().map(|(_, _, s)| s.as_str()).fold(0, |acc, s| {
            acc.max(match s {
                "critical" => 2,
                "warning" => 1,
                _ => 0,
            })
        });
        if report["status"] != "unknown" {
            assert_eq!(code, worst, "{}: exit code", dir.display());
        }
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} fixtures found");
}

#[test]
fn healthy_host_is_quiet() {
    let (code, report) = check_json(&["--root", fixture("healthy").to_str().unwrap()]);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty());
    assert_eq!(report["status"], "ok");
}

#[test]
fn cpu_saturation_numbers() {
    let (code, report) = check_json(&["--root", fixture("cpu-saturation").to_str().unwrap()]);
    assert_eq!(code, 2);
    let rq = finding(&report, "cpu.runqueue").unwrap();
    assert_eq!(rq["severity"], "critical");
    assert!(evidence(rq, "host.cpu.procs_running") >= 8.0);
    let util = finding(&report, "cpu.utilization").unwrap();
    assert!(evidence(util, "host.cpu.busy_ratio") >= 0.98);
}

#[test]
fn fd_near_limit_names_the_process_with_count_limit_and_redacted_command_line() {
    let (code, report) = check_json(&["--root", fixture("fd-near-limit").to_str().unwrap()]);
    assert_eq!(code, 2);
    let f = finding(&report, "fd.process_near_limit").expect("one process near its limit");
    assert_eq!(f["subject"]["pid"], 18964);
    assert_eq!(f["subject"]["comm"], "loadgen");
    assert_eq!(f["subject"]["user"], "root");
    assert_eq!(evidence(f, "proc.fd.open"), 245.0);
    assert_eq!(evidence(f, "proc.fd.limit_soft"), 256.0);
    assert_eq!(f["severity"], "critical");
    let cmd = f["subject"]["cmdline"].as_str().unwrap();
    assert!(cmd.ends_with("password=[REDACTED]"), "{cmd}");
    let l = finding(&report, "limits.nofile_low_for_server").expect("the listener");
    assert_eq!(l["subject"]["pid"], 18966);
    assert_eq!(evidence(l, "proc.listen_sockets"), 1.0);
}

#[test]
fn zombies_name_the_parent_that_does_not_reap() {
    let (_, report) = check_json(&["--root", fixture("zombies").to_str().unwrap()]);
    let f = finding(&report, "proc.zombies").unwrap();
    assert_eq!(evidence(f, "host.tasks.zombies"), 30.0);
    let parents = f["evidence"]["host.zombie_parents"]["value"].as_str().unwrap();
    assert!(
        parents.starts_with("pid 19110 (loadgen, user root")
            && parents.ends_with("has 30 unreaped zombie children"),
        "{parents}"
    );
}

#[test]
fn thread_storm_names_its_source() {
    let (_, report) = check_json(&["--root", fixture("thread-storm").to_str().unwrap()]);
    let p = finding(&report, "proc.context_switch_storm").unwrap();
    assert_eq!(p["subject"]["pid"], 19212);
    assert_eq!(evidence(p, "proc.threads"), 9.0);
    assert!(evidence(p, "proc.voluntary_ctxt_rate") > 10.0 * evidence(p, "proc.nonvoluntary_ctxt_rate"));
    let host = finding(&report, "cpu.context_switch_storm").unwrap();
    let top = host["evidence"]["host.top_ctxt_processes"]["value"]
        .as_str()
        .unwrap();
    assert!(top.starts_with("pid 19212 (loadgen"), "{top}");
    // --pid focuses the process rules on other processes: the host rule still names the source.
    let (_, focused) = check_json(&["--root", fixture("thread-storm").to_str().unwrap(), "--pid", "1"]);
    assert!(finding(&focused, "proc.context_switch_storm").is_none());
    assert!(finding(&focused, "cpu.context_switch_storm").is_some());
}

#[test]
fn fixtures_without_processes_say_so_and_do_not_evaluate_process_rules() {
    let (_, report) = check_json(&["--root", fixture("healthy").to_str().unwrap()]);
    let notes = report["coverage"]["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("no /proc/PID directories")),
        "{notes:?}"
    );
    let not_eval = report["coverage"]["not_evaluated"].as_array().unwrap();
    for rule in ["fd.process_near_limit", "proc.zombies", "limits.nproc_near"] {
        assert!(
            not_eval.iter().any(|n| n["rule"] == rule),
            "{rule} evaluated: {not_eval:?}"
        );
    }
}
