//! Whether osdoctor runs inside a container, which one, and the limits its own cgroup sets.
//!
//! The kernel's own signs first, then the runtimes' marker files:
//!
//! - `/proc/self/ns/cgroup` and `/proc/self/ns/pid`: the initial namespaces have fixed inode numbers
//!   (include/linux/proc_ns.h: `PROC_CGROUP_INIT_INO` 0xEFFFFFFB = 4026531835, `PROC_PID_INIT_INO`
//!   0xEFFFFFFC = 4026531836). Another number is a namespace of its own. In a private cgroup
//!   namespace /proc/self/cgroup reads `0::/` (and `/` on every v1 line) and the cgroup mounts' root
//!   field in mountinfo is `/`: the namespace root is the container's own cgroup, which osdoctor then
//!   judges (it never judges the host's root cgroup). `/proc/1/ns/cgroup`, where readable, differing
//!   from ours is named too.
//! - `NSpid` of /proc/self/status with more than one entry: a nested PID namespace seen from a /proc
//!   mounted outside it.
//! - `/run/.containerenv` (podman; its `name=` and `id=` lines where podman wrote them), `/.dockerenv`
//!   (docker), `/var/run/secrets/kubernetes.io/serviceaccount` (a Kubernetes pod); and on a live root
//!   only, osdoctor's own environment: `KUBERNETES_SERVICE_HOST`, `container=` (podman, lxc,
//!   systemd-nspawn). No other process's environment is read.
//!
//! Where the namespace links cannot be read (a hand-made tree), a private cgroup namespace is inferred
//! from a marker file, every /proc/self/cgroup line at `/` and every cgroup mount rooted at `/`.
//!
//! A `--root` whose /proc is a mounted procfs (a DaemonSet's /host) is a host seen from outside:
//! /proc/self there is this reader, not the host, and nothing is detected.
//!
//! The limits are read from osdoctor's own cgroup and its ancestors up to the namespace root (the
//! tightest wins): memory.max (v1 memory.limit_in_bytes), cpu.max (v1 cpu.cfs_quota_us and
//! cpu.cfs_period_us), pids.max, and the CPUs of cpuset.cpus.effective (v1 cpuset.effective_cpus).

use serde::Serialize;

use crate::coverage::Coverage;
use crate::parse::cgroup::layout::{CgroupLayout, CgroupVersion};
use crate::parse::cgroup::single_value::parse_limit;
use crate::parse::cgroup::{ProcessCgroups, cpu_max, proc_pid_cgroup};
use crate::root::{ReadError, Root};

/// /proc/self/ns/cgroup in the initial cgroup namespace.
pub const INIT_CGROUP_NS: &str = "cgroup:[4026531835]";
/// /proc/self/ns/pid in the initial PID namespace.
pub const INIT_PID_NS: &str = "pid:[4026531836]";
/// The Kubernetes service-account mount every pod has (unless automount is off).
pub const SERVICE_ACCOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// What a snapshot cannot replay from files: the markers seen only by their existence and the signs
/// of osdoctor's own environment, one per line (`exists PATH`, `env KUBERNETES_SERVICE_HOST`,
/// `env container=VALUE`). No variable's value is recorded but `container=`'s.
pub const RECORD_FILE: &str = "/osdoctor/container";

/// What the container's cgroup allows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContainerLimits {
    pub memory_bytes: Option<u64>,
    /// CPUs from the quota (0.5 for `50000 100000`).
    pub cpu_quota: Option<f64>,
    /// CPUs in the effective cpuset.
    pub cpus: Option<u32>,
    pub pids: Option<u64>,
}

/// Where osdoctor runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContainerSample {
    /// The signs seen, in words; empty: not in a container, as far as the kernel and the runtimes'
    /// files tell.
    pub signs: Vec<String>,
    /// "kubernetes", "podman", "docker", or the `container=` of osdoctor's environment.
    pub runtime: Option<String>,
    pub id: Option<String>,
    pub name: Option<String>,
    /// The cgroup namespace is not the host's: its root `/` is the container's own cgroup.
    pub private_cgroupns: bool,
    /// osdoctor's own cgroup: the primary hierarchy's path in /proc/self/cgroup.
    pub own_cgroup: Option<String>,
    /// A Kubernetes pod's UID, from the kubelet's directories the runtime mounted (/etc/hosts from
    /// `/var/lib/kubelet/pods/UID/etc-hosts`): what `osdoctor cgroup` takes on the node.
    pub pod_uid: Option<String>,
    pub limits: ContainerLimits,
    /// osdoctor's own pid as its /proc counts it (`Pid:` of /proc/self/status): not counted among the
    /// container's runnable tasks.
    #[serde(skip)]
    pub self_pid: Option<i32>,
    /// osdoctor sees only the container's processes (a PID namespace of its own).
    pub private_pidns: bool,
}

impl ContainerSample {
    pub fn inside(&self) -> bool {
        !self.signs.is_empty()
    }

    /// The cgroup judged as the container's own, read whatever the selection of cgroups: the namespace
    /// root in a private cgroup namespace, else osdoctor's own cgroup (never the host's root).
    pub fn own_judged(&self) -> Option<&str> {
        if !self.inside() {
            return None;
        }
        if self.private_cgroupns {
            return Some("/");
        }
        self.own_cgroup.as_deref().filter(|p| *p != "/")
    }
}

/// What was read to decide (kept apart from the reading, so the decision is tested on plain text).
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub cgroup_ns: Option<String>,
    pub init_cgroup_ns: Option<String>,
    pub pid_ns: Option<String>,
    pub nspid_levels: Option<usize>,
    /// `Pid:` of /proc/self/status.
    pub self_pid: Option<i32>,
    pub dockerenv: bool,
    /// /run/.containerenv's text ("" when empty).
    pub containerenv: Option<String>,
    pub service_account: bool,
    /// Live root only: osdoctor's own KUBERNETES_SERVICE_HOST is set.
    pub env_kubernetes: bool,
    /// Live root only: osdoctor's own `container=`.
    pub env_container: Option<String>,
    pub self_cgroup: Option<ProcessCgroups>,
    /// Every cgroup mount's root field is `/`.
    pub cgroup_mounts_at_root: bool,
    /// Mount roots (mountinfo's 4th field) of /etc/hostname, /etc/hosts, /etc/resolv.conf,
    /// /run/.containerenv, /dev/termination-log.
    pub runtime_file_roots: Vec<String>,
}

/// Decide from what was seen; `limits` and `own_cgroup` are left to the caller.
pub fn decide(seen: &Seen, layout: Option<&CgroupLayout>) -> ContainerSample {
    let mut out = ContainerSample::default();
    let marker = seen.dockerenv || seen.containerenv.is_some() || seen.service_account;
    match &seen.cgroup_ns {
        Some(ns) if ns != INIT_CGROUP_NS => {
            out.private_cgroupns = true;
            out.signs.push(format!(
                "cgroup namespace {ns} is not the host's ({INIT_CGROUP_NS})"
            ));
            if let Some(init) = seen.init_cgroup_ns.as_ref().filter(|i| *i != ns) {
                out.signs
                    .push(format!("pid 1 is in another cgroup namespace ({init})"));
            }
        }
        Some(_) => {}
        None => {
            let all_root = seen.self_cgroup.as_ref().is_some_and(|c| {
                c.unified.as_deref().is_none_or(|p| p == "/") && c.v1.iter().all(|m| m.path == "/")
            });
            if marker && all_root && seen.cgroup_mounts_at_root {
                out.private_cgroupns = true;
                out.signs.push(
                    "/proc/self/cgroup is at its namespace's root \"/\" and every cgroup mount is rooted there"
                        .to_string(),
                );
            }
        }
    }
    out.self_pid = seen.self_pid;
    if let Some(ns) = seen.pid_ns.as_ref().filter(|ns| *ns != INIT_PID_NS) {
        // Only its own namespace's processes are seen unless NSpid has more than one entry: then
        // this /proc belongs to an outer namespace and shows more than the container's.
        out.private_pidns = seen.nspid_levels.is_none_or(|n| n <= 1);
        out.signs
            .push(format!("pid namespace {ns} is not the host's ({INIT_PID_NS})"));
    }
    if let Some(n) = seen.nspid_levels.filter(|n| *n > 1) {
        out.signs.push(format!(
            "/proc/self/status NSpid has {n} entries (a nested pid namespace)"
        ));
    }
    let containerenv = seen.containerenv.as_deref().map(key_values);
    if seen.service_account || seen.env_kubernetes {
        out.signs.push(if seen.service_account {
            SERVICE_ACCOUNT.to_string()
        } else {
            "KUBERNETES_SERVICE_HOST is set".to_string()
        });
        out.runtime = Some("kubernetes".to_string());
    }
    if let Some(kv) = &containerenv {
        out.signs.push("/run/.containerenv".to_string());
        out.runtime.get_or_insert_with(|| "podman".to_string());
        out.id = kv.iter().find(|(k, _)| k == "id").map(|(_, v)| v.clone());
        out.name = kv.iter().find(|(k, _)| k == "name").map(|(_, v)| v.clone());
    }
    if seen.dockerenv {
        out.signs.push("/.dockerenv".to_string());
        out.runtime.get_or_insert_with(|| "docker".to_string());
    }
    if let Some(c) = seen.env_container.as_ref().filter(|c| !c.is_empty()) {
        out.signs.push(format!("container={c} in osdoctor's environment"));
        out.runtime.get_or_insert_with(|| c.clone());
    }
    out.own_cgroup = seen.self_cgroup.as_ref().map(|c| own_path(c, layout));
    if out.id.is_none() {
        out.id = out
            .own_cgroup
            .as_deref()
            .and_then(crate::parse::cgroup::identify)
            .and_then(|i| i.container_id);
    }
    // The kubelet's pod directory: /var/lib/kubelet/pods/UID/etc-hosts for /etc/hosts, and
    // .../pods/UID/containers/NAME/RANDOM for /dev/termination-log (the container's name in its pod).
    for r in &seen.runtime_file_roots {
        if let Some((uid, rest)) = kubelet_pod_dir(r) {
            out.pod_uid.get_or_insert(uid);
            if out.name.is_none()
                && let Some(name) = rest.strip_prefix("containers/").and_then(|n| n.split('/').next())
                && !name.is_empty()
            {
                out.name = Some(name.to_string());
            }
        }
    }
    // A pod's /etc/hostname is its sandbox's: only docker's and podman's name the container.
    if out.id.is_none() && matches!(out.runtime.as_deref(), Some("docker" | "podman")) {
        out.id = seen.runtime_file_roots.iter().find_map(|r| long_hex(r));
    }
    out
}

/// `key=value` lines (podman's .containerenv quotes its values).
fn key_values(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// `(UID, what follows)` of a path under the kubelet's `pods/UID/` directory (any kubelet root).
fn kubelet_pod_dir(path: &str) -> Option<(String, &str)> {
    let at = path.find("/pods/")? + "/pods/".len();
    let rest = &path[at..];
    let (uid, after) = rest.split_once('/').unwrap_or((rest, ""));
    let is_uid = uid.len() == 36
        && uid.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    is_uid.then(|| (uid.to_ascii_lowercase(), after))
}

/// A 64-hex path component (a docker or podman container ID).
fn long_hex(path: &str) -> Option<String> {
    path.split('/')
        .find(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string)
}

/// The primary hierarchy's path of a process's cgroups (as `CgroupLayout::dirs_for_process` labels it).
fn own_path(c: &ProcessCgroups, layout: Option<&CgroupLayout>) -> String {
    match layout.and_then(|l| l.primary()) {
        Some((_, CgroupVersion::V2)) => c.unified.clone(),
        _ => c
            .v1_path("memory")
            .or_else(|| c.v1.first().map(|m| m.path.as_str()))
            .map(str::to_string)
            .or_else(|| c.unified.clone()),
    }
    .unwrap_or_else(|| "/".to_string())
}

/// Read the signs and the limits. `mountinfo`: as the host collector read it in this pass. `None`
/// when the root is a host seen from outside (a mounted procfs under a --root directory).
pub fn collect(
    root: &Root,
    mountinfo: Option<&Result<String, ReadError>>,
    cov: &mut Coverage,
) -> Option<ContainerSample> {
    if !root.is_live() && root.is_procfs("/proc") {
        return None;
    }
    let text = |p: &str| root.read_string(p).ok();
    let link = |p: &str| root.read_link(p).ok();
    let mountinfo_text = match mountinfo {
        Some(Ok(t)) => Some(t.clone()),
        Some(Err(_)) => None,
        None => text("/proc/self/mountinfo"),
    };
    let layout = crate::collect::cgroup::layout::detect_with(root, mountinfo);
    let mut seen = Seen {
        cgroup_ns: link("/proc/self/ns/cgroup"),
        init_cgroup_ns: link("/proc/1/ns/cgroup"),
        pid_ns: link("/proc/self/ns/pid"),
        nspid_levels: text("/proc/self/status").and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .map(|v| v.split_whitespace().count())
        }),
        self_pid: text("/proc/self/status").and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Pid:"))
                .and_then(|v| v.trim().parse().ok())
        }),
        dockerenv: root.exists("/.dockerenv"),
        containerenv: root
            .exists("/run/.containerenv")
            .then(|| text("/run/.containerenv").unwrap_or_default()),
        service_account: root.exists(SERVICE_ACCOUNT),
        self_cgroup: text("/proc/self/cgroup").and_then(|t| proc_pid_cgroup::parse(&t).ok()),
        cgroup_mounts_at_root: layout.mode.is_some() && layout.mounts().all(|m| m.root == "/"),
        ..Seen::default()
    };
    if root.is_live() {
        seen.env_kubernetes = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
        seen.env_container = std::env::var("container").ok();
        let mut record = String::new();
        for (seen, path) in [
            (seen.dockerenv, "/.dockerenv"),
            (seen.service_account, SERVICE_ACCOUNT),
        ] {
            if seen {
                record.push_str(&format!("exists {path}\n"));
            }
        }
        if seen.env_kubernetes {
            record.push_str("env KUBERNETES_SERVICE_HOST\n");
        }
        if let Some(c) = &seen.env_container {
            record.push_str(&format!("env container={}\n", c.replace('\n', " ")));
        }
        root.record_file(RECORD_FILE, record.as_bytes());
    } else if let Ok(recorded) = root.read_string(RECORD_FILE) {
        for line in recorded.lines() {
            match line.split_once(' ') {
                Some(("exists", "/.dockerenv")) => seen.dockerenv = true,
                Some(("exists", SERVICE_ACCOUNT)) => seen.service_account = true,
                Some(("env", "KUBERNETES_SERVICE_HOST")) => seen.env_kubernetes = true,
                Some(("env", v)) => {
                    if let Some(c) = v.strip_prefix("container=") {
                        seen.env_container = Some(c.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(mi) = &mountinfo_text {
        for line in mi.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if let (Some(r), Some(mp)) = (f.get(3), f.get(4))
                && [
                    "/etc/hostname",
                    "/etc/hosts",
                    "/etc/resolv.conf",
                    "/run/.containerenv",
                    "/dev/termination-log",
                ]
                .contains(mp)
            {
                seen.runtime_file_roots.push(r.to_string());
            }
        }
    }
    let mut out = decide(&seen, Some(&layout));
    if !out.inside() {
        return Some(out);
    }
    if let Some(own) = &seen.self_cgroup {
        out.limits = limits(root, &layout, own);
    }
    cov.notes.extend(inside_notes(&out));
    Some(out)
}

/// What a run inside a container judges, and what it cannot see from there: one line each, with
/// what to run on the node instead.
pub fn inside_notes(c: &ContainerSample) -> Vec<String> {
    let mut notes = Vec::new();
    if !c.inside() {
        return notes;
    }
    match c.own_judged() {
        Some("/") => notes.push(
            "inside a container (private cgroup namespace): its own cgroup \"/\" is judged by the cgroup rules"
                .to_string(),
        ),
        Some(own) => notes.push(format!(
            "inside a container: its own cgroup {own} is judged by the cgroup rules"
        )),
        None => {}
    }
    let target = c.node_target();
    if c.private_pidns {
        notes.push(String::from(
            "from inside, the host's processes are not seen (only its PID namespace's): on the node run `osdoctor check`"
        ));
    }
    if c.private_cgroupns {
        notes.push(format!(
            "from inside, other containers' cgroups are not seen: on the node run `osdoctor cgroup {target}`"
        ));
    }
    notes
}

impl ContainerSample {
    /// What `osdoctor cgroup` takes on the node for this container: its pod's UID (its containers with
    /// it), its ID, else a placeholder to fill in.
    pub fn node_target(&self) -> String {
        self.pod_uid
            .clone()
            .or_else(|| self.id.as_ref().map(|id| id.chars().take(12).collect()))
            .unwrap_or_else(|| "<container-id>".to_string())
    }
}

/// The directories of `controller` for the process's cgroup and its ancestors, deepest first, within
/// the hierarchy's mount.
fn dirs_up(layout: &CgroupLayout, own: &ProcessCgroups, controller: &str) -> Vec<String> {
    let Some((mount, version)) = layout.controller_mount(controller) else {
        return Vec::new();
    };
    let path = match version {
        CgroupVersion::V1 => own.v1_path(controller).map(str::to_string),
        CgroupVersion::V2 => own.unified.clone(),
    };
    let Some(mut path) = path else {
        return Vec::new();
    };
    let mut dirs = Vec::new();
    while let Some(d) = mount.dir_of(&path) {
        dirs.push(d);
        if path == "/" || path.is_empty() {
            break;
        }
        path = match path.rsplit_once('/') {
            Some(("", _)) | None => "/".to_string(),
            Some((parent, _)) => parent.to_string(),
        };
    }
    dirs
}

fn read_in(root: &Root, dir: &str, file: &str) -> Option<String> {
    root.read_string(&format!("{}/{file}", dir.trim_end_matches('/')))
        .ok()
}

/// The tightest limits of the process's cgroup and its ancestors.
pub fn limits(root: &Root, layout: &CgroupLayout, own: &ProcessCgroups) -> ContainerLimits {
    let v1 = |c: &str| layout.v1_hierarchy(c).is_some();
    let min_u64 = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    let mut out = ContainerLimits::default();
    let memory_file = if v1("memory") {
        "memory.limit_in_bytes"
    } else {
        "memory.max"
    };
    for dir in dirs_up(layout, own, "memory") {
        let limit = read_in(root, &dir, memory_file)
            .and_then(|t| parse_limit(&t).ok())
            .and_then(|l| l.value());
        out.memory_bytes = min_u64(out.memory_bytes, limit);
    }
    for dir in dirs_up(layout, own, "pids") {
        let limit = read_in(root, &dir, "pids.max")
            .and_then(|t| parse_limit(&t).ok())
            .and_then(|l| l.value());
        out.pids = min_u64(out.pids, limit);
    }
    for dir in dirs_up(layout, own, "cpu") {
        let cores = if v1("cpu") {
            let quota = read_in(root, &dir, "cpu.cfs_quota_us")
                .and_then(|t| cpu_max::parse_cfs_quota_us(&t).ok())
                .and_then(|l| l.value());
            let period = read_in(root, &dir, "cpu.cfs_period_us")
                .and_then(|t| t.trim().parse::<u64>().ok())
                .filter(|p| *p > 0);
            quota.zip(period).map(|(q, p)| q as f64 / p as f64)
        } else {
            read_in(root, &dir, "cpu.max")
                .and_then(|t| cpu_max::parse(&t).ok())
                .and_then(|m| m.cores())
        };
        if let Some(c) = cores {
            out.cpu_quota = Some(out.cpu_quota.map_or(c, |q: f64| q.min(c)));
        }
    }
    let cpuset_files: &[&str] = if v1("cpuset") {
        &["cpuset.effective_cpus", "cpuset.cpus"]
    } else {
        &["cpuset.cpus.effective"]
    };
    // The deepest cgroup that has the file: the effective set already holds the ancestors'.
    out.cpus = dirs_up(layout, own, "cpuset").iter().find_map(|dir| {
        cpuset_files.iter().find_map(|f| {
            read_in(root, dir, f)
                .and_then(|t| crate::parse::numa::parse_list(&t).ok())
                .filter(|cpus| !cpus.is_empty())
                .map(|cpus| cpus.len() as u32)
        })
    });
    out
}

#[cfg(test)]
mod tests;
