//! `osdoctor cgroup TARGET`: on the hand-built cgroup v2 pod fixtures (systemd driver with containerd
//! as a root tree, cgroupfs driver with CRI-O as a two-sample snapshot), on the real v1 captures, and
//! live on this kernel's v1 hierarchies as root (an OOM kill in a 64 MiB memory cgroup, a busy loop
//! under a 20% CPU quota, a pids cgroup at its limit). Live tests skip with a message when not root
//! or when the controllers are not on cgroup v1; every cgroup they create is removed, also when an
//! assertion fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

// fixtures/v2-pod-systemd-containerd (see fixtures/build-v2-pods.py).
const SYSTEMD: &str = "v2-pod-systemd-containerd";
const UID1: &str = "8d2b6f1e-3c4a-4e5f-9a7b-1c2d3e4f5a6b";
const APP: &str = "4f1a9c3e8b2d7f60a5c4e3b2d1f0e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2";
const SIDECAR: &str = "9b8e7d6c5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c";
const TWIN: &str = "9b8e7d6c5f4a11aa22bb33cc44dd55ee66ff7788990011aa22bb33cc44dd55ee";
const PAUSE1: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// fixtures/v2-pod-cgroupfs-crio.
const CRIO: &str = "v2-pod-cgroupfs-crio";
const UID3: &str = "1e597579-417e-482f-bf65-5fe170c3aebd";
const UID4: &str = "77f06c5c-4593-43e9-b970-987f6ecb825b";
const WORKER: &str = "c7d1f2e3a4b5968778695a4b3c2d1e0f9a8b7c6d5e4f30211203948576a5b4c3";
const PAUSE3: &str = "0ba8ac17b2cb4d0c22fa1e2f5f3a0bc8d7aab6b1a84a1b35ef9b1f7a1f0b5c2d";

/// `osdoctor cgroup TARGET ARGS --format json`: (exit code, report).
fn cgroup_json(target: &str, args: &[&str]) -> (i32, Value) {
    let (code, out, err) = run(osdoctor()
        .args(["cgroup", target])
        .args(args)
        .args(["--format", "json"]));
    let report: Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"));
    (code, report)
}

/// The fixture as --root, for a tree sampled quickly.
fn root_args(name: &str) -> Vec<String> {
    vec![
        "--root".into(),
        fixture(name).to_str().unwrap().into(),
        "--interval".into(),
        "0.1".into(),
    ]
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The report's cgroup entry with this container ID.
fn container<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["container_id"] == id)
        .unwrap_or_else(|| panic!("no container {id} in {report:#}"))
}

/// (rule, severity) of a cgroup entry's findings, sorted.
fn rules_of(cgroup: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = cgroup["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_pod_uid_shows_each_container_its_oom_kills_and_findings() {
    let (code, r) = cgroup_json(UID1, &args(&root_args(SYSTEMD)));
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["schema_version"], 4);
    assert_eq!(r["status"], "warning");
    assert_eq!(r["cgroup_mode"], "v2");
    let t = &r["target"];
    assert_eq!(t["kind"], "pod_uid");
    assert_eq!(t["pod_uid"], UID1);
    assert_eq!(t["qos"], "burstable");
    assert_eq!(t["runtime"], "containerd");
    assert_eq!(t["container_id"], Value::Null);
    assert!(
        t["cgroup"]
            .as_str()
            .unwrap()
            .ends_with(&format!("kubepods-burstable-pod{}.slice", UID1.replace('-', "_"))),
        "{t}"
    );

    // The pod cgroup first, then the app containers, the pause container last.
    let cgroups = r["cgroups"].as_array().unwrap();
    let layout: Vec<(&str, &str)> = cgroups
        .iter()
        .map(|c| {
            (
                c["role"].as_str().unwrap(),
                c["container_id"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        layout,
        [
            ("pod", "-"),
            ("container", APP),
            ("container", SIDECAR),
            ("container", PAUSE1)
        ]
    );
    assert!(cgroups.iter().all(|c| c["pod_uid"] == UID1));

    // The pod: memory.events counts its containers' kills, memory.events.local none of its own.
    let pod = &cgroups[0];
    assert_eq!(pod["memory"]["events"]["oom_kill"], 2);
    assert_eq!(pod["memory"]["events"]["oom_kill_local"], 0);
    assert!(rules_of(pod).is_empty(), "{pod:#}");

    // The app container: killed twice, working set 94.9% of its 512 MiB limit.
    let app = container(&r, APP);
    assert_eq!(app["runtime"], "containerd");
    assert_eq!(app["is_pause"], false);
    let mem = &app["memory"];
    assert_eq!(mem["version"], "v2");
    assert_eq!(mem["events"]["oom_kill"], 2);
    assert_eq!(mem["events"]["oom"], 2);
    assert_eq!(mem["limit_bytes"], 512u64 << 20);
    assert_eq!(mem["working_set_bytes"], 486u64 << 20);
    let ratio = mem["working_set_ratio"].as_f64().unwrap();
    assert!((ratio - 0.949).abs() < 0.001, "{ratio}");
    // A root tree is read twice like a live root: its copied counters do not move.
    assert_eq!(mem["oom_kill_during_interval"], 0);
    assert_eq!(
        rules_of(app),
        [
            ("cgroup.memory_near_limit".to_string(), "warning".to_string()),
            ("cgroup.oom_kill".to_string(), "warning".to_string())
        ]
    );
    let oom = app["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "cgroup.oom_kill")
        .unwrap();
    assert_eq!(oom["subject"]["pod_uid"], UID1);
    assert_eq!(oom["subject"]["container_id"], APP);
    assert_eq!(evidence(oom, "cgroup.memory.oom_kill_total"), 2.0);
    assert!(
        oom["summary"].as_str().unwrap().starts_with("OOM kills: 2"),
        "{oom}"
    );
    // Its process, from /proc/PID/{stat,status,fd}.
    let procs = &app["processes"];
    assert_eq!(procs["total"], 1);
    let java = &procs["shown"][0];
    assert_eq!(
        (
            &java["pid"],
            &java["comm"],
            &java["threads"],
            &java["fds"],
            &java["rss_bytes"]
        ),
        (
            &Value::from(4321),
            &Value::from("java"),
            &Value::from(87),
            &Value::from(312),
            &Value::from(478_208u64 * 1024)
        )
    );

    let side = container(&r, SIDECAR);
    assert!(rules_of(side).is_empty());
    assert_eq!(side["memory"]["events"]["oom_kill"], 0);
    assert_eq!(side["cpu"]["quota_cores"], 0.2);
    let pause = container(&r, PAUSE1);
    assert_eq!(pause["is_pause"], true);
    assert_eq!(pause["processes"]["shown"][0]["comm"], "pause");

    // Every finding of the run is in some cgroup's list, and the other way round.
    let all = r["findings"].as_array().unwrap();
    assert_eq!(all.len(), 2);
    let per_cgroup: usize = cgroups
        .iter()
        .map(|c| c["findings"].as_array().unwrap().len())
        .sum();
    assert_eq!(per_cgroup, all.len());
    assert!(
        r["coverage"]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("every rate is zero")),
        "{:#}",
        r["coverage"]
    );
}

#[test]
fn a_12_digit_container_prefix_finds_the_same_container() {
    let (_, pod) = cgroup_json(UID1, &args(&root_args(SYSTEMD)));
    let in_pod = container(&pod, APP);
    let (code, r) = cgroup_json(&APP[..12], &args(&root_args(SYSTEMD)));
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["target"]["kind"], "container_id");
    assert_eq!(r["target"]["container_id"], APP);
    assert_eq!(r["target"]["pod_uid"], UID1);
    let cgroups = r["cgroups"].as_array().unwrap();
    assert_eq!(cgroups.len(), 1);
    let c = &cgroups[0];
    assert_eq!(c["role"], "container");
    assert_eq!(c["path"], in_pod["path"]);
    assert_eq!(c["memory"]["events"]["oom_kill"], 2);
    assert_eq!(c["is_pause"], false, "told from its processes");
    assert_eq!(rules_of(c), rules_of(in_pod));
    // The full ID, containerd:// as kubectl prints it, and the PID inside resolve there too.
    for target in [APP.to_string(), format!("containerd://{APP}"), "4321".to_string()] {
        let (_, r) = cgroup_json(&target, &args(&root_args(SYSTEMD)));
        assert_eq!(r["target"]["cgroup"], in_pod["path"], "{target}");
    }
}

#[test]
fn the_underscore_form_of_the_uid_finds_the_pod() {
    let (_, dashed) = cgroup_json(UID1, &args(&root_args(SYSTEMD)));
    for target in [UID1.replace('-', "_"), format!("pod{UID1}"), UID1.to_uppercase()] {
        let (code, r) = cgroup_json(&target, &args(&root_args(SYSTEMD)));
        assert_eq!(code, 1, "{target}");
        assert_eq!(r["target"]["input"], target.as_str());
        assert_eq!(r["target"]["cgroup"], dashed["target"]["cgroup"], "{target}");
        assert_eq!(r["target"]["pod_uid"], UID1);
        assert_eq!(r["cgroups"].as_array().unwrap().len(), 4);
    }
}

#[test]
fn an_ambiguous_prefix_exits_3_and_names_every_match() {
    // The sidecar and a BestEffort pod's container share their first 12 hex digits.
    let (code, out, err) = run(osdoctor()
        .args(["cgroup", &SIDECAR[..12], "--root"])
        .arg(fixture(SYSTEMD)));
    assert_eq!(code, 3, "{out}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("is ambiguous"), "{err}");
    assert!(err.contains(SIDECAR) && err.contains(TWIN), "{err}");
    assert!(err.contains("more characters"), "{err}");
    // One more digit is enough.
    let (code, r) = cgroup_json(&SIDECAR[..13], &args(&root_args(SYSTEMD)));
    assert_eq!(code, 0);
    assert_eq!(r["target"]["container_id"], SIDECAR);
}

#[test]
fn an_unknown_target_exits_3_and_says_what_was_searched() {
    let unknown = "11111111-2222-3333-4444-555555555555";
    let (code, out, err) = run(osdoctor()
        .args(["cgroup", unknown, "--root"])
        .arg(fixture(SYSTEMD)));
    assert_eq!(code, 3, "{out}");
    assert!(out.is_empty());
    assert!(err.contains(&format!("pod{unknown}")), "{err}");
    assert!(
        err.contains(&format!("*-pod{}.slice", unknown.replace('-', "_"))),
        "{err}"
    );
    assert!(err.contains("walked") && err.contains("/sys/fs/cgroup"), "{err}");
    for (target, says) in [
        ("deadbeefdeadbeef", "ID starts with deadbeefdeadbeef"),
        ("/no/such/cgroup", "/sys/fs/cgroup/no/such/cgroup"),
        ("99999", "no process 99999"),
        ("0ba8ac17", "at least 12 hex digits"),
    ] {
        let (code, _, err) = run(osdoctor()
            .args(["cgroup", target, "--root"])
            .arg(fixture(SYSTEMD)));
        assert_eq!(code, 3, "{target}");
        assert!(err.contains(says), "{target}: {err}");
    }
    // No TARGET at all is a usage error.
    let (code, _, err) = run(osdoctor().arg("cgroup"));
    assert_eq!(code, 3);
    assert!(err.contains("TARGET"), "{err}");
}

#[test]
fn check_names_the_pod_and_container_of_cgroup_findings() {
    let (code, r) = check_json(&args(&root_args(SYSTEMD)));
    assert_eq!(code, 1, "{r:#}");
    for rule in ["cgroup.oom_kill", "cgroup.memory_near_limit"] {
        let f = finding(&r, rule).unwrap_or_else(|| panic!("{rule}: {r:#}"));
        assert_eq!(f["severity"], "warning");
        let s = &f["subject"];
        assert_eq!(s["kind"], "cgroup");
        assert_eq!(s["pod_uid"], UID1);
        assert_eq!(s["container_id"], APP);
        assert!(
            s["cgroup"]
                .as_str()
                .unwrap()
                .ends_with(&format!("cri-containerd-{APP}.scope"))
        );
    }
    // The pod's hierarchical memory.events counts the same kills: not reported twice.
    let ooms = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "cgroup.oom_kill")
        .count();
    assert_eq!(ooms, 1);
}

#[test]
fn the_crio_snapshot_replays_throttling_with_real_rates() {
    let root = fixture(CRIO);
    let (code, r) = cgroup_json(UID3, &["--root", root.to_str().unwrap()]);
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(r["status"], "critical");
    assert_eq!(r["target"]["runtime"], "crio");
    assert_eq!(r["target"]["qos"], "burstable");
    assert!((r["interval_s"].as_f64().unwrap() - 1.0).abs() < 0.01);
    // conmon cgroups are not containers; the pause container comes last.
    let ids: Vec<&str> = r["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["container_id"].as_str())
        .collect();
    assert_eq!(ids, [WORKER, PAUSE3]);
    assert_eq!(container(&r, PAUSE3)["is_pause"], true);
    let w = container(&r, WORKER);
    assert_eq!(w["runtime"], "crio");
    assert_eq!(
        rules_of(w),
        [("cgroup.cpu_throttled".to_string(), "critical".to_string())]
    );
    let cpu = &w["cpu"]["interval"];
    assert_eq!(cpu["periods"], 10);
    assert_eq!(cpu["throttled_periods"], 9);
    assert!((cpu["throttled_ratio"].as_f64().unwrap() - 0.9).abs() < 1e-9);
    assert!(cpu["quota_used_ratio"].as_f64().unwrap() > 0.99);
    assert_eq!(cpu["quota_used_is_lower_bound"], false);
    let throttled = cpu["throttled_seconds"].as_f64().unwrap();
    assert!((throttled - 0.871).abs() < 0.001, "{throttled}");
    let f = &w["findings"][0];
    assert!((evidence(f, "cgroup.cpu.quota_cores") - 0.5).abs() < 1e-9);
    // The pod's own quota throttled it in 1 of 10 periods: below the warning level.
    assert!(rules_of(&r["cgroups"][0]).is_empty());

    // The BestEffort pod next to it: nothing wrong, exit 0.
    let (code, r) = cgroup_json(UID4, &["--root", root.to_str().unwrap()]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["target"]["qos"], "besteffort");
    assert_eq!(r["cgroups"].as_array().unwrap().len(), 3);
    assert_eq!(r["cgroups"][1]["processes"]["total"], 2, "two nginx processes");

    // The container alone, by ID prefix: the same numbers.
    let (_, r) = cgroup_json(&WORKER[..12], &["--root", root.to_str().unwrap()]);
    assert_eq!(r["cgroups"][0]["cpu"]["interval"]["throttled_periods"], 9);
}

#[test]
fn a_cgroup_the_snapshot_did_not_capture_is_unknown_not_ok() {
    // A snapshot holds the cgroups check reads fully (leaves, pods, top level), not QoS-level ones.
    let (code, r) = cgroup_json(
        "/kubepods/burstable",
        &["--root", fixture(CRIO).to_str().unwrap()],
    );
    assert_eq!(code, 3, "{r:#}");
    assert_eq!(r["status"], "unknown");
    assert!(
        r["coverage"]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("nothing to judge")),
        "{:#}",
        r["coverage"]
    );
}

#[test]
fn one_sample_reports_the_rate_rules_as_not_evaluated() {
    let (code, r) = cgroup_json(
        UID1,
        &["--root", fixture(SYSTEMD).to_str().unwrap(), "--interval", "0"],
    );
    assert_eq!(code, 1);
    assert_eq!(r["interval_s"], 0.0);
    let not_eval = r["coverage"]["not_evaluated"].as_array().unwrap();
    let high = not_eval
        .iter()
        .find(|n| n["rule"] == "cgroup.memory_high_throttle")
        .expect("memory_high_throttle not evaluated");
    assert!(high["reason"].as_str().unwrap().contains("two samples"), "{high}");
    let cpu = &container(&r, APP)["cpu"]["interval"];
    assert_eq!(cpu["throttled_ratio"], Value::Null);
    assert_eq!(cpu["usage_cores"], Value::Null);
    // The total still warns.
    assert_eq!(
        rules_of(container(&r, APP)),
        [
            ("cgroup.memory_near_limit".to_string(), "warning".to_string()),
            ("cgroup.oom_kill".to_string(), "warning".to_string())
        ]
    );
}

#[test]
fn table_prometheus_and_nagios() {
    let (code, out, _) = run(osdoctor()
        .args(["cgroup", UID1, "--interval", "0.1", "--root"])
        .arg(fixture(SYSTEMD)));
    assert_eq!(code, 1);
    assert!(
        out.starts_with("osdoctor: WARNING  2 warnings   pod shop/checkout-7d9f8c6b5-x2lqp"),
        "{out}"
    );
    assert!(!out.contains('\x1b'));
    let warn = out
        .lines()
        .find(|l| l.starts_with("WARN  cgroup.oom_kill"))
        .expect("oom line");
    assert!(
        warn.contains("container app (4f1a9c3e8b2d): OOM kills: 2"),
        "{warn}"
    );
    assert!(
        out.contains(&format!("container {} (pause)", &PAUSE1[..12])),
        "{out}"
    );
    assert!(out.contains("java"), "{out}");

    let (code, out, _) = run(osdoctor()
        .args(["cgroup", UID3, "--format", "prometheus", "--root"])
        .arg(fixture(CRIO)));
    assert_eq!(code, 2);
    assert!(
        out.contains(&format!("osdoctor_cgroup_status{{target=\"{UID3}\"}} 2\n")),
        "{out}"
    );
    assert!(
        out.contains(&format!("osdoctor_cgroup_cpu_throttled_ratio{{cgroup=\"/kubepods/burstable/pod{UID3}/crio-{WORKER}\",role=\"container\",pod_uid=\"{UID3}\",container_id=\"{WORKER}\"}} 0.9\n")),
        "{out}"
    );
    let (code, out, _) = run(osdoctor()
        .args(["cgroup", UID3, "--format", "nagios", "--root"])
        .arg(fixture(CRIO)));
    assert_eq!(code, 2);
    assert!(out.starts_with("OSDOCTOR CGROUP CRITICAL - "), "{out}");
    assert!(out.lines().next().unwrap().contains("| critical=1"), "{out}");
}

/// `cgroup`'s Prometheus text: the shared series first (the verdict is the exit code), then its own;
/// clean for `promtool check metrics` (when installed), no series twice.
#[test]
fn cgroup_prometheus_is_clean_for_promtool() {
    for (fixture_name, target) in [(SYSTEMD, UID1), (CRIO, UID3), (CRIO, UID4), (SYSTEMD, APP)] {
        let (code, out, err) = run(osdoctor()
            .args([
                "cgroup",
                target,
                "--interval",
                "0.1",
                "--format",
                "prometheus",
                "--root",
            ])
            .arg(fixture(fixture_name)));
        assert!((0..=3).contains(&code), "{target}: {err}");
        assert_eq!(series_value(&out, "osdoctor_status"), Some(code as f64), "{out}");
        assert!(
            out.contains(&format!("osdoctor_cgroup_status{{target=\"{target}\"}} {code}\n")),
            "{out}"
        );
        assert_clean_prometheus(&format!("cgroup {target} in {fixture_name}"), &out);
    }
}

#[test]
fn the_real_v1_captures_replay() {
    for (fixture_name, target, rule) in [
        ("v1-memcg-oom-kill", "/osdoctor-fixture-oom", "cgroup.oom_kill"),
        (
            "v1-cpu-throttled",
            "/osdoctor-fixture-cpu",
            "cgroup.cpu_throttled",
        ),
        (
            "v1-pids-at-limit",
            "/osdoctor-fixture-pids",
            "cgroup.pids_near_limit",
        ),
    ] {
        let (code, r) = cgroup_json(target, &["--root", fixture(fixture_name).to_str().unwrap()]);
        assert_eq!(code, 2, "{fixture_name}: {r:#}");
        assert_eq!(r["cgroup_mode"], "hybrid");
        let c = &r["cgroups"][0];
        assert_eq!(c["role"], "cgroup");
        assert_eq!(
            rules_of(c),
            [(rule.to_string(), "critical".to_string())],
            "{fixture_name}"
        );
    }
    let (_, r) = cgroup_json(
        "/osdoctor-fixture-oom",
        &["--root", fixture("v1-memcg-oom-kill").to_str().unwrap()],
    );
    let mem = &r["cgroups"][0]["memory"];
    assert_eq!(mem["version"], "v1");
    assert_eq!(mem["limit_bytes"], 64u64 << 20);
    assert_eq!(mem["events"]["oom_kill"], 1);
    assert_eq!(mem["oom_kill_during_interval"], 1);
    let (_, r) = cgroup_json(
        "/osdoctor-fixture-cpu",
        &["--root", fixture("v1-cpu-throttled").to_str().unwrap()],
    );
    let cpu = &r["cgroups"][0]["cpu"];
    assert_eq!(cpu["quota_cores"], 0.2);
    assert!(
        cpu["interval"]["throttled_ratio"].as_f64().unwrap() >= 0.9,
        "{cpu:#}"
    );
    assert_eq!(cpu["interval"]["quota_used_is_lower_bound"], true);
    assert_eq!(
        r["cgroups"][0]["memory"]["version"],
        Value::Null,
        "cpu hierarchy only"
    );
    let (_, r) = cgroup_json(
        "/osdoctor-fixture-pids",
        &["--root", fixture("v1-pids-at-limit").to_str().unwrap()],
    );
    let pids = &r["cgroups"][0]["pids"];
    assert_eq!(
        (&pids["current"], &pids["max"]),
        (&Value::from(5), &Value::from(5))
    );
    assert!(pids["forks_refused"].as_u64().unwrap() >= 1);
}

// ---------------------------------------------------------------------------------------------------
// Live, as root, on this machine's cgroup v1 hierarchies.

/// The directory of `controller`'s own cgroup v1 hierarchy, from the mount table.
fn v1_mount(controller: &str) -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    text.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let mount_point = left.split_whitespace().nth(4)?;
        let mut r = right.split_whitespace();
        let (fstype, _, options) = (r.next()?, r.next()?, r.next()?);
        (fstype == "cgroup"
            && mount_point == format!("/sys/fs/cgroup/{controller}")
            && options.split(',').any(|o| o == controller))
        .then(|| PathBuf::from(mount_point))
    })
}

/// Root, and `controller` on a cgroup v1 hierarchy; else a printed reason to skip.
fn live_v1(controller: &str) -> Option<PathBuf> {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped live cgroup test: not root (it creates cgroups)");
        return None;
    }
    let m = v1_mount(controller);
    if m.is_none() {
        eprintln!("skipped live cgroup test: /sys/fs/cgroup/{controller} is not a cgroup v1 hierarchy");
    }
    m
}

/// The finding of `rule` on the cgroup at `path` in a check report.
fn finding_on<'a>(report: &'a Value, rule: &str, path: &str) -> Option<&'a Value> {
    report["findings"]
        .as_array()?
        .iter()
        .find(|f| f["rule"] == rule && f["subject"]["cgroup"] == path)
}

#[test]
fn live_an_oom_kill_in_a_64_mib_memory_cgroup_is_reported() {
    let Some(mount) = live_v1("memory") else { return };
    let _lock = machine_lock();
    let cg = oom_cgroup(&mount, "oom").expect("make a memory cgroup");
    allocate_256_mib(&cg);
    let (code, r) = cgroup_json(&cg.path(), &["--interval", "0.5"]);
    assert!(code >= 1, "{r:#}");
    let c = &r["cgroups"][0];
    assert_eq!(c["memory"]["version"], "v1");
    assert_eq!(c["memory"]["limit_bytes"], 64u64 << 20);
    assert_eq!(c["memory"]["events"]["oom_kill"], 1);
    let f = c["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "cgroup.oom_kill")
        .unwrap_or_else(|| panic!("cgroup.oom_kill: {r:#}"));
    // Before the interval, the counter alone says warning; the kernel log, when readable, shows the
    // kill is seconds old, which is critical (a kill within the hour).
    let expected = if std::fs::File::open("/dev/kmsg").is_ok() {
        "critical"
    } else {
        "warning"
    };
    assert_eq!(f["severity"], expected, "{f:#}");
    assert_eq!(evidence(f, "cgroup.memory.oom_kill_total"), 1.0);

    let (_, report) = check_json(&["--interval", "0.5"]);
    let f = finding_on(&report, "cgroup.oom_kill", &cg.path())
        .unwrap_or_else(|| panic!("check: no cgroup.oom_kill on {}: {report:#}", cg.path()));
    assert_eq!(evidence(f, "cgroup.memory.oom_kill_total"), 1.0);
    assert_eq!(f["severity"], expected, "{f:#}");
    assert_eq!(f["subject"]["kind"], "cgroup");
}

#[test]
fn live_an_oom_kill_during_the_interval_is_critical() {
    let Some(mount) = live_v1("memory") else { return };
    let _lock = machine_lock();
    let cg = oom_cgroup(&mount, "oomnow").expect("make a memory cgroup");
    // Both commands take their first sample at once; the kill lands ~0.5 s later, inside --interval 2.
    let spawn = |args: &[&str]| {
        osdoctor()
            .args(args)
            .args(["--interval", "2", "--format", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn osdoctor")
    };
    let inspect = spawn(&["cgroup", &cg.path()]);
    let check = spawn(&["check"]);
    std::thread::sleep(Duration::from_millis(500));
    allocate_256_mib(&cg);
    let parse = |child: Child| {
        let out = child.wait_with_output().expect("osdoctor output");
        let text = String::from_utf8_lossy(&out.stdout);
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {text}\n{}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code().unwrap_or(-1), v)
    };
    let (code, r) = parse(inspect);
    assert_eq!(code, 2, "{r:#}");
    let c = &r["cgroups"][0];
    assert_eq!(c["memory"]["oom_kill_during_interval"], 1, "{c:#}");
    assert_eq!(c["memory"]["events"]["oom_kill"], 1);
    // The kernel log's kill is the target's too (its memcg is the target), with the limit it hit.
    let kmsg = std::fs::File::open("/dev/kmsg").is_ok();
    let mut want = vec![("cgroup.oom_kill".to_string(), "critical".to_string())];
    if kmsg {
        want.push(("mem.oom_kill".to_string(), "critical".to_string()));
    }
    assert_eq!(rules_of(c), want, "{c:#}");
    if kmsg {
        let kill = c["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "mem.oom_kill")
            .unwrap();
        assert_eq!(kill["subject"]["cgroup"], cg.path());
        assert_eq!(kill["subject"]["kind"], "process");
        assert_eq!(evidence(kill, "event.memcg_limit_bytes"), (64u64 << 20) as f64);
        let summary = kill["summary"].as_str().unwrap();
        assert!(
            summary.contains(" resident of its cgroup's 64.0 MiB limit"),
            "{summary}"
        );
    }
    let (code, report) = parse(check);
    assert_eq!(code, 2);
    let f = finding_on(&report, "cgroup.oom_kill", &cg.path())
        .unwrap_or_else(|| panic!("check: no cgroup.oom_kill on {}: {report:#}", cg.path()));
    assert_eq!(f["severity"], "critical");
    assert_eq!(evidence(f, "cgroup.memory.oom_kill_delta"), 1.0);
    // The second sample re-reads the kernel log: the kill between the samples is named, in the
    // cgroup's story.
    if std::fs::File::open("/dev/kmsg").is_err() {
        eprintln!("skipped the kernel-log half: /dev/kmsg cannot be read");
        return;
    }
    let story = report["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["cause"]["rule"] == "cgroup.oom_kill" && d["cause"]["subject"]["cgroup"] == cg.path())
        .unwrap_or_else(|| panic!("no story of {}: {:#}", cg.path(), report["diagnoses"]));
    let effects: Vec<&str> = story["effects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["rule"].as_str().unwrap())
        .collect();
    assert_eq!(effects, ["mem.oom_kill"], "{story:#}");
}

#[test]
fn live_a_busy_loop_under_a_20_percent_quota_is_throttled() {
    let Some(mount) = live_v1("cpu") else { return };
    let _lock = machine_lock();
    let cg = TestCgroup::new(&mount, "cpu");
    cg.set("cpu.cfs_period_us", "100000");
    cg.set("cpu.cfs_quota_us", "20000");
    let spin = Load::spawn(cg.command(Path::new(loadgen().get_program()), &["spin", "1", "--secs", "30"]));
    let pid = spin.pid();
    std::thread::sleep(Duration::from_millis(500));

    let (code, r) = cgroup_json(&cg.path(), &[]);
    assert_eq!(code, 2, "{r:#}");
    let c = &r["cgroups"][0];
    assert_eq!(c["cpu"]["quota_cores"], 0.2);
    let share = c["cpu"]["interval"]["throttled_ratio"].as_f64().unwrap();
    assert!(share >= 0.5, "throttled share {share}: {c:#}");
    let f = c["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "cgroup.cpu_throttled")
        .unwrap_or_else(|| panic!("cgroup.cpu_throttled: {r:#}"));
    assert!(evidence(f, "cgroup.cpu.throttled_periods") >= 5.0, "{f:#}");
    assert!(f["summary"].as_str().unwrap().contains("of CPU periods"), "{f}");
    // The spinner is listed inside, found by its PID.
    let shown = c["processes"]["shown"].as_array().unwrap();
    assert!(shown.iter().any(|p| p["pid"] == pid), "{shown:?}");

    let (_, report) = check_json(&["--interval", "1"]);
    let f = finding_on(&report, "cgroup.cpu_throttled", &cg.path())
        .unwrap_or_else(|| panic!("check: no cgroup.cpu_throttled on {}: {report:#}", cg.path()));
    assert!(
        f["evidence"]["cgroup.cpu.throttled_ratio"]["value"]
            .as_f64()
            .unwrap()
            >= 0.5,
        "{f:#}"
    );

    // By PID: on this hybrid host its memory cgroup is elsewhere, its cpu cgroup is ours.
    let (_, r) = cgroup_json(&pid.to_string(), &["--interval", "0.5"]);
    assert_eq!(r["target"]["kind"], "pid");
    let c = &r["cgroups"][0];
    assert!(
        c["dirs"]["cpu"].as_str().unwrap().ends_with(&cg.name),
        "{:#}",
        c["dirs"]
    );
    assert_eq!(c["cpu"]["quota_cores"], 0.2);
}

#[test]
fn live_a_pids_cgroup_at_its_limit_is_critical() {
    let Some(mount) = live_v1("pids") else { return };
    let _lock = machine_lock();
    let mut cg = TestCgroup::new(&mount, "pids");
    cg.set("pids.max", "5");
    // bash forks until refused, and keeps retrying with back-off.
    let child = cg
        .command(Path::new("bash"), &["-c", "while :; do sleep 60 & done"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bash");
    cg.children.push(child);
    for _ in 0..100 {
        if std::fs::read_to_string(cg.dir.join("pids.current")).is_ok_and(|t| t.trim() == "5") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, r) = cgroup_json(&cg.path(), &["--interval", "0.5"]);
    assert_eq!(code, 2, "{r:#}");
    let c = &r["cgroups"][0];
    assert_eq!(
        (&c["pids"]["current"], &c["pids"]["max"]),
        (&Value::from(5), &Value::from(5))
    );
    assert!(c["pids"]["forks_refused"].as_u64().unwrap() >= 1, "{c:#}");
    // The kernel logs the first refusal in a cgroup: that event is the target's too.
    let mut want = vec![("cgroup.pids_near_limit".to_string(), "critical".to_string())];
    if std::fs::File::open("/dev/kmsg").is_ok() {
        want.insert(0, ("cgroup.fork_rejected".to_string(), "critical".to_string()));
    }
    assert_eq!(rules_of(c), want, "{c:#}");
}

// ---------------------------------------------------------------------------------------------------
// Names and restarts from the kubelet's log tree.

/// The subject's (pod, container) of every finding with this rule.
fn names_of(report: &Value, rule: &str) -> Vec<(Value, Value)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| (f["subject"]["pod"].clone(), f["subject"]["container"].clone()))
        .collect()
}

#[test]
fn the_kubelet_log_tree_names_the_pod_its_containers_and_their_restarts() {
    let (code, r) = cgroup_json(UID1, &args(&root_args(SYSTEMD)));
    assert_eq!(code, 1, "{r:#}");
    let t = &r["target"];
    assert_eq!(t["pod"], "shop/checkout-7d9f8c6b5-x2lqp");
    assert_eq!(t["container"], Value::Null);
    let pod = &r["cgroups"][0];
    assert_eq!(pod["role"], "pod");
    assert_eq!(pod["namespace"], "shop");
    assert_eq!(pod["name"], "checkout-7d9f8c6b5-x2lqp");
    assert_eq!(pod["restarts"], Value::Null);
    let app = container(&r, APP);
    assert_eq!(
        (&app["name"], &app["restarts"]),
        (&Value::from("app"), &Value::from(3))
    );
    let side = container(&r, SIDECAR);
    assert_eq!(
        (&side["name"], &side["restarts"]),
        (&Value::from("envoy"), &Value::from(0))
    );
    // The pause container has no log directory: no name.
    assert_eq!(container(&r, PAUSE1)["name"], Value::Null);
    for rule in ["cgroup.oom_kill", "cgroup.memory_near_limit"] {
        assert_eq!(
            names_of(&r, rule),
            vec![(Value::from("shop/checkout-7d9f8c6b5-x2lqp"), Value::from("app"))],
            "{rule}"
        );
    }
    // The table: the pod by name, and the restarts with the OOM kills in one line.
    let (_, out, _) = run(osdoctor()
        .args(["cgroup", UID1, "--interval", "0", "--root"])
        .arg(fixture(SYSTEMD)));
    assert!(
        out.starts_with("osdoctor: WARNING  2 warnings   pod shop/checkout-7d9f8c6b5-x2lqp · "),
        "{out}"
    );
    assert!(
        out.contains("\npod shop/checkout-7d9f8c6b5-x2lqp  containerd  /kubepods.slice/"),
        "{out}"
    );
    assert!(
        out.contains("\n  restarts   container app restarted 3 times; its cgroup counts 2 OOM kills\n"),
        "{out}"
    );
    assert!(
        out.contains("\ncontainer envoy (9b8e7d6c5f4a)  containerd  "),
        "{out}"
    );
}

#[test]
fn check_findings_carry_the_pod_and_container_names() {
    let (_, r) = check_json(&["--root", fixture(SYSTEMD).to_str().unwrap(), "--interval", "0"]);
    assert_eq!(r["schema_version"], 9);
    for rule in ["cgroup.oom_kill", "cgroup.memory_near_limit"] {
        assert_eq!(
            names_of(&r, rule),
            vec![(Value::from("shop/checkout-7d9f8c6b5-x2lqp"), Value::from("app"))],
            "{rule}"
        );
    }
    // The host's finding has neither.
    assert_eq!(
        names_of(&r, "mem.oom_kill_count"),
        vec![(Value::Null, Value::Null)]
    );
    // A snapshot replays the names it recorded.
    let (_, r) = check_json(&["--root", fixture(CRIO).to_str().unwrap()]);
    assert_eq!(
        names_of(&r, "cgroup.cpu_throttled"),
        vec![(Value::from("data-pipeline/worker-0"), Value::from("worker"))]
    );
}

#[test]
fn target_may_be_namespace_slash_pod_a_pod_name_or_a_container_name() {
    let (code, r) = cgroup_json("shop/checkout-7d9f8c6b5-x2lqp", &args(&root_args(SYSTEMD)));
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["target"]["kind"], "pod_name");
    assert_eq!(r["target"]["input"], "shop/checkout-7d9f8c6b5-x2lqp");
    assert_eq!(r["target"]["pod_uid"], UID1);
    let (_, r) = cgroup_json("checkout-7d9f8c6b5-x2lqp", &args(&root_args(SYSTEMD)));
    assert_eq!(
        (&r["target"]["kind"], &r["target"]["pod_uid"]),
        (&Value::from("pod_name"), &Value::from(UID1))
    );
    // A container name: the container, named with its pod.
    let (code, r) = cgroup_json("envoy", &args(&root_args(SYSTEMD)));
    assert_eq!(code, 0, "{r:#}");
    let t = &r["target"];
    assert_eq!(t["kind"], "container_name");
    assert_eq!(t["container_id"], SIDECAR);
    assert_eq!(
        (&t["pod"], &t["container"]),
        (
            &Value::from("shop/checkout-7d9f8c6b5-x2lqp"),
            &Value::from("envoy")
        )
    );
    // The app container's previous instance is linked too (its cgroup is gone): the current one is shown.
    let (_, r) = cgroup_json("app", &args(&root_args(SYSTEMD)));
    assert_eq!(r["target"]["container_id"], APP);
    // In a snapshot, from the names it recorded.
    let (code, r) = cgroup_json(
        "data-pipeline/worker-0",
        &["--root", fixture(CRIO).to_str().unwrap()],
    );
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(r["target"]["pod_uid"], UID3);
    assert_eq!(container(&r, WORKER)["name"], "worker");
    assert_eq!(container(&r, WORKER)["restarts"], 1);
    // Not a name, not a cgroup: exit 3 as before.
    let (code, _, err) = run(osdoctor()
        .args(["cgroup", "shop/nope", "--root"])
        .arg(fixture(SYSTEMD)));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("nothing matches \"shop/nope\""), "{err}");
}

const UID2: &str = "f47ac10b-58cc-4372-a567-0e02b2c3d479";
const APP_PREVIOUS: &str = "7c2e9a1f0b3d4c5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6";

/// The systemd fixture's tree with an odd log tree: names with dots and dashes, a namespace with
/// dashes, the app container's newest log rotated, the sidecar's link missing, a container named
/// `app` in both pods, and a kernel log with the app's previous instance OOM-killed.
fn odd_names_tree() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let (src, dst) = (e.path(), to.join(e.file_name()));
            let ty = e.file_type().unwrap();
            if ty.is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
            } else if ty.is_dir() {
                if src.ends_with("var") {
                    continue;
                }
                copy(&src, &dst);
            } else {
                std::fs::copy(&src, &dst).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy(&fixture(SYSTEMD), root);
    let pod1 = format!("team-a-prod_checkout.v2-7d9f8c6b5-x2lqp_{UID1}");
    let pod2 = format!("batch-jobs_report.daily-28391040-abcde_{UID2}");
    let files: &[(&str, &str, &[&str])] = &[
        (
            &pod1,
            "app",
            &["1.log.20261206-230000.gz", "2.log", "3.log.20261207-101500"],
        ),
        (&pod1, "envoy-proxy", &["0.log"]),
        (&pod2, "app", &["0.log"]),
    ];
    for (pod, c, names) in files {
        let d = root.join(format!("var/log/pods/{pod}/{c}"));
        std::fs::create_dir_all(&d).unwrap();
        for n in *names {
            std::fs::write(d.join(n), "").unwrap();
        }
    }
    let links = root.join("var/log/containers");
    std::fs::create_dir_all(&links).unwrap();
    for (name, target) in [
        (
            format!("checkout.v2-7d9f8c6b5-x2lqp_team-a-prod_app-{APP_PREVIOUS}.log"),
            format!("/var/log/pods/{pod1}/app/2.log"),
        ),
        (
            format!("checkout.v2-7d9f8c6b5-x2lqp_team-a-prod_app-{APP}.log"),
            format!("/var/log/pods/{pod1}/app/3.log"),
        ),
        (
            format!("report.daily-28391040-abcde_batch-jobs_app-{TWIN}.log"),
            format!("/var/log/pods/{pod2}/app/0.log"),
        ),
    ] {
        std::os::unix::fs::symlink(target, links.join(name)).unwrap();
    }
    // The previous instance's kill, at 3990 s after boot (kernel 5.0+ summary line and kill line).
    let memcg = format!(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/cri-containerd-{APP_PREVIOUS}.scope",
        UID1.replace('-', "_")
    );
    std::fs::create_dir_all(root.join("dev")).unwrap();
    std::fs::write(
        root.join("dev/kmsg"),
        format!(
            "4,100,3990078753,-;java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=999\n\
             6,101,3990079013,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg={memcg},task_memcg={memcg},task=java,pid=4300,uid=0\n\
             3,102,3990079034,-;Memory cgroup out of memory: Killed process 4300 (java) total-vm:1332876kB, anon-rss:520280kB, file-rss:2092kB, shmem-rss:0kB, UID:0 pgtables:1192kB oom_score_adj:999\n"
        ),
    )
    .unwrap();
    dir
}

#[test]
fn odd_names_rotated_logs_and_a_missing_link() {
    let tree = odd_names_tree();
    let root = tree.path().to_str().unwrap();
    let base = ["--root", root, "--interval", "0"];
    let (code, r) = cgroup_json(UID1, &base);
    assert!(code == 1 || code == 2, "{r:#}");
    let pod = &r["cgroups"][0];
    assert_eq!(
        (&pod["namespace"], &pod["name"]),
        (
            &Value::from("team-a-prod"),
            &Value::from("checkout.v2-7d9f8c6b5-x2lqp")
        )
    );
    // The newest log is rotated: still 3 restarts; the previous instance's kill is joined to it.
    let app = container(&r, APP);
    assert_eq!(
        (&app["name"], &app["restarts"]),
        (&Value::from("app"), &Value::from(3))
    );
    assert!(
        app["last_oom_kill_age_s"].as_f64().is_some_and(|a| a > 0.0),
        "{app:#}"
    );
    // No link for the sidecar: named by its ID, and a note says why.
    let side = container(&r, SIDECAR);
    assert_eq!((&side["name"], &side["restarts"]), (&Value::Null, &Value::Null));
    let notes = r["coverage"]["notes"].to_string();
    assert!(
        notes.contains("container 9b8e7d6c5f4a has no /var/log/containers link"),
        "{notes}"
    );
    for f in r["findings"].as_array().unwrap() {
        if f["subject"]["container_id"] == APP {
            assert_eq!(
                f["subject"]["pod"], "team-a-prod/checkout.v2-7d9f8c6b5-x2lqp",
                "{f:#}"
            );
            assert_eq!(f["subject"]["container"], "app", "{f:#}");
        }
    }
    let (_, out, _) = run(osdoctor().args(["cgroup", UID1]).args(base));
    let line = out
        .lines()
        .find(|l| l.starts_with("  restarts   container app"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.starts_with("  restarts   container app restarted 3 times; last OOM-killed "),
        "{line}"
    );
    assert!(line.ends_with(" ago"), "{line}");

    // TARGET forms: dotted names, a namespace with dashes.
    let (_, r) = cgroup_json("team-a-prod/checkout.v2-7d9f8c6b5-x2lqp", &base);
    assert_eq!(
        (&r["target"]["kind"], &r["target"]["pod_uid"]),
        (&Value::from("pod_name"), &Value::from(UID1))
    );
    let (_, r) = cgroup_json("report.daily-28391040-abcde", &base);
    assert_eq!(r["target"]["pod"], "batch-jobs/report.daily-28391040-abcde");
    // `app` is in both pods: exit 3, every candidate listed.
    let (code, _, err) = run(osdoctor().args(["cgroup", "app"]).args(base));
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("\"app\" is ambiguous, it matches 2 pods or containers by name"),
        "{err}"
    );
    assert!(
        err.contains("container team-a-prod/checkout.v2-7d9f8c6b5-x2lqp/app (4f1a9c3e8b2d)"),
        "{err}"
    );
    assert!(
        err.contains("container batch-jobs/report.daily-28391040-abcde/app (9b8e7d6c5f4a)"),
        "{err}"
    );
    // A container whose link is missing cannot be found by name: exit 3 saying so.
    let (code, _, err) = run(osdoctor().args(["cgroup", "envoy-proxy"]).args(base));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no /var/log/containers link gives its ID"), "{err}");

    // check: the same names on every finding in the pod.
    let (_, r) = check_json(&base);
    let app_findings: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subject"]["container_id"] == APP)
        .collect();
    assert!(!app_findings.is_empty(), "{r:#}");
    for f in app_findings {
        assert_eq!(
            f["subject"]["pod"], "team-a-prod/checkout.v2-7d9f8c6b5-x2lqp",
            "{f:#}"
        );
        assert_eq!(f["subject"]["container"], "app", "{f:#}");
    }
}

#[test]
fn without_the_log_tree_pods_stay_ids() {
    let tree = odd_names_tree();
    std::fs::remove_dir_all(tree.path().join("var")).unwrap();
    let root = tree.path().to_str().unwrap();
    let (_, r) = cgroup_json(UID1, &["--root", root, "--interval", "0"]);
    assert_eq!(r["target"]["pod"], Value::Null);
    assert_eq!(r["cgroups"][0]["name"], Value::Null);
    assert_eq!(container(&r, APP)["restarts"], Value::Null);
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["subject"].get("pod").is_none())
    );
    assert_eq!(
        r["coverage"]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n.to_string().contains("/var/log"))
            .count(),
        0
    );
    let (code, _, err) = run(osdoctor().args(["cgroup", "app", "--root", root]));
    assert_eq!(code, 3, "{err}");
}

#[test]
fn check_table_and_nagios_name_the_container() {
    let (_, out, _) = run(osdoctor()
        .args(["check", "--interval", "0", "--root"])
        .arg(fixture(SYSTEMD)));
    assert!(
        out.contains("WARN  cgroup.memory_near_limit  container app (4f1a9c3e8b2d): "),
        "{out}"
    );
    let (_, out, _) = run(osdoctor()
        .args(["check", "--format", "nagios", "--root"])
        .arg(fixture(CRIO)));
    assert!(
        out.contains("CRITICAL cgroup.cpu_throttled container worker (c7d1f2e3a4b5): "),
        "{out}"
    );
}

#[test]
fn a_container_whose_cgroup_is_gone_is_reported_from_the_kernel_log() {
    let tree = odd_names_tree();
    let root = tree.path().to_str().unwrap();
    let base = ["--root", root, "--interval", "0"];
    let memcg = format!(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/cri-containerd-{APP_PREVIOUS}.scope",
        UID1.replace('-', "_")
    );
    // By the full ID and a 12-digit prefix: the previous instance's cgroup is gone, its kill is not.
    for target in [APP_PREVIOUS, &APP_PREVIOUS[..12]] {
        let (code, r) = cgroup_json(target, &base);
        assert_eq!(code, 1, "{target}: {r:#}");
        let t = &r["target"];
        assert_eq!(t["gone"], true, "{t:#}");
        assert_eq!(t["kind"], "container_id");
        assert_eq!(t["cgroup"], memcg.as_str());
        assert_eq!(t["container_id"], APP_PREVIOUS);
        assert_eq!(t["pod_uid"], UID1);
        assert_eq!(t["pod"], "team-a-prod/checkout.v2-7d9f8c6b5-x2lqp");
        assert_eq!(t["container"], "app");
        assert!(t["last_seen"].as_str().is_some_and(|s| s.ends_with('Z')), "{t:#}");
        assert_eq!(r["cgroups"], Value::Array(Vec::new()));
        let findings = r["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(
            (&f["rule"], &f["severity"]),
            (&Value::from("mem.oom_kill"), &Value::from("warning"))
        );
        let s = &f["subject"];
        assert_eq!(
            (
                &s["kind"],
                &s["pid"],
                &s["comm"],
                &s["cgroup"],
                &s["container_id"],
                &s["container"]
            ),
            (
                &Value::from("process"),
                &Value::from(4300),
                &Value::from("java"),
                &Value::from(memcg.as_str()),
                &Value::from(APP_PREVIOUS),
                &Value::from("app")
            )
        );
        let notes = r["coverage"]["notes"].to_string();
        assert!(notes.contains("no longer exists"), "{notes}");
    }
    let (code, out, _) = run(osdoctor().args(["cgroup", APP_PREVIOUS, "--root", root, "--interval", "0"]));
    assert_eq!(code, 1);
    assert!(
        out.contains(&format!("target {APP_PREVIOUS} (container ID) -> {memcg}: gone, no such cgroup now; the kernel log last saw it at ")),
        "{out}"
    );
    // Every format renders it.
    for format in ["prometheus", "nagios"] {
        let (code, out, err) = run(osdoctor().args([
            "cgroup",
            APP_PREVIOUS,
            "--root",
            root,
            "--interval",
            "0",
            "--format",
            format,
        ]));
        assert_eq!(code, 1, "{format}: {out}{err}");
        assert!(out.contains(APP_PREVIOUS), "{format}: {out}");
    }
    // The pod still exists: it judges the kernel events of the last day, as `check` does by default,
    // and this kill is 14 days old (its age is still on the container).
    let (_, r) = cgroup_json(UID1, &base);
    assert_eq!(r["target"]["gone"], false);
    assert!(
        !r["findings"].to_string().contains("mem.oom_kill"),
        "{:#}",
        r["findings"]
    );
    assert!(container(&r, APP)["last_oom_kill_age_s"].as_f64() > Some(86400.0));
    // Neither a cgroup nor in the log: exit 3 as before.
    let (code, _, err) = run(osdoctor().args(["cgroup", &"ab".repeat(32), "--root", root]));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("nothing matches"), "{err}");
}

/// (rule, severity, subject kind, pid) of every finding, sorted.
fn finding_keys(r: &Value) -> Vec<(String, String, String, Value)> {
    let mut keys: Vec<_> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["subject"]["kind"].as_str().unwrap().to_string(),
                f["subject"]["pid"].clone(),
            )
        })
        .collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    keys
}

#[test]
fn the_process_and_kernel_event_rules_run_for_the_target() {
    let key = |rule: &str, sev: &str, kind: &str, pid: Value| {
        (rule.to_string(), sev.to_string(), kind.to_string(), pid)
    };
    // A process at its fd limit: the process rules run for the target's processes (its PID is read
    // even where the snapshot holds no cgroup.procs).
    let (code, r) = cgroup_json("18964", &["--root", fixture("fd-near-limit").to_str().unwrap()]);
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(
        finding_keys(&r),
        [key(
            "fd.process_near_limit",
            "critical",
            "process",
            Value::from(18964)
        )]
    );
    let f = &r["findings"][0];
    assert_eq!(f["subject"]["comm"], "loadgen");
    assert_eq!(
        f["subject"]["cgroup"],
        "/process_api/dcb32fcef15a9495d10b340a56bc9a8a"
    );
    assert_eq!(
        f["summary"],
        "245 file descriptors open of a soft limit of 256 (95.7%)"
    );
    assert_eq!(r["cgroups"][0]["findings"].as_array().unwrap().len(), 1);
    let not_evaluated = r["coverage"]["not_evaluated"].to_string();
    assert!(
        not_evaluated.contains("host.cpu.ctxt_rate is not read by osdoctor cgroup"),
        "{not_evaluated}"
    );

    // A memcg OOM kill: the counter's finding and the kernel log's, with the limit the cgroup hit.
    let (code, r) = cgroup_json(
        "/osdoctor-fixture-oom",
        &["--root", fixture("story-memcg-oom").to_str().unwrap()],
    );
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(
        finding_keys(&r),
        [
            key("cgroup.oom_kill", "critical", "cgroup", Value::Null),
            key("mem.oom_kill", "critical", "process", Value::from(25470)),
        ]
    );
    let kill = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "mem.oom_kill")
        .unwrap();
    assert_eq!(kill["subject"]["cgroup"], "/osdoctor-fixture-oom");
    assert_eq!(kill["evidence"]["event.memcg_limit_bytes"]["value"], 64u64 << 20);
    assert_eq!(
        kill["summary"],
        "OOM-killed 1 s ago with 65.8 MiB resident of its cgroup's 64.0 MiB limit: memory cgroup /osdoctor-fixture-oom hit its limit"
    );
    let (_, table, _) = run(osdoctor().args([
        "cgroup",
        "/osdoctor-fixture-oom",
        "--root",
        fixture("story-memcg-oom").to_str().unwrap(),
    ]));
    assert!(
        table.contains(
            "mem.oom_kill     cgroup /osdoctor-fixture-oom pid 25470 (loadgen): OOM-killed 1 s ago"
        ),
        "{table}"
    );

    // The kernel's refused fork in the target's pids cgroup.
    let (code, r) = cgroup_json(
        "/osdoctor-fixture-pids",
        &["--root", fixture("story-pids-limit").to_str().unwrap()],
    );
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(
        finding_keys(&r),
        [
            key("cgroup.fork_rejected", "critical", "cgroup", Value::Null),
            key("cgroup.pids_near_limit", "critical", "cgroup", Value::Null),
        ]
    );
}

#[test]
fn an_oom_kill_whose_log_lost_the_limit_line_takes_the_limit_from_its_cgroup() {
    let tree = odd_names_tree();
    let root = tree.path();
    // The app's current instance killed a minute ago at its own limit, the report's
    // "memory: usage X, limit Y" line lost: the limit is its cgroup's memory.max (512 MiB).
    let stat = std::fs::read_to_string(root.join("proc/stat")).unwrap();
    let btime: i64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let usec = (chrono::Utc::now().timestamp() - 60 - btime) * 1_000_000;
    let memcg = format!(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/cri-containerd-{APP}.scope",
        UID1.replace('-', "_")
    );
    std::fs::write(
        root.join("dev/kmsg"),
        format!(
            "6,101,{usec},-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg={memcg},task_memcg={memcg},task=java,pid=4300,uid=0\n\
             3,102,{},-;Memory cgroup out of memory: Killed process 4300 (java) total-vm:1332876kB, anon-rss:520280kB, file-rss:2092kB, shmem-rss:0kB, UID:0 pgtables:1192kB oom_score_adj:999\n",
            usec + 20
        ),
    )
    .unwrap();
    let (code, r) = cgroup_json(APP, &["--root", root.to_str().unwrap(), "--interval", "0"]);
    assert_eq!(code, 2, "{r:#}");
    let kill = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "mem.oom_kill")
        .unwrap_or_else(|| panic!("{:#}", r["findings"]));
    assert_eq!(kill["severity"], "critical");
    assert_eq!(
        (&kill["subject"]["container_id"], &kill["subject"]["container"]),
        (&Value::from(APP), &Value::from("app"))
    );
    assert_eq!(kill["evidence"]["event.memcg_limit_bytes"]["value"], 512u64 << 20);
    let summary = kill["summary"].as_str().unwrap();
    assert!(
        summary.contains("with 510.1 MiB resident of its cgroup's 512.0 MiB limit"),
        "{summary}"
    );
}

#[test]
fn live_the_cgroup_report_says_what_its_processes_fds_are() {
    let Some(mount) = live_v1("pids") else { return };
    let _lock = machine_lock();
    let mut cg = TestCgroup::new(&mount, "fdtable");
    // A client holding 200 CLOSE_WAIT sockets and its listener child, both in the cgroup.
    let mut child = cg
        .command(
            Path::new(loadgen().get_program()),
            &[
                "close-wait",
                "200",
                "--peer",
                "close",
                "--nofile",
                "20000",
                "--secs",
                "60",
            ],
        )
        .stdout(Stdio::piped())
        .spawn()
        .expect("start loadgen close-wait");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    cg.children.push(child);
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.first(), Some(&"ready"), "{line:?}");
    let (pid, port): (i64, &str) = (words[1].parse().unwrap(), words[2]);
    let (code, r) = cgroup_json(&cg.path(), &["--interval", "0"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["schema_version"], 4);
    let c = &r["cgroups"][0];
    // (A process's findings are listed under the cgroup that holds it in its main hierarchy; this one
    // is a pids-only v1 cgroup, so the finding is in the report's own list.)
    let named: Vec<(&Value, &Value)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (&f["rule"], &f["subject"]["pid"]))
        .collect();
    assert_eq!(
        named,
        [(&Value::from("net.close_wait_leak"), &Value::from(pid))],
        "{r:#}"
    );
    let shown = c["processes"]["shown"].as_array().unwrap();
    let p = shown
        .iter()
        .find(|p| p["pid"] == pid)
        .unwrap_or_else(|| panic!("{c:#}"));
    let t = &p["fd_table"];
    assert_eq!(t["tcp"]["CLOSE_WAIT"], 200, "{t:#}");
    assert_eq!(
        t["close_wait_peers"][0]["endpoint"],
        format!("127.0.0.1:{port}"),
        "{t:#}"
    );
    assert_eq!(t["close_wait_peers"][0]["count"], 200, "{t:#}");
    assert_eq!(t["total"], p["fds"], "{p:#}");
    let tcp: u64 = t["tcp"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let anon: u64 = t["anon"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let sum = tcp
        + anon
        + ["other_sockets", "files", "deleted", "pipes", "other"]
            .iter()
            .map(|k| t[k].as_u64().unwrap())
            .sum::<u64>();
    assert_eq!(Value::from(sum), t["total"], "{t:#}");
    // The listener, in the same cgroup, has its table too, and holds no CLOSE_WAIT.
    let listener = shown
        .iter()
        .find(|p| p["pid"] != pid)
        .unwrap_or_else(|| panic!("{c:#}"));
    assert!(
        listener["fd_table"]["tcp"].get("CLOSE_WAIT").is_none(),
        "{listener:#}"
    );
    // The text names what the fds are.
    let (_, text, _) = run(osdoctor()
        .args(["cgroup", &cg.path(), "--interval", "0"])
        .env("NO_COLOR", "1"));
    assert!(
        text.contains(&format!("200 TCP (200 CLOSE_WAIT to 127.0.0.1:{port})")),
        "{text}"
    );
}
