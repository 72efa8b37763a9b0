//! `resolve_target` on pod trees built in temporary directories: cgroup v2 with the systemd driver and
//! containerd, cgroup v2 with the cgroupfs driver and CRI-O, and this machine's hybrid v1 layout with
//! the cgroupfs driver and docker. Interface file contents come from tests/data/cgroupfs.

use super::{Tree, data};
use crate::collect::cgroup::*;
use crate::parse::cgroup::*;

const UID: &str = "eded8c65-6e8e-4c6e-a889-3e427565c740";
const UID2: &str = "2ca4a155-3599-498d-bb9d-4446693fa3ea";
const STATIC_UID: &str = "6a5c3bb4fbc1d7e0a8f2c58d2e1a9b77";
/// The app container, and a container of another pod sharing its first 12 hex digits.
const APP: &str = "0ba8ac17b2cb4d0c22fa1e2f5f3a0bc8d7aab6b1a84a1b35ef9b1f7a1f0b5c2d";
const TWIN: &str = "0ba8ac17b2cb99999999999999999999999999999999999999999999999999aa";
const PAUSE: &str = "7e1f6b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f";
const OTHER: &str = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";

fn underscored(uid: &str) -> String {
    uid.replace('-', "_")
}

/// cgroup v2, systemd driver, containerd: a Burstable pod (app + pause) and a BestEffort pod whose
/// container shares the app's 12-digit prefix.
fn systemd_containerd() -> Tree {
    let t = Tree::new();
    let pod = format!(
        "/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice",
        underscored(UID)
    );
    let pod2 = format!(
        "/sys/fs/cgroup/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{}.slice",
        underscored(UID2)
    );
    t.file(
        "/proc/self/mountinfo",
        "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
    )
    .file("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n")
    .file("/sys/fs/cgroup/system.slice/containerd.service/cgroup.procs", "812\n")
    .copy("v2-documented", &format!("{pod}/cri-containerd-{APP}.scope"))
    .file(&format!("{pod}/cri-containerd-{APP}.scope/cgroup.procs"), "4121\n")
    .file(&format!("{pod}/cri-containerd-{PAUSE}.scope/cgroup.procs"), "4001\n")
    .file(&format!("{pod}/memory.max"), "max\n")
    .file(&format!("{pod2}/cri-containerd-{TWIN}.scope/cgroup.procs"), "")
    .file("/proc/4121/comm", "nginx\n")
    .file("/proc/4001/comm", "pause\n")
    .file(
        "/proc/4121/cgroup",
        &format!(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/cri-containerd-{APP}.scope\n",
            underscored(UID)
        ),
    );
    t
}

/// cgroup v2, cgroupfs driver, CRI-O: a Burstable pod with its conmon cgroups, and a static pod.
fn cgroupfs_crio() -> Tree {
    let t = Tree::new();
    let pod = format!("/sys/fs/cgroup/kubepods/burstable/pod{UID}");
    t.file(
        "/proc/self/mountinfo",
        "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
    )
    .copy("v2-documented", &format!("{pod}/crio-{APP}"))
    .file(&format!("{pod}/crio-{APP}/cgroup.procs"), "5001\n")
    .file(&format!("{pod}/crio-conmon-{APP}/cgroup.procs"), "5000\n")
    .file(&format!("{pod}/crio-{PAUSE}/cgroup.procs"), "4990\n")
    .file(&format!("{pod}/crio-conmon-{PAUSE}/cgroup.procs"), "4989\n")
    .file(
        &format!("/sys/fs/cgroup/kubepods/pod{STATIC_UID}/crio-{OTHER}/cgroup.procs"),
        "",
    )
    .file("/proc/5001/comm", "postgres\n")
    .file("/proc/4990/comm", "pause\n");
    t
}

/// This machine's hybrid layout (real mountinfo), cgroupfs driver with docker: the container's v1
/// memory files are the real ones of the OOM-killed cgroup.
fn hybrid_docker() -> Tree {
    let t = Tree::new();
    let rel = format!("kubepods/besteffort/pod{UID}/{APP}");
    t.file("/proc/self/mountinfo", &data("real/mountinfo"))
        .copy(
            "real/v1/memory/osdoctor-fixture-oom",
            &format!("/sys/fs/cgroup/memory/{rel}"),
        )
        .file(&format!("/sys/fs/cgroup/memory/{rel}/cgroup.procs"), "6001\n")
        .copy(
            "real/v1/cpu/osdoctor-fixture-cpu",
            &format!("/sys/fs/cgroup/cpu/{rel}"),
        )
        .copy(
            "real/v1/cpuacct/osdoctor-fixture-cpu",
            &format!("/sys/fs/cgroup/cpuacct/{rel}"),
        )
        .copy(
            "real/v1/pids/osdoctor-fixture-pids",
            &format!("/sys/fs/cgroup/pids/{rel}"),
        )
        .dir(&format!(
            "/sys/fs/cgroup/memory/kubepods/besteffort/pod{UID}/{PAUSE}"
        ))
        .dir("/sys/fs/cgroup/unified")
        .file(
            "/proc/6001/cgroup",
            &format!(
                "8:pids:/{rel}\n4:memory:/{rel}\n2:cpuacct:/{rel}\n1:cpu:/{rel}\n9:name=systemd:/\n0::/\n"
            ),
        );
    t
}

fn resolve(t: &Tree, target: &str) -> Result<Resolved, TargetError> {
    let root = t.root();
    let layout = crate::collect::cgroup::layout::detect(&root);
    resolve_target(&root, &layout, target)
}

#[test]
fn systemd_pod_uid_with_dashes_and_underscores() {
    let t = systemd_containerd();
    for target in [UID.to_string(), underscored(UID), format!("pod{UID}")] {
        let r = resolve(&t, &target).unwrap_or_else(|e| panic!("{target}: {e}"));
        assert_eq!(r.kind, TargetKind::PodUid);
        assert_eq!(
            r.cgroup.path,
            format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice",
                underscored(UID)
            )
        );
        let id = r.identity.as_ref().unwrap();
        assert_eq!(
            (id.pod_uid.as_deref(), id.qos),
            (Some(UID), Some(QosClass::Burstable))
        );
        let ids: Vec<(&str, Option<bool>)> = r
            .containers
            .iter()
            .map(|c| (c.container_id.as_str(), c.is_pause))
            .collect();
        assert_eq!(ids, [(APP, Some(false)), (PAUSE, Some(true))]);
        assert!(
            r.containers
                .iter()
                .all(|c| c.runtime == Some(Runtime::Containerd))
        );
        assert!(r.notes.is_empty(), "{:?}", r.notes);
    }
}

#[test]
fn systemd_container_full_id_and_prefix() {
    let t = systemd_containerd();
    for target in [
        APP.to_string(),
        APP[..13].to_string(),
        format!("containerd://{APP}"),
    ] {
        let r = resolve(&t, &target).unwrap_or_else(|e| panic!("{target}: {e}"));
        assert_eq!(r.kind, TargetKind::ContainerId);
        assert!(
            r.cgroup.path.ends_with(&format!("/cri-containerd-{APP}.scope")),
            "{}",
            r.cgroup.path
        );
        assert_eq!(r.identity.as_ref().unwrap().container_id.as_deref(), Some(APP));
    }
    // The judged case: the container's memory.events oom_kill, read through the resolved directories.
    let root = t.root();
    let r = resolve(&t, &APP[..13]).unwrap();
    let reading = read_cgroup_dirs(&root, &r.cgroup);
    assert_eq!(reading.memory.events.oom_kill, Some(3));
    assert!(reading.unreadable.is_empty(), "{:?}", reading.unreadable);
}

#[test]
fn systemd_ambiguous_prefix_lists_every_match() {
    let t = systemd_containerd();
    let err = resolve(&t, &APP[..12]).unwrap_err();
    let TargetError::Ambiguous { matches, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(matches.len(), 2);
    let msg = err.to_string();
    assert!(msg.contains(APP) && msg.contains(TWIN), "{msg}");
    assert!(msg.contains("more characters"), "{msg}");
}

#[test]
fn systemd_unknown_pod_and_container() {
    let t = systemd_containerd();
    let err = resolve(&t, "11111111-2222-3333-4444-555555555555").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, TargetError::NotFound { .. }), "{msg}");
    assert!(msg.contains("pod11111111-2222-3333-4444-555555555555"), "{msg}");
    assert!(
        msg.contains("*-pod11111111_2222_3333_4444_555555555555.slice"),
        "{msg}"
    );
    assert!(msg.contains("under /sys/fs/cgroup"), "{msg}");
    let err = resolve(&t, "deadbeefdeadbeef").unwrap_err();
    assert!(
        err.to_string().contains("ID starts with deadbeefdeadbeef"),
        "{err}"
    );
}

#[test]
fn systemd_pid() {
    let t = systemd_containerd();
    let r = resolve(&t, "4121").unwrap();
    assert_eq!(r.kind, TargetKind::Pid);
    let id = r.identity.as_ref().unwrap();
    assert_eq!(
        (id.pod_uid.as_deref(), id.container_id.as_deref()),
        (Some(UID), Some(APP))
    );
    assert!(r.containers.is_empty(), "a container cgroup, not a pod");
    let err = resolve(&t, "999").unwrap_err();
    assert!(err.to_string().contains("no process 999"), "{err}");
}

#[test]
fn cgroup_paths_in_every_spelling() {
    let t = systemd_containerd();
    let pod = format!(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice",
        underscored(UID)
    );
    for target in [
        pod.clone(),
        pod[1..].to_string(),
        format!("/sys/fs/cgroup{pod}"),
        format!("{pod}/"),
    ] {
        let r = resolve(&t, &target).unwrap_or_else(|e| panic!("{target}: {e}"));
        assert_eq!(
            (r.kind, r.cgroup.path.as_str()),
            (TargetKind::CgroupPath, pod.as_str()),
            "{target}"
        );
        assert_eq!(r.containers.len(), 2, "a pod path lists its containers too");
    }
    let svc = resolve(&t, "system.slice/containerd.service").unwrap();
    assert_eq!((svc.identity, svc.containers.len()), (None, 0));
    let err = resolve(&t, "/no/such/cgroup").unwrap_err();
    assert!(err.to_string().contains("/sys/fs/cgroup/no/such/cgroup"), "{err}");
    let err = resolve(&t, "0ba8ac17").unwrap_err();
    assert!(err.to_string().contains("at least 12 hex digits"), "{err}");
    assert!(matches!(
        resolve(&t, "/a/../../etc").unwrap_err(),
        TargetError::Invalid { .. }
    ));
}

#[test]
fn cgroupfs_crio_pod_and_container() {
    let t = cgroupfs_crio();
    for target in [UID.to_string(), underscored(UID)] {
        let r = resolve(&t, &target).unwrap();
        assert_eq!(r.cgroup.path, format!("/kubepods/burstable/pod{UID}"));
        // conmon cgroups are not containers.
        let ids: Vec<(&str, Option<bool>)> = r
            .containers
            .iter()
            .map(|c| (c.container_id.as_str(), c.is_pause))
            .collect();
        assert_eq!(ids, [(APP, Some(false)), (PAUSE, Some(true))]);
        assert!(r.containers.iter().all(|c| c.runtime == Some(Runtime::Crio)));
    }
    let c = resolve(&t, &APP[..16]).unwrap();
    assert_eq!(c.cgroup.path, format!("/kubepods/burstable/pod{UID}/crio-{APP}"));
    let reading = read_cgroup_dirs(&t.root(), &c.cgroup);
    assert_eq!(reading.memory.max, Some(Limit::Value(256 << 20)));
}

#[test]
fn static_pod_32_hex_and_unknown_pause() {
    let t = cgroupfs_crio();
    let r = resolve(&t, STATIC_UID).unwrap();
    assert_eq!(r.kind, TargetKind::PodUid);
    assert_eq!(r.identity.as_ref().unwrap().qos, Some(QosClass::Guaranteed));
    assert_eq!(r.containers.len(), 1);
    assert_eq!(r.containers[0].is_pause, None, "no process to look at");
    assert!(r.notes.iter().any(|n| n.contains("pause")), "{:?}", r.notes);
}

#[test]
fn hybrid_v1_docker_pod_container_and_pid() {
    let t = hybrid_docker();
    let root = t.root();
    let layout = crate::collect::cgroup::layout::detect(&root);
    assert_eq!(layout.mode, Some(CgroupMode::Hybrid));

    let pod = resolve_target(&root, &layout, UID).unwrap();
    assert_eq!(pod.cgroup.path, format!("/kubepods/besteffort/pod{UID}"));
    assert_eq!(pod.identity.as_ref().unwrap().qos, Some(QosClass::BestEffort));
    let ids: Vec<&str> = pod.containers.iter().map(|c| c.container_id.as_str()).collect();
    assert_eq!(ids, [APP, PAUSE]);

    let c = resolve_target(&root, &layout, &APP[..12]).unwrap();
    let reading = read_cgroup_dirs(&root, &c.cgroup);
    assert_eq!(reading.memory.version, Some(CgroupVersion::V1));
    assert_eq!(reading.memory.max, Some(Limit::Value(64 << 20)));
    assert!(reading.memory.events.oom_kill >= Some(1));
    assert_eq!(reading.cpu.quota_usec, Some(Limit::Value(20000)));
    assert_eq!(reading.pids.max, Some(Limit::Value(5)));

    let p = resolve_target(&root, &layout, "6001").unwrap();
    assert_eq!(p.cgroup.path, format!("/kubepods/besteffort/pod{UID}/{APP}"));
    assert_eq!(p.identity.as_ref().unwrap().container_id.as_deref(), Some(APP));
    assert_eq!(p.cgroup.unified.as_deref(), Some("/sys/fs/cgroup/unified"));
    let via_pid = read_cgroup_dirs(&root, &p.cgroup);
    assert_eq!(via_pid.memory.max, reading.memory.max);

    // A path given as a directory of one v1 hierarchy.
    let d = resolve_target(
        &root,
        &layout,
        &format!("/sys/fs/cgroup/pids/kubepods/besteffort/pod{UID}/{APP}"),
    )
    .unwrap();
    assert_eq!(d.cgroup.path, p.cgroup.path);
}

#[test]
fn a_walk_cut_short_says_so() {
    let t = systemd_containerd();
    let root = t.root();
    let layout = crate::collect::cgroup::layout::detect(&root);
    let shallow = WalkLimits {
        max_depth: 2,
        max_cgroups: 1000,
    };
    let err = resolve_target_with(&root, &layout, UID, shallow).unwrap_err();
    assert!(err.to_string().contains("cut short"), "{err}");
}

#[test]
fn no_cgroup_filesystem() {
    let t = Tree::new();
    t.dir("/proc");
    let err = resolve(&t, UID).unwrap_err();
    assert!(matches!(err, TargetError::NoCgroupFs { .. }), "{err}");
    assert!(err.to_string().contains("/proc/self/mountinfo"), "{err}");
}

/// This machine's hybrid layout with podman under `--cgroup-manager cgroupfs` (runc): the container
/// at `/libpod_parent/libpod-<id>` in every hierarchy, conmon beside it at `/libpod_parent/conmon`,
/// real v1 memory, cpu, pids and blkio files, and a cgroup2 directory without io.stat (blkio is bound
/// to v1 here, so io.stat cannot exist).
fn hybrid_podman() -> Tree {
    let t = Tree::new();
    let rel = format!("libpod_parent/libpod-{APP}");
    t.file("/proc/self/mountinfo", &data("real/mountinfo"))
        .copy(
            "real/v1/memory/osdoctor-fixture-oom",
            &format!("/sys/fs/cgroup/memory/{rel}"),
        )
        .file(&format!("/sys/fs/cgroup/memory/{rel}/cgroup.procs"), "7001\n")
        .file("/sys/fs/cgroup/memory/libpod_parent/conmon/cgroup.procs", "7000\n")
        .copy("real/v1/cpu/osdoctor-fixture-cpu", &format!("/sys/fs/cgroup/cpu/{rel}"))
        .copy(
            "real/v1/cpuacct/osdoctor-fixture-cpu",
            &format!("/sys/fs/cgroup/cpuacct/{rel}"),
        )
        .copy("real/v1/pids/osdoctor-fixture-pids", &format!("/sys/fs/cgroup/pids/{rel}"))
        .copy(
            "real/v1/blkio/osdoctor-fixture-io",
            &format!("/sys/fs/cgroup/blkio/{rel}"),
        )
        .file(&format!("/sys/fs/cgroup/unified/{rel}/cgroup.procs"), "7001\n")
        .file(&format!("/sys/fs/cgroup/unified/{rel}/cgroup.controllers"), "")
        .file(
            "/proc/7001/cgroup",
            &format!(
                "9:name=systemd:/{rel}\n8:pids:/{rel}\n7:blkio:/{rel}\n4:memory:/{rel}\n2:cpuacct:/{rel}\n1:cpu:/{rel}\n0::/{rel}\n"
            ),
        );
    t
}

#[test]
fn hybrid_podman_by_id_prefix_and_pid() {
    let t = hybrid_podman();
    let root = t.root();
    for target in [
        APP.to_string(),
        APP[..12].to_string(),
        format!("libpod-{APP}"),
        "7001".to_string(),
    ] {
        let r = resolve(&t, &target).unwrap_or_else(|e| panic!("{target}: {e}"));
        assert_eq!(r.cgroup.path, format!("/libpod_parent/libpod-{APP}"), "{target}");
        let id = r.identity.as_ref().unwrap();
        assert_eq!(
            (id.container_id.as_deref(), id.runtime, id.pod_uid.as_deref()),
            (Some(APP), Some(Runtime::Podman), None)
        );
        // The v1 blkio files give the container's I/O; io.stat, which cannot exist here, is not
        // reported missing.
        let reading = read_cgroup_dirs(&root, &r.cgroup);
        assert_eq!(reading.io_version, Some(CgroupVersion::V1), "{target}");
        let io = reading.io.as_ref().unwrap();
        assert_eq!(
            (io[0].device(), io[0].rbytes, io[0].rios),
            ("254:0".to_string(), Some(2097152), Some(32))
        );
        assert!(
            !reading
                .unreadable
                .iter()
                .any(|p| p.path.contains("io.stat") || p.path.contains("blkio")),
            "{:?}",
            reading.unreadable
        );
        assert_eq!(reading.memory.events.oom_kill, Some(1));
    }
    // conmon is not a container: the ID names only the container.
    let err = resolve(&t, "deadbeefdeadbeef").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, TargetError::NotFound { .. }), "{msg}");
    for pattern in [
        "libpod-<id>",
        "docker-<id>.scope",
        "cri-containerd-<id>.scope",
        "crio-<id>",
    ] {
        assert!(msg.contains(pattern), "{pattern}: {msg}");
    }
}

/// cgroup2 without the io controller enabled for a cgroup: io.stat is absent by design, not listed.
#[test]
fn v2_io_stat_absent_where_io_is_not_enabled() {
    let t = Tree::new();
    t.file(
        "/proc/self/mountinfo",
        "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
    )
    .file("/sys/fs/cgroup/a/cgroup.controllers", "cpu memory pids\n")
    .file("/sys/fs/cgroup/a/cgroup.procs", "1\n")
    .file("/sys/fs/cgroup/b/cgroup.controllers", "cpu io memory pids\n")
    .file("/sys/fs/cgroup/b/cgroup.procs", "1\n");
    let root = t.root();
    let layout = crate::collect::cgroup::layout::detect(&root);
    let a = read_cgroup(&root, &layout, "/a");
    assert!(
        !a.unreadable.iter().any(|p| p.path.ends_with("io.stat")),
        "{:?}",
        a.unreadable
    );
    let b = read_cgroup(&root, &layout, "/b");
    assert!(
        b.unreadable.iter().any(|p| p.path.ends_with("io.stat")),
        "{:?}",
        b.unreadable
    );
}

/// cgroup v2 with podman under systemd: `machine.slice/libpod-<id>.scope` beside its
/// `libpod-conmon-<id>.scope`; a docker scope under system.slice too. The ID finds the container, never
/// conmon.
#[test]
fn v2_systemd_podman_and_docker_scopes() {
    let t = Tree::new();
    t.file(
        "/proc/self/mountinfo",
        "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
    )
    .copy(
        "v2-documented",
        &format!("/sys/fs/cgroup/machine.slice/libpod-{APP}.scope"),
    )
    .file(
        &format!("/sys/fs/cgroup/machine.slice/libpod-{APP}.scope/cgroup.procs"),
        "8001\n",
    )
    .file(
        &format!("/sys/fs/cgroup/machine.slice/libpod-conmon-{APP}.scope/cgroup.procs"),
        "8000\n",
    )
    .file(
        &format!("/sys/fs/cgroup/system.slice/docker-{OTHER}.scope/cgroup.procs"),
        "9001\n",
    );
    let root = t.root();
    for target in [
        APP.to_string(),
        APP[..12].to_string(),
        format!("libpod-{APP}.scope"),
    ] {
        let r = resolve(&t, &target).unwrap_or_else(|e| panic!("{target}: {e}"));
        assert_eq!(
            r.cgroup.path,
            format!("/machine.slice/libpod-{APP}.scope"),
            "{target}"
        );
        assert_eq!(r.identity.as_ref().unwrap().runtime, Some(Runtime::Podman));
        let reading = read_cgroup_dirs(&root, &r.cgroup);
        assert_eq!(reading.io_version, Some(CgroupVersion::V2));
        assert_eq!(reading.memory.events.oom_kill, Some(3));
    }
    let r = resolve(&t, &format!("docker://{OTHER}")).unwrap();
    assert_eq!(r.cgroup.path, format!("/system.slice/docker-{OTHER}.scope"));
    assert_eq!(r.identity.as_ref().unwrap().runtime, Some(Runtime::Docker));
}
