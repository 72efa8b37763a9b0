//! The kernel log: saved logs from real kernels through `osdoctor kernel-log --file`, and events induced
//! on this machine (an OOM kill in a memory cgroup, a stack overflow) seen by `kernel-log` and `check`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::*;

fn data(name: &str) -> PathBuf {
    repo().join("tests/data/kernel_log").join(name)
}

fn kernel_log_json(args: &[&str]) -> (i32, Value) {
    let (code, out, err) = run(osdoctor().arg("kernel-log").args(args).args(["--format", "json"]));
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"));
    (code, v)
}

fn kills(report: &Value) -> Vec<(u64, String)> {
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "oom_kill")
        .map(|e| {
            (
                e["pid"].as_u64().unwrap(),
                e["comm"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_centos7_paste_names_the_victim_and_its_pod() {
    let (code, r) = kernel_log_json(&[
        "--file",
        data("paste-3.10-centos7-memcg-dmesg-T.log").to_str().unwrap(),
    ]);
    assert_eq!(kills(&r), [(28438, "java".to_string())]);
    // The window of a saved log ends at its newest event: the kill is recent there, so critical.
    assert_eq!(code, 2);
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "mem.oom_kill")
        .unwrap();
    assert_eq!(f["subject"]["pid"], 28438);
    assert_eq!(f["subject"]["pod_uid"], "95387fa4-da9c-11e7-9d36-5254b24cbf5e");
    assert_eq!(
        f["subject"]["container_id"],
        "6895a3e13439535852d3184ac2aadd26d7363cc035f171545ec7d4ce74073b0b"
    );
    assert_eq!(
        f["evidence"]["event.rss_bytes"]["value"],
        (466_160 + 13_684) * 1024
    );
}

#[test]
fn every_kernel_generation_gives_its_victims_and_nothing_more() {
    for (file, victims) in [
        (
            "paste-4.15-syslog-memcg-sacrifice-reaper.log",
            vec![(4254, "python3"), (4255, "python3")],
        ),
        ("paste-5.4-dmesg-memcg-truncated.log", vec![(63214, "uwsgi")]),
        ("paste-6.16-dmesg-T-global.log", vec![(3581527, "uwsgi")]),
        ("paste-3.10-kernel-prefix-header-only.log", vec![]),
        ("paste-5.3-syslog-header-only.log", vec![]),
    ] {
        let (_, r) = kernel_log_json(&["--file", data(file).to_str().unwrap()]);
        let mut got = kills(&r);
        got.sort();
        let want: Vec<(u64, String)> = victims.iter().map(|(p, c)| (*p, c.to_string())).collect();
        assert_eq!(got, want, "{file}");
        // One mem.oom_kill finding per victim, none invented.
        let findings = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "mem.oom_kill")
            .count();
        assert_eq!(findings, want.len(), "{file}");
    }
}

#[test]
fn the_induced_stack_overflow_is_a_segfault_with_the_hint() {
    let (code, r) = kernel_log_json(&[
        "--file",
        data("induced-6.18-segfault-oddcomm-oom-pids.dmesg-T")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(
        code, 2,
        "the OOM kill and refused fork in the same file are critical"
    );
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "kernel.segfault")
        .expect("segfault");
    assert_eq!(f["subject"]["comm"], "stackhog");
    assert_eq!(f["evidence"]["event.likely_stack_overflow"]["value"], 1);
    assert!(f["summary"].as_str().unwrap().contains("stack overflow"), "{f}");
    let comms: Vec<&str> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["comm"].as_str())
        .collect();
    assert!(
        comms.contains(&"a (b) c) d"),
        "a comm with spaces and parentheses: {comms:?}"
    );
}

#[test]
fn unreadable_input_exits_3() {
    let (code, out, err) = run(osdoctor().args(["kernel-log", "--file", "/nonexistent/dmesg.txt"]));
    assert_eq!(code, 3, "{out}");
    assert!(err.contains("/nonexistent/dmesg.txt"), "{err}");
    let (code, _, err) = run(osdoctor().args(["kernel-log", "--since", "yesterday"]));
    assert_eq!(code, 3);
    assert!(err.contains("yesterday"), "{err}");
}

#[test]
fn garbage_is_not_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("noise.log");
    let mut noise: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    noise.extend_from_slice(b"\nKilled process without a number (x)\n[  1.0] segfault at nowhere\n");
    std::fs::write(&file, noise).unwrap();
    let (code, r) = kernel_log_json(&["--file", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(kills(&r).is_empty());
}

/// A 64 MiB memory cgroup on the v1 memory hierarchy, else on cgroup2 with the memory controller
/// enabled; `None` when none can be made here.
fn memory_cgroup() -> Option<TestCgroup> {
    let v1 = Path::new("/sys/fs/cgroup/memory");
    let v2 = Path::new("/sys/fs/cgroup");
    let mount = if v1.join("memory.limit_in_bytes").exists() {
        v1
    } else if std::fs::read_to_string(v2.join("cgroup.subtree_control")).is_ok_and(|c| c.contains("memory")) {
        v2
    } else {
        return None;
    };
    oom_cgroup(mount, "kmsg-oom").ok()
}

fn kmsg_readable() -> bool {
    std::fs::File::open("/dev/kmsg").is_ok()
}

#[test]
fn an_oom_kill_in_a_memory_cgroup_is_named_by_kernel_log_and_check() {
    let _lock = machine_lock();
    if !kmsg_readable() {
        eprintln!("skipped: /dev/kmsg is not readable (needs root or CAP_SYSLOG)");
        return;
    }
    let Some(cg) = memory_cgroup() else {
        eprintln!("skipped: cannot create a memory cgroup here (not root, or no memory controller)");
        return;
    };
    // The process joins the cgroup, then allocates and touches 256 MiB: the cgroup's OOM killer fires.
    allocate_256_mib(&cg);
    let (_, r) = kernel_log_json(&["--since", "10m"]);
    let kill = r["events"]
        .as_array()
        .unwrap()
        .iter()
        // Newest first: the first match is this test's kill.
        .find(|e| e["kind"] == "oom_kill" && e["task_memcg"] == cg.path().as_str())
        .cloned()
        .expect("kernel-log shows the kill");
    let pid = kill["pid"].as_u64().unwrap();
    assert_eq!(kill["comm"], "loadgen");
    assert!(kill["rss_bytes"].as_u64().unwrap() > 32 << 20, "{kill}");
    assert_eq!(kill["global"], false);

    let (code, report) = check_json(&["--interval", "0.5"]);
    assert_eq!(code, 2, "a kill within the hour is critical");
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "mem.oom_kill" && f["subject"]["pid"] == pid)
        .expect("check names the victim");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["subject"]["comm"], "loadgen");
    assert_eq!(f["subject"]["cgroup"], cg.path().as_str());
    let cgf = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "cgroup.oom_kill" && f["subject"]["cgroup"] == cg.path().as_str())
        .expect("cgroup.oom_kill for the cgroup");
    assert_eq!(
        cgf["severity"], "critical",
        "the log shows the kill within the hour: {cgf}"
    );
}

#[test]
fn a_stack_overflow_is_reported_as_kernel_segfault_with_its_name() {
    let _lock = machine_lock();
    if !kmsg_readable() {
        eprintln!("skipped: /dev/kmsg is not readable (needs root or CAP_SYSLOG)");
        return;
    }
    if std::fs::read_to_string("/proc/sys/debug/exception-trace").is_ok_and(|v| v.trim() == "0") {
        eprintln!("skipped: debug.exception-trace is 0, the kernel does not log segfaults");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("stackhog");
    let cc = Command::new("cc")
        .arg("-O0")
        .arg("-o")
        .arg(&exe)
        .arg(repo().join("tests/helpers/stackhog.c"))
        .status();
    if !cc.is_ok_and(|s| s.success()) {
        eprintln!("skipped: no C compiler (cc) to build tests/helpers/stackhog.c");
        return;
    }
    let status = Command::new(&exe).status().unwrap();
    assert!(!status.success());
    let (_, report) = check_json(&["--interval", "0", "--since", "5m"]);
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "kernel.segfault" && f["subject"]["comm"] == "stackhog")
        .expect("kernel.segfault names stackhog (the kernel rate-limits segfault lines: rerun if many crashed just now)");
    assert_eq!(f["evidence"]["event.likely_stack_overflow"]["value"], 1, "{f}");
}

/// `kernel-log --format nagios` and `prometheus` on a log with an OOM kill: the status line, the
/// perfdata and the series say the verdict, which is also the exit code.
#[test]
fn kernel_log_speaks_nagios_and_prometheus() {
    let file = data("induced-6.18-memcg-v1-oom.dmesg");
    let (json_code, r) = kernel_log_json(&["--file", file.to_str().unwrap()]);
    let count = |sev: &str| {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == sev)
            .count()
    };
    let (code, out, err) = run(osdoctor()
        .args(["kernel-log", "--format", "nagios", "--file"])
        .arg(&file));
    assert_eq!(code, json_code, "{out}{err}");
    let label = match code {
        0 => "OK",
        1 => "WARNING",
        2 => "CRITICAL",
        other => panic!("exit code {other}: {out}{err}"),
    };
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("OSDOCTOR CRITICAL - ") || first.starts_with("OSDOCTOR WARNING - "),
        "an OOM kill is a finding: {out}"
    );
    assert!(first.starts_with(&format!("OSDOCTOR {label} - ")), "{out}");
    assert!(
        first.contains(&format!(
            " | critical={} warning={}",
            count("critical"),
            count("warning")
        )),
        "{first}"
    );
    assert!(
        out.lines()
            .skip(1)
            .any(|l| l.contains(" mem.oom_kill pid 8060 (python3): ")),
        "{out}"
    );

    let (code, out, err) = run(osdoctor()
        .args(["kernel-log", "--format", "prometheus", "--file"])
        .arg(&file));
    assert_eq!(code, json_code, "{out}{err}");
    assert_eq!(series_value(&out, "osdoctor_status"), Some(code as f64), "{out}");
    assert!(out.contains("\nosdoctor_finding{rule=\"mem.oom_kill\","), "{out}");
    assert!(
        out.contains("\nosdoctor_kernel_log_events{kind=\"oom_kill\"} 1\n"),
        "{out}"
    );
}

/// Every saved log's Prometheus text passes `promtool check metrics` and holds no series twice.
#[test]
fn kernel_log_prometheus_is_clean_for_every_saved_log() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/data/kernel_log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    assert!(files.len() > 10);
    for file in files {
        let (code, out, err) = run(osdoctor()
            .args(["kernel-log", "--format", "prometheus", "--file"])
            .arg(&file));
        assert!((0..=2).contains(&code), "{}: {code} {err}", file.display());
        assert_eq!(series_value(&out, "osdoctor_status"), Some(code as f64), "{out}");
        assert_clean_prometheus(&file.display().to_string(), &out);
    }
}

/// A log with one line each of a segfault (understood) and an XFS log I/O error (not understood).
const PARTLY_UNDERSTOOD: &str = "[  100.000000] XFS (dm-3): log I/O error -5\n\
    [  101.000000] foo[9]: segfault at 0 ip 0000000000401000 sp 00007ffc00002000 error 4 in libc.so.6[7f00+1000]\n";

#[test]
fn lines_naming_unknown_events_are_counted_and_mark_the_report_partial() {
    let dir = tempfile::tempdir().unwrap();
    let partly = dir.path().join("partly.log");
    std::fs::write(&partly, PARTLY_UNDERSTOOD).unwrap();
    let clean = dir.path().join("clean.log");
    std::fs::write(&clean, PARTLY_UNDERSTOOD.lines().nth(1).unwrap()).unwrap();

    let (code, r) = kernel_log_json(&["--file", partly.to_str().unwrap()]);
    assert_eq!(r["schema_version"], 2);
    assert_eq!(r["unrecognised"]["count"], 1);
    assert_eq!(r["unrecognised"]["examples"][0], "XFS (dm-3): log I/O error -5");
    assert_eq!(r["partial"], true);
    let notes = r["notes"].as_array().unwrap();
    assert!(
        notes[0].as_str().unwrap().contains("the report is partial"),
        "{notes:?}"
    );
    assert_eq!(r["events"].as_array().unwrap().len(), 1);

    // The exit code is the segfault's, as without the line nobody understood.
    let (clean_code, c) = kernel_log_json(&["--file", clean.to_str().unwrap()]);
    assert_eq!(
        (c["partial"].clone(), c["unrecognised"]["count"].clone()),
        (Value::from(false), Value::from(0))
    );
    assert_eq!(code, clean_code);
    assert_eq!(r["status"], c["status"]);

    // The table and Nagios say so too.
    let (_, table, _) = run(osdoctor().args(["kernel-log", "--file", partly.to_str().unwrap()]));
    assert!(
        table.contains("note: 1 kernel log line named an event"),
        "{table}"
    );
    let (_, nagios, _) = run(osdoctor().args([
        "kernel-log",
        "--format",
        "nagios",
        "--file",
        partly.to_str().unwrap(),
    ]));
    assert!(
        nagios.contains("(partial: kernel log lines not understood)"),
        "{nagios}"
    );
}

#[test]
fn check_counts_unknown_kernel_log_lines_in_its_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("fs-inodes");
    assert!(
        Command::new("cp")
            .arg("-a")
            .arg(fixture("fs-inodes"))
            .arg(&root)
            .status()
            .unwrap()
            .success()
    );
    let args = |root: &Path| {
        vec![
            "--root".to_string(),
            root.display().to_string(),
            "--interval".to_string(),
            "0".to_string(),
        ]
    };
    let before: Vec<String> = args(&root);
    let (code_before, r_before) = check_json(&before.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r_before["coverage"]["kernel_log_unrecognised"]["count"], 0);
    // The kernel log is read with the first sample.
    std::fs::write(
        root.join("sample1/dev/kmsg"),
        "3,1,100000000,-;XFS (dm-3): log I/O error -5\n",
    )
    .unwrap();
    let (code, r) = check_json(&before.iter().map(String::as_str).collect::<Vec<_>>());
    let unrecognised = &r["coverage"]["kernel_log_unrecognised"];
    assert_eq!(unrecognised["count"], 1, "{unrecognised}");
    assert_eq!(unrecognised["examples"][0], "XFS (dm-3): log I/O error -5");
    assert_eq!(r["partial"], true);
    assert!(
        r["coverage"]["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .contains("named an event in a form osdoctor does not understand")),
        "{}",
        r["coverage"]["notes"]
    );
    assert_eq!((code, &r["status"]), (code_before, &r_before["status"]));
}

#[test]
fn gzip_and_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("kern.log");
    std::fs::write(&plain, PARTLY_UNDERSTOOD).unwrap();
    let ok = Command::new("gzip")
        .arg("-k")
        .arg(&plain)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let gz = dir.path().join("kern.log.gz");
    let (code, r) = kernel_log_json(&["--file", gz.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(r["events"][0]["comm"], "foo");
    assert_eq!(r["source"], gz.to_str().unwrap());

    let stdin = std::fs::File::open(&gz).unwrap();
    let (code, out, err) = run(osdoctor()
        .args(["kernel-log", "--format", "json", "--file", "-"])
        .stdin(stdin));
    let r: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    assert_eq!(code, 1);
    assert_eq!(
        (r["source"].as_str(), r["events"][0]["pid"].as_u64()),
        (Some("-"), Some(9))
    );

    // A gzip bomb stops at the cap: 200 MiB of zeros is refused, not read whole.
    let bomb = dir.path().join("bomb.gz");
    let mut gzip = Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::fs::File::create(&bomb).unwrap())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut input = gzip.stdin.take().unwrap();
        let zeros = vec![b'\n'; 1 << 20];
        for _ in 0..200 {
            input.write_all(&zeros).unwrap();
        }
    }
    assert!(gzip.wait().unwrap().success());
    let (code, _, err) = run(osdoctor().args(["kernel-log", "--file", bomb.to_str().unwrap()]));
    assert_eq!(code, 3);
    assert!(err.contains("larger than 128 MiB"), "{err}");
}
