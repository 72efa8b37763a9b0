//! Which cgroups `check` reads, and the counters of its second pass.

use crate::collect::cgroup::*;

#[test]
fn selects_leaves_pods_and_top_level() {
    let paths: Vec<String> = [
        "/",
        "/system.slice",
        "/system.slice/sshd.service",
        "/kubepods.slice",
        "/kubepods.slice/kubepods-burstable.slice",
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1e597579_417e_482f_bf65_5fe170c3aebd.slice",
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1e597579_417e_482f_bf65_5fe170c3aebd.slice/cri-containerd-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let chosen = select(&paths);
    assert!(!chosen.contains(&"/".to_string()));
    assert!(chosen.contains(&"/system.slice".to_string()), "top level");
    assert!(chosen.contains(&"/system.slice/sshd.service".to_string()), "leaf");
    assert!(
        !chosen.contains(&"/kubepods.slice/kubepods-burstable.slice".to_string()),
        "QoS level skipped"
    );
    assert!(chosen.iter().any(|p| p.ends_with("aebd.slice")), "pod level");
    assert!(chosen.iter().any(|p| p.ends_with(".scope")), "container");
    assert_eq!(chosen.len(), 5);
}
