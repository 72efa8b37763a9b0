//! `/proc/PID/cgroup`: which cgroup a process is in, per hierarchy.
//!
//! cgroups(7): each line is `hierarchy-ID:controller-list:cgroup-path`. For cgroup v2 the line is
//! `0::/path`; v1 lines name their controllers (`4:memory:/x`, `1:cpu,cpuacct:/x`,
//! `1:name=systemd:/x`); a hybrid host prints both kinds. cgroup-v2.rst: "If the process becomes a
//! zombie and the cgroup it was associated with is removed subsequently, \" (deleted)\" is appended to
//! the path". Paths are relative to the reader's cgroup namespace root.
//!
//! Each line goes through procfs-core's `ProcessCGroups` parser on its own, so an error can name its
//! line (procfs-core's own error does not) and a blank line is skipped rather than fatal.

use procfs_core::FromRead;
use serde::Serialize;

use super::error::ParseError;

/// Membership in one cgroup v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct V1Membership {
    /// The controllers of the hierarchy (`["cpu", "cpuacct"]`, or `["name=systemd"]`).
    pub controllers: Vec<String>,
    pub path: String,
}

/// A process's cgroups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProcessCgroups {
    /// The cgroup2 path (the `0::` line), ` (deleted)` removed.
    pub unified: Option<String>,
    /// The cgroup2 cgroup has been removed (the process is a zombie that outlived it).
    pub unified_deleted: bool,
    pub v1: Vec<V1Membership>,
}

impl ProcessCgroups {
    /// The path in the v1 hierarchy holding `controller` (`memory`, `name=systemd`, ...).
    pub fn v1_path(&self, controller: &str) -> Option<&str> {
        self.v1
            .iter()
            .find(|m| m.controllers.iter().any(|c| c == controller))
            .map(|m| m.path.as_str())
    }
}

/// Parse the text of `/proc/PID/cgroup`.
pub fn parse(text: &str) -> Result<ProcessCgroups, ParseError> {
    let mut out = ProcessCgroups::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = procfs_core::ProcessCGroups::from_read(line.as_bytes())
            .map_err(|e| ParseError::new(i + 1, format!("expected ID:CONTROLLERS:PATH ({e})")))?;
        for entry in parsed.0 {
            if entry.hierarchy == 0 && entry.controllers.is_empty() {
                let (path, deleted) = match entry.pathname.strip_suffix(" (deleted)") {
                    Some(p) => (p.to_string(), true),
                    None => (entry.pathname, false),
                };
                out.unified = Some(path);
                out.unified_deleted = deleted;
            } else {
                out.v1.push(V1Membership {
                    controllers: entry.controllers,
                    path: entry.pathname,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_lines_from_this_machine() {
        let p = parse(
            "9:name=systemd:/\n8:pids:/osdoctor-fixture-pids\n7:blkio:/\n4:memory:/osdoctor-fixture-cache\n\
             2:cpuacct:/osdoctor-fixture-cpu\n1:cpu:/osdoctor-fixture-cpu\n0::/osdoctor-fixture\n",
        )
        .unwrap();
        assert_eq!(p.unified.as_deref(), Some("/osdoctor-fixture"));
        assert_eq!(p.v1_path("memory"), Some("/osdoctor-fixture-cache"));
        assert_eq!(p.v1_path("pids"), Some("/osdoctor-fixture-pids"));
        assert_eq!(p.v1_path("name=systemd"), Some("/"));
        assert_eq!(p.v1_path("hugetlb"), None);
    }

    #[test]
    fn v2_deleted_and_combined_controllers() {
        let p = parse("0::/test-cgroup/test-cgroup-nested (deleted)\n").unwrap();
        assert_eq!(p.unified.as_deref(), Some("/test-cgroup/test-cgroup-nested"));
        assert!(p.unified_deleted);
        let p = parse("3:cpu,cpuacct:/a:b\n\n").unwrap();
        assert_eq!(p.v1_path("cpuacct"), Some("/a:b"));
    }

    #[test]
    fn bad_line_is_named() {
        let e = parse("0::/\nnot a cgroup line\n").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
