//! NUMA: the hand-made multi-node fixtures (this machine has one node; fixtures/build-numa.py makes
//! them), their exact findings and numbers, each rule firing in one and quiet in another, "absent" on
//! single-node hosts, and a tree of unusual shapes (node ids with a gap, a node without cpulist, a
//! garbled numa_maps) that must evaluate without a panic.

use std::path::Path;

use serde_json::Value;

use crate::util::*;

const NUMA_RULES: [&str; 3] = [
    "numa.miss_ratio",
    "numa.node_imbalance",
    "numa.process_remote_memory",
];

/// (rule, node or pid, severity) of the numa findings, sorted.
fn numa_findings(report: &Value) -> Vec<(String, i64, String)> {
    let mut v: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["resource"] == "numa")
        .map(|f| {
            let s = &f["subject"];
            let who = s["node"].as_i64().or(s["pid"].as_i64()).unwrap();
            (
                f["rule"].as_str().unwrap().to_string(),
                who,
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn the<'a>(report: &'a Value, rule: &str) -> &'a Value {
    finding(report, rule).unwrap_or_else(|| panic!("no {rule} in {:#}", report["findings"]))
}

fn not_evaluated(report: &Value) -> Vec<(String, String, bool)> {
    report["coverage"]["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["rule"].as_str().unwrap().to_string(),
                n["reason"].as_str().unwrap().to_string(),
                n["absent"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn close(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-9, "{got} != {want}");
}

#[test]
fn a_full_node_with_fallback_misses_and_a_java_heap_on_the_other_node() {
    let (code, report) = replay("numa-two-node");
    assert_eq!(code, 2, "{:#}", report["findings"]);
    assert_eq!(
        numa_findings(&report),
        [
            ("numa.miss_ratio".to_string(), 0, "critical".to_string()),
            ("numa.node_imbalance".to_string(), 1, "warning".to_string()),
            (
                "numa.process_remote_memory".to_string(),
                4242,
                "warning".to_string()
            ),
        ]
    );
    // node0 received the allocations meant for node1: 10,000 misses of 40,000 pages.
    let miss = the(&report, "numa.miss_ratio");
    assert_eq!(miss["subject"]["kind"], "numa_node");
    close(evidence(miss, "numa.miss_ratio"), 0.25);
    assert_eq!(evidence(miss, "numa.alloc_pages"), 40_000.0);
    close(
        evidence(miss, "numa.miss_ratio_since_boot"),
        1_510_000.0 / 51_540_000.0,
    );
    assert!(
        miss["summary"]
            .as_str()
            .unwrap()
            .starts_with("25.0% of the pages allocated on node0")
    );
    // node1: 3% free while node0 has 40%.
    let half_kb = 24_684_092u64 / 2;
    let imbalance = the(&report, "numa.node_imbalance");
    assert_eq!(imbalance["subject"]["node"], 1);
    let n1_free = (half_kb * 3 / 100 - 64) as f64 * 1024.0;
    assert_eq!(evidence(imbalance, "numa.mem_free_bytes"), n1_free);
    assert_eq!(
        evidence(imbalance, "numa.mem_total_bytes"),
        half_kb as f64 * 1024.0
    );
    close(
        evidence(imbalance, "numa.free_ratio"),
        n1_free / (half_kb as f64 * 1024.0),
    );
    let n0_free = (half_kb * 40 / 100 - 512) as f64 * 1024.0;
    close(
        evidence(imbalance, "numa.other_nodes_max_free_ratio"),
        n0_free / (half_kb as f64 * 1024.0),
    );
    // java runs on node1 (it last ran on CPU 1) with 4 GiB of its pages on node0.
    let java = the(&report, "numa.process_remote_memory");
    assert_eq!(java["subject"]["pid"], 4242);
    assert_eq!(java["subject"]["comm"], "java");
    let kb = 1024.0;
    let node0 = 655_360.0 * 4.0 * kb + 768.0 * 2048.0 * kb;
    let node1 = (2.0 + 393_216.0 + 12_286.0 + 4_096.0 + 33.0) * 4.0 * kb + 256.0 * 2048.0 * kb;
    assert_eq!(node0, 4.0 * 1024.0 * 1024.0 * 1024.0);
    assert_eq!(evidence(java, "proc.numa_resident_bytes"), node0 + node1);
    assert_eq!(evidence(java, "proc.numa_remote_bytes"), node0);
    close(evidence(java, "proc.numa_remote_ratio"), node0 / (node0 + node1));
    assert_eq!(
        java["evidence"]["proc.numa_home"]["value"],
        "node1 (last ran on CPU 1)"
    );
    assert!(
        java["next_steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().starts_with("numastat -p 4242")),
        "{java:#}"
    );
    assert_eq!(report["use_matrix"]["numa"]["saturation"], "critical");
    assert_eq!(report["use_matrix"]["numa"]["utilization"], "warning");
    // sshd is below the 1 GiB floor: its numa_maps was not read.
    assert!(
        !report["coverage"]["read"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "/proc/812/numa_maps")
    );
}

#[test]
fn a_memory_only_cxl_node_and_local_memory_stay_quiet_and_evaluated() {
    let (code, report) = replay("numa-cxl-quiet");
    assert_eq!(code, 0, "{:#}", report["findings"]);
    assert!(numa_findings(&report).is_empty());
    let ne = not_evaluated(&report);
    for rule in NUMA_RULES {
        assert!(
            !ne.iter().any(|(r, _, _)| r == rule),
            "{rule} not evaluated: {ne:?}"
        );
    }
    assert_eq!(report["use_matrix"]["numa"]["utilization"], "ok");
    assert_eq!(report["use_matrix"]["numa"]["saturation"], "ok");
}

/// DESIGN.md section 5 for the numa rules: each fires in a fixture and stays quiet (evaluated, no
/// finding) in another.
#[test]
fn every_numa_rule_fires_in_one_fixture_and_stays_quiet_in_another() {
    let (mut fired, mut quiet) = (Vec::new(), Vec::new());
    for name in ["numa-two-node", "numa-cxl-quiet"] {
        let (_, report) = replay(name);
        let ne = not_evaluated(&report);
        for rule in NUMA_RULES {
            if numa_findings(&report).iter().any(|(r, _, _)| r == rule) {
                fired.push(rule);
            } else if !ne.iter().any(|(r, _, _)| r == rule) {
                quiet.push(rule);
            }
        }
    }
    let never_fired: Vec<_> = NUMA_RULES.iter().filter(|r| !fired.contains(r)).collect();
    assert!(never_fired.is_empty(), "no fixture fires {never_fired:?}");
    let never_quiet: Vec<_> = NUMA_RULES.iter().filter(|r| !quiet.contains(r)).collect();
    assert!(never_quiet.is_empty(), "no fixture keeps {never_quiet:?} quiet");
}

/// Every other fixture was captured on this single-node machine (or built without node files): the
/// numa row is "absent" and coverage says why.
#[test]
fn single_node_fixtures_show_the_numa_row_absent_with_the_reason() {
    for name in ["healthy", "zombies", "story-composite"] {
        let (_, report) = replay(name);
        assert_eq!(report["use_matrix"]["numa"]["utilization"], "absent", "{name}");
        assert_eq!(report["use_matrix"]["numa"]["saturation"], "absent", "{name}");
        let ne = not_evaluated(&report);
        for rule in NUMA_RULES {
            let (_, reason, absent) = ne
                .iter()
                .find(|(r, _, _)| r == rule)
                .unwrap_or_else(|| panic!("{name}: {rule} evaluated"));
            assert!(absent, "{name}: {rule}");
            assert_eq!(reason, "no /sys/devices/system/node");
        }
    }
    // A tree with one online node: "single NUMA node", in JSON and in the table's grid.
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    copy_tree(&fixture("healthy").join("sample1"), &tree);
    let node = tree.join("sys/devices/system/node");
    std::fs::create_dir_all(node.join("node0")).unwrap();
    std::fs::write(node.join("online"), "0\n").unwrap();
    std::fs::write(node.join("node0/cpulist"), "0-1\n").unwrap();
    let root = tree.to_str().unwrap();
    let (_, report) = check_json(&["--root", root, "--interval", "0.1"]);
    let ne = not_evaluated(&report);
    for rule in NUMA_RULES {
        assert!(
            ne.contains(&(rule.to_string(), "single NUMA node".to_string(), true)),
            "{rule}: {ne:?}"
        );
    }
    assert_eq!(report["use_matrix"]["numa"]["utilization"], "absent");
    assert_eq!(report["use_matrix"]["numa"]["saturation"], "absent");
    // On the screen a resource the host lacks in every column folds into the line under the grid,
    // as the all-ok ones do, and the reason is under "Not checked".
    let (_, table, _) = run(osdoctor().args(["check", "--root", root, "--interval", "0.1"]));
    let folded = table
        .lines()
        .find(|l| l.contains("absent (host lacks it): "))
        .unwrap_or_else(|| panic!("no absent line:\n{table}"));
    assert!(folded.ends_with("absent (host lacks it): numa"), "{folded}");
    assert!(
        !table.lines().any(|l| l.trim_start().starts_with("numa ")),
        "{table}"
    );
    assert!(
        table.contains(
            "numa.miss_ratio, numa.node_imbalance, numa.process_remote_memory: absent: single NUMA node"
        ),
        "{table}"
    );
}

fn copy_tree(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Node ids with a gap (node0, node2), a node without cpulist, a garbled meminfo and numastat, a
/// numa_maps of garbage and one with broken lines: the run finishes with a report, the broken files
/// are in coverage by path, and nothing panics.
#[test]
fn unusual_node_layouts_and_garbled_files_evaluate_without_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    copy_tree(&fixture("numa-two-node").join("sample1"), &tree);
    let node = tree.join("sys/devices/system/node");
    std::fs::remove_file(node.join("online")).unwrap();
    std::fs::rename(node.join("node1"), node.join("node2")).unwrap();
    std::fs::remove_file(node.join("node2/cpulist")).unwrap();
    std::fs::write(node.join("node2/distance"), "21 10 x\n").unwrap();
    std::fs::write(node.join("node2/meminfo"), "Node 2 MemTotal: lots\n\u{0}\u{1}\n").unwrap();
    std::fs::create_dir_all(node.join("node5")).unwrap();
    std::fs::write(node.join("node5/numastat"), "numa_hit\n").unwrap();
    std::fs::create_dir_all(node.join("power")).unwrap();
    std::fs::write(
        tree.join("proc/4242/numa_maps"),
        "7f00 default N0=x\nthis is not numa_maps\n",
    )
    .unwrap();
    // sshd becomes large, with a numa_maps whose lines are half broken.
    let status = std::fs::read_to_string(tree.join("proc/812/status"))
        .unwrap()
        .replace("VmRSS:\t    9216 kB", "VmRSS:\t 5242880 kB");
    std::fs::write(tree.join("proc/812/status"), status).unwrap();
    std::fs::write(
        tree.join("proc/812/numa_maps"),
        "7f00 default anon=5 N0=5 N2=999999999999999999999 kernelpagesize_kB=4\n7f01 default N7=3 kernelpagesize_kB=0\n7f02 prefer:2 anon=1 N2=1\n",
    )
    .unwrap();
    let root = tree.to_str().unwrap();
    let (code, report) = check_json(&["--root", root, "--interval", "0.1"]);
    assert!([0, 1, 2, 3].contains(&code), "{code}");
    let unreadable: Vec<String> = report["coverage"]["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap().to_string())
        .collect();
    for path in [
        "/sys/devices/system/node/node2/meminfo",
        "/sys/devices/system/node/node2/cpulist",
        "/sys/devices/system/node/node2/distance",
        "/sys/devices/system/node/node5/numastat",
        "/proc/4242/numa_maps",
    ] {
        assert!(
            unreadable.iter().any(|p| p == path),
            "{path} not in {unreadable:?}"
        );
    }
    let notes = report["coverage"]["notes"].to_string();
    assert!(notes.contains("/proc/812/numa_maps"), "{notes}");
    // The nodes found are 0, 2 and 5; node0's imbalance has no other node with a free ratio to
    // compare, and nothing fires from the garbled ones.
    assert!(
        numa_findings(&report)
            .iter()
            .all(|(r, _, _)| r != "numa.node_imbalance")
    );
    // The table renders too.
    let (_, table, err) = run(osdoctor().args(["check", "--root", root, "--interval", "0.1"]));
    assert!(table.contains(" numa "), "{table}\n{err}");
}
