//! The finding lifecycle (issue 11 part 3): `first_seen`, `new` and `cleared` across `--state` runs
//! on copies of the fixtures. A kernel event is reported once: the next cron run lists it seen
//! before, at info; a new record of the same program is new again. What the previous run reported
//! and is gone is listed in `cleared`, once. A cgroup's OOM-kill total alerts when it grows.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{check_json, fixture};

/// A copy of a fixture to edit, in a temporary directory.
fn copy(name: &str, dir: &Path) -> PathBuf {
    let to = dir.join(name);
    let ok = Command::new("cp")
        .arg("-a")
        .arg(fixture(name))
        .arg(&to)
        .status()
        .expect("cp")
        .success();
    assert!(ok, "cp -a {name}");
    to
}

/// A /dev/kmsg record of a segfault of `stackhog` (from tests/data/kernel_log/
/// induced-6.18-segfault-oddcomm-oom-pids.kmsg), with its sequence number, monotonic time and pid.
fn segfault(seq: u64, usec: u64, pid: u32) -> String {
    format!(
        "6,{seq},{usec},-;stackhog[{pid}]: segfault at 7ffcd5af7efc ip 000055a463fca134 sp 00007ffcd5af7ef0 \
         error 6 in stackhog[1134,55a463fca000+1000] likely on CPU 1 (core 1, socket 0)\n"
    )
}

/// The healthy fixture with a kernel log holding `records` and a boot id.
fn with_kernel_log(root: &Path, records: &[String]) {
    std::fs::create_dir_all(root.join("sample1/dev")).unwrap();
    std::fs::write(root.join("sample1/dev/kmsg"), records.concat()).unwrap();
    let random = root.join("sample1/proc/sys/kernel/random");
    std::fs::create_dir_all(&random).unwrap();
    std::fs::write(random.join("boot_id"), "4c1e2f0a-8a7b-4c55-9d2e-0f4f8e3c2b1a\n").unwrap();
}

fn run(root: &Path, state: &Path) -> (i32, Value) {
    check_json(&[
        "--root",
        root.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ])
}

fn the<'a>(report: &'a Value, rule: &str) -> &'a Value {
    let matching: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect();
    assert_eq!(matching.len(), 1, "one {rule}: {:#}", report["findings"]);
    matching[0]
}

#[test]
fn a_segfault_reported_by_one_cron_run_is_in_the_next_seen_before_at_info_and_a_new_one_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let root = copy("healthy", dir.path());
    with_kernel_log(&root, &[segfault(417, 407_990_373, 8238)]);
    let state = dir.path().join("state.json");

    let (code, first) = run(&root, &state);
    let f = the(&first, "kernel.segfault");
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert_eq!(f["new"], true);
    assert_eq!(f["first_seen"], first["started_at"]);
    assert_eq!(code, 1, "the crash alerts");

    // The next cron run reads the same record again: seen before, at info, and the check is OK.
    let (code, second) = run(&root, &state);
    let f = the(&second, "kernel.segfault");
    assert_eq!(f["severity"], "info", "{f:#}");
    assert_eq!(f["new"], false);
    assert_eq!(f["first_seen"], first["started_at"]);
    assert_eq!(second["status"], "ok");
    assert_eq!(code, 0, "alerted once");
    assert_eq!(second["cleared"], serde_json::json!([]));
    // The table says so on the finding's line.
    let table = Command::new(env!("CARGO_BIN_EXE_osdoctor"))
        .args(["check", "--root", root.to_str().unwrap(), "--state"])
        .arg(&state)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.contains("kernel.segfault") && l.contains("seen since")),
        "{table}"
    );

    // The program crashes again (a new record, a new pid): new again, at the rule's severity.
    with_kernel_log(
        &root,
        &[segfault(417, 407_990_373, 8238), segfault(418, 408_500_000, 8301)],
    );
    let (code, third) = run(&root, &state);
    let f = the(&third, "kernel.segfault");
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert_eq!(f["new"], true);
    assert_eq!(f["subject"]["pid"], 8301);
    assert_eq!(f["first_seen"], first["started_at"], "the program's first crash");
    assert_eq!(code, 1);
}

#[test]
fn without_a_boot_id_the_same_record_is_still_the_same_event() {
    // Without the boot id (a snapshot taken before osdoctor read it) records are told apart by the
    // boot time: the same record is still the same event.
    let dir = tempfile::tempdir().unwrap();
    let root = copy("healthy", dir.path());
    std::fs::create_dir_all(root.join("sample1/dev")).unwrap();
    std::fs::write(root.join("sample1/dev/kmsg"), segfault(417, 407_990_373, 8238)).unwrap();
    let state = dir.path().join("state.json");
    run(&root, &state);
    let (_, second) = run(&root, &state);
    assert_eq!(the(&second, "kernel.segfault")["new"], false);
}

#[test]
fn cleared_lists_the_previous_runs_findings_that_are_gone_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let (_, first) = run(&fixture("net-ephemeral-ports"), &state);
    let f = the(&first, "net.ephemeral_ports");
    assert_eq!(first["cleared"], serde_json::json!([]));

    let (code, second) = run(&fixture("healthy"), &state);
    assert_eq!(code, 0);
    let cleared = second["cleared"].as_array().unwrap();
    assert_eq!(cleared.len(), 1, "{cleared:#?}");
    assert_eq!(cleared[0]["rule"], "net.ephemeral_ports");
    assert_eq!(cleared[0]["subject"], "host");
    assert_eq!(cleared[0]["label"], "host");
    assert_eq!(cleared[0]["severity"], f["severity"]);
    assert_eq!(cleared[0]["first_seen"], first["started_at"]);

    let (_, third) = run(&fixture("healthy"), &state);
    assert_eq!(third["cleared"], serde_json::json!([]), "listed once");

    // And when it comes back it is new.
    let (_, fourth) = run(&fixture("net-ephemeral-ports"), &state);
    assert_eq!(the(&fourth, "net.ephemeral_ports")["new"], true);
    assert_eq!(
        the(&fourth, "net.ephemeral_ports")["first_seen"],
        fourth["started_at"]
    );
}

#[test]
fn a_lasting_finding_keeps_its_first_seen_and_severity() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let (_, first) = run(&fixture("net-ephemeral-ports"), &state);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, second) = run(&fixture("net-ephemeral-ports"), &state);
    let f = the(&second, "net.ephemeral_ports");
    assert_eq!(f["new"], false);
    assert_eq!(
        f["severity"], "critical",
        "a condition still there is still alerting"
    );
    assert_eq!(code, 2);
    assert_eq!(f["first_seen"], first["started_at"]);
    assert_ne!(second["started_at"], first["started_at"]);
}

#[test]
fn without_state_every_finding_is_new_since_this_run() {
    let (_, report) = check_json(&["--root", fixture("v1-memcg-oom-kill").to_str().unwrap()]);
    let findings = report["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for f in findings {
        assert_eq!(f["new"], true, "{f:#}");
        assert_eq!(f["first_seen"], report["started_at"], "{f:#}");
    }
    assert_eq!(report["cleared"], serde_json::json!([]));
    assert_eq!(report["schema_version"], 9);
}

#[test]
fn a_cgroups_oom_kill_total_alerts_when_it_grows_and_is_info_when_it_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let root = copy("v1-memcg-oom-kill", dir.path());
    let oom = |report: &Value| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "cgroup.oom_kill" && f["subject"]["cgroup"] == "/osdoctor-fixture-oom")
            .cloned()
            .unwrap_or_else(|| panic!("cgroup.oom_kill: {:#}", report["findings"]))
    };
    let (_, first) = run(&root, &state);
    assert_eq!(oom(&first)["severity"], "critical");
    assert_eq!(oom(&first)["new"], true);

    // The same total: reported before.
    let (_, second) = run(&root, &state);
    let f = oom(&second);
    assert_eq!(f["severity"], "info", "{f:#}");
    assert_eq!(f["new"], false);
    assert_eq!(f["first_seen"], first["started_at"]);

    // One kill more since the last run.
    for sample in ["sample1", "sample2"] {
        let path = root
            .join(sample)
            .join("sys/fs/cgroup/memory/osdoctor-fixture-oom/memory.oom_control");
        let text = std::fs::read_to_string(&path).unwrap();
        let bumped: String = text
            .lines()
            .map(|l| match l.strip_prefix("oom_kill ") {
                Some(n) => format!("oom_kill {}\n", n.trim().parse::<u64>().unwrap() + 1),
                None => format!("{l}\n"),
            })
            .collect();
        std::fs::write(&path, bumped).unwrap();
    }
    let (_, third) = run(&root, &state);
    let f = oom(&third);
    assert_eq!(f["severity"], "critical", "{f:#}");
}

#[test]
fn an_ignored_finding_is_not_cleared_either() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let (_, first) = run(&fixture("net-ephemeral-ports"), &state);
    assert_eq!(the(&first, "net.ephemeral_ports")["severity"], "critical");
    let (_, second) = check_json(&[
        "--root",
        fixture("healthy").to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--ignore",
        "net.*",
    ]);
    assert_eq!(second["cleared"], serde_json::json!([]));
}

#[test]
fn a_pid_run_clears_nothing_and_leaves_the_clearing_to_the_next_full_run() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    run(&fixture("net-ephemeral-ports"), &state);
    let (_, pid_run) = check_json(&[
        "--root",
        fixture("healthy").to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--pid",
        "1",
    ]);
    assert_eq!(pid_run["cleared"], serde_json::json!([]));
    let (_, full) = run(&fixture("healthy"), &state);
    assert_eq!(
        full["cleared"].as_array().unwrap().len(),
        1,
        "{:#}",
        full["cleared"]
    );
}
