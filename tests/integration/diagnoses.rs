//! Diagnoses: the stories of today's rules on snapshots of the real scenarios (fixtures/story-*), the
//! stories that must not form, and the contract every report keeps: every finding in exactly one
//! diagnosis, and the report valid against `osdoctor schema`.

use serde_json::Value;

use crate::util::*;

/// `rule` or `rule(pid|cgroup)` of a ref.
fn who(r: &Value) -> String {
    let s = &r["subject"];
    let id = s["pid"]
        .as_i64()
        .map(|p| p.to_string())
        .or_else(|| s["cgroup"].as_str().map(str::to_string));
    match id {
        Some(id) => format!("{}({id})", r["rule"].as_str().unwrap()),
        None => r["rule"].as_str().unwrap().to_string(),
    }
}

/// Each diagnosis as (severity, cause, effects sorted).
fn stories(report: &Value) -> Vec<(String, String, Vec<String>)> {
    report["diagnoses"]
        .as_array()
        .expect("diagnoses")
        .iter()
        .map(|d| {
            let mut effects: Vec<String> = d["effects"].as_array().unwrap().iter().map(who).collect();
            effects.sort();
            (
                d["severity"].as_str().unwrap().to_string(),
                who(&d["cause"]),
                effects,
            )
        })
        .collect()
}

fn story_of(name: &str) -> (Value, Vec<(String, String, Vec<String>)>) {
    let (_, report) = check_json(&["--root", fixture(name).to_str().unwrap()]);
    let s = stories(&report);
    (report, s)
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_context_switch_storm_explains_the_host_cpu_findings_and_nothing_else() {
    let (_, s) = story_of("story-composite");
    assert_eq!(
        s,
        vec![
            (
                "critical".into(),
                "proc.context_switch_storm(25353)".into(),
                owned(&[
                    "cpu.context_switch_storm",
                    "cpu.pressure",
                    "cpu.runqueue",
                    "cpu.utilization",
                    "proc.runqueue_latency(25353)"
                ])
            ),
            // The process near its fd limit and the zombies' parent are stories of their own.
            ("critical".into(), "fd.process_near_limit(25355)".into(), vec![]),
            ("warning".into(), "proc.zombies".into(), vec![]),
        ]
    );
}

#[test]
fn busy_cpus_explain_the_queue_the_pressure_and_the_waiting() {
    let (_, s) = story_of("story-cpu-saturation");
    assert_eq!(
        s,
        vec![(
            "critical".into(),
            "cpu.utilization".into(),
            owned(&["cpu.pressure", "cpu.runqueue", "proc.runqueue_latency(25633)"])
        )]
    );
}

#[test]
fn a_cpu_quota_is_the_cause_of_its_process_waiting_and_the_story_names_the_quota() {
    let (report, s) = story_of("story-cpu-quota");
    assert_eq!(
        s,
        vec![(
            "critical".into(),
            "cgroup.cpu_throttled(/osdoctor-fixture-cpu)".into(),
            owned(&["proc.runqueue_latency(24591)"])
        )]
    );
    let d = &report["diagnoses"][0];
    assert!(
        d["summary"]
            .as_str()
            .unwrap()
            .contains("under a quota of 0.20 CPUs"),
        "{d}"
    );
    assert!(d["why"].as_str().unwrap().contains("CFS quota"), "{d}");
    assert!(!d["why"].as_str().unwrap().contains("contention"), "{d}");
}

#[test]
fn an_oom_kill_in_a_memory_cgroup_is_one_story_with_its_kernel_log_kill() {
    let (_, s) = story_of("story-memcg-oom");
    assert_eq!(
        s,
        vec![
            (
                "critical".into(),
                "cgroup.oom_kill(/osdoctor-fixture-oom)".into(),
                owned(&["mem.oom_kill(25470)"])
            ),
            // Pressure left over from an earlier capture: unrelated, a story of its own.
            ("warning".into(), "cpu.pressure".into(), vec![]),
        ]
    );
}

#[test]
fn a_working_set_at_the_limit_explains_the_containers_oom_kills() {
    // The hand-built containerd pod (see its README): the container at 97% of its limit had OOM kills.
    let (_, s) = story_of("v2-pod-systemd-containerd");
    let c = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8d2b6f1e_3c4a_4e5f_9a7b_1c2d3e4f5a6b.slice/cri-containerd-4f1a9c3e8b2d7f60a5c4e3b2d1f0e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2.scope";
    assert_eq!(
        s[0],
        (
            "warning".into(),
            format!("cgroup.memory_near_limit({c})"),
            vec![format!("cgroup.oom_kill({c})")]
        )
    );
}

#[test]
fn a_throttled_listener_is_why_its_accept_queue_overflowed() {
    let (report, s) = story_of("story-listener-starved");
    assert_eq!(
        s,
        vec![
            (
                "critical".into(),
                "cgroup.cpu_throttled(/osdoctor-fixture-listener)".into(),
                owned(&["net.listen_overflow", "proc.runqueue_latency(10255)"])
            ),
            ("critical".into(), "cpu.pressure".into(), vec![]),
            ("warning".into(), "net.syn_flood".into(), vec![]),
        ]
    );
    let f = finding(&report, "net.listen_overflow").unwrap();
    assert_eq!(f["subject"]["kind"], "host");
    assert_eq!(
        f["evidence"]["host.tcp.full_listener"]["value"],
        "127.0.0.1:5203 (pid 10255 python3) accept queue 9 of 8"
    );
    assert_eq!(f["evidence"]["host.tcp.full_listener_pids"]["value"], "10255");
}

/// The link needs the throttled process to hold the full listener: a throttled cgroup whose process
/// listens on nothing (story-cpu-quota) and an overflow with no starved holder (net-listen-overflow)
/// form no such story.
#[test]
fn a_listener_story_needs_the_starved_process_to_hold_the_full_listener() {
    let (_, s) = story_of("story-cpu-quota");
    assert!(
        s.iter()
            .all(|(_, _, effects)| !effects.iter().any(|e| e == "net.listen_overflow"))
    );
    let (_, s) = story_of("net-listen-overflow");
    assert_eq!(s, vec![("critical".into(), "net.listen_overflow".into(), vec![])]);
}

#[test]
fn a_pids_limit_explains_the_forks_it_refused() {
    let (_, s) = story_of("story-pids-limit");
    assert_eq!(
        s[0],
        (
            "critical".into(),
            "cgroup.pids_near_limit(/osdoctor-fixture-pids)".into(),
            owned(&["cgroup.fork_rejected(/osdoctor-fixture-pids)"])
        )
    );
    assert_eq!(s.len(), 2, "{s:?}");
}

#[test]
fn an_fd_leak_explains_the_full_system_file_table_and_the_kernels_refusal() {
    let (report, s) = story_of("story-fd-leak");
    assert_eq!(
        s,
        vec![(
            "critical".into(),
            "fd.process_near_limit(23169)".into(),
            owned(&["fd.system_near_limit", "kernel.file_max_reached"])
        )]
    );
    // The cause is only a warning (1,856 of 2,000 fds); the story is as bad as its worst finding.
    let leak = finding(&report, "fd.process_near_limit").expect("the leak");
    assert_eq!(leak["severity"], "warning");
    assert_eq!(evidence(leak, "proc.fd.open"), 1856.0);
    let table = finding(&report, "fd.system_near_limit").expect("the system table");
    assert_eq!(table["severity"], "critical");
}

#[test]
fn a_thread_pool_explains_its_users_and_the_hosts_task_limits() {
    let (report, s) = story_of("story-thread-limits");
    assert!(
        s.contains(&(
            "warning".into(),
            "proc.thread_explosion(15551)".into(),
            owned(&["limits.nproc_near", "tasks.system_limit"])
        )),
        "{s:?}"
    );
    // The same process's switching storm is a story of its own, with the host's CPU findings.
    assert!(
        s.contains(&(
            "critical".into(),
            "proc.context_switch_storm(15551)".into(),
            owned(&["cpu.runqueue", "cpu.utilization", "proc.runqueue_latency(15962)"])
        )),
        "{s:?}"
    );
    assert_eq!(s.len(), 3, "{s:?}");
    let nproc = finding(&report, "limits.nproc_near").unwrap();
    assert_eq!(nproc["subject"]["user"], "nobody");
    assert_eq!(evidence(nproc, "user.tasks"), 401.0);
    assert_eq!(evidence(nproc, "user.nproc_soft"), 440.0);
}

#[test]
fn swap_thrashing_explains_the_stalls_and_the_io_it_causes() {
    let (_, s) = story_of("swap-thrashing");
    assert_eq!(
        s[0],
        (
            "critical".into(),
            "mem.swap_thrashing".into(),
            owned(&["cpu.iowait", "io.pressure", "mem.major_faults", "mem.pressure"])
        )
    );
}

#[test]
fn host_memory_exhaustion_explains_the_faults_their_io_and_the_global_kill() {
    let (report, s) = story_of("story-memory-exhaustion");
    assert_eq!(
        s,
        vec![(
            "critical".into(),
            "mem.available_low".into(),
            owned(&[
                "cgroup.oom_kill(/process_api/7b062ae6da5b20a3ce88fcf199ba69a8)",
                "cpu.iowait",
                "io.pressure",
                "mem.major_faults",
                "mem.oom_kill(7263)",
            ])
        )]
    );
    let low = finding(&report, "mem.available_low").unwrap();
    assert_eq!(low["severity"], "critical");
    assert_eq!(evidence(low, "host.mem.available_bytes"), 815_050_752.0);
    let kill = finding(&report, "mem.oom_kill").unwrap();
    assert!(kill["summary"].as_str().unwrap().contains("global OOM"), "{kill}");
    // The unlimited cgroup's counter and the kernel log's global kill in it are one event: the chain
    // runs low memory -> the cgroup's kills -> the victim.
    let story = &report["diagnoses"][0];
    let effects: Vec<&str> = story["effects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["rule"].as_str().unwrap())
        .collect();
    let at = |rule: &str| effects.iter().position(|r| *r == rule).unwrap();
    assert!(at("cgroup.oom_kill") < at("mem.oom_kill"), "{effects:?}");
}

#[test]
fn idle_huge_pages_explain_the_low_memory() {
    let (_, s) = story_of("hugepages-idle");
    assert_eq!(
        s[0],
        (
            "warning".into(),
            "mem.hugepages_idle".into(),
            owned(&["mem.available_low"])
        )
    );
}

#[test]
fn page_cache_thrashing_explains_the_io_of_its_rereads() {
    let (report, s) = story_of("page-cache-thrashing");
    assert_eq!(
        s[0],
        (
            "critical".into(),
            "mem.page_cache_thrashing".into(),
            owned(&["cpu.iowait", "io.pressure"])
        )
    );
    let thrash = finding(&report, "mem.page_cache_thrashing").unwrap();
    assert_eq!(thrash["severity"], "warning");
}

#[test]
fn links_do_not_form_without_the_numbers() {
    // io-saturation: direct writes, no faults and no refaults: the I/O wait and pressure are their own.
    let (_, s) = story_of("io-saturation");
    assert!(s.iter().all(|(_, _, effects)| effects.is_empty()), "{s:?}");
    assert!(s.iter().any(|(_, cause, _)| cause == "io.pressure"), "{s:?}");
    // direct-reclaim: reclaim stalls while MemAvailable stays above 10%: no low-memory story.
    let (_, s) = story_of("direct-reclaim");
    assert!(
        s.contains(&("warning".into(), "mem.direct_reclaim".into(), vec![])),
        "{s:?}"
    );
    // fd-near-limit: a process at 240 of 256 fds holds a sliver of the host's handles, and the system
    // table is far from full: nothing to explain.
    let (_, s) = story_of("fd-near-limit");
    assert!(
        s.contains(&("critical".into(), "fd.process_near_limit(18964)".into(), vec![])),
        "{s:?}"
    );
    // zombies: busy CPUs with one runnable task per CPU or fewer explain no pressure.
    let (_, s) = story_of("zombies");
    assert!(
        s.iter()
            .any(|(_, cause, effects)| cause == "cpu.utilization" && effects.is_empty()),
        "{s:?}"
    );
    // A capture without processes cannot say who holds the busy time: no link is guessed.
    let (_, s) = story_of("cpu-saturation");
    assert!(s.iter().all(|(_, _, effects)| effects.is_empty()), "{s:?}");
}

#[test]
fn the_composite_case_fits_one_screen_of_120_columns() {
    let (code, out, _) = run(osdoctor()
        .args(["check", "--root"])
        .arg(fixture("story-composite"))
        .env("NO_COLOR", "1"));
    assert_eq!(code, 2);
    let screen: usize = out.lines().map(|l| l.chars().count().div_ceil(120).max(1)).sum();
    assert!(screen <= 40, "{screen} lines:\n{out}");
    assert!(
        out.starts_with("osdoctor: CRITICAL  3 problems, 8 findings (4 critical, 4 warnings)"),
        "{out}"
    );
    // Each story's mechanism once, and the storm's "top: pid ..." evidence not repeated.
    assert_eq!(out.matches("why:").count(), 3, "{out}");
    assert!(out.matches("top: pid").count() <= 1, "{out}");
    let pressure = out
        .lines()
        .find(|l| l.contains("-> WARN  cpu.pressure"))
        .expect("cpu.pressure");
    assert!(pressure.ends_with("(PSI cpu some avg10)"), "{pressure}");
    assert!(out.contains("   -> CRIT  cpu.utilization"), "{out}");
}

#[test]
fn min_severity_hides_stories_below_it() {
    let (_, report) = check_json(&[
        "--root",
        fixture("story-composite").to_str().unwrap(),
        "--min-severity",
        "critical",
    ]);
    let s = stories(&report);
    assert_eq!(s.len(), 2, "{s:?}");
    assert!(s.iter().all(|(sev, _, _)| sev == "critical"));
}

/// Every fixture: every finding is in exactly one diagnosis, and the report is valid against the
/// schema `osdoctor schema` prints.
#[test]
fn every_fixture_report_is_valid_and_every_finding_is_in_exactly_one_diagnosis() {
    let (code, schema_text, _) = run(osdoctor().arg("schema"));
    assert_eq!(code, 0);
    let schema: Value = serde_json::from_str(&schema_text).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("osdoctor-schema.json", schema).unwrap();
    let index = compiler.compile("osdoctor-schema.json", &mut schemas).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("fixtures")).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("osdoctor-snapshot.json").is_file() && !dir.join("proc").is_dir() {
            continue;
        }
        let (_, report) = check_json(&["--root", dir.to_str().unwrap(), "--interval", "0.1"]);
        if let Err(e) = schemas.validate(&report, index) {
            panic!("{}: not valid against the schema: {e:#}", dir.display());
        }
        let mut refs: Vec<String> = report["diagnoses"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| {
                std::iter::once(&d["cause"])
                    .chain(d["effects"].as_array().unwrap())
                    .map(|r| format!("{} {}", r["rule"], r["subject"]))
            })
            .collect();
        let mut found: Vec<String> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let s = &f["subject"];
                let mut id = serde_json::Map::new();
                for k in [
                    "kind",
                    "pid",
                    "start_time",
                    "user",
                    "cgroup",
                    "device",
                    "path",
                    "node",
                ] {
                    if k == "user" && s["kind"] != "user" {
                        continue;
                    }
                    if let Some(v) = s.get(k) {
                        id.insert(k.to_string(), v.clone());
                    }
                }
                format!("{} {}", f["rule"], Value::Object(id))
            })
            .collect();
        refs.sort();
        found.sort();
        assert_eq!(refs, found, "{}: findings vs diagnoses", dir.display());
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
}
