//! Finding the cgroup layout of a root: its mount table (`/proc/self/mountinfo`, then `/proc/mounts`,
//! parsed by [`crate::parse::cgroup::layout`]), or, where a tree has none (snapshots, hand-built
//! trees), the directories under `/sys/fs/cgroup`.

use crate::parse::cgroup::layout::{
    CgroupLayout, CgroupMount, Found, V1_CONTROLLERS, detect_from_proc_mounts, detect_from_text,
};
use crate::root::{ReadError, Root};

/// Detect the layout under `root`. Never fails: with nothing found, `mode` is `None` and
/// `problems` says why.
pub fn detect(root: &Root) -> CgroupLayout {
    detect_with(root, None)
}

/// [`detect`], with /proc/self/mountinfo already read (by the host collector of the same pass);
/// `None`: read it here.
pub fn detect_with(root: &Root, mountinfo: Option<&Result<String, ReadError>>) -> CgroupLayout {
    let mut problems = Vec::new();
    for (path, parse) in [
        (
            "/proc/self/mountinfo",
            detect_from_text as fn(&str) -> CgroupLayout,
        ),
        ("/proc/mounts", detect_from_proc_mounts),
    ] {
        let read;
        let text = match mountinfo {
            Some(shared) if path == "/proc/self/mountinfo" => shared.as_ref(),
            _ => {
                read = root.read_string(path);
                read.as_ref()
            }
        };
        match text {
            Ok(text) => {
                let mut layout = parse(text);
                problems.extend(layout.problems.drain(..).map(|p| format!("{path}: {p}")));
                if layout.mode.is_some() {
                    layout.problems = problems;
                    return layout;
                }
                problems.push(format!("{path}: no cgroup or cgroup2 mount listed"));
            }
            Err(e) => problems.push(format!("{path}: {}", e.reason())),
        }
    }
    let mut layout = probe_sys_fs_cgroup(root);
    problems.append(&mut layout.problems);
    layout.problems = problems;
    layout
}

/// Look at the directories under /sys/fs/cgroup: `cgroup.controllers` at the top means cgroup2
/// there; otherwise each directory holding `cgroup.procs` is a v1 hierarchy named after its
/// controllers (`cpu,cpuacct`), and `unified/cgroup.controllers` is a hybrid host's cgroup2.
fn probe_sys_fs_cgroup(root: &Root) -> CgroupLayout {
    const BASE: &str = "/sys/fs/cgroup";
    let mut found = Found::default();
    let mount = |mount_point: String| CgroupMount {
        mount_point,
        root: "/".to_string(),
        super_options: Vec::new(),
    };
    if root.exists(&format!("{BASE}/cgroup.controllers")) {
        found.add("cgroup2", mount(BASE.to_string()));
        return found.into_layout(BASE);
    }
    let mut names = match root.list_dir(BASE) {
        Ok(names) => names,
        Err(e) => {
            let mut layout = CgroupLayout::empty("nothing");
            layout.problems.push(format!("{BASE}: {}", e.reason()));
            return layout;
        }
    };
    // Co-mounted directories (`cpu,cpuacct`) before their single-controller symlinks (`cpu`).
    names.sort_by_key(|n| (std::cmp::Reverse(n.matches(',').count()), n.clone()));
    for name in names {
        let dir = format!("{BASE}/{name}");
        if name == "unified" {
            if root.exists(&format!("{dir}/cgroup.controllers")) {
                found.add("cgroup2", mount(dir));
            }
            continue;
        }
        if !root.exists(&format!("{dir}/cgroup.procs")) {
            continue;
        }
        let controllers: Vec<&str> = name.split(',').filter(|c| V1_CONTROLLERS.contains(c)).collect();
        let mut m = mount(dir);
        m.super_options = if controllers.is_empty() {
            vec![format!("name={name}")]
        } else {
            controllers.iter().map(|c| c.to_string()).collect()
        };
        found.add("cgroup", m);
    }
    let source = if found.unified.is_empty() && found.v1.is_empty() {
        "nothing"
    } else {
        BASE
    };
    found.into_layout(source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::cgroup::layout::CgroupMode;
    use crate::parse::cgroup::layout::tests::HYBRID;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().expect("tempdir");
        for (path, text) in files {
            let p = tmp.path().join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        tmp
    }

    #[test]
    fn detect_prefers_mountinfo_then_proc_mounts() {
        let t = tree(&[
            ("/proc/self/mountinfo", HYBRID),
            ("/proc/mounts", "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"),
        ]);
        let l = detect(&Root::dir(t.path()).expect("root"));
        assert_eq!(
            (l.mode, l.source.as_str()),
            (Some(CgroupMode::Hybrid), "/proc/self/mountinfo")
        );

        let t = tree(&[(
            "/proc/mounts",
            "cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n",
        )]);
        let l = detect(&Root::dir(t.path()).expect("root"));
        assert_eq!(
            (l.mode, l.source.as_str()),
            (Some(CgroupMode::V2), "/proc/mounts")
        );
        assert_eq!(l.problems, vec!["/proc/self/mountinfo: not found".to_string()]);
    }

    #[test]
    fn detect_by_looking_at_sys_fs_cgroup() {
        let v2 = tree(&[("/sys/fs/cgroup/cgroup.controllers", "cpu io memory pids\n")]);
        let l = detect(&Root::dir(v2.path()).expect("root"));
        assert_eq!(
            (l.mode, l.source.as_str()),
            (Some(CgroupMode::V2), "/sys/fs/cgroup")
        );
        assert_eq!(l.unified.expect("unified").mount_point, "/sys/fs/cgroup");

        let hybrid = tree(&[
            ("/sys/fs/cgroup/unified/cgroup.controllers", ""),
            ("/sys/fs/cgroup/cpu,cpuacct/cgroup.procs", "1\n"),
            ("/sys/fs/cgroup/memory/cgroup.procs", "1\n"),
            ("/sys/fs/cgroup/systemd/cgroup.procs", "1\n"),
            ("/sys/fs/cgroup/not-a-hierarchy/readme", ""),
        ]);
        std::os::unix::fs::symlink("cpu,cpuacct", hybrid.path().join("sys/fs/cgroup/cpu")).expect("symlink");
        let l = detect(&Root::dir(hybrid.path()).expect("root"));
        assert_eq!(l.mode, Some(CgroupMode::Hybrid));
        assert_eq!(l.v1.len(), 3, "{:?}", l.v1);
        assert_eq!(
            l.v1_hierarchy("cpuacct").expect("cpuacct").mount.mount_point,
            "/sys/fs/cgroup/cpu,cpuacct"
        );
        assert_eq!(
            l.v1_hierarchy("name=systemd").expect("systemd").mount.mount_point,
            "/sys/fs/cgroup/systemd"
        );

        let empty = tempfile::tempdir().expect("tempdir");
        let l = detect(&Root::dir(empty.path()).expect("root"));
        assert_eq!((l.mode, l.source.as_str()), (None, "nothing"));
        assert_eq!(l.problems.len(), 3, "{:?}", l.problems);
    }
}
