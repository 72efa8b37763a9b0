//! Running osdoctor across a fleet: `-o FILE` written atomically, `--every` until SIGTERM, shell
//! completions, `--ignore`, the Kubernetes DaemonSet (validated offline with `kubernetes-validate`
//! when installed) and `--root` over a recursive bind mount of this host's / (as root).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

/// The names in a directory, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn output_file_is_whole_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("osdoctor.prom");
    // A stale, longer file is replaced, not overwritten in place.
    std::fs::write(&prom, "x".repeat(1 << 20)).unwrap();
    let (code, out, err) = run(osdoctor()
        .args(["check", "--format", "prometheus", "-o"])
        .arg(&prom)
        .arg("--root")
        .arg(fixture("cpu-saturation")));
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "the report went to the file: {out}");
    let text = std::fs::read_to_string(&prom).unwrap();
    assert_eq!(series_value(&text, "osdoctor_status"), Some(2.0), "{text}");
    assert!(text.ends_with('\n') && !text.contains("xxxx"), "{text}");
    assert_clean_prometheus("check -o", &text);
    assert_eq!(names(dir.path()), ["osdoctor.prom"]);
    // The same bytes as standard output.
    let (_, stdout, _) = run(osdoctor()
        .args(["check", "--format", "prometheus", "--root"])
        .arg(fixture("cpu-saturation")));
    assert_eq!(
        stdout
            .lines()
            .filter(|l| !l.contains("_seconds"))
            .collect::<Vec<_>>(),
        text.lines()
            .filter(|l| !l.contains("_seconds"))
            .collect::<Vec<_>>()
    );
    // A directory that does not exist: exit 3, said, nothing left behind.
    let missing = dir.path().join("no/such/osdoctor.prom");
    let (code, _, err) = run(osdoctor()
        .args(["check", "-o"])
        .arg(&missing)
        .arg("--root")
        .arg(fixture("healthy")));
    assert_eq!(code, 3);
    assert!(err.contains("no/such/osdoctor.prom"), "{err}");
    assert_eq!(names(dir.path()), ["osdoctor.prom"]);
}

/// `cgroup` and `kernel-log` take -o too, written the same way.
#[test]
fn every_command_with_a_report_writes_o_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let log = repo().join("tests/data/kernel_log/induced-6.18-memcg-v1-oom.dmesg");
    for (name, args) in [
        (
            "cgroup.json",
            vec![
                "cgroup".to_string(),
                "/".to_string(),
                "--root".to_string(),
                fixture("v2-pod-systemd-containerd").display().to_string(),
            ],
        ),
        (
            "kernel-log.json",
            vec![
                "kernel-log".to_string(),
                "--file".to_string(),
                log.display().to_string(),
            ],
        ),
    ] {
        let out = dir.path().join(name);
        let (code, stdout, err) = run(osdoctor().args(&args).args(["--format", "json", "-o"]).arg(&out));
        assert!((0..=3).contains(&code), "{args:?}: {err}");
        assert!(stdout.is_empty(), "{stdout}");
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert!(report["findings"].is_array(), "{report}");
    }
    assert_eq!(names(dir.path()), ["cgroup.json", "kernel-log.json"]);
}

#[test]
fn every_repeats_until_sigterm_then_exits_0_with_the_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("osdoctor.json");
    let state = dir.path().join("state.json");
    let mut child = osdoctor()
        .args([
            "check",
            "--every",
            "1s",
            "--interval",
            "0",
            "--format",
            "json",
            "-o",
        ])
        .arg(&out)
        .arg("--state")
        .arg(&state)
        .arg("--root")
        .arg(fixture("cpu-saturation"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let sent = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let waited = sent.elapsed();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(waited < Duration::from_secs(1), "took {waited:?} to stop");
    assert!(output.stdout.is_empty());
    // One line per run on standard error, and the stop.
    let runs = stderr
        .lines()
        .filter(|l| l.contains(": CRITICAL, wrote "))
        .count();
    assert!(runs >= 2, "{stderr}");
    assert!(
        stderr.contains(&format!("stopped by a signal after {runs} runs")),
        "{stderr}"
    );
    // The report is whole, and every run recorded in the state.
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["status"], "critical");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["runs"].as_array().unwrap().len(), runs, "{stderr}");
    let mut left = names(dir.path());
    left.retain(|n| !n.starts_with("state.json"));
    assert_eq!(left, ["osdoctor.json"]);
}

#[test]
fn every_refuses_what_is_not_a_duration() {
    for bad in ["soon", "0s", "all", "5"] {
        let (code, _, err) = run(osdoctor().args(["check", "--every", bad]));
        assert_eq!(code, 3, "--every {bad}: {err}");
        assert!(err.contains("--every"), "{err}");
    }
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = run(osdoctor().args(["completions", shell]));
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains("check") && out.contains("--root"), "{shell}: {out}");
        assert!(out.contains("--ignore") && out.contains("kernel-log"), "{shell}");
        if shell == "bash" {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("osdoctor.bash");
            std::fs::write(&file, &out).unwrap();
            let (code, _, err) = run(std::process::Command::new("bash").arg("-n").arg(&file));
            assert_eq!(code, 0, "bash -n: {err}");
        }
    }
    let (code, _, err) = run(osdoctor().args(["completions", "tcsh"]));
    assert_eq!(code, 3, "{err}");
}

/// (rule, subject kind, severity) of the findings, as `findings` gives them.
fn rules_of(report: &Value) -> Vec<String> {
    findings(report).into_iter().map(|(rule, _, _)| rule).collect()
}

#[test]
fn ignored_findings_are_not_shown_not_counted_and_listed_in_coverage() {
    let root = fixture("fd-near-limit");
    let root = root.to_str().unwrap();
    let (code, all) = check_json(&["--root", root]);
    assert_eq!(code, 2);
    assert_eq!(
        rules_of(&all),
        [
            "cpu.pressure",
            "fd.process_near_limit",
            "io.pressure",
            "limits.nofile_low_for_server",
            "mem.oom_kill_count",
            "mem.page_cache_thrashing"
        ]
    );
    assert_eq!(all["coverage"]["ignored"], serde_json::json!([]));
    // The two critical findings ignored: a warning is left, exit 1.
    let (code, report) = check_json(&[
        "--root",
        root,
        "--ignore",
        "cpu.*",
        "--ignore",
        "fd.process_near_limit:pid * (loadgen)",
    ]);
    assert_eq!(code, 1);
    assert_eq!(report["status"], "warning");
    assert_eq!(
        rules_of(&report),
        [
            "io.pressure",
            "limits.nofile_low_for_server",
            "mem.oom_kill_count",
            "mem.page_cache_thrashing"
        ]
    );
    assert_eq!(
        report["coverage"]["ignored"],
        serde_json::json!([
            {"rule": "cpu.pressure", "severity": "critical", "subject": "host", "pattern": "cpu.*"},
            {"rule": "fd.process_near_limit", "severity": "critical", "subject": "pid 18964 (loadgen)",
             "pattern": "fd.process_near_limit:pid * (loadgen)"},
        ])
    );
    // No diagnosis names an ignored finding.
    let text = report["diagnoses"].to_string();
    assert!(
        !text.contains("cpu.pressure") && !text.contains("fd.process_near_limit"),
        "{text}"
    );
    // A subject pattern that matches nothing ignores nothing.
    let (code, report) = check_json(&["--root", root, "--ignore", "fd.process_near_limit:* (java)"]);
    assert_eq!(code, 2);
    assert_eq!(rules_of(&report), rules_of(&all));
    // The table says how many were ignored.
    let (code, out, _) = run(osdoctor().args(["check", "--root", root, "--ignore", "cpu.*"]));
    assert_eq!(code, 2);
    assert!(out.contains("\n1 finding ignored (--ignore"), "{out}");
    assert!(!out.contains("cpu.pressure"), "{out}");
    // Prometheus counts them, so a fleet sees how much each node leaves out.
    let (_, out, _) = run(osdoctor().args([
        "check",
        "--format",
        "prometheus",
        "--root",
        root,
        "--ignore",
        "cpu.*",
    ]));
    assert_eq!(
        series_value(&out, "osdoctor_findings_ignored"),
        Some(1.0),
        "{out}"
    );
    assert_clean_prometheus("--ignore", &out);
}

#[test]
fn ignoring_a_cause_keeps_its_effects_and_says_what_explained_them() {
    let root = fixture("story-fd-leak");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ignore");
    std::fs::write(
        &file,
        "# a leak we know about\nfd.process_near_limit:* (loadgen)   # ticket 42\n\n",
    )
    .unwrap();
    let (code, report) = check_json(&[
        "--root",
        root.to_str().unwrap(),
        "--ignore-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "its effects are critical and still count");
    assert_eq!(
        rules_of(&report),
        ["fd.system_near_limit", "kernel.file_max_reached"]
    );
    let notes = report["coverage"]["notes"].to_string();
    assert!(
        notes.contains(
            "ignored fd.process_near_limit pid 23169 (loadgen) explains 2 findings shown without it"
        ),
        "{notes}"
    );
    // Every finding left is still in exactly one diagnosis.
    let members: usize = report["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| 1 + d["effects"].as_array().unwrap().len())
        .sum();
    assert_eq!(members, 2);
    // A bad line names the file and line; exit 3.
    std::fs::write(&file, "net.*\n:pid 1\n").unwrap();
    let (code, _, err) = run(osdoctor()
        .args(["check", "--root"])
        .arg(&root)
        .arg("--ignore-file")
        .arg(&file));
    assert_eq!(code, 3);
    assert!(err.contains(&format!("{}:2: ", file.display())), "{err}");
}

/// SIGTERM to a child, then its exit status and how long it took to exit (at most 5 s).
fn terminate(child: &mut std::process::Child) -> (std::process::ExitStatus, Duration) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let sent = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return (s, sent.elapsed());
        }
        if sent.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("still running 5 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

const DAEMONSET: &str = "deploy/kubernetes/daemonset.yaml";

/// `kubernetes-validate` (PyPI; .ci/run installs it in a venv), or `None`, the reason printed.
fn kubernetes_validate() -> Option<std::process::Command> {
    let venv = Path::new("/opt/osdoctor-ci/kubernetes-validate/bin/kubernetes-validate");
    for program in [Path::new("kubernetes-validate"), venv] {
        let works = std::process::Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if works {
            return Some(std::process::Command::new(program));
        }
    }
    println!(
        "skipping the DaemonSet schema validation: no kubernetes-validate command (pip install kubernetes-validate; .ci/run does)"
    );
    None
}

/// The manifest validates against the Kubernetes schemas bundled in kubernetes-validate (offline:
/// it fetches nothing), strictly (an unknown field is an error, as a typo like `hostPid` must be).
#[test]
fn daemonset_validates_against_the_kubernetes_schemas() {
    let Some(mut validate) = kubernetes_validate() else {
        return;
    };
    // Python starting twice is CPU the live tests would see as load.
    let _lock = machine_lock();
    let manifest = repo().join(DAEMONSET);
    let (code, out, err) = run(validate.args(["--strict"]).arg(&manifest));
    assert_eq!(code, 0, "{out}{err}");
    for kind in [
        "namespace/osdoctor",
        "serviceaccount/osdoctor",
        "daemonset/osdoctor",
    ] {
        assert!(out.contains(&format!("passed for resource {kind}")), "{out}{err}");
    }
    // The validator does reject a wrong manifest: the check above is not vacuous.
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&typo, text.replace("hostPID: true", "hostPid: true")).unwrap();
    let (code, out, err) = run(kubernetes_validate().unwrap().arg("--strict").arg(&typo));
    assert_ne!(code, 0, "{out}{err}");
    assert!(format!("{out}{err}").contains("hostPid"), "{out}{err}");
}

/// The list of `key:` under the line `add:` of the manifest, comments skipped.
fn list_after(text: &str, key: &str) -> Vec<String> {
    let start = text
        .find(&format!("{key}\n"))
        .unwrap_or_else(|| panic!("no {key}"));
    text[start..]
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .take_while(|l| l.starts_with("- "))
        .map(|l| l[2..].to_string())
        .collect()
}

/// What the DaemonSet must ask for, and its command line run by this osdoctor: the node's root
/// (here a fixture) at /host, once a minute, the textfile written, stopped cleanly by SIGTERM.
#[test]
fn daemonset_asks_for_the_node_and_no_more_and_its_command_line_works() {
    let text = std::fs::read_to_string(repo().join(DAEMONSET)).unwrap();
    for line in [
        "hostPID: true",
        "hostNetwork: true",
        "path: /\n",
        "mountPath: /host\n              readOnly: true\n",
        "mountPropagation: HostToContainer",
        "path: /var/lib/osdoctor\n",
        "path: /var/lib/node_exporter/textfile_collector\n",
        "runAsUser: 0",
        "readOnlyRootFilesystem: true",
        "allowPrivilegeEscalation: false",
        "privileged: false",
        "drop: [\"ALL\"]",
        "- operator: Exists",
        "automountServiceAccountToken: false",
        "requests:\n              cpu: 50m\n              memory: 64Mi",
        "limits:\n              cpu: 200m\n              memory: 128Mi",
    ] {
        assert!(text.contains(line), "{DAEMONSET} lacks {line:?}");
    }
    assert_eq!(
        list_after(&text, "add:"),
        ["SYS_PTRACE", "DAC_READ_SEARCH", "SYSLOG"]
    );
    // The container's arguments, a flow sequence of quoted strings (JSON).
    let start = text.find("args: [").unwrap() + "args: ".len();
    let end = start + text[start..].find(']').unwrap() + 1;
    let args: Vec<String> = serde_json::from_str(&text[start..end]).unwrap();
    let joined = args.join(" ");
    for part in [
        "check --root /host",
        "--every 1m",
        "--state /var/lib/osdoctor/state.json",
        "--format prometheus",
        "-o /var/lib/node_exporter/textfile_collector/osdoctor.prom",
    ] {
        assert!(joined.contains(part), "{joined}");
    }
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("osdoctor.prom");
    let args: Vec<String> = args
        .iter()
        .map(|a| match a.as_str() {
            "/host" => fixture("healthy").display().to_string(),
            "/var/lib/osdoctor/state.json" => dir.path().join("state.json").display().to_string(),
            "/var/lib/node_exporter/textfile_collector/osdoctor.prom" => prom.display().to_string(),
            _ => a.clone(),
        })
        .collect();
    let mut child = osdoctor()
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let begun = Instant::now();
    while !prom.exists() && begun.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, took) = terminate(&mut child);
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(1), "{took:?}");
    let out = std::fs::read_to_string(&prom).expect("the textfile was written");
    assert_eq!(series_value(&out, "osdoctor_status"), Some(0.0), "{out}");
    assert_clean_prometheus("the DaemonSet's textfile", &out);
}

/// A recursive bind mount of a directory, in a mount namespace of its own (`unshare -m`): the
/// mounts never appear in this process's namespace, where other tests read /proc/self/mountinfo,
/// and end with the namespace. The guard still unmounts (`umount -R`) anything that did appear
/// here, and removes the mount point only with rmdir, which refuses a non-empty directory: never a
/// recursive removal over a mount of /.
struct MountPoint(std::path::PathBuf);

impl MountPoint {
    fn mounted_here(&self) -> bool {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .any(|l| l.split(' ').nth(4) == Some(self.0.to_str().unwrap()))
    }
}

impl Drop for MountPoint {
    fn drop(&mut self) {
        if self.mounted_here() {
            let _ = std::process::Command::new("umount")
                .arg("-R")
                .arg(&self.0)
                .status();
        }
        if !self.mounted_here() {
            let _ = std::fs::remove_dir(&self.0);
        }
    }
}

/// `--root` on `mount --rbind / DIR`, as a DaemonSet's hostPath of / is: the host itself is
/// reported (its hostname, kernel, CPUs, processes and kernel log), without a panic.
#[test]
fn root_on_a_recursive_bind_mount_of_this_hosts_root_reports_the_host() {
    if !rustix::process::geteuid().is_root() {
        println!("skipping the rbind test: needs root (mount)");
        return;
    }
    // A whole live check, run next to the live tests' induced conditions, would blur both.
    let _lock = machine_lock();
    let dir = MountPoint(std::env::temp_dir().join(format!("osdoctor-rbind-{}", std::process::id())));
    std::fs::create_dir(&dir.0).unwrap();
    let state_dir = tempfile::tempdir().unwrap();
    let state = state_dir.path().join("state.json");
    let script = r#"mount --rbind / "$0" && mount --make-rslave "$0" || exit 97
trap 'umount -R "$0"' EXIT
"$@""#;
    let out = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script])
        .arg(&dir.0)
        .arg(env!("CARGO_BIN_EXE_osdoctor"))
        .args(["check", "--format", "json", "--root"])
        .arg(&dir.0)
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    if out.status.code() == Some(97) {
        println!("skipping the rbind test: cannot bind-mount / here: {stderr}");
        return;
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        (0..=2).contains(&out.status.code().unwrap_or(-1)),
        "{}: {stderr}",
        out.status
    );
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    let host = &report["host"];
    assert_eq!(host["root"], dir.0.to_str().unwrap());
    let live = |p: &str| std::fs::read_to_string(p).unwrap().trim().to_string();
    assert_eq!(host["hostname"], live("/proc/sys/kernel/hostname"));
    assert_eq!(host["kernel"], live("/proc/sys/kernel/osrelease"));
    assert!(host["cpus"].as_u64().is_some_and(|n| n >= 1), "{host}");
    assert_eq!(report["partial"], false, "{stderr}");
    let read: Vec<&str> = report["coverage"]["read"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // The processes were seen, and the kernel log was read or its rules say why not.
    assert!(read.contains(&"/proc/[pid]/stat"), "{read:?}");
    let kmsg_read = read.contains(&"/dev/kmsg");
    let kmsg_why = report["coverage"]["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| {
            n["rule"].as_str().unwrap().starts_with("kernel.") && !n["reason"].as_str().unwrap().is_empty()
        });
    assert!(kmsg_read || kmsg_why, "{:#}", report["coverage"]);
    // A running host read through a mount (its /proc a procfs): its gauges are trend points, as the
    // DaemonSet needs (a copied tree or a snapshot adds none).
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["history"]["runs"], 1, "{:?}", report["coverage"]["notes"]);
    assert!(!dir.mounted_here(), "the bind mount leaked into this namespace");
}

/// SIGTERM during a run (here a live one, sampling over 2 s) lets that run finish and write its
/// report before the exit 0; a second signal does not wait, and exits 3.
#[test]
fn every_finishes_the_run_in_progress_and_a_second_signal_does_not_wait() {
    let _lock = machine_lock();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("osdoctor.json");
    let start = || {
        osdoctor()
            .args([
                "check",
                "--every",
                "1m",
                "--interval",
                "2",
                "--format",
                "json",
                "-o",
            ])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut child = start();
    std::thread::sleep(Duration::from_millis(500));
    let (status, took) = terminate(&mut child);
    assert_eq!(status.code(), Some(0));
    assert!(
        took >= Duration::from_millis(1000),
        "the run was cut short: {took:?}"
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(
        report["interval_s"].as_f64().unwrap() >= 1.9,
        "{}",
        report["interval_s"]
    );
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(
        stderr.contains("run 1: ") && stderr.contains("after 1 runs"),
        "{stderr}"
    );

    std::fs::remove_file(&out).unwrap();
    let mut child = start();
    std::thread::sleep(Duration::from_millis(500));
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let (status, took) = terminate(&mut child);
    assert_eq!(status.code(), Some(3));
    assert!(took < Duration::from_millis(500), "{took:?}");
    assert!(!out.exists(), "no report from the run cut short");
}
