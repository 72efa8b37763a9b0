//! The names in the kubelet's log tree (never the logs' contents).
//!
//! kubelet writes each container's output to
//! `/var/log/pods/<namespace>_<pod name>_<pod UID>/<container name>/<restart count>.log` (rotated as
//! `0.log.20240101-120000`, compressed as `0.log.20240101-120000.gz`) and links each container
//! instance as `/var/log/containers/<pod name>_<namespace>_<container name>-<container ID>.log`.
//! Namespaces and container names are DNS labels (`a-z0-9-`), pod names DNS subdomains (`.` too):
//! none holds `_`, so the fields split on `_`; the UID is the last part and is parsed from the right.

/// A `/var/log/pods` directory name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodDir {
    pub namespace: String,
    pub name: String,
    /// Canonical: lowercase, with dashes (or 32 hex for a static pod).
    pub uid: String,
}

/// `shop_checkout-7d9f8c6b5-x2lqp_eded8c65-6e8e-4c6e-a889-3e427565c740` -> its parts.
pub fn pod_dir(dir_name: &str) -> Option<PodDir> {
    let (rest, uid) = dir_name.rsplit_once('_')?;
    let (namespace, name) = rest.split_once('_')?;
    let uid = uid.to_ascii_lowercase();
    let hex = uid.bytes().filter(u8::is_ascii_hexdigit).count();
    let uid_ok = hex == 32 && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    (uid_ok && !namespace.is_empty() && !name.is_empty() && !name.contains('_')).then(|| PodDir {
        namespace: namespace.to_string(),
        name: name.to_string(),
        uid,
    })
}

/// The restart count a log file name stands for: `3.log` -> 3; rotated `3.log.20240101-120000` and
/// `3.log.20240101-120000.gz` are the same instance. `None` for anything else.
pub fn restart_of_log(file_name: &str) -> Option<u32> {
    let (n, rest) = file_name.split_once('.')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    (rest == "log" || rest.starts_with("log.")).then(|| n.parse().ok())?
}

/// A `/var/log/containers` link name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLink {
    pub pod: String,
    pub namespace: String,
    pub container: String,
    /// 64 hex, lowercase.
    pub container_id: String,
}

/// `checkout-7d9f8c6b5-x2lqp_shop_app-<64 hex>.log` -> its parts.
pub fn container_link(link_name: &str) -> Option<ContainerLink> {
    let stem = link_name.strip_suffix(".log")?;
    let (rest, id) = stem.rsplit_once('-')?;
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let (pod, rest) = rest.split_once('_')?;
    let (namespace, container) = rest.split_once('_')?;
    let ok = [pod, namespace, container].iter().all(|s| !s.is_empty()) && !container.contains('_');
    ok.then(|| ContainerLink {
        pod: pod.to_string(),
        namespace: namespace.to_string(),
        container: container.to_string(),
        container_id: id.to_ascii_lowercase(),
    })
}

/// A link's target `/var/log/pods/<pod dir>/<container>/<N>.log` (absolute or relative) -> the pod
/// directory's parts, the container name and the restart count of that instance.
pub fn link_target(target: &str) -> Option<(PodDir, String, Option<u32>)> {
    let mut parts = target.rsplit('/').filter(|p| !p.is_empty());
    let file = parts.next()?;
    let container = parts.next()?;
    let pod = pod_dir(parts.next()?)?;
    Some((pod, container.to_string(), restart_of_log(file)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "eded8c65-6e8e-4c6e-a889-3e427565c740";
    const ID: &str = "4f1a9c3e8b2d7f60a5c4e3b2d1f0e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2";

    #[test]
    fn pod_directories_split_from_the_right() {
        let p = pod_dir(&format!("shop_checkout-7d9f8c6b5-x2lqp_{UID}")).unwrap();
        assert_eq!(
            (p.namespace.as_str(), p.name.as_str(), p.uid.as_str()),
            ("shop", "checkout-7d9f8c6b5-x2lqp", UID)
        );
        let dotted = pod_dir(&format!(
            "kube-system_etcd.node-1.example.com_{}",
            "6a5c3bb4fbc1d7e0a8f2c58d2e1a9b77"
        ))
        .unwrap();
        assert_eq!(dotted.namespace, "kube-system");
        assert_eq!(dotted.name, "etcd.node-1.example.com");
        assert_eq!(dotted.uid, "6a5c3bb4fbc1d7e0a8f2c58d2e1a9b77");
        assert_eq!(pod_dir("shop_checkout_notauid"), None);
        assert_eq!(pod_dir(UID), None);
        assert_eq!(pod_dir(&format!("_x_{UID}")), None);
    }

    #[test]
    fn restart_counts_include_rotated_files() {
        assert_eq!(restart_of_log("0.log"), Some(0));
        assert_eq!(restart_of_log("3.log"), Some(3));
        assert_eq!(restart_of_log("2.log.20240101-120000"), Some(2));
        assert_eq!(restart_of_log("2.log.20240101-120000.gz"), Some(2));
        for bad in ["log", ".log", "a.log", "3.txt", "3.logx", "3"] {
            assert_eq!(restart_of_log(bad), None, "{bad}");
        }
    }

    #[test]
    fn container_links_name_pod_namespace_container_and_id() {
        let l = container_link(&format!("web.v2-0_team-a-prod_side-car-{ID}.log")).unwrap();
        assert_eq!(l.pod, "web.v2-0");
        assert_eq!(l.namespace, "team-a-prod");
        assert_eq!(l.container, "side-car");
        assert_eq!(l.container_id, ID);
        assert_eq!(container_link("a_b_c-1234.log"), None);
        assert_eq!(container_link(&format!("a_b-{ID}.log")), None);
        let (pod, container, n) = link_target(&format!(
            "/var/log/pods/team-a-prod_web.v2-0_{UID}/side-car/3.log"
        ))
        .unwrap();
        assert_eq!(
            (pod.uid.as_str(), container.as_str(), n),
            (UID, "side-car", Some(3))
        );
    }
}
