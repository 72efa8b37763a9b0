//! Per-process checks against conditions induced on this machine's kernel with examples/loadgen.rs:
//! fds near the soft limit, unreaped zombies, a thread ping-pong storm, a listener under the default
//! fd limit; a root tree with a FIFO for a /proc file; a run as an unprivileged user.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

/// The findings of a rule.
fn all<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

/// The finding of a rule on one process.
fn on_pid<'a>(report: &'a Value, rule: &str, pid: i32) -> Option<&'a Value> {
    all(report, rule).into_iter().find(|f| f["subject"]["pid"] == pid)
}

#[test]
fn fds_near_the_soft_limit_are_named_with_count_and_limit() {
    let near = Load::start(&[
        "fds",
        "240",
        "--nofile",
        "256",
        "--secs",
        "60",
        "password=hunter2",
    ]);
    let far = Load::start(&["fds", "50", "--nofile", "256", "--secs", "60"]);
    let (near_pid, far_pid) = (near.pid().to_string(), far.pid().to_string());
    let (code, report) = check_json(&["--interval", "0.2", "--pid", &near_pid, "--pid", &far_pid]);
    assert_ne!(code, 3, "{report:#}");
    let f = on_pid(&report, "fd.process_near_limit", near.pid()).unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(f["subject"]["kind"], "process");
    assert_eq!(f["subject"]["comm"], "loadgen");
    assert_eq!(f["subject"]["user"], "root");
    assert!(f["subject"]["cgroup"].is_string(), "{f:#}");
    // 240 opened plus stdin, stdout and stderr.
    let open = evidence(f, "proc.fd.open");
    assert!((240.0..=250.0).contains(&open), "{f:#}");
    assert_eq!(evidence(f, "proc.fd.limit_soft"), 256.0);
    assert!(
        f["summary"].as_str().unwrap().contains("of a soft limit of 256"),
        "{f:#}"
    );
    assert!(["warning", "critical"].contains(&f["severity"].as_str().unwrap()));
    // What the fds are, summing to the count.
    let breakdown = f["evidence"]["proc.fd.breakdown"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{f:#}"));
    assert!(breakdown.starts_with(&format!("{open} fds: ")), "{breakdown}");
    // The command line is shown, redacted.
    let cmd = f["subject"]["cmdline"].as_str().expect("cmdline");
    assert!(
        cmd.contains("fds 240") && cmd.contains("password=[REDACTED]"),
        "{cmd}"
    );
    assert!(!cmd.contains("hunter2"), "{cmd}");
    // 50 of 256 is quiet.
    assert!(
        on_pid(&report, "fd.process_near_limit", far.pid()).is_none(),
        "{report:#}"
    );

    // --pid focuses the process rules; --no-redact shows the secret.
    let (_, report) = check_json(&["--interval", "0", "--pid", &far_pid, "--no-redact"]);
    assert!(all(&report, "fd.process_near_limit").is_empty(), "{report:#}");
    let (_, report) = check_json(&["--interval", "0", "--pid", &near_pid, "--no-redact"]);
    let f = on_pid(&report, "fd.process_near_limit", near.pid()).expect("named");
    assert!(
        f["subject"]["cmdline"]
            .as_str()
            .unwrap()
            .contains("password=hunter2")
    );
    // The table shows it too.
    let (_, out, _) = run(osdoctor().args(["check", "--interval", "0", "--pid", &near_pid]));
    let line = out
        .lines()
        .find(|l| l.contains("fd.process_near_limit"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains(&format!("pid {near_pid} (loadgen)")), "{line}");
    assert!(
        out.contains("cmd:  ") && out.contains("password=[REDACTED]"),
        "{out}"
    );
}

#[test]
fn a_parent_that_does_not_reap_30_children_is_named() {
    let parent = Load::start(&["zombies", "30", "--secs", "60"]);
    let (code, report) = check_json(&["--interval", "0.3"]);
    assert_ne!(code, 3, "{report:#}");
    let f = finding(&report, "proc.zombies").unwrap_or_else(|| panic!("{report:#}"));
    assert!(evidence(f, "host.tasks.zombies") >= 30.0, "{f:#}");
    let parents = f["evidence"]["host.zombie_parents"]["value"].as_str().unwrap();
    assert!(
        parents.contains(&format!("pid {} (loadgen, user root", parent.pid()))
            && parents.contains("has 30 unreaped zombie children"),
        "{parents}"
    );
    assert!(f["summary"].as_str().unwrap().contains("30 unreaped"), "{f:#}");
}

#[test]
fn eight_threads_ping_ponging_are_named_as_the_storm_source() {
    let _lock = machine_lock();
    let storm = Load::start(&["pingpong", "4", "--secs", "30"]);
    std::thread::sleep(Duration::from_millis(300));
    let (_, report) = check_json(&["--interval", "1"]);
    let f = on_pid(&report, "proc.context_switch_storm", storm.pid()).unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(f["subject"]["comm"], "loadgen");
    assert_eq!(
        evidence(f, "proc.threads"),
        9.0,
        "eight ping-pong threads and main: {f:#}"
    );
    assert!(evidence(f, "proc.ctxt_rate") >= 20_000.0, "{f:#}");
    // Pipe ping-pong blocks on every read: voluntary switches.
    assert!(
        evidence(f, "proc.voluntary_ctxt_rate") > evidence(f, "proc.nonvoluntary_ctxt_rate"),
        "{f:#}"
    );
    assert!(
        f["summary"].as_str().unwrap().contains("mostly voluntary"),
        "{f:#}"
    );
    let host = finding(&report, "cpu.context_switch_storm").expect("host storm");
    let top = host["evidence"]["host.top_ctxt_processes"]["value"]
        .as_str()
        .unwrap();
    assert!(
        top.starts_with(&format!("pid {} (loadgen", storm.pid())),
        "the storm's source comes first: {top}"
    );
}

#[test]
fn a_listener_under_the_default_fd_limit_is_a_config_warning() {
    let low = Load::start(&["listen", "--nofile", "1024", "--secs", "60"]);
    let high = Load::start(&["listen", "--nofile", "4096", "--secs", "60"]);
    let port = low.words[2].clone();
    let (low_pid, high_pid) = (low.pid().to_string(), high.pid().to_string());
    let (_, report) = check_json(&["--interval", "0", "--pid", &low_pid, "--pid", &high_pid]);
    let f =
        on_pid(&report, "limits.nofile_low_for_server", low.pid()).unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["use"], "config");
    assert_eq!(evidence(f, "proc.fd.limit_soft"), 1024.0);
    assert_eq!(evidence(f, "proc.listen_sockets"), 1.0);
    assert_eq!(f["evidence"]["proc.listen_ports"]["value"], port.as_str());
    assert!(
        f["summary"].as_str().unwrap().contains(&format!("port {port}")),
        "{f:#}"
    );
    assert!(on_pid(&report, "limits.nofile_low_for_server", high.pid()).is_none());
}

#[test]
fn a_fifo_for_a_proc_file_is_listed_and_the_report_comes_out_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let proc_ = dir.path().join("proc");
    let src = fixture("healthy").join("sample1/proc");
    copy_tree(&src, &proc_);
    let pid = proc_.join("4242");
    std::fs::create_dir_all(&pid).unwrap();
    std::fs::copy("/proc/self/stat", pid.join("stat")).unwrap();
    let fifo = pid.join("status");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success(),
        "mkfifo"
    );
    let started = Instant::now();
    let (code, report) = check_json(&[
        "--root",
        dir.path().to_str().unwrap(),
        "--interval",
        "0.2",
        "--timeout",
        "2",
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(report["partial"], false);
    assert_ne!(code, 3, "{report:#}");
    let listed = report["coverage"]["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == "/proc/4242/status")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(listed["kind"], "unreadable");
    assert!(listed["reason"].as_str().unwrap().contains("FIFO"), "{listed}");
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn an_unprivileged_run_still_reports_and_says_what_it_could_not_read() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root to switch to an unprivileged user");
        return;
    }
    // A root-owned listener with a low fd limit: its fd links are what nobody cannot read.
    let listener = Load::start(&["listen", "--nofile", "1024", "--secs", "60"]);
    let exe = env!("CARGO_BIN_EXE_osdoctor");
    let probe = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            exe,
            "--version",
        ])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: setpriv cannot run osdoctor as uid 65534 here");
        return;
    }
    let (code, out, err) = run(std::process::Command::new("setpriv").args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        exe,
        "check",
        "--interval",
        "0.2",
        "--format",
        "json",
    ]));
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert_ne!(code, 3, "{report:#}");
    assert_ne!(report["status"], "unknown");
    let notes = notes(&report);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("not fully inspectable: run as root or with CAP_SYS_PTRACE")),
        "{notes:?}"
    );
    let denied = report["coverage"]["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == "/proc/[pid]/fd")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(denied["kind"], "denied");
    // One line for all of them, not one per process.
    let per_pid = report["coverage"]["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["path"]
                .as_str()
                .unwrap()
                .contains(&format!("/proc/{}/", listener.pid()))
        })
        .count();
    assert_eq!(per_pid, 0, "{report:#}");
}

#[test]
fn a_snapshot_replays_process_findings_with_their_command_lines() {
    let near = Load::start(&["fds", "250", "--nofile", "256", "--secs", "60", "token=s3cret"]);
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    let (code, _, err) = run(osdoctor()
        .args(["snapshot", "--interval", "0.3", "-o"])
        .arg(&snap));
    assert_eq!(code, 0, "{err}");
    let pid_dir = snap.join(format!("sample1/proc/{}", near.pid()));
    assert!(pid_dir.join("fd").is_dir(), "the fd entries are recorded");
    let recorded = std::fs::read(snap.join(format!("sample2/proc/{}/cmdline", near.pid()))).unwrap();
    let recorded = String::from_utf8_lossy(&recorded);
    assert!(
        recorded.contains("token=[REDACTED]") && !recorded.contains("s3cret"),
        "{recorded:?}"
    );
    drop(near);
    let pid = pid_dir
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .parse::<i32>()
        .unwrap();
    let (_, replayed) = check_json(&["--root", snap.to_str().unwrap()]);
    let f = on_pid(&replayed, "fd.process_near_limit", pid).unwrap_or_else(|| panic!("{replayed:#}"));
    assert!(evidence(f, "proc.fd.open") >= 250.0);
    assert!(
        f["subject"]["cmdline"]
            .as_str()
            .unwrap()
            .contains("token=[REDACTED]")
    );
    let captured: Value =
        serde_json::from_str(&std::fs::read_to_string(snap.join("report.json")).unwrap()).unwrap();
    let c = on_pid(&captured, "fd.process_near_limit", pid).expect("in the live run's report");
    assert_eq!(c["summary"], f["summary"]);
    assert_eq!(c["subject"], f["subject"]);
}

/// `/proc/self/stat` of this test, re-labelled as another process.
fn stat_line(pid: u32, comm: &str, state: char, threads: u32) -> String {
    let own = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = &own[own.rfind(')').unwrap() + 2..];
    let mut fields: Vec<String> = rest.split_whitespace().map(String::from).collect();
    fields[0] = state.to_string(); // (3) state
    fields[1] = "1".to_string(); // (4) ppid
    fields[17] = threads.to_string(); // (20) num_threads
    format!("{pid} ({comm}) {}\n", fields.join(" "))
}

/// A process directory of a hand-made root tree.
fn fake_process(
    proc_: &std::path::Path,
    pid: u32,
    comm: &str,
    state: char,
    threads: u32,
    extra_status: &str,
) {
    let d = proc_.join(pid.to_string());
    std::fs::create_dir_all(d.join("fd")).unwrap();
    std::fs::write(d.join("stat"), stat_line(pid, comm, state, threads)).unwrap();
    std::fs::write(
        d.join("status"),
        format!(
            "Name:\t{comm}\nState:\t{state}\nTgid:\t{pid}\nPid:\t{pid}\nPPid:\t1\nUid:\t1000\t1000\t1000\t1000\n\
             FDSize:\t64\nThreads:\t{threads}\nCapEff:\t0000000000000000\n{extra_status}\
             voluntary_ctxt_switches:\t10\nnonvoluntary_ctxt_switches:\t1\n"
        ),
    )
    .unwrap();
    let limits: String = std::fs::read_to_string("/proc/self/limits")
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("Max processes") {
                format!(
                    "{:<25} {:<20} {:<20} {:<10}\n",
                    "Max processes", 1000, 1000, "processes"
                )
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(d.join("limits"), limits).unwrap();
    std::fs::write(d.join("schedstat"), "0 0 0\n").unwrap();
    std::fs::write(d.join("cgroup"), "0::/test.slice/app.service\n").unwrap();
    std::fs::write(d.join("oom_score"), "0\n").unwrap();
    std::fs::write(d.join("wchan"), "rpc_wait_bit_killable").unwrap();
}

/// Conditions this VM cannot be put in safely (tasks stuck in D state, a privileged container, a full
/// disk, swap with a database, a user at its RLIMIT_NPROC) in a hand-made root tree: the healthy
/// fixture's host files plus made-up /proc/PID directories. Sampled twice like any root tree.
#[test]
fn a_hand_made_tree_exercises_the_rules_that_cannot_be_induced_here() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let proc_ = root.join("proc");
    copy_tree(&fixture("healthy").join("sample1/proc"), &proc_);
    let meminfo = std::fs::read_to_string(proc_.join("meminfo"))
        .unwrap()
        .replace("SwapTotal:             0 kB", "SwapTotal:       4194304 kB")
        .replace("SwapFree:              0 kB", "SwapFree:        4194304 kB");
    std::fs::write(proc_.join("meminfo"), meminfo).unwrap();
    std::fs::write(proc_.join("sys/kernel/cap_last_cap"), "40\n").unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("osdoctor")).unwrap();
    std::fs::write(root.join("osdoctor/statvfs"), "/\text4\t0.950000\t107374182400\n").unwrap();
    std::fs::write(root.join("osdoctor/deleted-fds"), "4030 3 2147483648\n").unwrap();
    // Five tasks stuck in D state (in both samples: the tree does not change).
    for pid in 4001..=4005 {
        fake_process(&proc_, pid, "nfsclient", 'D', 1, "");
    }
    fake_process(&proc_, 4010, "postgres", 'S', 1, "");
    // A container (two PID namespace levels) with every capability up to cap_last_cap 40.
    fake_process(
        &proc_,
        4020,
        "sh",
        'S',
        1,
        "NSpid:\t4020\t7\nCapEff:\t000001ffffffffff\n",
    );
    // A rotated log still held open.
    fake_process(&proc_, 4030, "logger", 'S', 1, "");
    std::os::unix::fs::symlink("/var/log/big.log (deleted)", proc_.join("4030/fd/3")).unwrap();
    // 900 threads: with the others, 908 tasks of user app against RLIMIT_NPROC 1000.
    fake_process(&proc_, 4040, "worker", 'S', 900, "");

    let (_, report) = check_json(&["--root", root.to_str().unwrap(), "--interval", "0.1"]);
    let d = finding(&report, "proc.uninterruptible").unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(evidence(d, "host.tasks.d_state"), 5.0);
    assert!(
        d["summary"].as_str().unwrap().contains(
            "pid 4001 (nfsclient, user app, cgroup /test.slice/app.service) in rpc_wait_bit_killable"
        ),
        "{d:#}"
    );
    let p = finding(&report, "sec.privileged_container").expect("privileged container");
    assert_eq!(p["subject"]["pid"], 4020);
    let del = finding(&report, "fd.deleted_open").expect("deleted files");
    assert_eq!(del["subject"]["pid"], 4030);
    assert_eq!(evidence(del, "proc.fd.deleted_bytes"), 2147483648.0);
    assert!(
        del["summary"]
            .as_str()
            .unwrap()
            .contains("/var/log/big.log (2.0 GiB)"),
        "{del:#}"
    );
    let n = finding(&report, "limits.nproc_near").expect("user near RLIMIT_NPROC");
    assert_eq!(n["subject"]["kind"], "user");
    assert_eq!(n["subject"]["user"], "app");
    assert_eq!(evidence(n, "user.tasks"), 908.0);
    assert_eq!(evidence(n, "user.nproc_soft"), 1000.0);
    let s = finding(&report, "config.swappiness_database").expect("swappiness with a database");
    assert!(
        s["summary"].as_str().unwrap().contains("postgres (pid 4010)"),
        "{s:#}"
    );
    // Command lines of D-state tasks are never read (and this tree has none anyway).
    assert!(d["subject"]["cmdline"].is_null());
}

/// A Python client with 200 connections to a loopback listener (a forked child) that closes them
/// (`close`: the client's sockets sit in CLOSE_WAIT) or keeps them open. The client sets its soft
/// RLIMIT_NOFILE to 1024, the systemd default, under which its fd links are read. Prints the client's
/// pid and the listener's port.
const CLOSE_WAIT_PY: &str = r#"
import os, resource, socket, sys, time
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
# Far from its limit: the pile is found by the CLOSE_WAIT survey, not the near-limit pass.
resource.setrlimit(resource.RLIMIT_NOFILE, (min(20000, hard), hard))
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(512)
port = srv.getsockname()[1]
if os.fork() == 0:
    held = []
    while True:
        c, _ = srv.accept()
        if sys.argv[1] == "close": c.close()
        else: held.append(c)
srv.close()
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
time.sleep(0.5)
print(os.getpid(), port, flush=True)
time.sleep(60)
"#;

struct PyClient {
    child: std::process::Child,
    pid: i32,
    port: u16,
}

impl PyClient {
    fn start(mode: &str) -> PyClient {
        let mut cmd = std::process::Command::new("python3");
        cmd.args(["-c", CLOSE_WAIT_PY, mode]);
        PyClient::spawn(cmd)
    }

    /// In a network namespace of its own (`unshare -n`, loopback up): `None` where that is refused.
    fn start_in_netns(mode: &str) -> Option<PyClient> {
        let ok = std::process::Command::new("unshare")
            .args(["-n", "ip", "link", "set", "lo", "up"])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return None;
        }
        let mut cmd = std::process::Command::new("unshare");
        cmd.args([
            "-n",
            "sh",
            "-c",
            "ip link set lo up && exec python3 -c \"$0\" \"$1\"",
            CLOSE_WAIT_PY,
            mode,
        ]);
        Some(PyClient::spawn(cmd))
    }

    fn spawn(mut cmd: std::process::Command) -> PyClient {
        use std::io::BufRead;
        use std::os::unix::process::CommandExt;
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("python3");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("pid and port");
        let mut w = line.split_whitespace();
        let pid = w
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{line}"));
        let port = w
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{line}"));
        PyClient { child, pid, port }
    }
}

impl Drop for PyClient {
    fn drop(&mut self) {
        // The client and its forked listener share a process group.
        kill_group(self.child.id() as i32);
        let _ = self.child.wait();
    }
}

fn kill_group(pgid: i32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status();
}

/// The CLOSE_WAIT pile of `client`, as `report` names it: 200 sockets to its own listener.
fn assert_close_wait_pile(report: &serde_json::Value, client: &PyClient) {
    let f = on_pid(report, "net.close_wait_leak", client.pid).unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert_eq!(evidence(f, "proc.fd.tcp_close_wait"), 200.0, "{f:#}");
    let peers = f["evidence"]["proc.fd.close_wait_peers"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{f:#}"));
    assert_eq!(peers, format!("127.0.0.1:{} (200)", client.port), "{f:#}");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{}", client.port)),
        "{f:#}"
    );
    let breakdown = f["evidence"]["proc.fd.breakdown"]["value"].as_str().unwrap();
    assert!(
        breakdown.contains(&format!("200 TCP (200 CLOSE_WAIT to 127.0.0.1:{})", client.port)),
        "{breakdown}"
    );
}

#[test]
fn a_close_wait_pile_far_from_the_fd_limit_is_named_and_healthy_connections_are_not() {
    let _lock = machine_lock();
    let leak = PyClient::start("close");
    let healthy = PyClient::start("keep");
    // The whole host: the survey finds the holder among every process, with no --pid to point at it.
    let (code, report) = check_json(&["--interval", "0"]);
    assert_ne!(code, 3, "{report:#}");
    assert_close_wait_pile(&report, &leak);
    assert!(
        on_pid(&report, "net.close_wait_leak", healthy.pid).is_none(),
        "{report:#}"
    );
    assert!(
        !report["coverage"]["not_evaluated"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule"] == "net.close_wait_leak"),
        "{:#}",
        report["coverage"]
    );
}

#[test]
fn a_close_wait_pile_in_another_network_namespace_is_named() {
    let _lock = machine_lock();
    let Some(leak) = PyClient::start_in_netns("close") else {
        eprintln!("skipped: unshare -n (a network namespace) is refused here");
        return;
    };
    let (code, report) = check_json(&["--interval", "0", "--pid", &leak.pid.to_string()]);
    assert_ne!(code, 3, "{report:#}");
    assert_close_wait_pile(&report, &leak);
}

#[test]
fn a_snapshot_records_the_classified_table_not_the_paths_and_replays_the_close_wait_finding() {
    let _lock = machine_lock();
    let leak = PyClient::start("close");
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    let (code, _, err) = run(osdoctor()
        .args(["snapshot", "--interval", "0.3", "-o"])
        .arg(&snap));
    assert_eq!(code, 0, "{err}");
    // The fd links keep sockets and pipes; open files are recorded without their paths.
    let fd_dir = snap.join(format!("sample1/proc/{}/fd", leak.pid));
    let targets: Vec<String> = std::fs::read_dir(&fd_dir)
        .unwrap()
        .map(|e| {
            std::fs::read_link(e.unwrap().path())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        targets.iter().filter(|t| t.starts_with("socket:[")).count(),
        200,
        "{targets:?}"
    );
    assert!(
        !targets
            .iter()
            .any(|t| t.starts_with('/') && !t.ends_with(" (deleted)")),
        "{targets:?}"
    );
    // What the pass concluded is recorded, and the namespace's TCP table is not.
    let record = std::fs::read_to_string(snap.join("sample1/osdoctor/fd-tables")).unwrap();
    let mine = record
        .lines()
        .find(|l| l.starts_with(&format!("{{\"pid\":{},", leak.pid)))
        .unwrap_or_else(|| panic!("{record}"));
    assert!(mine.contains("\"CLOSE_WAIT\":200"), "{mine}");
    assert!(!snap.join(format!("sample1/proc/{}/net/tcp", leak.pid)).exists());
    let live: Value =
        serde_json::from_str(&std::fs::read_to_string(snap.join("report.json")).unwrap()).unwrap();
    let captured = on_pid(&live, "net.close_wait_leak", leak.pid).unwrap_or_else(|| panic!("{live:#}"));
    drop(leak);
    let (_, replayed) = check_json(&["--root", snap.to_str().unwrap()]);
    let pid = captured["subject"]["pid"].as_i64().unwrap() as i32;
    let f = on_pid(&replayed, "net.close_wait_leak", pid).unwrap_or_else(|| panic!("{replayed:#}"));
    assert_eq!(f["summary"], captured["summary"]);
    assert_eq!(f["evidence"], captured["evidence"]);
    assert_eq!(f["severity"], "warning");
}
