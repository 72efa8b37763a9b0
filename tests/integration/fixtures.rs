//! Replay every snapshot in fixtures/ and check its exact findings.
//!
//! Each fixture directory holds a snapshot (`osdoctor snapshot` output), a root-like tree
//! (DIR/proc, DIR/sys, read twice like a live root) or a sosreport (sos_commands/, read as one
//! sample at its capture time), a README saying how it was made, and
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
        // A sosreport (sosreport-*: its sos_commands/ and version.txt) is read as one sample.
        let sosreport = dir.join("sos_commands").is_dir() && dir.join("expected-findings").is_file();
        if !snapshot && !tree && !sosreport {
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

#[test]
fn swap_thrashing_numbers() {
    let (code, report) = check_json(&["--root", fixture("swap-thrashing").to_str().unwrap()]);
    assert_eq!(code, 2);
    let swap = finding(&report, "mem.swap_thrashing").unwrap();
    assert_eq!(swap["severity"], "critical");
    assert!(evidence(swap, "host.vm.pswpin_rate") >= 1000.0, "{swap:#}");
    assert!(evidence(swap, "host.vm.pswpout_rate") >= 1000.0, "{swap:#}");
    let majflt = finding(&report, "mem.major_faults").unwrap();
    assert!(evidence(majflt, "host.vm.pgmajfault_rate") >= 2000.0);
    let psi = finding(&report, "mem.pressure").unwrap();
    assert!(evidence(psi, "host.psi.memory.full_avg10") >= 5.0);
    // The cgroup's limit is short of memory, not the host.
    assert!(finding(&report, "mem.available_low").is_none());
    assert!(finding(&report, "mem.swap_used").is_none());
}

#[test]
fn swap_full_but_cold_is_not_thrashing() {
    let (code, report) = check_json(&["--root", fixture("swap-full").to_str().unwrap()]);
    assert_eq!(code, 1);
    let used = finding(&report, "mem.swap_used").unwrap();
    assert_eq!(used["severity"], "warning");
    let ratio = evidence(used, "host.swap.used_ratio");
    assert!((0.80..0.95).contains(&ratio), "{used:#}");
    for rule in ["mem.swap_thrashing", "mem.major_faults", "mem.pressure"] {
        assert!(finding(&report, rule).is_none(), "{rule}: {report:#}");
    }
}

#[test]
fn oom_kill_during_the_interval_is_critical() {
    let (code, report) = check_json(&["--root", fixture("oom-kill").to_str().unwrap()]);
    assert_eq!(code, 2);
    let oom = finding(&report, "mem.oom_kill_count").unwrap();
    assert_eq!(oom["severity"], "critical");
    assert_eq!(evidence(oom, "host.vm.oom_kill_delta"), 1.0);
}

#[test]
fn io_saturation_numbers() {
    let (code, report) = check_json(&["--root", fixture("io-saturation").to_str().unwrap()]);
    assert_eq!(code, 2);
    let iowait = finding(&report, "cpu.iowait").unwrap();
    assert_eq!(iowait["severity"], "critical");
    assert!(evidence(iowait, "host.cpu.iowait_ratio") >= 0.40, "{iowait:#}");
    assert!(evidence(iowait, "host.cpu.procs_blocked") >= 2.0, "{iowait:#}");
    let io = finding(&report, "io.pressure").unwrap();
    assert_eq!(io["severity"], "critical");
    assert!(evidence(io, "host.psi.io.full_avg10") >= 30.0, "{io:#}");
    // The CPUs wait, they do not work.
    assert!(finding(&report, "cpu.utilization").is_none());
}

#[test]
fn page_cache_thrashing_numbers() {
    let (code, report) = check_json(&["--root", fixture("page-cache-thrashing").to_str().unwrap()]);
    assert_eq!(code, 2);
    let f = finding(&report, "mem.page_cache_thrashing").unwrap();
    assert!(evidence(f, "host.vm.refault_file_rate") >= 100_000.0, "{f:#}");
    // The host has memory; the cgroup's limit is what is small.
    assert!(evidence(f, "host.mem.available_ratio") >= 0.9, "{f:#}");
    assert!(finding(&report, "mem.available_low").is_none());
    assert!(finding(&report, "mem.swap_thrashing").is_none());
}

#[test]
fn hugepages_idle_numbers() {
    let (code, report) = check_json(&["--root", fixture("hugepages-idle").to_str().unwrap()]);
    assert_eq!(code, 1);
    let hp = finding(&report, "mem.hugepages_idle").unwrap();
    assert!(evidence(hp, "host.mem.hugepages_ram_ratio") >= 0.10, "{hp:#}");
    assert_eq!(evidence(hp, "host.mem.hugepages_free_ratio"), 1.0);
    let avail = finding(&report, "mem.available_low").unwrap();
    // Low, but without pressure: a warning, not critical.
    assert_eq!(avail["severity"], "warning");
    let ratio = evidence(avail, "host.mem.available_ratio");
    assert!((0.05..=0.10).contains(&ratio), "{avail:#}");
}

#[test]
fn direct_reclaim_numbers() {
    let (code, report) = check_json(&["--root", fixture("direct-reclaim").to_str().unwrap()]);
    assert_eq!(code, 1);
    let f = finding(&report, "mem.direct_reclaim").unwrap();
    assert_eq!(f["severity"], "warning");
    assert!(evidence(f, "host.vm.allocstall_rate") >= 10.0, "{f:#}");
    // Huge pages are reserved but memory is not short: no idle-hugepages finding.
    assert!(finding(&report, "mem.hugepages_idle").is_none());
    assert!(finding(&report, "mem.available_low").is_none());
}

#[test]
fn commit_limit_numbers() {
    let (code, report) = check_json(&["--root", fixture("commit-limit").to_str().unwrap()]);
    assert_eq!(code, 1);
    let f = finding(&report, "mem.commit_limit").unwrap();
    assert_eq!(f["severity"], "warning");
    assert_eq!(evidence(f, "host.mem.overcommit_memory"), 2.0);
    let ratio = evidence(f, "host.mem.commit_ratio");
    assert!((0.90..0.98).contains(&ratio), "{f:#}");
    assert!(finding(&report, "mem.available_low").is_none());
}

#[test]
fn fd_and_task_limits_numbers() {
    let (code, report) = check_json(&["--root", fixture("fd-task-limits").to_str().unwrap()]);
    assert_eq!(code, 2);
    let fd = finding(&report, "fd.system_near_limit").unwrap();
    assert_eq!(fd["severity"], "critical");
    assert!(evidence(fd, "host.fd.used_ratio") >= 0.95, "{fd:#}");
    assert!(evidence(fd, "host.fd.allocated") >= 19_000.0, "{fd:#}");
    let tasks = finding(&report, "tasks.system_limit").unwrap();
    assert_eq!(tasks["severity"], "warning");
    assert!(evidence(tasks, "host.tasks.count") >= 2000.0, "{tasks:#}");
    let ratio = evidence(tasks, "host.tasks.used_ratio");
    assert!((0.80..0.95).contains(&ratio), "{tasks:#}");
}

#[test]
fn cpu_steal_numbers() {
    let (code, report) = check_json(&["--root", fixture("cpu-steal").to_str().unwrap()]);
    assert_eq!(code, 2);
    let f = finding(&report, "cpu.steal").unwrap();
    assert_eq!(f["severity"], "critical");
    assert!(evidence(f, "host.cpu.steal_ratio") >= 0.25, "{f:#}");
    // Steal counts as busy, but one thread on two CPUs is half of them.
    assert!(finding(&report, "cpu.utilization").is_none());
}

/// DESIGN.md section 5: every rule has a fixture where it fires and one where it stays quiet
/// (evaluated, no finding). Host rules are checked here; rules of other subjects come with
/// their collectors.
#[test]
fn every_host_rule_fires_in_one_fixture_and_stays_quiet_in_another() {
    let mut host_rules = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(repo().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let doc: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for rule in doc["rule"].as_array().unwrap() {
            if rule["subject"].as_str() == Some("host") {
                host_rules.insert(rule["id"].as_str().unwrap().to_string());
            }
        }
    }
    assert!(host_rules.len() >= 19, "{host_rules:?}");
    let (mut fired, mut quiet) = (
        std::collections::BTreeSet::new(),
        std::collections::BTreeSet::new(),
    );
    for entry in std::fs::read_dir(repo().join("fixtures")).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("osdoctor-snapshot.json").is_file() {
            continue;
        }
        let (_, report) = check_json(&["--root", dir.to_str().unwrap()]);
        let here: std::collections::BTreeSet<String> =
            findings(&report).into_iter().map(|(rule, _, _)| rule).collect();
        let not_evaluated: Vec<&str> = report["coverage"]["not_evaluated"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["rule"].as_str().unwrap())
            .collect();
        for rule in &host_rules {
            if here.contains(rule) {
                fired.insert(rule.clone());
            } else if !not_evaluated.contains(&rule.as_str()) {
                quiet.insert(rule.clone());
            }
        }
    }
    // Two host rules read per-process data that cannot be induced safely here (a task stuck in D state,
    // a database running with swap): the hand-made root tree of
    // process::a_hand_made_tree_exercises_the_rules_that_cannot_be_induced_here fires them.
    for rule in ["proc.uninterruptible", "config.swappiness_database"] {
        fired.insert(rule.to_string());
    }
    let never_fired: Vec<_> = host_rules.difference(&fired).collect();
    assert!(never_fired.is_empty(), "no fixture fires {never_fired:?}");
    let never_quiet: Vec<_> = host_rules.difference(&quiet).collect();
    assert!(never_quiet.is_empty(), "no fixture keeps {never_quiet:?} quiet");
}

#[test]
fn a_host_without_swap_has_its_swap_utilization_absent_not_unevaluated() {
    // story-composite's VM has no swap (SwapTotal 0); swap-thrashing's has a swapfile.
    let (_, report) = check_json(&["--root", fixture("story-composite").to_str().unwrap()]);
    assert_eq!(report["use_matrix"]["swap"]["utilization"], "absent");
    assert_eq!(report["use_matrix"]["swap"]["saturation"], "ok");
    let swap_used = report["coverage"]["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["rule"] == "mem.swap_used")
        .expect("mem.swap_used not evaluated");
    assert_eq!(swap_used["absent"], true);
    assert_eq!(swap_used["reason"], "no swap is configured (SwapTotal is 0)");
    let (_, report) = check_json(&["--root", fixture("swap-thrashing").to_str().unwrap()]);
    assert_ne!(report["use_matrix"]["swap"]["utilization"], "absent");
}

/// The pids of every finding's subject.
fn finding_pids(report: &serde_json::Value) -> Vec<i64> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["subject"]["pid"].as_i64())
        .collect()
}

#[test]
fn fd_close_wait_names_the_leaker_far_from_its_limit_and_not_its_established_twin() {
    let (code, report) = replay("fd-close-wait");
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        findings(&report),
        [("net.close_wait_leak", "process", "warning")].map(|(r, k, s)| (r.into(), k.into(), s.into()))
    );
    // pid 5286 holds 200 connections its listener (pid 5288, a child of its own) closed as it
    // accepted them, under a soft RLIMIT_NOFILE of 20,000.
    let f = finding(&report, "net.close_wait_leak").unwrap();
    assert_eq!(f["subject"]["pid"], 5286);
    assert_eq!(f["subject"]["comm"], "loadgen");
    let cmd = f["subject"]["cmdline"].as_str().unwrap();
    assert!(
        cmd.ends_with("close-wait 200 --peer close --nofile 20000 --secs 60"),
        "{cmd}"
    );
    assert_eq!(evidence(f, "proc.fd.tcp_close_wait"), 200.0);
    assert_eq!(evidence(f, "proc.fd.open"), 204.0);
    let peers = f["evidence"]["proc.fd.close_wait_peers"]["value"]
        .as_str()
        .unwrap();
    assert!(peers.starts_with("127.0.0.1:38497 (200)"), "{peers}");
    assert_eq!(
        f["evidence"]["proc.fd.breakdown"]["value"],
        "204 fds: 200 TCP (200 CLOSE_WAIT to 127.0.0.1:38497), 3 files, 1 pipe"
    );
    let b = f["evidence"]["proc.fd.breakdown"]["value"].as_str().unwrap();
    assert_eq!(breakdown_total_checked(b), 204);
    // 204 of 20,000: the leak is found whatever the limit, and the limit rule stays quiet.
    assert!(finding(&report, "fd.process_near_limit").is_none());
    // The twin (pid 5311, 200 ESTABLISHED connections under the same limit) and its listener (pid
    // 5313, holding the 200 accepted ends), and the leaker's listener (pid 5288) are not named.
    let pids = finding_pids(&report);
    for twin in [5311, 5313, 5288] {
        assert!(!pids.contains(&twin), "pid {twin} named: {report:#}");
    }
}

/// The classes of a `proc.fd.breakdown` (`244 fds: 240 pipes, 4 files`) sum to its
/// total; returns the total.
fn breakdown_total_checked(breakdown: &str) -> u64 {
    let (total, classes) = breakdown.split_once(" fds: ").unwrap_or((breakdown, ""));
    let total: u64 = total.parse().unwrap_or_else(|_| panic!("{breakdown}"));
    // A class's own detail may hold commas (`3 TCP (2 CLOSE_WAIT to ...)` does not, paths might):
    // count only parts that start a class, `N word`.
    let sum: u64 = classes
        .split(", ")
        .filter_map(|part| part.split_once(' ')?.0.parse::<u64>().ok())
        .sum();
    assert_eq!(sum, total, "classes do not sum to the total: {breakdown}");
    total
}

#[test]
fn fd_leak_kinds_breakdowns_name_the_file_and_the_pipes_and_the_twins_stay_quiet() {
    let (code, report) = replay("fd-leak-kinds");
    assert_eq!(code, 2, "{report:#}");
    let near = (
        "fd.process_near_limit".to_string(),
        "process".to_string(),
        "critical".to_string(),
    );
    assert_eq!(findings(&report), [near.clone(), near]);
    let of_pid = |pid: i64| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "fd.process_near_limit" && f["subject"]["pid"] == pid)
            .unwrap_or_else(|| panic!("no fd.process_near_limit for pid {pid}: {report:#}"))
    };
    for (pid, kind, breakdown) in [
        (
            13352,
            "--kind file --path /mnt/osdoctor-fx/leak-kinds/app.log --nofile 256",
            "244 fds: 244 files (240 of /mnt/osdoctor-fx/leak-kinds/app.log)",
        ),
        (13356, "--kind pipe --nofile 256", "244 fds: 240 pipes, 4 files"),
    ] {
        let f = of_pid(pid);
        let cmd = f["subject"]["cmdline"].as_str().unwrap();
        assert!(cmd.contains(kind), "{pid}: {cmd}");
        assert_eq!(evidence(f, "proc.fd.open"), 244.0);
        assert_eq!(evidence(f, "proc.fd.limit_soft"), 256.0);
        let b = f["evidence"]["proc.fd.breakdown"]["value"].as_str().unwrap();
        assert_eq!(b, breakdown, "pid {pid}");
        assert_eq!(
            breakdown_total_checked(b) as f64,
            evidence(f, "proc.fd.open"),
            "{b}"
        );
        // The counts per class, as JSON carries them, sum to the count too.
        let classes = [
            "proc.fd.tcp",
            "proc.fd.other_sockets",
            "proc.fd.files",
            "proc.fd.deleted",
            "proc.fd.pipes",
            "proc.fd.anon_inodes",
            "proc.fd.other",
        ];
        let sum: f64 = classes.iter().map(|c| evidence(f, c)).sum();
        assert_eq!(sum, 244.0, "{f:#}");
    }
    assert_eq!(evidence(of_pid(13352), "proc.fd.files"), 244.0);
    assert_eq!(evidence(of_pid(13356), "proc.fd.pipes"), 240.0);
    // The twins hold the same 244 fds under a soft limit of 4,096: nothing names them.
    let pids = finding_pids(&report);
    for twin in [13360, 13364] {
        assert!(!pids.contains(&twin), "pid {twin} named: {report:#}");
    }
}
