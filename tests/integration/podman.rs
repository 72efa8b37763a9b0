//! osdoctor against real containers: podman with runc (crun refuses a hybrid host), as root, no
//! registry. Each container's root is a temporary directory holding busybox-static and
//! tests/helpers/ctrhog.c built with `gcc -static` (`podman run --rootfs DIR`); `--network none`;
//! explicit `--ulimit nofile/nproc` (podman's defaults exceed this host's hard nofile limit); a unique
//! name and `--rm`, and `podman rm -f` on drop, so a run cut short leaves nothing behind; podman runs
//! from a temporary directory (conmon writes a file named `oom` into its working directory);
//! `--cgroup-manager cgroupfs` unless systemd is PID 1.
//!
//! Each condition (an OOM kill under --memory 64m, throttling under --cpus 0.2, a pids limit, an fd
//! limit) is checked through `osdoctor check` (the finding names the container ID), `osdoctor cgroup
//! <id>`, `cgroup <12-char prefix>`, `cgroup <pid>` and a snapshot replay. Every test skips, printing
//! why, where podman cannot run (not root, podman, runc, busybox-static or gcc missing).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

/// A podman that can run containers here, and the root directory they run from.
pub(super) struct Podman {
    manager: &'static str,
    pub(super) rootfs: tempfile::TempDir,
    workdir: tempfile::TempDir,
}

fn skip(why: &str) -> Option<Podman> {
    eprintln!("skipped podman test: {why}");
    None
}

fn runs(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The podman to use, with a root directory built; `None` (printed why) where it cannot run.
pub(super) fn podman() -> Option<Podman> {
    if !rustix::process::geteuid().is_root() {
        return skip("not root (rootless podman cannot set cgroup v1 limits)");
    }
    if !runs("podman", &["--version"]) {
        return skip("podman is not installed (apt-get install podman runc conmon busybox-static)");
    }
    if !runs("runc", &["--version"]) {
        return skip("runc is not installed (apt-get install runc)");
    }
    let busybox = Path::new("/bin/busybox");
    let is_static = Command::new("file")
        .arg(busybox)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("statically linked"))
        // Without file(1), trust busybox-static's path.
        .unwrap_or(busybox.exists());
    if !busybox.exists() || !is_static {
        return skip("no static /bin/busybox (apt-get install busybox-static)");
    }
    // systemd as PID 1 can take podman's scopes; anything else (a container's init, a sandbox) cannot.
    let init = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
    let manager = if init.trim() == "systemd" {
        "systemd"
    } else {
        "cgroupfs"
    };
    let rootfs = tempfile::tempdir().expect("tempdir");
    let bin = rootfs.path().join("bin");
    for d in ["bin", "proc", "sys", "dev", "etc", "tmp"] {
        std::fs::create_dir_all(rootfs.path().join(d)).expect("mkdir in rootfs");
    }
    std::fs::copy(busybox, bin.join("busybox")).expect("copy busybox");
    for applet in ["sh", "sleep"] {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).expect("symlink applet");
    }
    let cc = Command::new("gcc")
        .args(["-static", "-pthread", "-O1", "-o"])
        .arg(bin.join("ctrhog"))
        .arg(repo().join("tests/helpers/ctrhog.c"))
        .output();
    match cc {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return skip(&format!(
                "gcc -static failed (no static libc? apt-get install libc6-dev): {}",
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        Err(e) => return skip(&format!("no gcc to build tests/helpers/ctrhog.c: {e}")),
    }
    Some(Podman {
        manager,
        rootfs,
        workdir: tempfile::tempdir().expect("tempdir"),
    })
}

/// A running (or finished) container; removed, forcibly, on drop.
pub(super) struct Container {
    pub(super) name: String,
    pub(super) id: String,
    workdir: PathBuf,
    manager: &'static str,
}

impl Podman {
    pub(super) fn cmd(&self) -> Command {
        podman_cmd(self.manager, self.workdir.path())
    }

    /// `podman run -d --rm` of `argv` in the test root, with `opts` (limits) added.
    pub(super) fn run(&self, what: &str, opts: &[&str], argv: &[&str]) -> Container {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("osdoctor-it-{what}-{}-{nanos}", std::process::id());
        let has = |flag: &str| opts.iter().any(|o| o.starts_with(flag));
        let mut cmd = self.cmd();
        cmd.args(["run", "-d", "--rm", "--name", &name, "--network", "none"]);
        if !has("nofile=") {
            cmd.args(["--ulimit", "nofile=1024:1024"]);
        }
        if !has("nproc=") {
            cmd.args(["--ulimit", "nproc=1024:1024"]);
        }
        cmd.args(opts).arg("--rootfs").arg(self.rootfs.path()).args(argv);
        let (code, out, err) = run(&mut cmd);
        let container = Container {
            name,
            id: out.trim().to_string(),
            workdir: self.workdir.path().to_path_buf(),
            manager: self.manager,
        };
        assert_eq!(code, 0, "podman run {opts:?} {argv:?}: {err}");
        assert_eq!(container.id.len(), 64, "podman run printed {out:?}: {err}");
        container
    }
}

fn podman_cmd(manager: &str, workdir: &Path) -> Command {
    let mut c = Command::new("podman");
    c.args(["--runtime", "runc", "--cgroup-manager", manager])
        .current_dir(workdir);
    c
}

impl Container {
    /// The host PID of the container's first process.
    fn pid(&self) -> i32 {
        let (code, out, err) = run(podman_cmd(self.manager, &self.workdir).args([
            "inspect",
            "--format",
            "{{.State.Pid}}",
            &self.name,
        ]));
        assert_eq!(code, 0, "podman inspect: {err}");
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("podman inspect pid: {out:?}"))
    }

    fn exists(&self) -> bool {
        runs_in(podman_cmd(self.manager, &self.workdir).args(["container", "exists", &self.name]))
    }
}

fn runs_in(cmd: &mut Command) -> bool {
    cmd.output().is_ok_and(|o| o.status.success())
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman_cmd(self.manager, &self.workdir)
            .args(["rm", "-f", "-t", "0", &self.name])
            .output();
    }
}

/// `osdoctor ARGS --format json`: exit code, report, stderr.
fn json(args: &[&str]) -> (i32, Value, String) {
    let (code, out, err) = run(osdoctor().args(args).args(["--format", "json"]));
    let v = serde_json::from_str(&out).unwrap_or(Value::Null);
    (code, v, err)
}

/// `osdoctor cgroup TARGET ARGS --format json`, which must produce a report.
fn cgroup_report(target: &str, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["cgroup", target];
    all.extend_from_slice(args);
    let (code, v, err) = json(&all);
    assert!(
        v.is_object(),
        "osdoctor cgroup {target} {args:?} (exit {code}): {err}"
    );
    (code, v)
}

/// Poll `osdoctor cgroup ID --interval 0` until `ready` says yes, for at most `secs`.
fn wait_for(id: &str, secs: u64, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (_, r, _) = json(&["cgroup", id, "--interval", "0"]);
        if r.is_object() && ready(&r["cgroups"][0]) {
            return r;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "{what} did not happen within {secs} s: {r:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Findings of `rule` in a report's top-level list whose subject names container `id`.
fn on_container<'a>(report: &'a Value, rule: &str, id: &str) -> Option<&'a Value> {
    report["findings"]
        .as_array()?
        .iter()
        .find(|f| f["rule"] == rule && f["subject"]["container_id"] == id)
}

fn rules(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["rule"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The target of `cgroup` resolved to this container, by whatever was typed.
fn assert_names_container(r: &Value, id: &str, kind: &str) {
    let t = &r["target"];
    assert_eq!(t["kind"], kind, "{t:#}");
    assert_eq!(t["container_id"], id, "{t:#}");
    assert_eq!(t["runtime"], "podman", "{t:#}");
    assert!(
        t["cgroup"].as_str().unwrap().contains(&format!("libpod-{id}")),
        "{t:#}"
    );
}

/// `check` and `cgroup ID` replayed from a snapshot taken now: `rule` names the container in both.
fn assert_snapshot_replays(id: &str, rule: &str) {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    let (code, _, err) = run(osdoctor()
        .args(["snapshot", "--interval", "0.5", "-o"])
        .arg(&snap));
    assert_eq!(code, 0, "snapshot: {err}");
    let root = snap.to_str().unwrap();
    let (_, replayed, err) = json(&["check", "--root", root]);
    assert!(
        on_container(&replayed, rule, id).is_some(),
        "check --root snapshot: no {rule} on container {id}: {:?} {err}",
        rules(&replayed)
    );
    let (_, r) = cgroup_report(id, &["--root", root]);
    assert_names_container(&r, id, "container_id");
    assert!(
        on_container(&r, rule, id).is_some(),
        "cgroup {id} --root snapshot: no {rule}: {r:#}"
    );
}

fn kmsg_readable() -> bool {
    std::fs::File::open("/dev/kmsg").is_ok()
}

#[test]
fn podman_an_oom_kill_under_64m_is_named_with_the_container() {
    let Some(p) = podman() else { return };
    let _lock = machine_lock();
    // The shell survives its child's OOM kill, so the container and its cgroup stay.
    let c = p.run(
        "oom",
        &["--memory", "64m", "--memory-swap", "64m"],
        &["/bin/sh", "-c", "/bin/ctrhog hog 256; exec sleep 600"],
    );
    wait_for(&c.id, 30, "the OOM kill", |v| {
        v["memory"]["events"]["oom_kill"] == 1
    });

    let (code, r) = cgroup_report(&c.id, &["--interval", "0.5"]);
    assert_eq!(code, 2, "{r:#}");
    assert_names_container(&r, &c.id, "container_id");
    let v = &r["cgroups"][0];
    assert_eq!(v["memory"]["limit_bytes"], 64u64 << 20, "{v:#}");
    let f = on_container(&r, "cgroup.oom_kill", &c.id).unwrap_or_else(|| panic!("{r:#}"));
    assert!(f["summary"].as_str().unwrap().contains("64.0 MiB"), "{f:#}");
    // The kernel log's kill is the container's: named with its ID, with the limit it hit.
    if kmsg_readable() {
        assert_oom_kill_of(&r, &c.id);
    }
    // I/O: the v1 blkio files on a v1 or hybrid host, with what they leave out; an io.stat that
    // cannot exist there is not listed as missing.
    if r["cgroup_mode"] != "v2" {
        let io = &v["io"];
        assert_eq!(io["version"], "v1", "{io:#}");
        assert!(io["note"].as_str().unwrap().contains("buffered writes"), "{io:#}");
        let unreadable = r["coverage"]["unreadable"].to_string();
        assert!(!unreadable.contains("io.stat"), "{unreadable}");
        assert!(!unreadable.contains("blkio"), "{unreadable}");
        let (_, table, _) = run(osdoctor().args(["cgroup", &c.id, "--interval", "0"]));
        let line = table
            .lines()
            .find(|l| l.starts_with("  io "))
            .unwrap_or_else(|| panic!("no io line: {table}"));
        assert!(line.contains("buffered writes"), "{line}");
    }

    let (code, r) = cgroup_report(&c.id[..12], &["--interval", "0"]);
    assert!(code >= 1, "{r:#}");
    assert_names_container(&r, &c.id, "container_id");
    assert!(on_container(&r, "cgroup.oom_kill", &c.id).is_some(), "{r:#}");

    let (_, r) = cgroup_report(&c.pid().to_string(), &["--interval", "0"]);
    assert_names_container(&r, &c.id, "pid");
    assert!(on_container(&r, "cgroup.oom_kill", &c.id).is_some(), "{r:#}");

    let (code, report, err) = json(&["check", "--interval", "0.5"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        on_container(&report, "cgroup.oom_kill", &c.id).is_some(),
        "check: {:?}",
        rules(&report)
    );
    if kmsg_readable() {
        let kill = on_container(&report, "mem.oom_kill", &c.id)
            .unwrap_or_else(|| panic!("check: no mem.oom_kill naming {}: {:?}", c.id, rules(&report)));
        assert_eq!(kill["subject"]["comm"], "ctrhog", "{kill:#}");
    } else {
        eprintln!("skipped the kernel-log half: /dev/kmsg cannot be read");
    }
    assert_snapshot_replays(&c.id, "cgroup.oom_kill");
}

#[test]
fn podman_a_container_whose_only_process_is_oom_killed_dies_and_check_still_names_it() {
    let Some(p) = podman() else { return };
    let _lock = machine_lock();
    let c = p.run(
        "oomdie",
        &["--memory", "64m", "--memory-swap", "64m"],
        &["/bin/ctrhog", "hog", "256"],
    );
    let start = Instant::now();
    while c.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{} still exists",
            c.name
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    if kmsg_readable() {
        let (_, report, err) = json(&["check", "--interval", "0", "--since", "10m"]);
        let kill = on_container(&report, "mem.oom_kill", &c.id).unwrap_or_else(|| {
            panic!(
                "check: no mem.oom_kill naming {}: {:?} {err}",
                c.id,
                rules(&report)
            )
        });
        assert_eq!(kill["subject"]["comm"], "ctrhog", "{kill:#}");
        assert!(
            kill["subject"]["cgroup"]
                .as_str()
                .unwrap()
                .ends_with(&format!("libpod-{}", c.id)),
            "{kill:#}"
        );
    } else {
        eprintln!("skipped the kernel-log half: /dev/kmsg cannot be read");
    }
    // The container and its cgroup are gone: `cgroup <id>` answers from the kernel log, saying so.
    if !kmsg_readable() {
        // Without the log nothing names it: exit 3, saying what was looked for.
        let (code, out, err) = run(osdoctor().args(["cgroup", &c.id[..12], "--interval", "0"]));
        assert_eq!(code, 3, "{out}{err}");
        assert!(err.contains("nothing matches"), "{err}");
        assert!(err.contains("libpod-<id>"), "{err}");
        return;
    }
    for target in [c.id.clone(), c.id[..12].to_string()] {
        let (code, r) = cgroup_report(&target, &["--interval", "0"]);
        assert_eq!(code, 2, "{target}: {r:#}");
        let t = &r["target"];
        assert_eq!(t["gone"], true, "{t:#}");
        assert_eq!(t["kind"], "container_id", "{t:#}");
        assert_eq!(t["container_id"], c.id.as_str(), "{t:#}");
        assert_eq!(t["runtime"], "podman", "{t:#}");
        assert!(
            t["cgroup"]
                .as_str()
                .unwrap()
                .ends_with(&format!("libpod-{}", c.id)),
            "{t:#}"
        );
        assert!(t["last_seen"].as_str().is_some(), "{t:#}");
        assert_eq!(r["cgroups"], Value::Array(Vec::new()));
        assert_oom_kill_of(&r, &c.id);
    }
    let (code, out, _) = run(osdoctor().args(["cgroup", &c.id[..12], "--interval", "0"]));
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(": gone, no such cgroup now; the kernel log last saw it at "),
        "{out}"
    );
    assert!(out.contains("of its cgroup's 64.0 MiB limit"), "{out}");
    // A snapshot holds the kernel log: its replay says the same.
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    let (code, _, err) = run(osdoctor().args(["snapshot", "--interval", "0", "-o"]).arg(&snap));
    assert_eq!(code, 0, "snapshot: {err}");
    let (_, r) = cgroup_report(&c.id[..12], &["--root", snap.to_str().unwrap()]);
    assert_eq!(r["target"]["gone"], true, "{r:#}");
    assert!(on_container(&r, "mem.oom_kill", &c.id).is_some(), "{r:#}");
}

/// `r` (a cgroup report) has a critical mem.oom_kill of ctrhog in container `id`, whose summary gives
/// the 64 MiB limit it hit and the victim's RSS.
fn assert_oom_kill_of(r: &Value, id: &str) {
    let kill = on_container(r, "mem.oom_kill", id)
        .unwrap_or_else(|| panic!("no mem.oom_kill naming {id}: {:?}", rules(r)));
    assert_eq!(kill["severity"], "critical", "{kill:#}");
    assert_eq!(kill["subject"]["kind"], "process", "{kill:#}");
    assert_eq!(kill["subject"]["comm"], "ctrhog", "{kill:#}");
    assert_eq!(
        kill["evidence"]["event.memcg_limit_bytes"]["value"],
        64u64 << 20,
        "{kill:#}"
    );
    let summary = kill["summary"].as_str().unwrap();
    assert!(
        summary.contains(" resident of its cgroup's 64.0 MiB limit"),
        "{summary}"
    );
}

#[test]
fn podman_a_busy_loop_under_0_2_cpus_is_throttled() {
    let Some(p) = podman() else { return };
    let _lock = machine_lock();
    let c = p.run(
        "cpu",
        &["--cpus", "0.2"],
        &["/bin/sh", "-c", "while :; do :; done"],
    );
    std::thread::sleep(Duration::from_millis(500));

    let (code, r) = cgroup_report(&c.id, &["--interval", "1"]);
    assert_eq!(code, 2, "{r:#}");
    assert_names_container(&r, &c.id, "container_id");
    let v = &r["cgroups"][0];
    assert_eq!(v["cpu"]["quota_cores"], 0.2, "{v:#}");
    let f = on_container(&r, "cgroup.cpu_throttled", &c.id).unwrap_or_else(|| panic!("{r:#}"));
    assert!(evidence(f, "cgroup.cpu.throttled_periods") >= 5.0, "{f:#}");

    let (_, r) = cgroup_report(&c.id[..12], &["--interval", "1"]);
    assert_names_container(&r, &c.id, "container_id");
    assert!(on_container(&r, "cgroup.cpu_throttled", &c.id).is_some(), "{r:#}");

    let (_, r) = cgroup_report(&c.pid().to_string(), &["--interval", "1"]);
    assert_names_container(&r, &c.id, "pid");
    assert_eq!(r["cgroups"][0]["cpu"]["quota_cores"], 0.2);
    assert!(on_container(&r, "cgroup.cpu_throttled", &c.id).is_some(), "{r:#}");

    let (_, report, err) = json(&["check", "--interval", "1"]);
    assert!(
        on_container(&report, "cgroup.cpu_throttled", &c.id).is_some(),
        "check: {:?} {err}",
        rules(&report)
    );
    assert_snapshot_replays(&c.id, "cgroup.cpu_throttled");
}

#[test]
fn podman_a_container_at_its_pids_limit_is_critical() {
    let Some(p) = podman() else { return };
    let _lock = machine_lock();
    let c = p.run("pids", &["--pids-limit", "16"], &["/bin/ctrhog", "forks", "1000"]);
    wait_for(&c.id, 30, "16 tasks", |v| v["pids"]["current"] == 16);

    let (code, r) = cgroup_report(&c.id, &["--interval", "0.5"]);
    assert_eq!(code, 2, "{r:#}");
    assert_names_container(&r, &c.id, "container_id");
    let v = &r["cgroups"][0];
    assert_eq!(v["pids"]["max"], 16, "{v:#}");
    assert!(v["pids"]["forks_refused"].as_u64().unwrap() >= 1, "{v:#}");
    let f = on_container(&r, "cgroup.pids_near_limit", &c.id).unwrap_or_else(|| panic!("{r:#}"));
    assert_eq!(f["severity"], "critical");
    // The kernel's one line per cgroup on the first refusal: the container's, with its ID.
    if kmsg_readable() {
        let f = on_container(&r, "cgroup.fork_rejected", &c.id)
            .unwrap_or_else(|| panic!("no cgroup.fork_rejected naming {}: {:?}", c.id, rules(&r)));
        assert_eq!(
            (&f["severity"], &f["subject"]["kind"]),
            (&Value::from("critical"), &Value::from("cgroup")),
            "{f:#}"
        );
    }

    let (_, r) = cgroup_report(&c.id[..12], &["--interval", "0"]);
    assert_names_container(&r, &c.id, "container_id");
    assert!(
        on_container(&r, "cgroup.pids_near_limit", &c.id).is_some(),
        "{r:#}"
    );

    let (_, r) = cgroup_report(&c.pid().to_string(), &["--interval", "0"]);
    assert_names_container(&r, &c.id, "pid");
    assert!(
        on_container(&r, "cgroup.pids_near_limit", &c.id).is_some(),
        "{r:#}"
    );

    let (_, report, err) = json(&["check", "--interval", "0.5"]);
    assert!(
        on_container(&report, "cgroup.pids_near_limit", &c.id).is_some(),
        "check: {:?} {err}",
        rules(&report)
    );
    if kmsg_readable() {
        assert!(
            on_container(&report, "cgroup.fork_rejected", &c.id).is_some(),
            "check: no cgroup.fork_rejected naming {}: {:?}",
            c.id,
            rules(&report)
        );
    }
    assert_snapshot_replays(&c.id, "cgroup.pids_near_limit");
}

#[test]
fn podman_a_process_near_its_nofile_limit_is_named_with_the_container() {
    let Some(p) = podman() else { return };
    let _lock = machine_lock();
    // 3 standard fds + 243 opened = 246 of 256.
    let c = p.run(
        "fds",
        &["--ulimit", "nofile=256:256"],
        &["/bin/ctrhog", "fds", "243"],
    );
    let pid = c.pid();
    wait_for(&c.id, 30, "246 open fds", |v| {
        v["processes"]["shown"].as_array().is_some_and(|s| {
            s.iter()
                .any(|p| p["pid"] == pid && p["fds"].as_u64() >= Some(246))
        })
    });

    let (_, report, err) = json(&["check", "--interval", "0.5"]);
    let f = on_container(&report, "fd.process_near_limit", &c.id).unwrap_or_else(|| {
        panic!(
            "check: no fd.process_near_limit on {}: {:?} {err}",
            c.id,
            rules(&report)
        )
    });
    assert_eq!(f["subject"]["pid"], pid, "{f:#}");

    // `cgroup` shows the process and its fds, and runs the process rules for the container's
    // processes: the same finding, on the same process, named with the container.
    for target in [c.id.clone(), c.id[..12].to_string(), pid.to_string()] {
        let (code, r) = cgroup_report(&target, &["--interval", "0"]);
        let g = on_container(&r, "fd.process_near_limit", &c.id)
            .unwrap_or_else(|| panic!("cgroup {target}: no fd.process_near_limit: {:?}", rules(&r)));
        assert_eq!(
            (&g["subject"]["pid"], &g["severity"]),
            (&Value::from(pid), &f["severity"]),
            "{g:#}"
        );
        assert_eq!(code, if f["severity"] == "critical" { 2 } else { 1 }, "{r:#}");
        let kind = if target == pid.to_string() {
            "pid"
        } else {
            "container_id"
        };
        assert_names_container(&r, &c.id, kind);
        let shown = r["cgroups"][0]["processes"]["shown"].as_array().unwrap();
        assert!(
            shown.iter().any(|p| p["pid"] == pid && p["fds"] == 246),
            "{target}: {shown:?}"
        );
    }
    assert_snapshot_replays(&c.id, "fd.process_near_limit");
}
