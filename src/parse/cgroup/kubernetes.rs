//! Recognising Kubernetes pods and containers in cgroup paths.
//!
//! kubelet names pod cgroups `pod<UID>` (cgroupfs driver) or, with the systemd driver, converts each
//! path component's `-` to `_` and joins the components with `-` into a slice:
//! `kubepods-burstable-pod<UID_with_underscores>.slice`. Guaranteed pods sit directly under the
//! kubepods cgroup, Burstable and BestEffort ones under `burstable` / `besteffort` (or
//! `kubepods-burstable.slice`, ...). Static (mirror) pods have a 32-hex UID without dashes.
//!
//! Container cgroups below the pod: `cri-containerd-<id>.scope` (containerd, systemd driver),
//! `crio-<id>.scope` / `crio-<id>` (CRI-O; `crio-conmon-<id>` is the conmon monitor, not a container),
//! `docker-<id>.scope` (dockershim, cri-dockerd), or the bare `<id>` (cgroupfs driver with containerd
//! or docker). Outside Kubernetes: `/docker/<id>` (docker, cgroupfs), `system.slice/docker-<id>.scope`
//! (docker, systemd), `machine.slice/libpod-<id>.scope` (podman, systemd; `libpod-conmon-<id>.scope`
//! beside it is conmon) and `/libpod_parent/libpod-<id>` (podman, cgroupfs; conmon sits in
//! `/libpod_parent/conmon`). Every hierarchy of a v1 or hybrid host repeats the same path, so the
//! naming does not depend on the mode.
//!
//! The root is never hard-coded: kind and custom `--cgroup-root` setups prefix everything
//! (`kubelet.slice/kubelet-kubepods.slice/…`), LXC nesting adds `/lxc.payload.<name>/`. Recognition
//! works on path components wherever they are.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// A pod component: optional `<prefix>-`, then `pod<UID>`, then optional `.slice`. The UID is the
/// canonical 8-4-4-4-12 form with `-` or `_` (systemd driver), or 32 hex (static pods).
static POD_COMPONENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:(.*)-)?pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})(?:\.slice)?$",
    )
    .expect("pod component regex compiles")
});

/// A container component: optional runtime prefix, 64 hex, optional `.scope`. `crio-conmon-<id>` and
/// `libpod-conmon-<id>` do not match (`conmon-` is not hex): conmon monitors a container, it is not
/// one.
static CONTAINER_COMPONENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(cri-containerd|crio|docker|libpod)-)?([0-9a-f]{64})(?:\.scope)?$")
        .expect("container component regex compiles")
});

/// The container runtime, as far as the cgroup name tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    Containerd,
    Crio,
    Docker,
    Podman,
}

/// A pod's Kubernetes QoS class, from where its cgroup sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QosClass {
    Guaranteed,
    Burstable,
    BestEffort,
}

/// What a cgroup path says about the pod and container it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerIdentity {
    /// The pod UID in canonical form: lowercase with dashes (`eded8c65-6e8e-4c6e-a889-3e427565c740`),
    /// or 32 hex for a static pod.
    pub pod_uid: Option<String>,
    /// The pod's cgroup path (the path up to and including the pod component).
    pub pod_path: Option<String>,
    /// 64 hex.
    pub container_id: Option<String>,
    /// `None` for a bare ID under a pod (cgroupfs driver: containerd or docker, the name does not say).
    pub runtime: Option<Runtime>,
    pub qos: Option<QosClass>,
}

/// A pod cgroup's directory name -> the canonical pod UID (`pod<uid>`,
/// `kubepods-burstable-pod<uid_>.slice`, ...).
pub fn pod_uid_of_component(name: &str) -> Option<String> {
    POD_COMPONENT
        .captures(name)
        .and_then(|c| c.get(2))
        .map(|m| canonical_pod_uid(m.as_str()))
}

/// A container cgroup's directory name -> its 64-hex ID and, when the name says, the runtime.
pub fn container_of_component(name: &str) -> Option<(String, Option<Runtime>)> {
    let caps = CONTAINER_COMPONENT.captures(name)?;
    let id = caps.get(2)?.as_str().to_string();
    let runtime = caps.get(1).map(|p| match p.as_str() {
        "cri-containerd" => Runtime::Containerd,
        "crio" => Runtime::Crio,
        "docker" => Runtime::Docker,
        _ => Runtime::Podman,
    });
    Some((id, runtime))
}

/// `eded8c65_6e8e_4c6e_a889_3e427565c740` -> `eded8c65-6e8e-4c6e-a889-3e427565c740`.
pub fn canonical_pod_uid(uid: &str) -> String {
    uid.to_ascii_lowercase().replace('_', "-")
}

/// Recognise the pod and container of a cgroup path. `None` when it names neither.
///
/// The deepest pod component wins (a kind node's own cgroup may sit above), and the container is the
/// deepest container component below that pod, so `…/cri-containerd-<id>.scope/init.scope` still names
/// the container and a kind node's docker scope above the pod does not.
pub fn identify(cgroup_path: &str) -> Option<ContainerIdentity> {
    let comps: Vec<&str> = cgroup_path.split('/').filter(|c| !c.is_empty()).collect();
    let pod_at = comps.iter().rposition(|c| POD_COMPONENT.is_match(c));
    let below = pod_at.map_or(0, |i| i + 1);
    let container = comps[below..]
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, c)| container_of_component(c).map(|found| (below + i, found)));
    if pod_at.is_none() && container.is_none() {
        return None;
    }
    let (pod_uid, pod_path, qos) = match pod_at {
        Some(i) => {
            let caps = POD_COMPONENT.captures(comps[i]);
            let uid = caps
                .as_ref()
                .and_then(|c| c.get(2))
                .map(|m| canonical_pod_uid(m.as_str()));
            // systemd driver: the QoS is in the slice name's prefix; cgroupfs: in the parent's name.
            let qos = match caps.as_ref().and_then(|c| c.get(1)) {
                Some(prefix) => qos_of_name(prefix.as_str()),
                None => i.checked_sub(1).and_then(|p| qos_of_name(comps[p])),
            };
            (uid, Some(format!("/{}", comps[..=i].join("/"))), qos)
        }
        None => (None, None, None),
    };
    let (container_id, runtime) = match container {
        Some((i, (id, runtime))) => {
            // `/docker/<id>`: docker's own cgroupfs layout.
            let runtime = runtime.or_else(|| (i > 0 && comps[i - 1] == "docker").then_some(Runtime::Docker));
            (Some(id), runtime)
        }
        None => (None, None),
    };
    Some(ContainerIdentity {
        pod_uid,
        pod_path,
        container_id,
        runtime,
        qos,
    })
}

/// `kubepods-burstable` / `burstable` / `kubepods-burstable.slice` -> Burstable; a name ending in
/// `kubepods` -> Guaranteed (the pod sits directly under the kubepods cgroup).
fn qos_of_name(name: &str) -> Option<QosClass> {
    let name = name.strip_suffix(".slice").unwrap_or(name);
    if name.ends_with("besteffort") {
        Some(QosClass::BestEffort)
    } else if name.ends_with("burstable") {
        Some(QosClass::Burstable)
    } else if name.ends_with("kubepods") {
        Some(QosClass::Guaranteed)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0ba8ac17b2cb4d0c22fa1e2f5f3a0bc8d7aab6b1a84a1b35ef9b1f7a1f0b5c2d";
    const ID2: &str = "4f2a0c0e34b7b2c1d7e2a9f1b7f9a6e8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6";

    #[test]
    fn systemd_driver_containerd_burstable() {
        let p = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podeded8c65_6e8e_4c6e_a889_3e427565c740.slice/cri-containerd-{ID}.scope"
        );
        let id = identify(&p).unwrap();
        assert_eq!(
            id.pod_uid.as_deref(),
            Some("eded8c65-6e8e-4c6e-a889-3e427565c740")
        );
        assert_eq!(id.container_id.as_deref(), Some(ID));
        assert_eq!(id.runtime, Some(Runtime::Containerd));
        assert_eq!(id.qos, Some(QosClass::Burstable));
        assert_eq!(
            id.pod_path.as_deref(),
            Some(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podeded8c65_6e8e_4c6e_a889_3e427565c740.slice"
            )
        );
    }

    #[test]
    fn systemd_driver_crio_besteffort_and_guaranteed() {
        let p = format!(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2ca4a155_3599_498d_bb9d_4446693fa3ea.slice/crio-{ID}.scope"
        );
        let id = identify(&p).unwrap();
        assert_eq!(id.runtime, Some(Runtime::Crio));
        assert_eq!(id.qos, Some(QosClass::BestEffort));
        let g = identify("/kubepods.slice/kubepods-pod2ca4a155_3599_498d_bb9d_4446693fa3ea.slice").unwrap();
        assert_eq!(g.qos, Some(QosClass::Guaranteed));
        assert_eq!(g.container_id, None);
    }

    #[test]
    fn conmon_is_not_a_container() {
        let p = format!(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2ca4a155_3599_498d_bb9d_4446693fa3ea.slice/crio-conmon-{ID}.scope"
        );
        let id = identify(&p).unwrap();
        assert_eq!(id.container_id, None);
        assert!(id.pod_uid.is_some());
    }

    #[test]
    fn cgroupfs_driver() {
        let p = format!("/kubepods/burstable/pod77f06c5c-4593-43e9-b970-987f6ecb825b/{ID}");
        let id = identify(&p).unwrap();
        assert_eq!(
            id.pod_uid.as_deref(),
            Some("77f06c5c-4593-43e9-b970-987f6ecb825b")
        );
        assert_eq!(id.container_id.as_deref(), Some(ID));
        assert_eq!(id.runtime, None);
        assert_eq!(id.qos, Some(QosClass::Burstable));
        let crio = identify(&format!(
            "/kubepods/pod77f06c5c-4593-43e9-b970-987f6ecb825b/crio-{ID}"
        ))
        .unwrap();
        assert_eq!(crio.runtime, Some(Runtime::Crio));
        assert_eq!(crio.qos, Some(QosClass::Guaranteed));
    }

    #[test]
    fn custom_roots_and_nesting() {
        let kind = format!(
            "/system.slice/docker-{ID2}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/\
             kubelet-kubepods-besteffort-pod1e597579_417e_482f_bf65_5fe170c3aebd.slice/cri-containerd-{ID}.scope/init.scope"
        );
        let id = identify(&kind).unwrap();
        assert_eq!(
            id.pod_uid.as_deref(),
            Some("1e597579-417e-482f-bf65-5fe170c3aebd")
        );
        assert_eq!(id.container_id.as_deref(), Some(ID));
        assert_eq!(id.qos, Some(QosClass::BestEffort));
        // The pod slice of that kind node: the node's docker scope above is not the pod's container.
        let pod_only = kind.split("/cri-containerd").next().unwrap();
        assert_eq!(identify(pod_only).unwrap().container_id, None);
        let lxc = identify(&format!(
            "/lxc.payload.c1/kubepods/besteffort/pod77f06c5c-4593-43e9-b970-987f6ecb825b/{ID}"
        ))
        .unwrap();
        assert_eq!(lxc.qos, Some(QosClass::BestEffort));
    }

    #[test]
    fn static_pods_have_32_hex_uids() {
        let id = identify("/kubepods/burstable/pod6a5c3bb4fbc1d7e0a8f2c58d2e1a9b77").unwrap();
        assert_eq!(id.pod_uid.as_deref(), Some("6a5c3bb4fbc1d7e0a8f2c58d2e1a9b77"));
        let sd = identify("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6a5c3bb4fbc1d7e0a8f2c58d2e1a9b77.slice").unwrap();
        assert_eq!(sd.pod_uid.as_deref(), Some("6a5c3bb4fbc1d7e0a8f2c58d2e1a9b77"));
    }

    #[test]
    fn plain_docker_and_podman() {
        let d = identify(&format!("/docker/{ID}")).unwrap();
        assert_eq!(
            (d.container_id.as_deref(), d.runtime, d.pod_uid),
            (Some(ID), Some(Runtime::Docker), None)
        );
        let s = identify(&format!("/system.slice/docker-{ID}.scope")).unwrap();
        assert_eq!(s.runtime, Some(Runtime::Docker));
        let p = identify(&format!("/machine.slice/libpod-{ID}.scope/container")).unwrap();
        assert_eq!(p.runtime, Some(Runtime::Podman));
    }

    /// Real paths as each runtime and driver writes them (the podman ones from `podman run` on this
    /// hybrid host with runc and `--cgroup-manager cgroupfs`; the others as /proc/PID/cgroup shows
    /// them on such nodes).
    #[test]
    fn every_runtime_naming() {
        let uid = "eded8c65-6e8e-4c6e-a889-3e427565c740";
        let sd_pod = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podeded8c65_6e8e_4c6e_a889_3e427565c740.slice";
        let fs_pod = format!("/kubepods/burstable/pod{uid}");
        // (path, container ID, runtime, pod UID)
        type Case<'a> = (String, Option<&'a str>, Option<Runtime>, Option<&'a str>);
        let cases: Vec<Case> = vec![
            // docker: systemd driver, cgroupfs driver
            (
                format!("/system.slice/docker-{ID}.scope"),
                Some(ID),
                Some(Runtime::Docker),
                None,
            ),
            (format!("/docker/{ID}"), Some(ID), Some(Runtime::Docker), None),
            // containerd under kubelet: systemd driver scope, cgroupfs driver bare ID
            (
                format!("{sd_pod}/cri-containerd-{ID}.scope"),
                Some(ID),
                Some(Runtime::Containerd),
                Some(uid),
            ),
            (format!("{fs_pod}/{ID}"), Some(ID), None, Some(uid)),
            // CRI-O: the container, its conmon (not a container), cgroupfs form
            (
                format!("{sd_pod}/crio-{ID}.scope"),
                Some(ID),
                Some(Runtime::Crio),
                Some(uid),
            ),
            (format!("{sd_pod}/crio-conmon-{ID}.scope"), None, None, Some(uid)),
            (
                format!("{fs_pod}/crio-{ID}"),
                Some(ID),
                Some(Runtime::Crio),
                Some(uid),
            ),
            (format!("{fs_pod}/crio-conmon-{ID}"), None, None, Some(uid)),
            // podman: systemd manager (container, conmon), cgroupfs manager (container, conmon)
            (
                format!("/machine.slice/libpod-{ID}.scope"),
                Some(ID),
                Some(Runtime::Podman),
                None,
            ),
            (
                format!("/machine.slice/libpod-{ID}.scope/container"),
                Some(ID),
                Some(Runtime::Podman),
                None,
            ),
            (
                format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"),
                Some(ID),
                Some(Runtime::Podman),
                None,
            ),
            (
                format!("/libpod_parent/libpod-{ID}"),
                Some(ID),
                Some(Runtime::Podman),
                None,
            ),
            // podman in a pod (cgroupfs): the pod's parent is not a Kubernetes pod
            (
                format!("/libpod_parent/{ID2}/libpod-{ID}"),
                Some(ID),
                Some(Runtime::Podman),
                None,
            ),
        ];
        for (path, want_id, want_runtime, want_pod) in cases {
            let got = identify(&path);
            assert_eq!(
                got.as_ref().and_then(|i| i.container_id.as_deref()),
                want_id,
                "{path}"
            );
            assert_eq!(got.as_ref().and_then(|i| i.runtime), want_runtime, "{path}");
            assert_eq!(
                got.as_ref().and_then(|i| i.pod_uid.as_deref()),
                want_pod,
                "{path}"
            );
        }
        for conmon in [
            format!("/machine.slice/libpod-conmon-{ID}.scope"),
            format!("/system.slice/crio-conmon-{ID}.scope"),
            "/libpod_parent/conmon".to_string(),
        ] {
            assert_eq!(identify(&conmon), None, "{conmon}");
        }
        // Both kubelet drivers' pod cgroups, without a container.
        for pod in [sd_pod.to_string(), fs_pod.clone()] {
            let id = identify(&pod).unwrap();
            assert_eq!(
                (id.pod_uid.as_deref(), id.container_id, id.qos),
                (Some(uid), None, Some(QosClass::Burstable)),
                "{pod}"
            );
        }
    }

    /// v1, hybrid and v2 hosts name a container the same way in every hierarchy's line of
    /// /proc/PID/cgroup: a podman container on this hybrid host, as read from inside it.
    #[test]
    fn naming_on_v1_v2_and_hybrid() {
        let podman_hybrid = "\
9:name=systemd:/libpod_parent/libpod-6e17276d8e47c3c3e55a899477bd3c207644545b29a60cba355f800209f788ab
8:pids:/libpod_parent/libpod-6e17276d8e47c3c3e55a899477bd3c207644545b29a60cba355f800209f788ab
7:blkio:/libpod_parent/libpod-6e17276d8e47c3c3e55a899477bd3c207644545b29a60cba355f800209f788ab
4:memory:/libpod_parent/libpod-6e17276d8e47c3c3e55a899477bd3c207644545b29a60cba355f800209f788ab
1:cpu:/libpod_parent/libpod-6e17276d8e47c3c3e55a899477bd3c207644545b29a60cba355f800209f788ab
0::/libpod_parent/libpod-6e17276d8e47c3c3e55a899477bd3c207644545b29a60cba355f800209f788ab
";
        let id = "6e17276d8e47c3c3e55a899477bd3c207644545b29a60cba355f800209f788ab";
        let v1_kubelet = format!(
            "11:memory:/kubepods/burstable/pod77f06c5c-4593-43e9-b970-987f6ecb825b/{ID}\n4:cpu,cpuacct:/kubepods/burstable/pod77f06c5c-4593-43e9-b970-987f6ecb825b/{ID}\n1:name=systemd:/kubepods/burstable/pod77f06c5c-4593-43e9-b970-987f6ecb825b/{ID}\n"
        );
        let v2_kubelet = format!(
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2ca4a155_3599_498d_bb9d_4446693fa3ea.slice/cri-containerd-{ID}.scope\n"
        );
        for (text, want) in [
            (podman_hybrid.to_string(), id),
            (v1_kubelet, ID),
            (v2_kubelet, ID),
        ] {
            let cg = crate::parse::cgroup::proc_pid_cgroup::parse(&text).unwrap();
            for path in cg
                .unified
                .iter()
                .map(String::as_str)
                .chain(cg.v1.iter().map(|m| m.path.as_str()))
            {
                assert_eq!(
                    identify(path).and_then(|i| i.container_id).as_deref(),
                    Some(want),
                    "{path}"
                );
            }
        }
    }

    #[test]
    fn ordinary_cgroups_are_not_containers() {
        for p in [
            "/",
            "/system.slice/sshd.service",
            "/kubepods.slice/kubepods-burstable.slice",
            "/user.slice/user-1000.slice/session-2.scope",
            "/process_api/face41b2e585770acc41039518a75a64",
            "/pod1234",
            "/podcast-0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(identify(p), None, "{p}");
        }
    }
}
