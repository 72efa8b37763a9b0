//! NUMA: the hand-made multi-node fixtures (this machine has one node; fixtures/build-numa.py makes
//! them), their exact findings and numbers, each rule firing in one and quiet in another (the quiet
//! cases' numbers read from the facts the library derives), "absent" on single-node hosts, and a tree
//! of unusual shapes (node ids with a gap, a node without cpulist, a garbled numa_maps) that must
//! evaluate without a panic.

use std::path::Path;
use std::time::Duration;

use osdoctor::facts::{FactSet, Facts, SubjectKind, Value as Fact};
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

/// The facts the library derives from a fixture (both samples), for the quiet cases' numbers, which
/// no finding carries.
fn facts_of(name: &str) -> Facts {
    let source = osdoctor::pipeline::source::Source::open(Some(&fixture(name))).unwrap();
    let collected = osdoctor::pipeline::deadline::collect(
        source.plan(Duration::from_secs(1)),
        osdoctor::pipeline::collectors::Scope::Host,
        Duration::from_secs(60),
    );
    osdoctor::facts::derive::derive(&collected, None)
}

fn node_facts(facts: &Facts, node: u32) -> &FactSet {
    &facts.subjects[&SubjectKind::NumaNode]
        .iter()
        .find(|s| s.id.node == Some(node))
        .unwrap_or_else(|| panic!("no node{node}"))
        .facts
}

fn proc_facts(facts: &Facts, pid: i32) -> &FactSet {
    &facts.subjects[&SubjectKind::Process]
        .iter()
        .find(|s| s.id.pid == Some(pid))
        .unwrap_or_else(|| panic!("no pid {pid}"))
        .facts
}

fn num(f: &FactSet, name: &str) -> f64 {
    f.get_f64(name)
        .unwrap_or_else(|| panic!("{name} absent: {:?}", f.stated_reason(name)))
}

fn text(f: &FactSet, name: &str) -> String {
    match f.get(name) {
        Some(Fact::Text(t)) => t.to_string(),
        other => panic!("{name}: {other:?}"),
    }
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
    assert_eq!(
        miss["summary"],
        "25.0% of the pages allocated on node0 during the interval were fallback for allocations \
         that preferred another node (9,991 pages/s; 2.9% since boot; numa_foreign rose on: node1 \
         +10,000)"
    );
    // The preferred node is node1, whose numa_foreign rose by the same 10,000 pages.
    assert_eq!(miss["evidence"]["numa.foreign_nodes"]["value"], "node1 +10,000");
    // node1: 3.5% available (2% free, 1% inactive page cache, 0.5% reclaimable slab) while node0 has
    // 40% available, though only 3% of it is free: the rest is inactive page cache (35%) and
    // reclaimable slab (2%), which node0 gives before anything falls back.
    let half_kb = 24_684_092u64 / 2;
    let total = half_kb as f64 * 1024.0;
    let imbalance = the(&report, "numa.node_imbalance");
    assert_eq!(imbalance["subject"]["node"], 1);
    let n1_free = (half_kb * 2 / 100 - 64) as f64 * 1024.0;
    let n1_avail = n1_free + ((half_kb / 100) + half_kb / 200) as f64 * 1024.0;
    assert_eq!(evidence(imbalance, "numa.mem_free_bytes"), n1_free);
    assert_eq!(evidence(imbalance, "numa.mem_available_bytes"), n1_avail);
    assert_eq!(evidence(imbalance, "numa.mem_total_bytes"), total);
    close(evidence(imbalance, "numa.available_ratio"), n1_avail / total);
    let n0_avail = ((half_kb * 3 / 100 - 512) + half_kb * 35 / 100 + half_kb * 2 / 100) as f64 * 1024.0;
    close(
        evidence(imbalance, "numa.other_nodes_max_available_ratio"),
        n0_avail / total,
    );
    assert!(
        imbalance["summary"]
            .as_str()
            .unwrap()
            .starts_with("node1 has 3.5% available (421.8 MiB of 11.8 GiB"),
        "{imbalance:#}"
    );
    // node0, 3% free but 40% available, is not judged full.
    let facts = facts_of("numa-two-node");
    let n0 = node_facts(&facts, 0);
    assert_eq!(
        num(n0, "numa.mem_free_bytes"),
        (half_kb * 3 / 100 - 512) as f64 * 1024.0
    );
    close(num(n0, "numa.available_ratio"), n0_avail / total);
    // java runs on node1 (34 of its 40 threads last ran on CPU 1, though the main thread last ran on
    // CPU 0, node0's) with 4 GiB of its pages on node0.
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
        "node1 (34 of 40 threads last ran there)"
    );
    assert_eq!(evidence(java, "proc.numa_interleaved_ratio"), 0.0);
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
    // Each read numa_maps and task directory is in coverage.
    let read = report["coverage"]["read"].to_string();
    for pid in [1201, 2301, 2402] {
        assert!(read.contains(&format!("/proc/{pid}/numa_maps")), "{pid}");
        assert!(read.contains(&format!("/proc/{pid}/task\"")), "{pid}");
    }

    let facts = facts_of("numa-cxl-quiet");
    let gib_kb = 1u64 << 20;
    let (n0_total, n1_total) = (8 * gib_kb, 8 * gib_kb);
    let n2_total = 24_684_092 - 16 * gib_kb;
    // node0: 2% free + 3% inactive page cache + 1% reclaimable slab = 6% available, just above the
    // 5% of numa.node_imbalance, while node1 has 33% (31% free: MemFree alone would have fired).
    let n0 = node_facts(&facts, 0);
    let n0_avail = (n0_total * 2 / 100 - 80) + n0_total * 3 / 100 + n0_total / 100;
    close(num(n0, "numa.available_ratio"), n0_avail as f64 / n0_total as f64);
    assert!(num(n0, "numa.mem_free_bytes") / ((n0_total * 1024) as f64) < 0.05);
    let n1_avail = (n1_total * 31 / 100 - 60) + n1_total / 100 + n1_total / 100;
    close(
        num(n0, "numa.other_nodes_max_available_ratio"),
        n1_avail as f64 / n1_total as f64,
    );
    assert_eq!(format!("{:.1}%", num(n0, "numa.available_ratio") * 100.0), "6.0%");
    assert_eq!(
        format!("{:.1}%", num(n0, "numa.other_nodes_max_available_ratio") * 100.0),
        "33.0%"
    );
    // node2: no CPU, 2% available; it is not judged (numa.cpus is 0) and no yardstick for the others.
    let n2 = node_facts(&facts, 2);
    assert_eq!(num(n2, "numa.cpus"), 0.0);
    let n2_avail = (n2_total / 100 - 2) + n2_total / 200 + n2_total / 200;
    close(num(n2, "numa.available_ratio"), n2_avail as f64 / n2_total as f64);
    assert_eq!(n2.get_f64("numa.other_nodes_max_available_ratio"), None);
    close(
        num(node_facts(&facts, 1), "numa.other_nodes_max_available_ratio"),
        n0_avail as f64 / n0_total as f64,
    );

    // postgres: all 6 threads last ran on node0, 10% remote (on the CXL node), judged.
    let pg = proc_facts(&facts, 1201);
    assert_eq!(num(pg, "proc.numa_judged"), 1.0);
    assert_eq!(
        text(pg, "proc.numa_home"),
        "node0 (6 of 6 threads last ran there)"
    );
    close(
        num(pg, "proc.numa_remote_ratio"),
        52_429.0 / (1_500.0 + 471_859.0 + 40.0 + 52_429.0),
    );

    // worker: 8 of 16 threads on each node, spread: not judged though 70% of its pages are on
    // node1 and its main thread last ran on node0.
    let worker = proc_facts(&facts, 2301);
    assert_eq!(num(worker, "proc.numa_examined"), 1.0);
    assert_eq!(num(worker, "proc.numa_judged"), 0.0);
    assert_eq!(
        text(worker, "proc.numa_home"),
        "none, its 16 threads last ran on node0 8, node1 8"
    );
    assert_eq!(worker.get_f64("proc.numa_remote_ratio"), None);
    assert_eq!(
        worker.stated_reason("proc.numa_remote_ratio"),
        Some(
            "spread: its 16 threads last ran on node0 8, node1 8; no node has 75% of them, so \
             there is no home to be remote from"
        )
    );
    assert_eq!(num(worker, "proc.numa_resident_bytes"), 393_216.0 * 4096.0);
    assert!(text(worker, "proc.numa_placement").starts_with("node0 460.8 MiB, node1 1.0 GiB"));

    // mongod: all 12 threads on node0, 59.5% of its pages on node1, but 99.2% of its memory is in
    // interleave and weighted interleave mappings: remote by design, not judged.
    let mongod = proc_facts(&facts, 2402);
    assert_eq!(num(mongod, "proc.numa_judged"), 0.0);
    assert_eq!(
        text(mongod, "proc.numa_home"),
        "node0 (12 of 12 threads last ran there)"
    );
    let total = 2_560.0 + 131_072.0 + 196_608.0;
    close(num(mongod, "proc.numa_remote_ratio"), 196_608.0 / total);
    assert!(num(mongod, "proc.numa_remote_ratio") > 0.5);
    close(num(mongod, "proc.numa_interleaved_ratio"), 327_680.0 / total);
}

/// The imbalance's two thresholds, on the quiet fixture's nodes moved across them: node0 at 4%
/// available is quiet while node1 has 29% (8 GiB x 29 / 100 kB: just under), and fires once node1
/// has 31%.
#[test]
fn node_imbalance_thresholds_on_both_sides() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    copy_tree(&fixture("numa-cxl-quiet").join("sample1"), &tree);
    let node = tree.join("sys/devices/system/node");
    let set = |id: u32, free_pct: u64| {
        let path = node.join(format!("node{id}/meminfo"));
        let text = std::fs::read_to_string(&path).unwrap();
        let total_kb = 8u64 << 20;
        let out: Vec<String> = text
            .lines()
            .map(|l| {
                let key = l.split_whitespace().nth(2).unwrap();
                let value = match key {
                    "MemFree:" => total_kb * free_pct / 100,
                    "Inactive(file):" | "KReclaimable:" | "SReclaimable:" => 0,
                    _ => return l.to_string(),
                };
                format!("Node {id} {key} {value} kB")
            })
            .collect();
        std::fs::write(&path, out.join("\n") + "\n").unwrap();
    };
    let imbalance = |tree: &Path| {
        let (_, report) = check_json(&["--root", tree.to_str().unwrap(), "--interval", "0.1"]);
        numa_findings(&report)
            .into_iter()
            .filter(|(r, _, _)| r == "numa.node_imbalance")
            .collect::<Vec<_>>()
    };
    set(0, 4);
    set(1, 29);
    assert!(imbalance(&tree).is_empty());
    set(1, 31);
    assert_eq!(
        imbalance(&tree),
        [("numa.node_imbalance".to_string(), 0, "warning".to_string())]
    );
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
    // With the other absent rules (no swap here) on one line.
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("  absent: ") && l.contains("numa.* (3) (single NUMA node)")),
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
    // Its row, or the line under the grid that folds the rows checked ok everywhere.
    assert!(
        table.lines().any(|l| l.trim_start().starts_with("numa ")
            || (l.contains("ok on every checked column") && l.contains("numa"))),
        "{table}\n{err}"
    );
}
