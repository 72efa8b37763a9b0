//! Pod and container names, and restart counts, from the kubelet's log tree on the node itself.
//!
//! Reads, through [`Root`] (so a host mounted at /host and snapshots work), only names:
//! - `/var/log/pods`: one directory per pod, `<namespace>_<pod>_<uid>`, one directory per container
//!   name below, and in it `<restart count>.log` (the highest N is the restart count);
//! - `/var/log/containers`: one link per container instance, `<pod>_<namespace>_<container>-<id>.log`,
//!   whose target ([`Root::read_link`]) names the pod directory: the container ID -> name map.
//!
//! Never a log's contents. A recording root (`osdoctor snapshot`) records the directories it lists and
//! the links it reads; the newest log file of each container is recorded as an empty file, so that a
//! replay gives the same restart count. Bounded: at most [`MAX_PODS`] pods, [`MAX_CONTAINERS`]
//! containers per pod and [`MAX_LINKS`] links are read, and coverage says when a cap was reached.
//! Without the tree (not a Kubernetes node, or the log directory not mounted) the cost is one failed
//! open, and everything stays named by its IDs.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::coverage::{Coverage, ProblemKind};
use crate::parse::kubelet_logs::{container_link, link_target, pod_dir, restart_of_log};
use crate::root::Root;

pub const PODS_DIR: &str = "/var/log/pods";
pub const LINKS_DIR: &str = "/var/log/containers";
/// A node runs at most a few hundred pods (kubelet's default max-pods is 110).
pub const MAX_PODS: usize = 1000;
pub const MAX_CONTAINERS: usize = 64;
pub const MAX_LINKS: usize = 5000;

/// One container name of a pod.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KubeContainer {
    pub name: String,
    /// The highest N of its N.log files: how many times it restarted. `None` when the directory
    /// holds no log file.
    pub restarts: Option<u32>,
    /// The container IDs the links name for it (one per instance kubelet still keeps), newest last.
    pub ids: Vec<String>,
}

/// One pod directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KubePod {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub containers: Vec<KubeContainer>,
}

impl KubePod {
    /// `namespace/name`, as kubectl takes it.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// What the log tree says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KubeletNames {
    /// In UID order.
    pub pods: Vec<KubePod>,
}

impl KubeletNames {
    pub fn pod(&self, uid: &str) -> Option<&KubePod> {
        self.pods.iter().find(|p| p.uid == uid)
    }

    /// The pod and container of a container ID.
    pub fn container(&self, id: &str) -> Option<(&KubePod, &KubeContainer)> {
        self.pods.iter().find_map(|p| {
            p.containers
                .iter()
                .find(|c| c.ids.iter().any(|i| i == id))
                .map(|c| (p, c))
        })
    }

    /// `(pod "namespace/name", container name)` of a subject's pod UID and container ID.
    pub fn names(
        &self,
        pod_uid: Option<&str>,
        container_id: Option<&str>,
    ) -> (Option<String>, Option<String>) {
        let by_id = container_id.and_then(|id| self.container(id));
        let pod = pod_uid
            .and_then(|u| self.pod(u))
            .or(by_id.map(|(p, _)| p))
            .map(KubePod::full_name);
        (pod, by_id.map(|(_, c)| c.name.clone()))
    }
}

/// What a typed name matched in the log tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMatch {
    /// Nothing here is named so (it may be a cgroup path).
    None,
    /// A pod UID.
    Pod(String),
    /// A container's IDs, newest instance last, and `pod/container` for messages.
    Container { ids: Vec<String>, label: String },
    /// Several pods or containers: one line each.
    Ambiguous(Vec<String>),
}

impl KubeletNames {
    /// `namespace/pod-name`, a pod name, or a container name (unique on the node).
    pub fn find(&self, typed: &str) -> NameMatch {
        let typed = typed.trim();
        if let Some((ns, name)) = typed.split_once('/') {
            let pods: Vec<&KubePod> = self
                .pods
                .iter()
                .filter(|p| p.namespace == ns && p.name == name)
                .collect();
            return match pods.as_slice() {
                [] => NameMatch::None,
                [p] => NameMatch::Pod(p.uid.clone()),
                many => NameMatch::Ambiguous(
                    many.iter()
                        .map(|p| format!("pod {} (UID {})", p.full_name(), p.uid))
                        .collect(),
                ),
            };
        }
        let mut found: Vec<(String, NameMatch)> = Vec::new();
        for p in &self.pods {
            if p.name == typed {
                found.push((
                    format!("pod {} (UID {})", p.full_name(), p.uid),
                    NameMatch::Pod(p.uid.clone()),
                ));
            }
            for c in p.containers.iter().filter(|c| c.name == typed) {
                let label = format!("{}/{}", p.full_name(), c.name);
                let line = match c.ids.last() {
                    Some(id) => format!("container {label} ({})", &id[..id.len().min(12)]),
                    None => format!("container {label} (no /var/log/containers link: ID unknown)"),
                };
                found.push((
                    line,
                    NameMatch::Container {
                        ids: c.ids.clone(),
                        label,
                    },
                ));
            }
        }
        match found.len() {
            0 => NameMatch::None,
            1 => found.remove(0).1,
            _ => NameMatch::Ambiguous(found.into_iter().map(|(line, _)| line).collect()),
        }
    }
}

/// Read the tree. `None` when /var/log/pods does not exist (not a kubelet node): one failed open.
pub fn collect(root: &Root, cov: &mut Coverage) -> Option<KubeletNames> {
    let mut pod_dirs = match root.list_dir(PODS_DIR) {
        Ok(names) => names,
        Err(e) if e.is_not_found() => return None,
        Err(e) => {
            cov.add(PODS_DIR, ProblemKind::Unreadable, e.reason());
            return None;
        }
    };
    pod_dirs.sort_unstable();
    let mut parsed: Vec<_> = pod_dirs
        .iter()
        .filter_map(|d| pod_dir(d).map(|p| (d, p)))
        .collect();
    if parsed.len() > MAX_PODS {
        cov.notes.push(format!(
            "{PODS_DIR} holds {} pods; only the first {MAX_PODS} were read for names",
            parsed.len()
        ));
        parsed.truncate(MAX_PODS);
    }
    let mut names = KubeletNames::default();
    let mut capped = 0;
    for (dir, p) in parsed {
        let path = format!("{PODS_DIR}/{dir}");
        let mut containers = match root.list_dir(&path) {
            Ok(c) => c,
            Err(e) => {
                if !e.is_not_found() {
                    cov.add(&path, ProblemKind::Unreadable, e.reason());
                }
                continue;
            }
        };
        containers.sort_unstable();
        if containers.len() > MAX_CONTAINERS {
            capped += 1;
            containers.truncate(MAX_CONTAINERS);
        }
        let mut pod = KubePod {
            uid: p.uid,
            namespace: p.namespace,
            name: p.name,
            containers: Vec::new(),
        };
        for c in containers {
            let cdir = format!("{path}/{c}");
            let Ok(files) = root.list_dir(&cdir) else {
                continue;
            };
            let newest = files
                .iter()
                .filter_map(|f| restart_of_log(f).map(|n| (n, f)))
                .max();
            if let Some((_, file)) = newest {
                // The name only: a replay counts the same restarts, and no log line is copied.
                root.record_file(&format!("{cdir}/{file}"), b"");
            }
            pod.containers.push(KubeContainer {
                name: c,
                restarts: newest.map(|(n, _)| n),
                ids: Vec::new(),
            });
        }
        names.pods.push(pod);
    }
    if capped > 0 {
        cov.notes.push(format!(
            "{capped} pods in {PODS_DIR} have more than {MAX_CONTAINERS} containers; only the first \
             {MAX_CONTAINERS} were read"
        ));
    }
    link_ids(root, &mut names, cov);
    names.pods.sort_by(|a, b| a.uid.cmp(&b.uid));
    Some(names)
}

/// Container IDs from /var/log/containers: the link's name gives the ID and names, its target the
/// pod's UID (a pod name is reused by a StatefulSet's next pod; the UID is not).
fn link_ids(root: &Root, names: &mut KubeletNames, cov: &mut Coverage) {
    let mut links = match root.list_dir(LINKS_DIR) {
        Ok(l) => l,
        Err(e) => {
            if !e.is_not_found() {
                cov.add(LINKS_DIR, ProblemKind::Unreadable, e.reason());
            }
            return;
        }
    };
    links.sort_unstable();
    if links.len() > MAX_LINKS {
        cov.notes.push(format!(
            "{LINKS_DIR} holds {} links; only the first {MAX_LINKS} were read",
            links.len()
        ));
        links.truncate(MAX_LINKS);
    }
    let mut by_uid: BTreeMap<String, usize> = BTreeMap::new();
    for (i, p) in names.pods.iter().enumerate() {
        by_uid.insert(p.uid.clone(), i);
    }
    let mut instances = Vec::new();
    for link in links {
        let Some(l) = container_link(&link) else {
            continue;
        };
        let target = root
            .read_link(&format!("{LINKS_DIR}/{link}"))
            .ok()
            .and_then(|t| link_target(&t));
        let instance = target.as_ref().and_then(|(_, _, n)| *n);
        let uid = target.map(|(p, _, _)| p.uid);
        let pod_at = match uid.and_then(|u| by_uid.get(&u).copied()) {
            Some(i) => Some(i),
            // No readable target: the pod of that namespace and name, when only one has them.
            None => {
                let same: Vec<usize> = names
                    .pods
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.namespace == l.namespace && p.name == l.pod)
                    .map(|(i, _)| i)
                    .collect();
                (same.len() == 1).then(|| same[0])
            }
        };
        let Some(i) = pod_at else {
            continue;
        };
        instances.push((i, l.container, instance, l.container_id));
    }
    // Newest instance last: by the restart count of the log file each link points to.
    instances.sort_by_key(|(_, _, n, _)| *n);
    for (i, name, _, id) in instances {
        let pod = &mut names.pods[i];
        match pod.containers.iter_mut().find(|c| c.name == name) {
            Some(c) => c.ids.push(id),
            None => pod.containers.push(KubeContainer {
                name,
                restarts: None,
                ids: vec![id],
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "eded8c65-6e8e-4c6e-a889-3e427565c740";
    const ID: &str = "4f1a9c3e8b2d7f60a5c4e3b2d1f0e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2";
    const OLD: &str = "1111111111111111111111111111111111111111111111111111111111111111";

    fn touch(p: &std::path::Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "").unwrap();
    }

    #[test]
    fn names_restarts_and_ids_newest_last() {
        let tmp = tempfile::tempdir().unwrap();
        let pods = tmp.path().join("var/log/pods");
        let pod = format!("shop_checkout-7d9f8c6b5-x2lqp_{UID}");
        touch(&pods.join(&pod).join("app/2.log"));
        touch(&pods.join(&pod).join("app/3.log.20240101-120000.gz"));
        touch(&pods.join(&pod).join("app/notes.txt"));
        std::fs::create_dir_all(pods.join(&pod).join("empty")).unwrap();
        std::fs::create_dir_all(pods.join("not-a-pod")).unwrap();
        let links = tmp.path().join("var/log/containers");
        std::fs::create_dir_all(&links).unwrap();
        // The newest instance's link sorts first by name: the order comes from the targets' N.
        for (id, n) in [(ID, 3), (OLD, 2)] {
            std::os::unix::fs::symlink(
                format!("/var/log/pods/{pod}/app/{n}.log"),
                links.join(format!("checkout-7d9f8c6b5-x2lqp_shop_app-{id}.log")),
            )
            .unwrap();
        }
        let root = Root::dir(tmp.path()).unwrap();
        let mut cov = Coverage::default();
        let names = collect(&root, &mut cov).unwrap();
        assert_eq!(names.pods.len(), 1);
        let p = &names.pods[0];
        assert_eq!(p.full_name(), "shop/checkout-7d9f8c6b5-x2lqp");
        assert_eq!(p.containers[0].name, "app");
        assert_eq!(p.containers[0].restarts, Some(3));
        assert_eq!(p.containers[0].ids, vec![OLD.to_string(), ID.to_string()]);
        assert_eq!(p.containers[1].restarts, None);
        assert_eq!(
            names.names(Some(UID), Some(ID)),
            (Some("shop/checkout-7d9f8c6b5-x2lqp".into()), Some("app".into()))
        );
        assert_eq!(names.names(None, Some(OLD)).1.as_deref(), Some("app"));
        assert_eq!(names.names(Some("other"), Some("beef")), (None, None));
        assert_eq!(
            names.find("shop/checkout-7d9f8c6b5-x2lqp"),
            NameMatch::Pod(UID.into())
        );
        assert_eq!(names.find("checkout-7d9f8c6b5-x2lqp"), NameMatch::Pod(UID.into()));
        assert!(
            matches!(names.find("app"), NameMatch::Container { ref ids, .. } if ids.last().map(String::as_str) == Some(ID))
        );
        assert_eq!(
            names.find("kube-system/checkout-7d9f8c6b5-x2lqp"),
            NameMatch::None
        );
        assert!(cov.notes.is_empty(), "{:?}", cov.notes);
    }

    #[test]
    fn no_tree_is_none_and_a_crowded_one_is_capped() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root::dir(tmp.path()).unwrap();
        let mut cov = Coverage::default();
        assert_eq!(collect(&root, &mut cov), None);
        assert!(cov.problems.is_empty() && cov.notes.is_empty());
        for i in 0..=MAX_PODS {
            std::fs::create_dir_all(tmp.path().join(format!("var/log/pods/ns_p{i}_{:032x}", i))).unwrap();
        }
        let names = collect(&root, &mut cov).unwrap();
        assert_eq!(names.pods.len(), MAX_PODS);
        assert!(
            cov.notes
                .iter()
                .any(|n| n.contains("only the first 1000 were read")),
            "{:?}",
            cov.notes
        );
    }
}
