use std::sync::Arc;

use super::*;
use crate::collect::container::{ContainerLimits, ContainerSample};
use crate::collect::process::{CgroupLine, ProcSample, Threads};
use crate::facts::cgroup::subject_id;

fn proc(pid: i32, state: char, path: &str) -> ProcSample {
    ProcSample {
        pid,
        comm: format!("p{pid}"),
        state,
        cgroups: Arc::from(vec![CgroupLine {
            hierarchy: 0,
            controllers: String::new(),
            path: path.to_string(),
        }]),
        ..ProcSample::default()
    }
}

fn sample(container: ContainerSample, procs: Vec<ProcSample>) -> Sample {
    let mut s = Sample::new(0.0, chrono::Utc::now());
    s.container = Some(container);
    s.processes.scanned = true;
    s.processes.complete = true;
    s.processes.procs = procs;
    s
}

/// A podman container in a private cgroup and PID namespace, osdoctor as pid 27.
fn podman(limits: ContainerLimits) -> ContainerSample {
    ContainerSample {
        signs: vec!["cgroup namespace cgroup:[4026532243] is not the host's".to_string()],
        runtime: Some("podman".to_string()),
        private_cgroupns: true,
        private_pidns: true,
        own_cgroup: Some("/".to_string()),
        self_pid: Some(27),
        limits,
        ..ContainerSample::default()
    }
}

/// The container's own cgroup `/` as the cgroup facts give it.
fn own_cgroup(usage_cores: f64, working_set: f64) -> Subject {
    let mut facts = FactSet::default();
    facts.num("cgroup.cpu.usage_cores", usage_cores);
    facts.num("cgroup.memory.working_set_bytes", working_set);
    facts.num("cgroup.psi.cpu.some_avg10", 66.0);
    Subject {
        id: subject_id("/"),
        facts,
    }
}

fn host_with_cpus(cpus: f64) -> FactSet {
    let mut f = FactSet::default();
    f.num("host.cpus", cpus);
    f
}

const MIB: f64 = 1024.0 * 1024.0;

#[test]
fn a_throttled_container_is_judged_against_its_quota_and_its_memory_limit() {
    let limits = ContainerLimits {
        memory_bytes: Some(96 * 1024 * 1024),
        cpu_quota: Some(0.5),
        cpus: Some(2),
        pids: Some(2048),
    };
    // The busy loop (R), a sleeping shell, osdoctor itself (R, not counted); in the second sample a
    // worker's two threads are runnable too, but the lower count of both samples is kept.
    let first = sample(
        podman(limits.clone()),
        vec![proc(1, 'R', "/"), proc(8, 'S', "/"), proc(27, 'R', "/")],
    );
    let mut worker = proc(9, 'S', "/");
    worker.threads = Some(Threads {
        states: vec![(9, 'S'), (10, 'R'), (11, 'R')],
        ..Threads::default()
    });
    let second = sample(
        podman(limits),
        vec![proc(1, 'R', "/"), worker, proc(27, 'R', "/")],
    );
    let mut cgroups = vec![own_cgroup(0.49, 90.0 * MIB)];
    let mut host = host_with_cpus(2.0);
    derive(&first, Some(&second), &mut cgroups, &mut host);

    let n = |name| host.get_f64(name);
    assert_eq!(n("container.inside"), Some(1.0));
    assert_eq!(
        host.get("container.cgroup"),
        Some(&crate::facts::Value::Text("/".into()))
    );
    assert_eq!(n("container.cpus"), Some(0.5));
    assert_eq!(n("container.cpu.used_cpus"), Some(0.49));
    assert_eq!(n("container.cpu.busy_ratio"), Some(0.98));
    assert_eq!(n("container.cpu.procs_running"), Some(1.0));
    assert_eq!(n("container.cpu.runnable_per_cpu"), Some(2.0));
    assert_eq!(n("container.psi.cpu.some_avg10"), Some(66.0));
    assert_eq!(n("container.mem.limit_bytes"), Some(96.0 * MIB));
    assert_eq!(n("container.mem.working_set_bytes"), Some(90.0 * MIB));
    assert_eq!(n("container.mem.available_bytes"), Some(6.0 * MIB));
    assert_eq!(n("container.mem.available_ratio"), Some(0.0625));
    // v1: no memory.pressure, said so.
    assert_eq!(n("container.psi.memory.some_avg10"), None);
    assert!(
        host.stated_reason("container.psi.memory.some_avg10")
            .is_some_and(|r| r.contains("cgroup v1 has none"))
    );
    assert_eq!(cgroups[0].facts.get_f64("cgroup.container_own"), Some(1.0));
}

#[test]
fn without_limits_the_hosts_resources_are_its_own_and_its_facts_are_lacked() {
    // A cpuset of every host CPU is no limit.
    let limits = ContainerLimits {
        cpus: Some(2),
        ..ContainerLimits::default()
    };
    let first = sample(podman(limits), vec![proc(1, 'R', "/")]);
    let mut cgroups = vec![own_cgroup(1.2, 300.0 * MIB)];
    let mut host = host_with_cpus(2.0);
    derive(&first, None, &mut cgroups, &mut host);
    assert_eq!(host.get_f64("container.inside"), Some(1.0));
    for name in [
        "container.cpus",
        "container.cpu.busy_ratio",
        "container.cpu.runnable_per_cpu",
        "container.mem.limit_bytes",
        "container.mem.available_ratio",
    ] {
        assert_eq!(host.get_f64(name), None, "{name}");
        assert!(host.is_lacked(name), "{name}");
    }
}

#[test]
fn a_cpuset_smaller_than_the_host_limits_the_cpus_and_the_tighter_of_quota_and_cpuset_wins() {
    let with = |quota, cpus| {
        let limits = ContainerLimits {
            cpu_quota: quota,
            cpus: Some(cpus),
            ..ContainerLimits::default()
        };
        let first = sample(podman(limits), vec![]);
        let mut cgroups = vec![own_cgroup(0.5, 0.0)];
        let mut host = host_with_cpus(8.0);
        derive(&first, None, &mut cgroups, &mut host);
        host.get_f64("container.cpus")
    };
    assert_eq!(with(None, 2), Some(2.0));
    assert_eq!(with(Some(3.0), 2), Some(2.0));
    assert_eq!(with(Some(1.5), 4), Some(1.5));
}

#[test]
fn in_the_hosts_pid_namespace_only_the_containers_cgroup_counts_and_one_sample_gives_no_rates() {
    let own = "/docker/4f1a9c3e8b2d";
    let container = ContainerSample {
        signs: vec!["/.dockerenv".to_string()],
        runtime: Some("docker".to_string()),
        own_cgroup: Some(own.to_string()),
        limits: ContainerLimits {
            cpu_quota: Some(1.0),
            ..ContainerLimits::default()
        },
        ..ContainerSample::default()
    };
    let first = sample(
        container,
        vec![
            proc(100, 'R', own),
            proc(101, 'R', &format!("{own}/sub")),
            proc(102, 'R', "/docker/4f1a9c3e8b2dx"),
            proc(103, 'R', "/system.slice/sshd.service"),
        ],
    );
    let mut own_subject = Subject {
        id: subject_id(own),
        facts: FactSet::default(),
    };
    own_subject.facts.num("cgroup.memory.working_set_bytes", 1.0);
    let mut cgroups = vec![
        Subject {
            id: subject_id("/"),
            facts: FactSet::default(),
        },
        own_subject,
    ];
    let mut host = host_with_cpus(4.0);
    derive(&first, None, &mut cgroups, &mut host);
    assert_eq!(host.get_f64("container.cpu.procs_running"), Some(2.0));
    assert_eq!(host.get_f64("container.cpu.busy_ratio"), None);
    assert_eq!(cgroups[0].facts.get_f64("cgroup.container_own"), None);
    assert_eq!(cgroups[1].facts.get_f64("cgroup.container_own"), Some(1.0));
}

#[test]
fn outside_a_container_nothing_is_derived() {
    let mut s = Sample::new(0.0, chrono::Utc::now());
    s.container = Some(ContainerSample::default());
    let mut cgroups = vec![own_cgroup(1.0, 1.0)];
    let mut host = host_with_cpus(2.0);
    derive(&s, None, &mut cgroups, &mut host);
    assert_eq!(host.iter().count(), 1);
    assert_eq!(cgroups[0].facts.get_f64("cgroup.container_own"), None);
}
