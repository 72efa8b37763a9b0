//! Where the cgroup filesystems are mounted, and whether the host runs cgroup v1, v2 or both
//! ("hybrid"), from `/proc/self/mountinfo` (or `/proc/mounts`, or a look at `/sys/fs/cgroup`).
//!
//! proc(5), /proc/PID/mountinfo: `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root
//! rw,errors=continue` — field 4 is "the pathname of the directory in the filesystem which forms the
//! root of this mount", field 5 the mount point, and after the ` - ` separator come the filesystem
//! type, the source and the per-superblock options. For cgroup v1 the superblock options name the
//! controllers bound to the hierarchy (`rw,cpu,cpuacct`) or a named hierarchy (`name=systemd`).
//!
//! Lines are parsed with procfs-core's `MountInfo::from_line`, one at a time so a malformed line is
//! skipped (and reported) rather than losing the whole table. procfs-core leaves the kernel's octal
//! escapes (`\040` for a space) in paths; they are decoded here.
//!
//! Inside a container the mount root (field 4) may be the container's own cgroup, e.g.
//! `/kubepods/burstable/pod…/<id>`: a cgroup path from /proc/PID/cgroup then lives under the mount
//! point with that prefix removed ([`CgroupMount::dir_of`]).

use serde::Serialize;

/// The controllers cgroup v1 knows (kernel `SUBSYS()` list, include/linux/cgroup_subsys.h).
pub const V1_CONTROLLERS: &[&str] = &[
    "cpuset",
    "cpu",
    "cpuacct",
    "io",
    "blkio",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "perf_event",
    "net_prio",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
    "debug",
];

/// How the host runs cgroups. Serialized as `"v1"`, `"v2"`, `"hybrid"` (the JSON report's
/// `host.cgroup_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupMode {
    /// Only cgroup v1 controller hierarchies (perhaps a named `name=systemd` one too).
    V1,
    /// Only the unified cgroup2 hierarchy holds controllers.
    V2,
    /// v1 controller hierarchies plus a cgroup2 mount (systemd's "hybrid", cgroup2 at
    /// /sys/fs/cgroup/unified): controllers are on v1, PSI and cgroup.events come from cgroup2.
    Hybrid,
}

impl CgroupMode {
    /// `v1`, `v2` or `hybrid`, as the report's `host.cgroup_mode` says it.
    pub fn name(self) -> &'static str {
        match self {
            CgroupMode::V1 => "v1",
            CgroupMode::V2 => "v2",
            CgroupMode::Hybrid => "hybrid",
        }
    }
}

/// Which interface a controller's files follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupVersion {
    V1,
    V2,
}

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CgroupMount {
    /// Where it is mounted, e.g. `/sys/fs/cgroup/memory` (escapes decoded).
    pub mount_point: String,
    /// The cgroup that forms the root of this mount (mountinfo field 4): `/` on a host, the
    /// container's own cgroup inside some containers. `/` when read from /proc/mounts, which lacks it.
    pub root: String,
    /// Superblock options, sorted (`memory_localevents`, `nsdelegate`, `cpu`, `name=systemd`, ...).
    pub super_options: Vec<String>,
}

impl CgroupMount {
    /// The directory (inside the osdoctor root) of `cgroup_path`, a path relative to the hierarchy's
    /// root as /proc/PID/cgroup and the kernel log print it. `None` when the cgroup lies outside
    /// what this mount shows (a container's mount of its own subtree).
    pub fn dir_of(&self, cgroup_path: &str) -> Option<String> {
        let path = normalize_cgroup_path(cgroup_path)?;
        let rest = if self.root == "/" {
            path.as_str()
        } else if path == self.root {
            "/"
        } else {
            path.strip_prefix(self.root.as_str())
                .filter(|r| r.starts_with('/'))?
        };
        let base = self.mount_point.trim_end_matches('/');
        Some(if rest == "/" {
            if base.is_empty() {
                "/".to_string()
            } else {
                base.to_string()
            }
        } else {
            format!("{base}{rest}")
        })
    }

    /// The cgroup path of `relative`, a path below this mount point (`/a/b` for `<mount>/a/b`).
    pub fn cgroup_path_of(&self, relative: &str) -> String {
        let relative = relative.trim_matches('/');
        match (self.root.as_str(), relative) {
            (root, "") => root.to_string(),
            ("/", rel) => format!("/{rel}"),
            (root, rel) => format!("{}/{rel}", root.trim_end_matches('/')),
        }
    }

    /// True when the superblock options include `option`.
    pub fn has_option(&self, option: &str) -> bool {
        self.super_options.iter().any(|o| o == option)
    }
}

/// A cgroup v1 hierarchy: its controllers (several when co-mounted, like `cpu,cpuacct`) or its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct V1Hierarchy {
    /// Controllers bound to it, in the kernel's order; empty for a named hierarchy.
    pub controllers: Vec<String>,
    /// `systemd` for `name=systemd`.
    pub name: Option<String>,
    pub mount: CgroupMount,
}

/// The host's cgroup mounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CgroupLayout {
    /// `None` when no cgroup filesystem was found at all.
    pub mode: Option<CgroupMode>,
    /// The cgroup2 mount (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on hybrid hosts).
    pub unified: Option<CgroupMount>,
    /// The v1 hierarchies, controller hierarchies and named ones alike.
    pub v1: Vec<V1Hierarchy>,
    /// What the layout was read from: `/proc/self/mountinfo`, `/proc/mounts`, `/sys/fs/cgroup`
    /// (by looking at the directories), or `nothing` when all of them failed.
    pub source: String,
    /// What went wrong on the way (unreadable files, skipped lines), for the coverage report.
    pub problems: Vec<String>,
}

impl CgroupLayout {
    pub(crate) fn empty(source: &str) -> CgroupLayout {
        CgroupLayout {
            mode: None,
            unified: None,
            v1: Vec::new(),
            source: source.to_string(),
            problems: Vec::new(),
        }
    }

    /// The v1 hierarchy `controller` (`memory`, `cpu`, `name=systemd`, ...) is bound to.
    pub fn v1_hierarchy(&self, controller: &str) -> Option<&V1Hierarchy> {
        match controller.strip_prefix("name=") {
            Some(name) => self.v1.iter().find(|h| h.name.as_deref() == Some(name)),
            None => self
                .v1
                .iter()
                .find(|h| h.controllers.iter().any(|c| c == controller)),
        }
    }

    /// Where `controller`'s files are: its v1 hierarchy if it has one, otherwise the cgroup2 mount.
    pub fn controller_mount(&self, controller: &str) -> Option<(&CgroupMount, CgroupVersion)> {
        match self.v1_hierarchy(controller) {
            Some(h) => Some((&h.mount, CgroupVersion::V1)),
            None => self.unified.as_ref().map(|m| (m, CgroupVersion::V2)),
        }
    }

    /// The hierarchy that stands for "the cgroup tree" when one must be walked or a single path
    /// shown: cgroup2 on a v2 host; on v1 and hybrid hosts the memory hierarchy (where OOM kills are
    /// counted), else cpu, pids, any controller hierarchy, cgroup2, or a named hierarchy.
    pub fn primary(&self) -> Option<(&CgroupMount, CgroupVersion)> {
        if self.mode == Some(CgroupMode::V2) {
            return self.unified.as_ref().map(|m| (m, CgroupVersion::V2));
        }
        ["memory", "cpu", "pids", "cpuacct"]
            .iter()
            .find_map(|c| self.v1_hierarchy(c))
            .or_else(|| self.v1.iter().find(|h| !h.controllers.is_empty()))
            .map(|h| (&h.mount, CgroupVersion::V1))
            .or_else(|| self.unified.as_ref().map(|m| (m, CgroupVersion::V2)))
            .or_else(|| self.v1.first().map(|h| (&h.mount, CgroupVersion::V1)))
    }

    /// Every mount point, cgroup2 first.
    pub fn mounts(&self) -> impl Iterator<Item = &CgroupMount> {
        self.unified.iter().chain(self.v1.iter().map(|h| &h.mount))
    }

    /// cgroup2 mounted with `memory_localevents`: memory.events then counts this cgroup only.
    pub fn memory_localevents(&self) -> bool {
        self.unified
            .as_ref()
            .is_some_and(|m| m.has_option("memory_localevents"))
    }
}

/// Detect the layout from the text of `/proc/PID/mountinfo`. Malformed lines are skipped and listed
/// in `problems`.
pub fn detect_from_text(mountinfo: &str) -> CgroupLayout {
    let mut found = Found::default();
    let mut problems = Vec::new();
    for (i, line) in mountinfo.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        // Cheap pre-filter: only cgroup lines matter, and a non-cgroup line that procfs-core cannot
        // parse is none of our business.
        if !line.contains(" - cgroup") {
            continue;
        }
        match procfs_core::process::MountInfo::from_line(line) {
            Ok(mi) => {
                let mut options: Vec<String> = mi
                    .super_options
                    .iter()
                    .map(|(k, v)| match v {
                        Some(v) => format!("{k}={v}"),
                        None => k.clone(),
                    })
                    .collect();
                options.sort();
                let mount = CgroupMount {
                    mount_point: unescape_octal(&mi.mount_point.to_string_lossy()),
                    root: normalize_mount_root(&unescape_octal(&mi.root)),
                    super_options: options,
                };
                found.add(&mi.fs_type, mount);
            }
            Err(e) => problems.push(format!("line {}: skipped ({e})", i + 1)),
        }
    }
    let mut layout = found.into_layout("/proc/self/mountinfo");
    layout.problems = problems;
    layout
}

/// Detect the layout from the text of `/proc/mounts` (`source mountpoint fstype options 0 0`), which
/// lacks the mount root. procfs-core's `MountEntry` does not decode `\040`, so the four fields are
/// split here.
pub fn detect_from_proc_mounts(mounts: &str) -> CgroupLayout {
    let mut found = Found::default();
    let mut problems = Vec::new();
    for (i, line) in mounts.lines().enumerate() {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let [_source, mount_point, fstype, options, ..] = fields[..] else {
            problems.push(format!("line {}: skipped (fewer than 4 fields)", i + 1));
            continue;
        };
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        let mut super_options: Vec<String> = options.split(',').map(str::to_string).collect();
        super_options.sort();
        found.add(
            fstype,
            CgroupMount {
                mount_point: unescape_octal(mount_point),
                root: "/".to_string(),
                super_options,
            },
        );
    }
    let mut layout = found.into_layout("/proc/mounts");
    layout.problems = problems;
    layout
}

/// Cgroup mounts seen so far.
#[derive(Default)]
pub(crate) struct Found {
    pub(crate) unified: Vec<CgroupMount>,
    pub(crate) v1: Vec<V1Hierarchy>,
}

impl Found {
    pub(crate) fn add(&mut self, fstype: &str, mount: CgroupMount) {
        match fstype {
            "cgroup2" => self.unified.push(mount),
            "cgroup" => {
                let controllers: Vec<String> = V1_CONTROLLERS
                    .iter()
                    .filter(|c| mount.has_option(c))
                    .map(|c| c.to_string())
                    .collect();
                let name = mount
                    .super_options
                    .iter()
                    .find_map(|o| o.strip_prefix("name="))
                    .map(str::to_string);
                // The same hierarchy mounted twice (a bind mount, or the probe meeting a symlink):
                // keep the mount that shows more of the tree.
                let same = |h: &V1Hierarchy| {
                    if controllers.is_empty() {
                        h.controllers.is_empty() && h.name == name
                    } else {
                        h.controllers.iter().any(|c| controllers.contains(c))
                    }
                };
                if let Some(existing) = self.v1.iter_mut().find(|h| same(h)) {
                    if mount_rank(&mount) > mount_rank(&existing.mount) {
                        existing.mount = mount;
                    }
                    return;
                }
                self.v1.push(V1Hierarchy {
                    controllers,
                    name,
                    mount,
                });
            }
            _ => {}
        }
    }

    pub(crate) fn into_layout(self, source: &str) -> CgroupLayout {
        // Several cgroup2 mounts: prefer the standard place and a mount of the whole tree.
        let unified = self
            .unified
            .into_iter()
            .enumerate()
            .max_by_key(|(i, m)| (mount_rank(m), std::cmp::Reverse(*i)))
            .map(|(_, m)| m);
        let has_v1_controllers = self.v1.iter().any(|h| !h.controllers.is_empty());
        let mode = match (has_v1_controllers, unified.is_some()) {
            (true, true) => Some(CgroupMode::Hybrid),
            (true, false) => Some(CgroupMode::V1),
            (false, true) => Some(CgroupMode::V2),
            // Only a named hierarchy: cgroups exist but no controller counts anything.
            (false, false) if !self.v1.is_empty() => Some(CgroupMode::V1),
            (false, false) => None,
        };
        CgroupLayout {
            mode,
            unified,
            v1: self.v1,
            source: source.to_string(),
            problems: Vec::new(),
        }
    }
}

/// Higher is better: a mount of the whole hierarchy, at the usual place.
fn mount_rank(m: &CgroupMount) -> (bool, bool) {
    (m.root == "/", m.mount_point.starts_with("/sys/fs/cgroup"))
}

/// Decode the `\ooo` octal escapes the kernel writes for space, tab, newline and backslash in
/// mount paths (fs/proc_namespace.c `mangle()`).
pub fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') as u32 * 64
                + (bytes[i + 2] - b'0') as u32 * 8
                + (bytes[i + 3] - b'0') as u32;
            if let Ok(b) = u8::try_from(v) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A mount root as a clean absolute path. A cgroup namespace can show roots outside it as `/..`;
/// nothing below such a mount can be mapped, so it is kept as written (and matches no path).
fn normalize_mount_root(root: &str) -> String {
    if root.split('/').any(|c| c == "..") {
        return root.to_string();
    }
    normalize_cgroup_path(root).unwrap_or_else(|| root.to_string())
}

/// `a//b/./c/` -> `/a/b/c`; `None` for a path with `..` (it could climb out of the hierarchy).
pub fn normalize_cgroup_path(path: &str) -> Option<String> {
    let mut out = String::with_capacity(path.len() + 1);
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => return None,
            c => {
                out.push('/');
                out.push_str(c);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// This machine's mount table (Linux 6.18, hybrid), cgroup lines as printed.
    pub(crate) const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn hybrid() {
        let l = detect_from_text(HYBRID);
        assert_eq!(l.mode, Some(CgroupMode::Hybrid));
        assert_eq!(l.unified.as_ref().unwrap().mount_point, "/sys/fs/cgroup/unified");
        assert_eq!(
            l.v1_hierarchy("memory").unwrap().mount.mount_point,
            "/sys/fs/cgroup/memory"
        );
        assert_eq!(
            l.v1_hierarchy("cpuacct").unwrap().mount.mount_point,
            "/sys/fs/cgroup/cpuacct"
        );
        assert_eq!(
            l.v1_hierarchy("name=systemd").unwrap().mount.mount_point,
            "/sys/fs/cgroup/systemd"
        );
        assert!(l.v1_hierarchy("blkio").is_none());
        let (primary, version) = l.primary().unwrap();
        assert_eq!(
            (primary.mount_point.as_str(), version),
            ("/sys/fs/cgroup/memory", CgroupVersion::V1)
        );
        // io has no v1 hierarchy here: it falls to cgroup2.
        assert_eq!(l.controller_mount("io").unwrap().1, CgroupVersion::V2);
        assert!(l.problems.is_empty(), "{:?}", l.problems);
    }

    #[test]
    fn pure_v2_and_combined_v1() {
        let v2 = detect_from_text(
            "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
        );
        assert_eq!(v2.mode, Some(CgroupMode::V2));
        assert_eq!(
            v2.controller_mount("memory").unwrap().0.mount_point,
            "/sys/fs/cgroup"
        );
        assert!(!v2.memory_localevents());

        let v1 = detect_from_text(
            "25 24 0:22 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd\n\
             28 24 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct\n\
             29 24 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory\n",
        );
        assert_eq!(v1.mode, Some(CgroupMode::V1));
        assert!(v1.unified.is_none());
        let cpu = v1.v1_hierarchy("cpu").unwrap();
        assert_eq!(cpu.controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(cpu.mount.mount_point, "/sys/fs/cgroup/cpu,cpuacct");
        assert_eq!(
            v1.v1_hierarchy("cpuacct").unwrap().mount.mount_point,
            "/sys/fs/cgroup/cpu,cpuacct"
        );
        assert_eq!(
            v1.v1_hierarchy("name=systemd").unwrap().name.as_deref(),
            Some("systemd")
        );
    }

    #[test]
    fn container_mount_root_is_stripped() {
        let l = detect_from_text(
            "1200 1100 0:32 /kubepods/burstable/pod1/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n",
        );
        let m = &l.v1_hierarchy("memory").unwrap().mount;
        assert_eq!(m.root, "/kubepods/burstable/pod1/abc");
        assert_eq!(
            m.dir_of("/kubepods/burstable/pod1/abc").as_deref(),
            Some("/sys/fs/cgroup/memory")
        );
        assert_eq!(
            m.dir_of("/kubepods/burstable/pod1/abc/x").as_deref(),
            Some("/sys/fs/cgroup/memory/x")
        );
        assert_eq!(m.dir_of("/kubepods/burstable/pod1/abcdef"), None);
        assert_eq!(m.dir_of("/"), None);
        assert_eq!(m.cgroup_path_of("x"), "/kubepods/burstable/pod1/abc/x");
        assert_eq!(m.cgroup_path_of(""), "/kubepods/burstable/pod1/abc");
    }

    #[test]
    fn dir_of_on_a_host() {
        let m = CgroupMount {
            mount_point: "/sys/fs/cgroup/".into(),
            root: "/".into(),
            super_options: vec![],
        };
        assert_eq!(m.dir_of("/").as_deref(), Some("/sys/fs/cgroup"));
        assert_eq!(m.dir_of("a//b/").as_deref(), Some("/sys/fs/cgroup/a/b"));
        assert_eq!(m.dir_of("/a/../../etc"), None);
        assert_eq!(m.cgroup_path_of("/a/b/"), "/a/b");
        assert_eq!(m.cgroup_path_of(""), "/");
    }

    #[test]
    fn escapes_and_bad_lines() {
        let l = detect_from_text(
            "garbage - cgroup\n\n41 31 0:38 / /sys/fs/cgroup/my\\040unified rw - cgroup2 cgroup2 rw,memory_localevents\n",
        );
        assert_eq!(
            l.unified.as_ref().unwrap().mount_point,
            "/sys/fs/cgroup/my unified"
        );
        assert!(l.memory_localevents());
        assert_eq!(l.problems.len(), 1);
        assert!(l.problems[0].starts_with("line 1:"), "{:?}", l.problems);
        assert_eq!(unescape_octal("a\\134b\\011c\\"), "a\\b\tc\\");
        assert_eq!(unescape_octal("\\777x"), "\\777x");
    }

    #[test]
    fn proc_mounts_fallback() {
        let l = detect_from_proc_mounts(
            "proc /proc proc rw 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n\
             cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0\nshort line\n",
        );
        assert_eq!(l.mode, Some(CgroupMode::Hybrid));
        assert_eq!(l.v1_hierarchy("memory").unwrap().mount.root, "/");
        assert_eq!(l.problems.len(), 1);
    }

    #[test]
    fn nothing_mounted() {
        let l = detect_from_text("22 27 0:21 / /proc rw,relatime - proc proc rw\n");
        assert_eq!(l.mode, None);
        assert!(l.primary().is_none());
    }

    #[test]
    fn several_cgroup2_mounts_prefer_the_whole_tree_at_the_usual_place() {
        let l = detect_from_text(
            "50 40 0:40 /system.slice /run/x rw - cgroup2 cgroup2 rw\n\
             30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n\
             51 40 0:26 / /mnt/cg rw - cgroup2 cgroup2 rw\n",
        );
        assert_eq!(l.unified.unwrap().mount_point, "/sys/fs/cgroup");
    }
}
