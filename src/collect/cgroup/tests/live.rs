//! On the running kernel, as root: create real cgroups, set limits, put a process in, and check that
//! `read_cgroup(&Root::live(), …)` and `resolve_target` read back what was set. Skips (with a message)
//! when not root or when the hierarchies are absent. Every cgroup it creates is removed again.

use std::process::{Child, Command};

use crate::collect::cgroup::*;

use crate::parse::cgroup::*;
use crate::root::Root;

/// Cgroup directories this test created, and the process it put in them; removed on drop, also when
/// an assertion fails.
struct Created {
    dirs: Vec<String>,
    child: Option<Child>,
}

impl Drop for Created {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for dir in self.dirs.iter().rev() {
            // The cgroup empties asynchronously after its last task exits.
            for _ in 0..50 {
                if std::fs::remove_dir(dir).is_ok() || !std::path::Path::new(dir).exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}

fn skip(why: &str) {
    eprintln!("skipped live cgroup test: {why}");
}

#[test]
fn limits_set_on_real_cgroups_read_back() {
    if !rustix::process::geteuid().is_root() {
        return skip("not root");
    }
    let root = Root::live();
    let layout = crate::collect::cgroup::layout::detect(&root);
    let (Some((mem, mem_version)), Some((pids, _))) =
        (layout.controller_mount("memory"), layout.controller_mount("pids"))
    else {
        return skip("no memory or pids hierarchy mounted");
    };
    if mem_version != CgroupVersion::V1 {
        return skip("the memory controller is not on cgroup v1 here (this test induces v1 limits)");
    }
    let name = format!("osdoctor-test-{}", std::process::id());
    let path = format!("/{name}");
    let mut created = Created {
        dirs: Vec::new(),
        child: None,
    };
    let mut dirs: Vec<String> = vec![mem.mount_point.clone(), pids.mount_point.clone()];
    let cpu = layout.v1_hierarchy("cpu").map(|h| h.mount.mount_point.clone());
    dirs.extend(cpu.iter().cloned());
    dirs.extend(layout.unified.as_ref().map(|m| m.mount_point.clone()));
    dirs.dedup();
    for base in &dirs {
        let dir = format!("{}/{name}", base.trim_end_matches('/'));
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {dir}: {e}"));
        created.dirs.push(dir);
    }
    let write =
        |file: String, value: &str| std::fs::write(&file, value).unwrap_or_else(|e| panic!("{file}: {e}"));
    write(
        format!("{}/{name}/memory.limit_in_bytes", mem.mount_point),
        "50331648",
    );
    write(format!("{}/{name}/pids.max", pids.mount_point), "7");
    if let Some(cpu) = &cpu {
        write(format!("{cpu}/{name}/cpu.cfs_quota_us"), "30000");
    }
    let child = Command::new("sleep").arg("30").spawn().expect("spawn sleep");
    let pid = child.id() as i32;
    created.child = Some(child);
    for dir in &created.dirs {
        write(format!("{dir}/cgroup.procs"), &pid.to_string());
    }

    let r = read_cgroup(&root, &layout, &path);
    assert_eq!(r.memory.max, Some(Limit::Value(48 << 20)), "{:?}", r.unreadable);
    assert_eq!(r.memory.hierarchical_max, Some(Limit::Value(48 << 20)));
    assert!(r.memory.current.is_some() && r.memory.working_set.is_some());
    assert_eq!(r.memory.events.oom_kill, Some(0));
    assert_eq!(r.pids.max, Some(Limit::Value(7)));
    assert_eq!(r.pids.current, Some(1));
    assert_eq!(r.procs, Some(vec![pid]));
    if cpu.is_some() {
        assert_eq!(r.cpu.quota_usec, Some(Limit::Value(30000)));
        assert_eq!(r.cpu.period_usec, Some(100000));
    }
    if layout.unified.is_some() {
        assert_eq!(r.populated, Some(true));
        assert!(r.pressure.memory.is_some(), "{:?}", r.unreadable);
    }
    assert!(
        r.unreadable
            .iter()
            .all(|p| !p.path.contains("memory.limit_in_bytes")),
        "{:?}",
        r.unreadable
    );

    // The same cgroup found from the process.
    let by_pid = resolve_target(&root, &layout, &pid.to_string()).expect("resolve the PID");
    assert_eq!(by_pid.cgroup.path, path);
    let by_path = resolve_target(&root, &layout, &name).expect("resolve the path");
    assert_eq!(by_path.cgroup.memory, by_pid.cgroup.memory);
}
