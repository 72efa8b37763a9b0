use super::*;

const PODMAN_CGROUP: &str =
    "9:name=systemd:/\n8:pids:/\n4:memory:/\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";
/// What a podman container (runc, cgroupfs driver, --cgroupns private) sees on a hybrid host: v1
/// hierarchies only, each rooted at its namespace root.
const PODMAN_MOUNTINFO: &str = "\
74 49 254:0 /tmp/rootfs / rw,relatime - ext4 /dev/vda rw
82 74 254:0 /run/containers/storage/overlay-containers/d86284baa6400deb1e9f8fbbc96d174a6044bf4807b823d8882c5a85274d7a1e/userdata/.containerenv /run/.containerenv rw,relatime - ext4 /dev/vda rw
83 74 254:0 /run/containers/storage/overlay-containers/d86284baa6400deb1e9f8fbbc96d174a6044bf4807b823d8882c5a85274d7a1e/userdata/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw
84 77 0:46 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=755
85 84 0:29 / /sys/fs/cgroup/cpu ro,nosuid,nodev,noexec,relatime - cgroup cgroup rw,cpu
86 84 0:30 / /sys/fs/cgroup/cpuacct ro,nosuid,nodev,noexec,relatime - cgroup cgroup rw,cpuacct
87 84 0:31 / /sys/fs/cgroup/cpuset ro,nosuid,nodev,noexec,relatime - cgroup cgroup rw,cpuset
88 84 0:32 / /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory
92 84 0:36 / /sys/fs/cgroup/pids ro,nosuid,nodev,noexec,relatime - cgroup cgroup rw,pids
";
const V2_MOUNTINFO: &str =
    "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n";

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (path, text) in files {
        let p = tmp.path().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    tmp
}

fn link(t: &tempfile::TempDir, path: &str, target: &str) {
    let p = t.path().join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(target, p).expect("symlink");
}

#[test]
fn a_podman_container_on_a_hybrid_host_by_its_namespaces_and_its_limits() {
    let t = tree(&[
        ("/proc/self/cgroup", PODMAN_CGROUP),
        ("/proc/self/mountinfo", PODMAN_MOUNTINFO),
        ("/proc/self/status", "Name:\tosdoctor\nNSpid:\t16\n"),
        ("/run/.containerenv", ""),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "100663296\n"),
        ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "50000\n"),
        ("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n"),
        ("/sys/fs/cgroup/cpuset/cpuset.effective_cpus", "0-1\n"),
        ("/sys/fs/cgroup/pids/pids.max", "2048\n"),
    ]);
    link(&t, "/proc/self/ns/cgroup", "cgroup:[4026532243]");
    link(&t, "/proc/self/ns/pid", "pid:[4026532177]");
    let root = Root::dir(t.path()).expect("root");
    let mut cov = Coverage::default();
    let c = collect(&root, None, &mut cov).expect("a tree is read");
    assert!(c.inside() && c.private_cgroupns, "{c:?}");
    assert_eq!(
        cov.notes,
        [
            "inside a container (private cgroup namespace): its own cgroup \"/\" is judged by the cgroup rules",
            "from inside, the host's processes are not seen (only its PID namespace's): on the node run `osdoctor check`",
            "from inside, other containers' cgroups are not seen: on the node run `osdoctor cgroup d86284baa640`",
        ]
    );
    assert!(c.private_pidns);
    assert_eq!(c.runtime.as_deref(), Some("podman"));
    assert_eq!(
        c.id.as_deref(),
        Some("d86284baa6400deb1e9f8fbbc96d174a6044bf4807b823d8882c5a85274d7a1e")
    );
    assert_eq!(c.own_judged(), Some("/"));
    assert_eq!(
        c.limits,
        ContainerLimits {
            memory_bytes: Some(100_663_296),
            cpu_quota: Some(0.5),
            cpus: Some(2),
            pids: Some(2048),
        }
    );
    assert_eq!(c.signs.len(), 3, "{:?}", c.signs);
}

#[test]
fn a_kubernetes_pod_on_v2_without_namespace_links_is_inferred_from_its_files() {
    let t = tree(&[
        ("/proc/self/cgroup", "0::/\n"),
        ("/proc/self/mountinfo", V2_MOUNTINFO),
        ("/var/run/secrets/kubernetes.io/serviceaccount/token", "x"),
        ("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu memory pids\n"),
        ("/sys/fs/cgroup/memory.max", "268435456\n"),
        ("/sys/fs/cgroup/cpu.max", "max 100000\n"),
        ("/sys/fs/cgroup/cpuset.cpus.effective", "0-3,8\n"),
        ("/sys/fs/cgroup/pids.max", "max\n"),
    ]);
    let root = Root::dir(t.path()).expect("root");
    let c = collect(&root, None, &mut Coverage::default()).expect("read");
    assert!(c.private_cgroupns, "{c:?}");
    assert_eq!(c.runtime.as_deref(), Some("kubernetes"));
    assert_eq!(c.id, None);
    assert_eq!(c.node_target(), "<container-id>");
    assert_eq!(
        c.limits,
        ContainerLimits {
            memory_bytes: Some(268_435_456),
            cpu_quota: None,
            cpus: Some(5),
            pids: None,
        }
    );
}

#[test]
fn a_host_is_not_a_container_and_its_root_cgroup_is_never_judged() {
    // The initial namespaces, a systemd host.
    let mut seen = Seen {
        cgroup_ns: Some(INIT_CGROUP_NS.into()),
        pid_ns: Some(INIT_PID_NS.into()),
        nspid_levels: Some(1),
        self_cgroup: proc_pid_cgroup::parse("0::/user.slice/user-0.slice/session-1.scope\n").ok(),
        cgroup_mounts_at_root: true,
        ..Seen::default()
    };
    let c = decide(&seen, None);
    assert!(!c.inside() && c.own_judged().is_none(), "{c:?}");
    // A docker container sharing the host's cgroup namespace: its own cgroup, not "/".
    seen.dockerenv = true;
    seen.self_cgroup = proc_pid_cgroup::parse(
        "0::/system.slice/docker-1f661c65313f6a1b5e0a3a5de4ed0b1f7a5c7d6f0f3b8f1b9c2d3e4f5a6b7c8d.scope\n",
    )
    .ok();
    let c = decide(&seen, None);
    assert_eq!(c.runtime.as_deref(), Some("docker"));
    assert!(!c.private_cgroupns);
    assert_eq!(
        c.own_judged(),
        Some("/system.slice/docker-1f661c65313f6a1b5e0a3a5de4ed0b1f7a5c7d6f0f3b8f1b9c2d3e4f5a6b7c8d.scope")
    );
    assert_eq!(
        c.id.as_deref(),
        Some("1f661c65313f6a1b5e0a3a5de4ed0b1f7a5c7d6f0f3b8f1b9c2d3e4f5a6b7c8d")
    );
    // In the host's cgroup namespace at its root: the host's root cgroup, not judged.
    seen.self_cgroup = proc_pid_cgroup::parse("0::/\n").ok();
    assert_eq!(decide(&seen, None).own_judged(), None);
}

#[test]
fn podman_names_itself_in_containerenv() {
    let seen = Seen {
        containerenv: Some("engine=\"podman-4.3.1\"\nname=\"web\"\nid=\"abc123\"\nimage=\"x\"\n".into()),
        env_container: Some("podman".into()),
        ..Seen::default()
    };
    let c = decide(&seen, None);
    assert_eq!(
        (c.runtime.as_deref(), c.name.as_deref(), c.id.as_deref()),
        (Some("podman"), Some("web"), Some("abc123"))
    );
}

#[test]
fn a_snapshot_replays_the_signs_seen_by_existence_and_in_the_environment() {
    let t = tree(&[
        ("/proc/self/cgroup", "0::/\n"),
        ("/proc/self/mountinfo", V2_MOUNTINFO),
        (
            RECORD_FILE,
            "exists /.dockerenv\nenv KUBERNETES_SERVICE_HOST\nenv container=oci\n",
        ),
    ]);
    let root = Root::dir(t.path()).expect("root");
    let c = collect(&root, None, &mut Coverage::default()).expect("read");
    // Kubernetes first; every sign named; a private cgroup namespace inferred from the marker.
    assert_eq!(c.runtime.as_deref(), Some("kubernetes"));
    assert!(c.private_cgroupns, "{c:?}");
    assert!(c.signs.iter().any(|s| s == "/.dockerenv"), "{:?}", c.signs);
    assert!(
        c.signs.iter().any(|s| s.contains("container=oci")),
        "{:?}",
        c.signs
    );
}

/// What containerd's CRI gives a pod's container: the kubelet's files bind-mounted from its pod
/// directory (the pod's UID), /dev/termination-log from the container's (its name), /etc/hostname
/// from the sandbox's (not the container's ID).
const KUBELET_MOUNTINFO: &str = "\
1203 1150 0:301 / / rw,relatime - overlay overlay rw,lowerdir=/var/lib/containerd/l1
1212 1203 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate
1220 1203 254:1 /var/lib/kubelet/pods/8d2b6f1e-3c4a-4e5f-9a7b-1c2d3e4f5a6b/etc-hosts /etc/hosts rw,relatime - ext4 /dev/vda1 rw
1221 1203 254:1 /var/lib/kubelet/pods/8d2b6f1e-3c4a-4e5f-9a7b-1c2d3e4f5a6b/containers/checkout/5f1c2a7e /dev/termination-log rw,relatime - ext4 /dev/vda1 rw
1222 1203 254:1 /var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/0b7e2c4d9a1f3e5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw
";

#[test]
fn a_pods_container_names_its_pod_uid_and_its_name_from_the_kubelets_mounts() {
    let t = tree(&[
        ("/proc/self/cgroup", "0::/\n"),
        ("/proc/self/mountinfo", KUBELET_MOUNTINFO),
        ("/proc/self/status", "Name:\tosdoctor\nPid:\t42\nNSpid:\t42\n"),
        ("/var/run/secrets/kubernetes.io/serviceaccount/token", "x"),
        ("/sys/fs/cgroup/cpu.max", "200000 100000\n"),
    ]);
    link(&t, "/proc/self/ns/cgroup", "cgroup:[4026532901]");
    link(&t, "/proc/self/ns/pid", "pid:[4026532899]");
    let root = Root::dir(t.path()).expect("root");
    let mut cov = Coverage::default();
    let c = collect(&root, None, &mut cov).expect("read");
    assert_eq!(c.runtime.as_deref(), Some("kubernetes"));
    assert_eq!(c.pod_uid.as_deref(), Some("8d2b6f1e-3c4a-4e5f-9a7b-1c2d3e4f5a6b"));
    assert_eq!(c.name.as_deref(), Some("checkout"));
    assert_eq!(c.id, None, "the sandbox's hostname is not the container's ID");
    assert_eq!((c.self_pid, c.private_pidns), (Some(42), true));
    assert_eq!(c.limits.cpu_quota, Some(2.0));
    assert_eq!(
        cov.notes.last().map(String::as_str),
        Some(
            "from inside, other containers' cgroups are not seen: on the node run `osdoctor cgroup 8d2b6f1e-3c4a-4e5f-9a7b-1c2d3e4f5a6b`"
        )
    );
    // Not a UID: nothing taken.
    assert_eq!(kubelet_pod_dir("/var/lib/kubelet/pods/not-a-uid/etc-hosts"), None);
}

#[test]
fn a_proc_of_an_outer_pid_namespace_shows_more_than_the_containers_processes() {
    // NSpid with two entries: this /proc is mounted from the parent namespace, whose processes it
    // lists too; only one entry is a /proc of the container's own namespace.
    let seen = |levels| Seen {
        pid_ns: Some("pid:[4026532177]".to_string()),
        nspid_levels: Some(levels),
        dockerenv: true,
        ..Seen::default()
    };
    assert!(decide(&seen(1), None).private_pidns);
    let outer = decide(&seen(2), None);
    assert!(outer.inside() && !outer.private_pidns, "{outer:?}");
    assert!(!inside_notes(&outer).iter().any(|n| n.contains("PID namespace")));
}
