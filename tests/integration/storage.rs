//! Disks and filesystems: the fixtures captured with real conditions (a tmpfs filled to 97%, a tmpfs
//! out of inodes, a loop device under synchronous direct writes, an ext4 image the kernel made
//! read-only), their stories, the rules' firing and quiet fixtures, and "absent" in the USE grid.

use serde_json::Value;

use crate::util::*;

/// The findings of `rule`, as (subject path or device, severity).
fn of_rule(report: &Value, rule: &str) -> Vec<(String, String)> {
    findings_of(report, rule)
}

fn the(report: &Value, rule: &str) -> Value {
    finding(report, rule)
        .unwrap_or_else(|| panic!("no {rule} in {:#}", report["findings"]))
        .clone()
}

#[test]
fn a_tmpfs_filled_to_97_percent_is_critical_and_explains_the_deleted_file_held_open() {
    let (code, report) = replay("fs-full");
    assert_eq!(code, 2);
    assert_eq!(
        of_rule(&report, "fs.capacity"),
        [("/mnt/osdoctor-fx/full".to_string(), "critical".to_string())]
    );
    let f = the(&report, "fs.capacity");
    let used = evidence(&f, "mount.used_ratio");
    assert!((0.965..0.975).contains(&used), "{used}");
    assert_eq!(evidence(&f, "mount.size_bytes"), 1280.0 * 1048576.0);
    assert_eq!(f["evidence"]["mount.fstype"]["value"], "tmpfs");
    let deleted = the(&report, "fd.deleted_open");
    assert_eq!(deleted["severity"], "warning");
    assert_eq!(deleted["subject"]["comm"], "sleep");
    assert_eq!(evidence(&deleted, "proc.fd.deleted_bytes"), 1100.0 * 1048576.0);
    // One story: the full filesystem, and the process holding the deleted file on it.
    let story = report["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["cause"]["rule"] == "fs.capacity")
        .expect("a story caused by fs.capacity");
    assert_eq!(story["cause"]["subject"]["path"], "/mnt/osdoctor-fx/full");
    let effects: Vec<&str> = story["effects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["rule"].as_str().unwrap())
        .collect();
    assert_eq!(effects, ["fd.deleted_open"]);
    // Nothing else on the host is anywhere near full.
    assert!(of_rule(&report, "fs.inodes").is_empty());
    assert_eq!(report["use_matrix"]["filesystem"]["utilization"], "critical");
}

#[test]
fn a_tmpfs_with_980_of_1000_inodes_used_is_critical_on_inodes_not_space() {
    let (code, report) = replay("fs-inodes");
    assert_eq!(code, 2);
    assert_eq!(
        of_rule(&report, "fs.inodes"),
        [("/mnt/osdoctor-fx/inodes".to_string(), "critical".to_string())]
    );
    let f = the(&report, "fs.inodes");
    assert_eq!(evidence(&f, "mount.inodes_used"), 980.0);
    assert_eq!(evidence(&f, "mount.inodes_total"), 1000.0);
    assert_eq!(evidence(&f, "mount.inodes_used_ratio"), 0.98);
    assert!(evidence(&f, "mount.used_ratio") < 0.05, "{f:#}");
    assert!(of_rule(&report, "fs.capacity").is_empty());
}

#[test]
fn a_loop_device_under_synchronous_direct_writes_is_named_busy() {
    let (_, report) = replay("disk-busy");
    let busy = of_rule(&report, "disk.utilization");
    let on_loop: Vec<_> = busy.iter().filter(|(dev, _)| dev.starts_with("loop")).collect();
    assert_eq!(on_loop.len(), 1, "{busy:?}");
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "disk.utilization" && f["subject"]["device"] == on_loop[0].0.as_str())
        .unwrap();
    assert!(evidence(f, "disk.utilization_ratio") >= 0.80, "{f:#}");
    assert!(evidence(f, "disk.write_iops") > 10.0, "{f:#}");
    // Each 1 MiB O_DIRECT write reaches the loop device as two 512 KiB requests (its max_sectors).
    let per_write = evidence(f, "disk.write_bytes_per_s") / evidence(f, "disk.write_iops");
    assert!((256.0 * 1024.0..=1048576.0).contains(&per_write), "{per_write}");
    let queue = the(&report, "disk.saturation");
    assert_eq!(queue["severity"], "warning");
    assert!(evidence(&queue, "disk.queue_avg") >= 2.0, "{queue:#}");
    assert!(evidence(f, "disk.write_await_s") > 0.0, "{f:#}");
    // The tmpfs fixtures' loop-free hosts do not fire it.
    let (_, quiet) = replay("fs-inodes");
    assert!(of_rule(&quiet, "disk.utilization").is_empty());
}

#[test]
fn an_ext4_remounted_read_only_by_the_kernel_is_explained_by_its_error() {
    let (code, report) = replay("fs-remounted-ro");
    assert_eq!(code, 2);
    let ro = the(&report, "fs.remounted_read_only");
    assert_eq!(ro["severity"], "critical");
    assert_eq!(ro["subject"]["path"], "/mnt/osdoctor-fx/ro");
    let device = ro["subject"]["device"].as_str().unwrap().to_string();
    assert!(device.starts_with("loop"), "{device}");
    let story = report["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["effects"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["rule"] == "fs.remounted_read_only")
        })
        .expect("the read-only remount is explained");
    assert_eq!(story["cause"]["rule"], "kernel.io_error");
    assert_eq!(story["cause"]["subject"]["device"], device.as_str());
}

/// DESIGN.md section 5 for the disk and mount rules: each fires in a fixture and stays quiet
/// (evaluated, no finding) in another.
#[test]
fn every_disk_and_mount_rule_fires_in_one_fixture_and_stays_quiet_in_another() {
    let rules = [
        "disk.utilization",
        "disk.saturation",
        "fs.capacity",
        "fs.inodes",
        "fs.remounted_read_only",
    ];
    let (mut fired, mut quiet) = (Vec::new(), Vec::new());
    for name in ["fs-full", "fs-inodes", "disk-busy", "fs-remounted-ro"] {
        let (_, report) = replay(name);
        let not_evaluated: Vec<&str> = report["coverage"]["not_evaluated"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["rule"].as_str().unwrap())
            .collect();
        for rule in rules {
            if !of_rule(&report, rule).is_empty() {
                fired.push(rule);
            } else if !not_evaluated.contains(&rule) {
                quiet.push(rule);
            }
        }
    }
    let never_fired: Vec<_> = rules.iter().filter(|r| !fired.contains(r)).collect();
    assert!(never_fired.is_empty(), "no fixture fires {never_fired:?}");
    let never_quiet: Vec<_> = rules.iter().filter(|r| !quiet.contains(r)).collect();
    assert!(never_quiet.is_empty(), "no fixture keeps {never_quiet:?} quiet");
}

/// A host whose block devices never did I/O has no disk to judge: the grid says "absent" and
/// coverage says why, in JSON and in the table.
#[test]
fn a_host_without_a_busy_disk_shows_the_disk_row_absent() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(from)
            .arg(to)
            .status()
            .unwrap();
        assert!(status.success());
    };
    let tree = tmp.path().join("tree");
    copy(&fixture("healthy").join("sample1"), &tree);
    std::fs::write(
        tree.join("proc/diskstats"),
        "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n   7       1 loop1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
    )
    .unwrap();
    let root = tree.to_str().unwrap();
    let (_, report) = check_json(&["--root", root, "--interval", "0.1"]);
    assert_eq!(report["use_matrix"]["disk"]["utilization"], "absent");
    assert_eq!(report["use_matrix"]["disk"]["saturation"], "absent");
    let why = report["coverage"]["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["rule"] == "disk.utilization")
        .unwrap();
    assert_eq!(why["absent"], true);
    assert_eq!(why["reason"], "no whole block device has done I/O since boot");
    let (_, table, _) = run(osdoctor().args(["check", "--root", root, "--interval", "0.1"]));
    let row = table
        .lines()
        .find(|l| l.trim_start().starts_with("disk "))
        .unwrap_or_else(|| panic!("no disk row:\n{table}"));
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>()[..3],
        ["disk", "absent", "absent"]
    );
}
