//! `osdoctor cgroup TARGET`: from what a person typed to the cgroup directories to read.
//!
//! TARGET is, in the order tried:
//! - a PID: 1 to 7 digits (pid_max is at most 4194304);
//! - a Kubernetes pod UID: `8-4-4-4-12` hex with `-` or `_` (optionally `pod`-prefixed);
//! - 32 hex digits: a static pod's UID, or a container ID prefix (both are looked for);
//! - a container ID: 12 to 64 hex digits (a unique prefix), also as `containerd://<id>`,
//!   `cri-o://<id>`, `docker://<id>` (kubectl's containerID) or a cgroup name
//!   (`cri-containerd-<id>.scope`, `crio-<id>.scope`, `docker-<id>.scope`, `libpod-<id>[.scope]`);
//! - (in `pipeline::cgroup`, before these, when the node has a kubelet log tree) `namespace/pod-name`,
//!   or a pod name or container name unique on the node;
//! - anything else: a cgroup path, absolute in the hierarchy (`/kubepods/burstable/pod…`), relative
//!   (`system.slice/sshd.service`), or a directory under a cgroup mount
//!   (`/sys/fs/cgroup/memory/kubepods/…`).
//!
//! Pods and containers are found by walking the primary hierarchy once ([`super::walk()`]). Errors are
//! written for a person at 3 a.m.: what was looked for, where, and every match when there are several.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::root::Root;

use super::walk::{CgroupTree, WalkLimits, walk};
use crate::parse::cgroup::cgroup_procs;
use crate::parse::cgroup::dirs::CgroupDirs;
use crate::parse::cgroup::kubernetes::{
    self, ContainerIdentity, Runtime, container_of_component, identify, pod_uid_of_component,
};
use crate::parse::cgroup::layout::{CgroupLayout, normalize_cgroup_path};
use crate::parse::cgroup::proc_pid_cgroup;

/// `8-4-4-4-12` hex, with `-` (Kubernetes) or `_` (systemd slice names).
static POD_UID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:pod)?([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})$")
        .expect("pod UID regex compiles")
});

/// The shortest container ID prefix accepted: what `docker ps` and `crictl ps` print.
pub const MIN_CONTAINER_PREFIX: usize = 12;

/// What kind of target was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    CgroupPath,
    Pid,
    ContainerId,
    PodUid,
    /// `namespace/pod-name` or a pod name, from the kubelet's log tree.
    PodName,
    /// A container name, from the kubelet's log tree.
    ContainerName,
}

/// A container cgroup of a pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodContainer {
    pub cgroup: CgroupDirs,
    pub container_id: String,
    pub runtime: Option<Runtime>,
    /// Whether this is the pod's sandbox ("pause") container: `Some(true)` when every process in it
    /// is named `pause`, `Some(false)` when it has processes and they are not, `None` when no process
    /// could be seen (an empty cgroup, or a snapshot without /proc/PID/comm). The cgroup name itself
    /// never says.
    pub is_pause: Option<bool>,
}

/// A resolved target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// As given.
    pub target: String,
    pub kind: TargetKind,
    /// The cgroup to show: the pod cgroup for a pod, the container's for a container, the process's
    /// for a PID.
    pub cgroup: CgroupDirs,
    pub identity: Option<ContainerIdentity>,
    /// For a pod (or a path or PID that is a pod cgroup): its container cgroups, in name order.
    pub containers: Vec<PodContainer>,
    /// Things the person should know (the walk was cut short, the pause container is unknown, ...).
    pub notes: Vec<String>,
}

/// Why a target could not be resolved. Every variant means exit code 3.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("{target:?} is not a cgroup path, PID, container ID or pod UID: {reason}")]
    Invalid { target: String, reason: String },
    #[error("no cgroup filesystem found: {detail}")]
    NoCgroupFs { detail: String },
    #[error("nothing matches {target:?}: {searched}")]
    NotFound { target: String, searched: String },
    #[error("{target:?} is ambiguous, it matches {} {what}:\n  {}\n{hint}", matches.len(), matches.join("\n  "))]
    Ambiguous {
        target: String,
        what: String,
        matches: Vec<String>,
        hint: String,
    },
    #[error("cannot read the cgroups of PID {pid}: {path}: {reason}")]
    ProcessUnreadable { pid: i32, path: String, reason: String },
}

/// What the target text looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Spec {
    Pid(i32),
    PodUid(String),
    /// 32 hex digits: a static pod UID or a container ID prefix.
    PodUidOrContainer(String),
    Container(String),
    Path(String),
}

fn classify(target: &str) -> Result<Spec, TargetError> {
    let t = target.trim();
    let invalid = |reason: &str| TargetError::Invalid {
        target: target.to_string(),
        reason: reason.to_string(),
    };
    if t.is_empty() {
        return Err(invalid("it is empty"));
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        if t.len() <= 7 {
            return match t.parse::<i32>() {
                Ok(pid) if pid > 0 => Ok(Spec::Pid(pid)),
                _ => Err(invalid("PIDs start at 1")),
            };
        }
        if t.len() < MIN_CONTAINER_PREFIX {
            return Err(invalid(
                "too long for a PID (pid_max is at most 4194304) and too short for a container ID \
                 prefix (at least 12 hex digits)",
            ));
        }
    }
    for scheme in ["containerd://", "cri-o://", "crio://", "docker://"] {
        if let Some(id) = t.strip_prefix(scheme) {
            let id = id.to_ascii_lowercase();
            return if is_hex(&id) && (MIN_CONTAINER_PREFIX..=64).contains(&id.len()) {
                Ok(Spec::Container(id))
            } else {
                Err(invalid(&format!("after {scheme} expected 12 to 64 hex digits")))
            };
        }
    }
    let lower = t.to_ascii_lowercase();
    if let Some(c) = POD_UID.captures(&lower).and_then(|c| c.get(1)) {
        return Ok(Spec::PodUid(kubernetes::canonical_pod_uid(c.as_str())));
    }
    if is_hex(&lower) {
        if lower.len() == 32 {
            return Ok(Spec::PodUidOrContainer(lower));
        }
        if (MIN_CONTAINER_PREFIX..=64).contains(&lower.len()) {
            return Ok(Spec::Container(lower));
        }
    }
    if let Some((id, _)) = container_of_component(t) {
        return Ok(Spec::Container(id));
    }
    Ok(Spec::Path(t.to_string()))
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Resolve TARGET with the default walk limits.
pub fn resolve_target(root: &Root, layout: &CgroupLayout, target: &str) -> Result<Resolved, TargetError> {
    resolve_target_with(root, layout, target, WalkLimits::default())
}

/// Resolve TARGET, walking at most as far as `limits` allow.
pub fn resolve_target_with(
    root: &Root,
    layout: &CgroupLayout,
    target: &str,
    limits: WalkLimits,
) -> Result<Resolved, TargetError> {
    let spec = classify(target)?;
    if layout.primary().is_none() {
        let mut detail = format!("the layout came from {}", layout.source);
        if !layout.problems.is_empty() {
            detail = format!("{detail} ({})", layout.problems.join("; "));
        }
        return Err(TargetError::NoCgroupFs { detail });
    }
    let r = Resolver {
        root,
        layout,
        target,
        limits,
    };
    match spec {
        Spec::Path(p) => r.path(&p),
        Spec::Pid(pid) => r.pid(pid),
        Spec::PodUid(uid) => r.pod_or_container(Some(&uid), None),
        Spec::PodUidOrContainer(hex) => r.pod_or_container(Some(&hex), Some(&hex)),
        Spec::Container(prefix) => r.pod_or_container(None, Some(&prefix)),
    }
}

struct Resolver<'a> {
    root: &'a Root,
    layout: &'a CgroupLayout,
    target: &'a str,
    limits: WalkLimits,
}

impl Resolver<'_> {
    fn not_found(&self, searched: String) -> TargetError {
        TargetError::NotFound {
            target: self.target.to_string(),
            searched,
        }
    }

    fn path(&self, typed: &str) -> Result<Resolved, TargetError> {
        let path = self
            .cgroup_path_of_typed(typed)
            .ok_or_else(|| TargetError::Invalid {
                target: self.target.to_string(),
                reason: "a cgroup path may not contain '..'".to_string(),
            })?;
        let dirs = self.layout.dirs_for_path(&path);
        let candidates = dir_list(&dirs);
        if !candidates.iter().any(|d| self.root.exists(d)) {
            let mut searched = format!("no cgroup {path}: looked for {}", candidates.join(", "));
            if looks_like_short_id(typed) {
                searched.push_str(". A container ID prefix needs at least 12 hex digits");
            }
            return Err(self.not_found(searched));
        }
        Ok(self.resolved(TargetKind::CgroupPath, dirs, None))
    }

    /// A typed path as a cgroup path: a directory under a mount point loses the mount point.
    fn cgroup_path_of_typed(&self, typed: &str) -> Option<String> {
        let best_mount = self
            .layout
            .mounts()
            .filter(|m| {
                let mp = m.mount_point.trim_end_matches('/');
                !mp.is_empty()
                    && typed
                        .strip_prefix(mp)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .max_by_key(|m| m.mount_point.len());
        match best_mount {
            Some(m) => {
                let rest = &typed[m.mount_point.trim_end_matches('/').len()..];
                normalize_cgroup_path(rest).map(|rel| m.cgroup_path_of(&rel))
            }
            None => normalize_cgroup_path(typed),
        }
    }

    fn pid(&self, pid: i32) -> Result<Resolved, TargetError> {
        let path = format!("/proc/{pid}/cgroup");
        let text = match self.root.read_string(&path) {
            Ok(text) => text,
            Err(e) if e.is_not_found() => {
                return Err(self.not_found(format!(
                    "no process {pid}: {path} does not exist (it may have exited, or live in another PID namespace)"
                )));
            }
            Err(e) => {
                return Err(TargetError::ProcessUnreadable {
                    pid,
                    path,
                    reason: e.reason(),
                });
            }
        };
        let cgroups = proc_pid_cgroup::parse(&text).map_err(|e| TargetError::ProcessUnreadable {
            pid,
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let dirs = self.layout.dirs_for_process(&cgroups);
        // The pod and container may show in any hierarchy's path (on a hybrid host the memory path
        // can be `/` while cgroup2's names the container).
        let identity = std::iter::once(dirs.path.as_str())
            .chain(cgroups.unified.as_deref())
            .chain(cgroups.v1.iter().map(|m| m.path.as_str()))
            .find_map(identify);
        let mut resolved = self.resolved(TargetKind::Pid, dirs, identity);
        if cgroups.unified_deleted {
            resolved
                .notes
                .push("the process's cgroup2 cgroup has been removed (it is a zombie)".to_string());
        }
        Ok(resolved)
    }

    /// Find a pod by UID and/or a container by ID prefix in one walk.
    fn pod_or_container(
        &self,
        pod_uid: Option<&str>,
        container_prefix: Option<&str>,
    ) -> Result<Resolved, TargetError> {
        let Some(tree) = walk(self.root, self.layout, self.limits) else {
            return Err(TargetError::NoCgroupFs {
                detail: "no hierarchy to walk".to_string(),
            });
        };
        let pods: Vec<&str> = match pod_uid {
            Some(uid) => tree
                .paths
                .iter()
                .filter(|p| pod_uid_of_component(last_component(p)).as_deref() == Some(uid))
                .map(String::as_str)
                .collect(),
            None => Vec::new(),
        };
        // (container ID, path) for every container cgroup whose ID starts with the prefix.
        let containers: Vec<(String, &str)> = match container_prefix {
            Some(prefix) => tree
                .paths
                .iter()
                .filter_map(|p| {
                    let (id, _) = container_of_component(last_component(p))?;
                    id.starts_with(prefix).then_some((id, p.as_str()))
                })
                .collect(),
            None => Vec::new(),
        };
        match (pods.as_slice(), containers.as_slice()) {
            ([], []) => Err(self.not_found(self.searched(&tree, pod_uid, container_prefix))),
            ([pod], []) => {
                let mut r = self.resolved(TargetKind::PodUid, self.layout.dirs_for_path(pod), identify(pod));
                r.notes.extend(
                    tree.truncated
                        .iter()
                        .map(|t| format!("cgroup walk incomplete: {t}")),
                );
                Ok(r)
            }
            ([], [(_, path)]) => {
                let mut r = self.resolved(
                    TargetKind::ContainerId,
                    self.layout.dirs_for_path(path),
                    identify(path),
                );
                r.notes.extend(
                    tree.truncated
                        .iter()
                        .map(|t| format!("cgroup walk incomplete: {t}")),
                );
                Ok(r)
            }
            _ => {
                let mut matches: Vec<String> = pods.iter().map(|p| format!("pod cgroup {p}")).collect();
                matches.extend(containers.iter().map(|(id, p)| format!("container {id} at {p}")));
                let what = match (pods.is_empty(), containers.is_empty()) {
                    (false, true) => "pod cgroups",
                    (true, false) => "container cgroups",
                    _ => "pod and container cgroups",
                };
                let same_id = containers.windows(2).all(|w| w[0].0 == w[1].0);
                let hint = if pods.is_empty() && !same_id {
                    "Give more characters of the container ID, or the cgroup path itself."
                } else {
                    "Give the cgroup path itself."
                };
                Err(TargetError::Ambiguous {
                    target: self.target.to_string(),
                    what: what.to_string(),
                    matches,
                    hint: hint.to_string(),
                })
            }
        }
    }

    /// What a failed walk looked for, and where.
    fn searched(&self, tree: &CgroupTree, pod_uid: Option<&str>, container_prefix: Option<&str>) -> String {
        let mut looked_for = Vec::new();
        if let Some(uid) = pod_uid {
            looked_for.push(format!(
                "a pod cgroup named pod{uid} or *-pod{}.slice",
                uid.replace('-', "_")
            ));
        }
        if let Some(prefix) = container_prefix {
            looked_for.push(format!(
                "a container cgroup whose ID starts with {prefix} (<id>, docker/<id>, docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>[.scope], libpod-<id>[.scope])"
            ));
        }
        let mut s = format!(
            "walked {} cgroups under {} looking for {}",
            tree.paths.len(),
            tree.mount.mount_point,
            looked_for.join(" or ")
        );
        if let Some(t) = &tree.truncated {
            s.push_str(&format!("; the walk was cut short ({t}), so it may lie beyond"));
        }
        if !tree.unreadable.is_empty() {
            let dirs: Vec<String> = tree
                .unreadable
                .iter()
                .map(|p| format!("{} ({})", p.path, p.reason))
                .collect();
            s.push_str(&format!("; could not list {}", dirs.join(", ")));
        }
        s
    }

    /// Build the result; a pod cgroup gets its containers listed.
    fn resolved(
        &self,
        kind: TargetKind,
        cgroup: CgroupDirs,
        identity: Option<ContainerIdentity>,
    ) -> Resolved {
        let identity = identity.or_else(|| identify(&cgroup.path));
        let mut resolved = Resolved {
            target: self.target.to_string(),
            kind,
            containers: Vec::new(),
            notes: Vec::new(),
            identity,
            cgroup,
        };
        let is_pod_cgroup = pod_uid_of_component(last_component(&resolved.cgroup.path)).is_some();
        if is_pod_cgroup {
            self.fill_containers(&mut resolved);
        }
        resolved
    }

    fn fill_containers(&self, resolved: &mut Resolved) {
        let Some((mount, _)) = self.layout.primary() else {
            return;
        };
        let Some(pod_dir) = mount.dir_of(&resolved.cgroup.path) else {
            return;
        };
        let mut names = match self.root.list_dir(&pod_dir) {
            Ok(names) => names,
            Err(e) => {
                resolved.notes.push(format!(
                    "could not list the pod's containers: {pod_dir}: {}",
                    e.reason()
                ));
                return;
            }
        };
        names.sort_unstable();
        for name in names {
            let Some((container_id, runtime)) = container_of_component(&name) else {
                continue;
            };
            let path = format!("{}/{name}", resolved.cgroup.path.trim_end_matches('/'));
            let is_pause = self.is_pause(&format!("{pod_dir}/{name}"));
            resolved.containers.push(PodContainer {
                cgroup: self.layout.dirs_for_path(&path),
                container_id,
                runtime,
                is_pause,
            });
        }
        if resolved.containers.is_empty() {
            resolved
                .notes
                .push(format!("no container cgroups below {pod_dir}"));
        }
        let unknown = resolved
            .containers
            .iter()
            .filter(|c| c.is_pause.is_none())
            .count();
        if unknown > 0 {
            resolved.notes.push(format!(
                "the pause (sandbox) container cannot be told from the others for {unknown} container(s): \
                 their cgroups show no process whose /proc/PID/comm could be read"
            ));
        }
    }

    /// `Some(true)` when every readable process of the cgroup at `dir` is named `pause`.
    fn is_pause(&self, dir: &str) -> Option<bool> {
        let pids = self
            .root
            .read_string(&format!("{dir}/cgroup.procs"))
            .ok()
            .and_then(|t| cgroup_procs::parse(&t).ok())?;
        let comms: Vec<String> = pids
            .iter()
            .filter_map(|pid| self.root.read_string(&format!("/proc/{pid}/comm")).ok())
            .map(|c| c.trim().to_string())
            .collect();
        if comms.is_empty() {
            return None;
        }
        Some(comms.iter().all(|c| c == "pause"))
    }
}

fn last_component(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Every directory that could hold the cgroup, deduplicated.
fn dir_list(dirs: &CgroupDirs) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in [
        dirs.memory.as_ref().map(|d| &d.dir),
        dirs.unified.as_ref(),
        dirs.cpu.as_ref().map(|d| &d.dir),
        dirs.pids.as_ref().map(|d| &d.dir),
    ]
    .into_iter()
    .flatten()
    {
        if !out.contains(d) {
            out.push(d.clone());
        }
    }
    out
}

/// 4 to 11 hex digits without a slash: probably a truncated container ID.
fn looks_like_short_id(typed: &str) -> bool {
    (4..MIN_CONTAINER_PREFIX).contains(&typed.len()) && is_hex(typed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(classify("4242").unwrap(), Spec::Pid(4242));
        assert_eq!(classify(" 1 ").unwrap(), Spec::Pid(1));
        assert!(classify("0").is_err());
        assert!(classify("12345678").is_err());
        assert!(classify("").is_err());
        let uid = "eded8c65-6e8e-4c6e-a889-3e427565c740";
        assert_eq!(classify(uid).unwrap(), Spec::PodUid(uid.into()));
        assert_eq!(
            classify(&uid.replace('-', "_")).unwrap(),
            Spec::PodUid(uid.into())
        );
        assert_eq!(
            classify(&format!("pod{}", uid.to_uppercase())).unwrap(),
            Spec::PodUid(uid.into())
        );
        let hex32 = "6a5c3bb4fbc1d7e0a8f2c58d2e1a9b77";
        assert_eq!(classify(hex32).unwrap(), Spec::PodUidOrContainer(hex32.into()));
        assert_eq!(
            classify("0ba8ac17b2cb").unwrap(),
            Spec::Container("0ba8ac17b2cb".into())
        );
        assert_eq!(
            classify("123456789012").unwrap(),
            Spec::Container("123456789012".into())
        );
        let id = "0ba8ac17b2cb4d0c22fa1e2f5f3a0bc8d7aab6b1a84a1b35ef9b1f7a1f0b5c2d";
        assert_eq!(
            classify(&format!("containerd://{id}")).unwrap(),
            Spec::Container(id.into())
        );
        assert_eq!(
            classify(&format!("cri-containerd-{id}.scope")).unwrap(),
            Spec::Container(id.into())
        );
        assert!(classify("docker://xyz").is_err());
        assert_eq!(
            classify("/kubepods/burstable").unwrap(),
            Spec::Path("/kubepods/burstable".into())
        );
        assert_eq!(
            classify("system.slice").unwrap(),
            Spec::Path("system.slice".into())
        );
        assert_eq!(classify("abc123").unwrap(), Spec::Path("abc123".into()));
    }
}
