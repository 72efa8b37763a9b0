//! osdoctor run inside a container, replayed from snapshots taken there: the container judged by its
//! own limits (its CPU use against its quota, its runnable tasks against the CPUs it may use, its
//! working set against its memory limit, its cgroup's pressure), the host's figures kept as the
//! host's, and what cannot be seen from inside named with what to run on the node.

use serde_json::Value;

use crate::util::*;

/// The (rule, cause) stories of a report: each diagnosis's cause and its effects' rules, sorted.
fn stories(r: &Value) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = r["diagnoses"]
        .as_array()
        .expect("diagnoses")
        .iter()
        .map(|d| {
            let mut effects: Vec<String> = d["effects"]
                .as_array()
                .expect("effects")
                .iter()
                .map(|e| e["rule"].as_str().expect("rule").to_string())
                .collect();
            effects.sort();
            (d["cause"]["rule"].as_str().expect("rule").to_string(), effects)
        })
        .collect();
    out.sort();
    out
}

/// `check --root` of a snapshot taken inside a 0.5-CPU container with its own cgroup `/`: the
/// fixture's directory and the report, its exit code (critical) and `host.container` checked.
fn replay_inside(name: &str, runtime: &str, memory_limit: u64) -> (std::path::PathBuf, Value) {
    let dir = fixture(name);
    let (code, r) = check_json(&["--root", dir.to_str().expect("utf-8")]);
    assert_eq!(code, 2);
    let ctr = &r["host"]["container"];
    assert_eq!(
        (
            &ctr["runtime"],
            &ctr["cgroup"],
            &ctr["cpu_limit"],
            &ctr["memory_limit_bytes"]
        ),
        (
            &Value::from(runtime),
            &Value::from("/"),
            &Value::from(0.5),
            &Value::from(memory_limit)
        )
    );
    (dir, r)
}

fn not_evaluated<'a>(r: &'a Value, rule: &str) -> &'a str {
    r["coverage"]["not_evaluated"]
        .as_array()
        .expect("not_evaluated")
        .iter()
        .find(|n| n["rule"] == rule)
        .and_then(|n| n["reason"].as_str())
        .unwrap_or_else(|| panic!("{rule} was evaluated"))
}

#[test]
fn a_podman_container_on_cgroup_v1_is_judged_against_its_quota_and_its_memory_limit() {
    let (dir, r) = replay_inside("inside-podman-v1-quota", "podman", 100_663_296);

    // CPU: 0.49 of the 0.5 CPUs of its quota, while the host's 2 CPUs were 27% busy.
    let util = finding(&r, "cpu.utilization").expect("cpu.utilization");
    assert_eq!(util["severity"], "critical");
    assert_eq!(
        util["subject"],
        serde_json::json!({"kind": "host", "cgroup": "/"})
    );
    assert_eq!(evidence(util, "container.cpus"), 0.5);
    assert!(
        (evidence(util, "container.cpu.busy_ratio") - 0.9846).abs() < 1e-3,
        "{util:#}"
    );
    assert!(
        (evidence(util, "host.cpu.busy_ratio") - 0.2710).abs() < 1e-3,
        "{util:#}"
    );
    assert!(
        util["summary"].as_str().is_some_and(|s| s.starts_with(
            "used 0.49 of its 0.50-CPU limit (98.5%); the host's CPUs 27.1% busy; top: pid 1 (sh"
        )),
        "{util:#}"
    );
    // Its one runnable task on half a CPU is one per whole CPU: nothing queues behind it, and
    // cpu.runqueue, judged on the container, is quiet (the quota's stalls are the throttling's).
    assert!(finding(&r, "cpu.runqueue").is_none());
    assert!(
        r["coverage"]["not_evaluated"]
            .as_array()
            .expect("not_evaluated")
            .iter()
            .all(|n| n["rule"] != "cpu.runqueue")
    );
    // Memory: 5.6 MiB left below its 96 MiB limit, while the host has 97% available.
    let mem = finding(&r, "mem.available_low").expect("mem.available_low");
    assert_eq!(mem["severity"], "warning");
    assert_eq!(
        (
            evidence(mem, "container.mem.available_bytes"),
            evidence(mem, "container.mem.limit_bytes"),
            evidence(mem, "container.mem.working_set_bytes")
        ),
        (5_922_816.0, 100_663_296.0, 94_740_480.0)
    );
    assert!(evidence(mem, "host.mem.available_ratio") > 0.9);

    // The quota and the limit are the causes.
    assert_eq!(
        stories(&r),
        [
            (
                "cgroup.cpu_throttled".to_string(),
                vec![
                    "cpu.pressure".to_string(),
                    "cpu.utilization".to_string(),
                    "proc.runqueue_latency".to_string()
                ]
            ),
            (
                "cgroup.memory_near_limit".to_string(),
                vec!["mem.available_low".to_string()]
            ),
            ("mem.oom_kill_count".to_string(), vec![]),
        ]
    );
    // v1 has no cgroup pressure files: the host's pressure judges cpu.pressure, labelled the host's,
    // and the container's throttled tasks (runnable, not running) are what it counts.
    let pressure = finding(&r, "cpu.pressure").expect("cpu.pressure");
    assert_eq!(pressure["subject"], serde_json::json!({"kind": "host"}));
    assert_eq!(evidence(pressure, "host.psi.cpu.some_avg10"), 39.6);
    // What cannot be seen from inside, with what to run on the node.
    assert!(
        not_evaluated(&r, "kernel.oops").ends_with(
            "cannot be seen from inside a container: on the node run `osdoctor kernel-log`, or `osdoctor cgroup 0bc6882ad5b6` for this container's OOM kills"
        ),
        "{}",
        not_evaluated(&r, "kernel.oops")
    );
    let notes = notes(&r);
    assert!(
        notes.contains(&"from inside, the host's processes are not seen (only its PID namespace's): on the node run `osdoctor check`")
            && notes.contains(&"from inside, other containers' cgroups are not seen: on the node run `osdoctor cgroup 0bc6882ad5b6`"),
        "{notes:#?}"
    );

    // The text names the container, not the host.
    let (_, text, _) = run(osdoctor()
        .args(["check", "--root", dir.to_str().expect("utf-8")])
        .env("NO_COLOR", "1"));
    assert!(
        text.contains(
            "-> CRIT  cpu.utilization           container: used 0.49 of its 0.50-CPU limit (98.5%); the host's CPUs 27.1% busy"
        ),
        "{text}"
    );
}

#[test]
fn a_docker_container_on_cgroup_v2_is_judged_by_its_own_cgroups_pressure_and_quota() {
    // Hand-made (this kernel has every controller on v1): see the fixture's README.
    let (_, r) = replay_inside("inside-docker-v2", "docker", 268_435_456);
    // The namespace root is judged: its quota and its pressure, which the quiet host does not show.
    let throttled = finding(&r, "cgroup.cpu_throttled").expect("cgroup.cpu_throttled");
    assert_eq!(
        (&throttled["severity"], &throttled["subject"]["cgroup"]),
        (&Value::from("critical"), &Value::from("/"))
    );
    let pressure = finding(&r, "cpu.pressure").expect("cpu.pressure");
    assert_eq!(pressure["severity"], "critical");
    assert_eq!(pressure["subject"]["cgroup"], "/");
    assert_eq!(
        (
            evidence(pressure, "container.psi.cpu.some_avg10"),
            evidence(pressure, "host.psi.cpu.some_avg10")
        ),
        (51.63, 1.61)
    );
    let util = finding(&r, "cpu.utilization").expect("cpu.utilization");
    assert_eq!(util["severity"], "critical");
    assert!(
        (evidence(util, "container.cpu.used_cpus") - 0.4998).abs() < 1e-3,
        "{util:#}"
    );
    assert!(
        (evidence(util, "host.cpu.busy_ratio") - 0.2513).abs() < 1e-3,
        "{util:#}"
    );
    let mem = finding(&r, "mem.available_low").expect("mem.available_low");
    assert_eq!(
        mem["severity"], "warning",
        "its memory.pressure (2.1) is below the critical level"
    );
    assert_eq!(
        (
            evidence(mem, "container.mem.available_bytes"),
            evidence(mem, "container.mem.working_set_bytes")
        ),
        (16_777_216.0, 251_658_240.0)
    );
    assert_eq!(
        stories(&r),
        [
            (
                "cgroup.cpu_throttled".to_string(),
                vec![
                    "cgroup.pressure".to_string(),
                    "cpu.pressure".to_string(),
                    "cpu.utilization".to_string(),
                    "proc.runqueue_latency".to_string()
                ]
            ),
            (
                "cgroup.memory_near_limit".to_string(),
                vec!["mem.available_low".to_string()]
            ),
        ]
    );
}

#[test]
fn prometheus_names_the_container_and_its_limits() {
    let dir = fixture("inside-docker-v2");
    let (_, text, _) = run(osdoctor().args([
        "check",
        "--root",
        dir.to_str().expect("utf-8"),
        "--format",
        "prometheus",
    ]));
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("osdoctor_container"))
        .collect();
    assert_eq!(
        series,
        [
            "osdoctor_container_info{runtime=\"docker\",id=\"3f9c2a7d41b86e05c7d2e9f1a4b3c6d8e0f2a1b4c5d6e7f8091a2b3c4d5e6f70\",cgroup=\"/\"} 1",
            "osdoctor_container_limit{resource=\"memory_bytes\"} 268435456",
            "osdoctor_container_limit{resource=\"cpus_quota\"} 0.5",
            "osdoctor_container_limit{resource=\"cpuset_cpus\"} 2",
            "osdoctor_container_limit{resource=\"pids\"} 4096",
        ]
    );
    // A host finding judged in the container carries its cgroup as a label.
    assert!(
        text.contains("osdoctor_finding{rule=\"cpu.utilization\",severity=\"critical\",resource=\"cpu\",use=\"utilization\",subject=\"host\",cgroup=\"/\"} 0.99952"),
        "{text}"
    );
    if let Some(problems) = promtool_check(&text) {
        assert!(problems.is_empty(), "promtool: {problems}");
    }
    // Outside a container, no container series.
    let (_, healthy, _) = run(osdoctor().args([
        "check",
        "--root",
        fixture("healthy").to_str().expect("utf-8"),
        "--format",
        "prometheus",
    ]));
    assert!(!healthy.contains("osdoctor_container"), "{healthy}");
}
