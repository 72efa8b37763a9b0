//! Listing a cgroup tree once, bounded in depth and size.
//!
//! A cgroup directory holds interface files and child cgroups. `Root::list_dir` gives names only, so
//! names that are interface files (`<controller>.<file>`, and v1's `tasks`, `notify_on_release`,
//! `release_agent`) are skipped without a system call; every other name is opened as a directory,
//! and one that turns out not to be a directory is skipped. cgroup-v2.rst: "All cgroup core files are
//! prefixed with \"cgroup.\"" and each controller's files with its name and a dot, which the kernel
//! keeps child names from colliding with.

use std::io;

use serde::Serialize;

use crate::root::{ReadError, Root};

use super::reading::FileProblem;
use crate::parse::cgroup::layout::{CgroupLayout, CgroupMount, CgroupVersion};

/// How far a walk may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkLimits {
    /// Levels below the hierarchy root. Kubernetes containers sit at depth 4 (systemd driver:
    /// kubepods.slice / QoS slice / pod slice / scope), 6–8 under kind or LXC prefixes.
    pub max_depth: usize,
    /// Cgroups listed at most; a busy node has a few thousand.
    pub max_cgroups: usize,
}

impl Default for WalkLimits {
    fn default() -> WalkLimits {
        WalkLimits {
            max_depth: 12,
            max_cgroups: 50_000,
        }
    }
}

/// The cgroups of one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CgroupTree {
    /// The hierarchy walked.
    pub mount: CgroupMount,
    pub version: CgroupVersion,
    /// Cgroup paths relative to the hierarchy root (`/` first), parents before children, siblings in
    /// name order.
    pub paths: Vec<String>,
    /// Why the walk stopped short of the whole tree, if it did.
    pub truncated: Option<String>,
    /// Directories that could not be listed (vanished ones are not listed: cgroups come and go).
    pub unreadable: Vec<FileProblem>,
}

/// Walk the layout's primary hierarchy (see [`CgroupLayout::primary`]); `None` when no cgroup
/// filesystem is mounted.
pub fn walk(root: &Root, layout: &CgroupLayout, limits: WalkLimits) -> Option<CgroupTree> {
    let (mount, version) = layout.primary()?;
    Some(walk_mount(root, mount, version, limits))
}

/// Walk one mounted hierarchy.
pub fn walk_mount(
    root: &Root,
    mount: &CgroupMount,
    version: CgroupVersion,
    limits: WalkLimits,
) -> CgroupTree {
    let base = mount.mount_point.trim_end_matches('/').to_string();
    let mut tree = CgroupTree {
        mount: mount.clone(),
        version,
        paths: Vec::new(),
        truncated: None,
        unreadable: Vec::new(),
    };
    // (path below the mount point, depth); children pushed in reverse so the walk is in name order.
    let mut stack: Vec<(String, usize)> = vec![(String::new(), 0)];
    while let Some((rel, depth)) = stack.pop() {
        if tree.paths.len() >= limits.max_cgroups {
            tree.truncated = Some(format!(
                "stopped after {} cgroups (the limit); {} more directories were not visited",
                limits.max_cgroups,
                stack.len() + 1
            ));
            break;
        }
        let dir = if rel.is_empty() {
            base.clone()
        } else {
            format!("{base}{rel}")
        };
        let names = match root.list_dir(if dir.is_empty() { "/" } else { &dir }) {
            Ok(names) => names,
            Err(e) if e.is_not_found() || is_not_a_directory(&e) => continue,
            Err(e) => {
                tree.unreadable.push(FileProblem {
                    path: dir,
                    reason: e.reason(),
                });
                continue;
            }
        };
        tree.paths.push(mount.cgroup_path_of(&rel));
        let mut children: Vec<String> = names.into_iter().filter(|n| !is_interface_file(n)).collect();
        if children.is_empty() {
            continue;
        }
        if depth >= limits.max_depth {
            if tree.truncated.is_none() {
                tree.truncated = Some(format!(
                    "did not look below depth {} (first at {})",
                    limits.max_depth,
                    mount.cgroup_path_of(&rel)
                ));
            }
            continue;
        }
        children.sort_unstable();
        for name in children.into_iter().rev() {
            stack.push((format!("{rel}/{name}"), depth + 1));
        }
    }
    tree
}

/// A name that is a cgroup interface file, never a child cgroup.
pub fn is_interface_file(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "cgroup",
        "memory",
        "cpu",
        "cpuacct",
        "cpuset",
        "io",
        "blkio",
        "pids",
        "hugetlb",
        "rdma",
        "misc",
        "devices",
        "freezer",
        "net_cls",
        "net_prio",
        "perf_event",
        "irq",
        "dmem",
    ];
    matches!(name, "tasks" | "notify_on_release" | "release_agent")
        || name
            .split_once('.')
            .is_some_and(|(prefix, _)| PREFIXES.contains(&prefix))
}

fn is_not_a_directory(e: &ReadError) -> bool {
    matches!(e, ReadError::Io { source, .. } if source.kind() == io::ErrorKind::NotADirectory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_files_are_recognised_by_name() {
        for f in [
            "cgroup.procs",
            "memory.stat",
            "cpu.max",
            "io.pressure",
            "tasks",
            "cpuacct.usage",
            "irq.pressure",
        ] {
            assert!(is_interface_file(f), "{f}");
        }
        for d in [
            "kubepods.slice",
            "system.slice",
            "docker-abc.scope",
            "pod1",
            "user.slice",
            "init.scope",
        ] {
            assert!(!is_interface_file(d), "{d}");
        }
    }

    #[test]
    fn walks_in_order_skipping_files_and_bounded() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = tmp.path().join("sys/fs/cgroup");
        for d in ["a/x/deep/deeper", "b", "a/y"] {
            std::fs::create_dir_all(base.join(d)).expect("mkdir");
        }
        std::fs::write(base.join("cgroup.procs"), "1\n").expect("write");
        std::fs::write(base.join("a/stray-file"), "").expect("write");
        let root = Root::dir(tmp.path()).expect("root");
        let layout = crate::parse::cgroup::layout::detect_from_text(
            "1 1 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
        );
        let all = walk(&root, &layout, WalkLimits::default()).expect("a hierarchy");
        assert_eq!(
            all.paths,
            ["/", "/a", "/a/x", "/a/x/deep", "/a/x/deep/deeper", "/a/y", "/b"]
        );
        assert_eq!(all.truncated, None);
        assert!(all.unreadable.is_empty(), "{:?}", all.unreadable);

        let shallow = walk(
            &root,
            &layout,
            WalkLimits {
                max_depth: 2,
                max_cgroups: 100,
            },
        )
        .expect("walk");
        assert_eq!(shallow.paths, ["/", "/a", "/a/x", "/a/y", "/b"]);
        assert!(
            shallow.truncated.as_deref().is_some_and(|t| t.contains("/a/x")),
            "{:?}",
            shallow.truncated
        );

        let few = walk(
            &root,
            &layout,
            WalkLimits {
                max_depth: 12,
                max_cgroups: 3,
            },
        )
        .expect("walk");
        assert_eq!(few.paths.len(), 3);
        assert!(few.truncated.is_some());
    }
}
