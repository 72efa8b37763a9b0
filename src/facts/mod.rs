//! Facts: the flat, named view of samples and rates that rules read.
//!
//! Every name a rule may use is in the catalogue ([`catalog`]: each deriving module's `FACTS`), with its unit, the files it comes from and whether it
//! needs two samples. A rule naming anything else does not load. A fact that could not be computed on
//! this host is absent, and [`Facts::why_missing`] says why (the file that could not be read, one sample
//! only, a feature this kernel lacks), so the rule is reported as not evaluated rather than guessed.

/// A catalogue entry: `fact!(name, Unit, SubjectKind, [rate,] [source files], help)`.
macro_rules! fact {
    ($name:literal, $unit:ident, $subject:ident, rate, [$($src:literal),*], $help:literal) => {
        $crate::facts::FactDef { name: $name, unit: $crate::units::Unit::$unit, subject: $crate::facts::SubjectKind::$subject, rate: true, sources: &[$($src),*], help: $help }
    };
    ($name:literal, $unit:ident, $subject:ident, [$($src:literal),*], $help:literal) => {
        $crate::facts::FactDef { name: $name, unit: $crate::units::Unit::$unit, subject: $crate::facts::SubjectKind::$subject, rate: false, sources: &[$($src),*], help: $help }
    };
}

pub mod cgroup;
pub mod container;
pub mod derive;
pub mod disk;
pub mod host;
pub mod kernel;
pub mod listing;
pub mod mount;
pub mod netstack;
pub mod nic;
pub mod numa;
pub mod process;
pub mod tcp;
pub mod trend;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::coverage::Coverage;
use crate::units::Unit;

/// The catalogue entry of one fact.
#[derive(Debug, Clone, Copy)]
pub struct FactDef {
    pub name: &'static str,
    pub unit: Unit,
    /// The subject kind whose facts carry it (`host`, `process`, `cgroup`, ...).
    pub subject: SubjectKind,
    /// Needs two samples (a rate or a delta over the interval).
    pub rate: bool,
    /// Files it is computed from, to explain a missing value.
    pub sources: &'static [&'static str],
    pub help: &'static str,
}

/// Every fact rules may name: each deriving module declares the facts it computes, next to the code.
pub static CATALOGS: &[&[FactDef]] = &[
    host::FACTS,
    kernel::FACTS,
    cgroup::FACTS,
    container::FACTS,
    process::FACTS,
    disk::FACTS,
    mount::FACTS,
    nic::FACTS,
    tcp::FACTS,
    netstack::FACTS,
    numa::FACTS,
    trend::FACTS,
];

/// Every fact, in catalogue order.
pub fn catalog() -> impl Iterator<Item = &'static FactDef> {
    CATALOGS.iter().flat_map(|c| c.iter())
}

/// The catalogue entry for a name.
pub fn lookup(name: &str) -> Option<&'static FactDef> {
    catalog().find(|f| f.name == name)
}

/// A fact's value. Whole numbers serialise as JSON integers.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Num(f64),
    Text(String),
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Num(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => s.serialize_i64(*n as i64),
            Value::Num(n) => s.serialize_f64(*n),
            Value::Text(t) => s.serialize_str(t),
        }
    }
}

impl Value {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Text(_) => None,
        }
    }
}

/// The facts of one subject.
#[derive(Debug, Clone, Default)]
pub struct FactSet {
    values: BTreeMap<&'static str, Value>,
    /// Why a fact is absent, when the deriving code knows better than the catalogue (no swap, ...).
    missing: BTreeMap<&'static str, std::sync::Arc<str>>,
    /// Facts absent because the host lacks the resource they measure (no swap): the USE grid says
    /// "absent" for their rules, not "not evaluated".
    lacked: std::collections::BTreeSet<&'static str>,
}

impl FactSet {
    /// Set a number; NaN and infinities are not facts (a division by zero upstream) and are dropped.
    pub fn num(&mut self, name: &'static str, v: f64) {
        debug_assert!(lookup(name).is_some(), "fact {name} is not in the catalogue");
        if v.is_finite() {
            self.values.insert(name, Value::Num(v));
        }
    }

    pub fn opt(&mut self, name: &'static str, v: Option<f64>) {
        if let Some(v) = v {
            self.num(name, v);
        }
    }

    pub fn text(&mut self, name: &'static str, v: impl Into<String>) {
        debug_assert!(lookup(name).is_some(), "fact {name} is not in the catalogue");
        self.values.insert(name, Value::Text(v.into()));
    }

    /// Drop a value (a later step found it belongs elsewhere).
    pub fn remove(&mut self, name: &str) {
        self.values.remove(name);
    }

    /// Say why a fact is absent on this subject.
    pub fn absent(&mut self, name: &'static str, why: impl Into<std::sync::Arc<str>>) {
        self.missing.insert(name, why.into());
    }

    /// Say that a fact is absent because the host lacks the resource (no swap is configured).
    pub fn lacks(&mut self, name: &'static str, why: impl Into<std::sync::Arc<str>>) {
        self.absent(name, why);
        self.lacked.insert(name);
    }

    /// Whether the fact is absent because the host lacks the resource ([`FactSet::lacks`]).
    pub fn is_lacked(&self, name: &str) -> bool {
        self.lacked.contains(name)
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    pub fn get_f64(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Value::as_f64)
    }

    pub fn stated_reason(&self, name: &str) -> Option<&str> {
        self.missing.get(name).map(|r| &**r)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        self.values.iter().map(|(k, v)| (*k, v))
    }
}

/// The parts of a subject that summaries and next steps can name as `{pid}`, `{comm}`, ... (besides
/// `{subject}`, its label, and [`DERIVED_FIELDS`]); also the Prometheus labels of a finding, in this
/// order. A NUMA node's number is `numa_node` (not `node`, which fleets use for the host).
pub const SUBJECT_FIELDS: [&str; 9] = [
    "pid",
    "comm",
    "user",
    "cgroup",
    "pod_uid",
    "container_id",
    "device",
    "path",
    "numa_node",
];

/// What a subject is: the kinds of things rules judge (a rule file's `subject`, a finding's
/// `subject.kind`). `KernelEvent` is the collection of kernel-log events: its findings name the
/// process, cgroup or device an event was about. A new kind is one variant here plus the collector
/// that produces its subjects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    #[default]
    Host,
    Process,
    Cgroup,
    User,
    Disk,
    Nic,
    Mount,
    NumaNode,
    KernelEvent,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 9] = [
        SubjectKind::Host,
        SubjectKind::Process,
        SubjectKind::Cgroup,
        SubjectKind::User,
        SubjectKind::Disk,
        SubjectKind::Nic,
        SubjectKind::Mount,
        SubjectKind::NumaNode,
        SubjectKind::KernelEvent,
    ];

    /// The name rule files and JSON use.
    pub fn name(self) -> &'static str {
        match self {
            SubjectKind::Host => "host",
            SubjectKind::Process => "process",
            SubjectKind::Cgroup => "cgroup",
            SubjectKind::User => "user",
            SubjectKind::Disk => "disk",
            SubjectKind::Nic => "nic",
            SubjectKind::Mount => "mount",
            SubjectKind::NumaNode => "numa_node",
            SubjectKind::KernelEvent => "kernel_event",
        }
    }

    pub fn from_name(name: &str) -> Option<SubjectKind> {
        SubjectKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl std::fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Names templates may use that are computed from the subject: `{target}` ([`SubjectId::target`]) and
/// `{inspect}` ([`SubjectId::inspect`]). A step that names one the subject lacks, inside `[[ ]]`, is
/// dropped.
pub const DERIVED_FIELDS: [&str; 2] = ["target", "inspect"];

/// Who a finding is about (the JSON `subject`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SubjectId {
    pub kind: SubjectKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// A process's start time (clock ticks after boot, /proc/PID/stat field 22): with the pid, who
    /// it is, since pids are reused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// The pod as `namespace/name`, from the kubelet's log tree (set after the rules ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The container's name in its pod, from the kubelet's log tree (set after the rules ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<u32>,
    /// Every cgroup a process is in (the v2 group and each v1 hierarchy's, distinct): on a v1 or
    /// hybrid host its CPU cgroup may not be the one `cgroup` names. Used to tie findings together,
    /// not reported.
    #[serde(skip)]
    pub cgroups: Vec<String>,
    /// The filesystems (their mount subjects' paths) a process holds deleted files on. Used to tie
    /// findings together (`same_mount`), not reported.
    #[serde(skip)]
    pub mounts: Vec<String>,
    /// The processes holding the listening sockets whose accept queue was at its limit (on the host
    /// subject, when listeners dropped connections). Used to tie findings together (`listener`), not
    /// reported.
    #[serde(skip)]
    pub listeners: Vec<SubjectId>,
    /// A kernel-event subject's group (`segfault:COMM`, [`kernel`]): who it is across runs, where
    /// the pid of its newest event changes with every crash. Keys the `--state` file, not reported.
    #[serde(skip)]
    pub event_group: Option<String>,
    /// A kernel-event subject's events, by identity ([`kernel::event_id`]): a finding is new when
    /// one of them is. Not reported.
    #[serde(skip)]
    pub events: Vec<String>,
    /// A process's command line (secrets redacted unless --no-redact), read after the rules ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmdline: Option<String>,
}

impl SubjectId {
    pub fn host() -> SubjectId {
        SubjectId {
            kind: SubjectKind::Host,
            ..SubjectId::default()
        }
    }

    /// One of [`SUBJECT_FIELDS`] as text; `None` when this subject has no such part.
    pub fn field(&self, name: &str) -> Option<String> {
        match name {
            "pid" => self.pid.map(|p| p.to_string()),
            "comm" => self.comm.clone(),
            "user" => self.user.clone(),
            "cgroup" => self.cgroup.clone(),
            "pod_uid" => self.pod_uid.clone(),
            "container_id" => self.container_id.clone(),
            "device" => self.device.clone(),
            "path" => self.path.clone(),
            "numa_node" => self.node.map(|n| n.to_string()),
            "target" => self.target(),
            "inspect" => self.inspect(),
            _ => None,
        }
    }

    /// What to type after `osdoctor cgroup` for this subject: a container's short ID, else its pod's
    /// UID, else its cgroup path (never a 200-character path where a 12-digit ID will do).
    pub fn target(&self) -> Option<String> {
        self.container_id
            .as_ref()
            .map(|id| id.chars().take(12).collect())
            .or_else(|| self.pod_uid.clone())
            .or_else(|| self.cgroup.clone())
    }

    /// The container runtime's own command to inspect a container outside Kubernetes (`docker
    /// inspect 4f1a9c3e8b2d`); `None` for a pod's container (kubectl is the tool there), for a
    /// runtime the cgroup path does not name, and for anything not in a container.
    pub fn inspect(&self) -> Option<String> {
        use crate::parse::cgroup::Runtime;
        if self.pod_uid.is_some() {
            return None;
        }
        let id: String = self.container_id.as_ref()?.chars().take(12).collect();
        let runtime = crate::parse::cgroup::identify(self.cgroup.as_deref()?)?.runtime?;
        let tool = match runtime {
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
            Runtime::Containerd | Runtime::Crio => "crictl",
        };
        Some(format!("{tool} inspect {id}"))
    }

    /// [`Self::label`] with the names the kubelet's log tree gave: `container app (4f1a9c3e8b2d)`,
    /// `pod shop/checkout-7d9f8c6b5-x2lqp`; `container` for a host rule judged on the container
    /// osdoctor runs in (a host subject that names a cgroup). For display only: `--ignore` and the state match
    /// [`Self::label`], which does not change when the log tree comes or goes.
    pub fn display_label(&self) -> String {
        if self.judged_in_container() {
            return "container".to_string();
        }
        match (self.kind, &self.container, &self.container_id, &self.pod) {
            (SubjectKind::Cgroup, Some(name), Some(id), _) => {
                format!("container {name} ({})", id.chars().take(12).collect::<String>())
            }
            (SubjectKind::Cgroup, None, None, Some(pod)) => format!("pod {pod}"),
            _ => self.label(),
        }
    }

    /// A host rule judged on the container osdoctor runs in ([`crate::rules::Rule::in_container`]):
    /// its finding names the container's cgroup.
    pub fn judged_in_container(&self) -> bool {
        self.kind == SubjectKind::Host && self.cgroup.is_some()
    }

    /// A short human label: `host`, `pid 123 (java)`, `cgroup /kubepods/...`.
    pub fn label(&self) -> String {
        match self.kind {
            SubjectKind::Host => "host".to_string(),
            SubjectKind::Process => match (&self.pid, &self.comm) {
                (Some(pid), Some(comm)) => format!("pid {pid} ({comm})"),
                (Some(pid), None) => format!("pid {pid}"),
                _ => "process".to_string(),
            },
            // A container by its short ID, a pod by its UID: a 200-character path hides the numbers
            // that follow it on the line.
            SubjectKind::Cgroup => match (&self.container_id, &self.pod_uid) {
                (Some(id), _) => format!("container {}", id.chars().take(12).collect::<String>()),
                (None, Some(uid)) => format!("pod {uid}"),
                _ => format!("cgroup {}", self.cgroup.as_deref().unwrap_or("?")),
            },
            SubjectKind::User => format!("user {}", self.user.as_deref().unwrap_or("?")),
            SubjectKind::Disk | SubjectKind::Nic => {
                format!("{} {}", self.kind, self.device.as_deref().unwrap_or("?"))
            }
            SubjectKind::Mount => format!("mount {}", self.path.as_deref().unwrap_or("?")),
            SubjectKind::NumaNode => match self.node {
                Some(n) => numa::node_name(n),
                None => "numa node".to_string(),
            },
            SubjectKind::KernelEvent => "kernel event".to_string(),
        }
    }
}

/// One thing rules are evaluated against, with its facts.
#[derive(Debug, Clone)]
pub struct Subject {
    pub id: SubjectId,
    pub facts: FactSet,
}

/// Everything rules can see from one run.
#[derive(Debug, Clone)]
pub struct Facts {
    pub host: Subject,
    /// Non-host subjects by kind (`process`, `cgroup`, ...). A kind that is absent was not collected.
    pub subjects: BTreeMap<SubjectKind, Vec<Subject>>,
    /// True when only one sample was taken (`--interval 0`): rate facts are absent for that reason.
    pub single_sample: bool,
    /// What could not be read, to explain absent facts.
    pub coverage: Coverage,
    /// Why a subject kind has no subjects at all (no cgroup filesystem, kernel log unreadable).
    pub missing_subjects: BTreeMap<SubjectKind, String>,
    /// The kinds of `missing_subjects` this host does not have at all (no disk that did I/O): the USE
    /// grid shows them "absent", not "not evaluated".
    pub absent_subjects: std::collections::BTreeSet<SubjectKind>,
}

impl Facts {
    /// Why `name` is absent on `subject`: the subject's own reason, then an unreadable source file,
    /// then a missing second sample, then "not provided".
    pub fn why_missing(&self, subject: &Subject, name: &str) -> String {
        if let Some(r) = subject.facts.stated_reason(name) {
            return r.to_string();
        }
        let Some(def) = lookup(name) else {
            return format!("unknown fact {name}");
        };
        for src in def.sources {
            if let Some(p) = self.coverage.problem_for(src) {
                return format!("{}: {}", p.path, p.reason);
            }
        }
        if def.rate && self.single_sample {
            return match &self.coverage.one_sample {
                Some(why) => why.clone(),
                None => "needs two samples (run with --interval greater than 0)".to_string(),
            };
        }
        format!("{name} is not available on this host")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_is_targeted_by_its_shortest_name_and_inspected_by_its_runtime() {
        let cgroup = |path: &str| SubjectId {
            kind: SubjectKind::Cgroup,
            cgroup: Some(path.to_string()),
            pod_uid: crate::parse::cgroup::identify(path).and_then(|i| i.pod_uid),
            container_id: crate::parse::cgroup::identify(path).and_then(|i| i.container_id),
            ..SubjectId::default()
        };
        let id = "4f1a9c3e8b2d7f60a5c4e3b2d1f0e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2";
        // A pod's container: its short ID, and kubectl rather than the runtime.
        let pod = cgroup(&format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8d2b6f1e_3c4a_4e5f_9a7b_1c2d3e4f5a6b.slice/cri-containerd-{id}.scope"
        ));
        assert_eq!(pod.target().as_deref(), Some("4f1a9c3e8b2d"));
        assert_eq!(pod.inspect(), None);
        // A docker container outside Kubernetes.
        let docker = cgroup(&format!("/system.slice/docker-{id}.scope"));
        assert_eq!(docker.inspect().as_deref(), Some("docker inspect 4f1a9c3e8b2d"));
        // A plain cgroup: its path; nothing to inspect.
        let plain = cgroup("/system.slice/nginx.service");
        assert_eq!(plain.target().as_deref(), Some("/system.slice/nginx.service"));
        assert_eq!(plain.inspect(), None);
    }
}
