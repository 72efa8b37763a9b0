use std::sync::Arc;

use super::*;
use crate::collect::container::{ContainerLimits, ContainerSample};
use crate::collect::process::{CgroupLine, ProcSample, Threads};
use crate::facts::cgroup::subject_id;

const MIB: f64 = 1024.0 * 1024.0;

fn proc(pid: i32, state: char, path: &str) -> ProcSample {
    ProcSample {
        pid,
        starttime: 1000 + pid as u64,
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

/// What the second pass re-reads of a process: its stat, not its cgroup.
fn reread(p: &ProcSample, state: char) -> ProcSample {
    ProcSample {
        pid: p.pid,
        starttime: p.starttime,
        state,
        ..ProcSample::default()
    }
}

fn sample(container: &ContainerSample, procs: Vec<ProcSample>) -> Sample {
    let mut s = Sample::new(0.0, chrono::Utc::now());
    s.container = Some(container.clone());
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

/// A cgroup subject as the cgroup facts give it: its quota and memory limit where set.
fn cgroup(path: &str, quota: Option<f64>, max_bytes: Option<f64>, usage: f64, working_set: f64) -> Subject {
    let mut facts = FactSet::default();
    facts.opt("cgroup.cpu.quota_cores", quota);
    facts.opt("cgroup.memory.max_bytes", max_bytes);
    facts.num("cgroup.cpu.usage_cores", usage);
    facts.num("cgroup.memory.working_set_bytes", working_set);
    facts.num("cgroup.psi.cpu.some_avg10", 66.0);
    Subject {
        id: subject_id(path),
        facts,
    }
}

/// A host with `cpus` CPUs and 23.5 GiB, 20 GiB of it available.
fn host_with_cpus(cpus: f64) -> FactSet {
    let mut f = FactSet::default();
    f.num("host.cpus", cpus);
    f.num("host.mem.total_bytes", 23.5 * 1024.0 * MIB);
    f.num("host.mem.available_bytes", 20.0 * 1024.0 * MIB);
    f
}

#[test]
fn a_throttled_container_is_judged_against_its_quota_and_its_memory_limit() {
    let limits = ContainerLimits {
        memory_bytes: Some(96 * 1024 * 1024),
        cpu_quota: Some(0.5),
        cpus: Some(2),
        pids: Some(2048),
    };
    let ctr = podman(limits);
    // The busy loop (R), a sleeping shell, osdoctor itself (R, not counted); in the second sample a
    // worker's two threads are runnable too, but the lower count of both samples is kept.
    let first = sample(
        &ctr,
        vec![proc(1, 'R', "/"), proc(8, 'S', "/"), proc(27, 'R', "/")],
    );
    let mut worker = reread(&first.processes.procs[1], 'S');
    worker.threads = Some(Threads {
        states: vec![(8, 'S'), (10, 'R'), (11, 'R')],
        ..Threads::default()
    });
    let second = sample(
        &ctr,
        vec![
            reread(&first.processes.procs[0], 'R'),
            worker,
            reread(&first.processes.procs[2], 'R'),
        ],
    );
    let mut cgroups = vec![cgroup("/", Some(0.5), Some(96.0 * MIB), 0.49, 90.0 * MIB)];
    let mut host = host_with_cpus(2.0);
    // Its top CPU consumers are its own processes' (osdoctor's own is not one of them).
    let procs: Vec<Subject> = [(1, 0.48), (27, 0.3)]
        .into_iter()
        .map(|(pid, cores)| {
            let mut facts = FactSet::default();
            facts.num("proc.cpu.cores", cores);
            Subject {
                id: crate::facts::SubjectId {
                    kind: crate::facts::SubjectKind::Process,
                    pid: Some(pid),
                    start_time: Some(1000 + pid as u64),
                    comm: Some(format!("p{pid}")),
                    ..Default::default()
                },
                facts,
            }
        })
        .collect();
    let note = derive(&first, Some(&second), &mut cgroups, Some(&procs), &mut host);
    assert_eq!(
        note.as_deref(),
        Some(
            "inside a container: CPU and memory judged against its own cgroup's limits, not the host's /proc"
        )
    );
    assert_eq!(
        host.get("container.top_cpu_processes"),
        Some(&crate::facts::Value::Text("pid 1 (p1) 48% of a CPU".into()))
    );

    let n = |name| host.get_f64(name);
    assert_eq!(n("container.inside"), Some(1.0));
    assert_eq!(
        host.get("container.cgroup"),
        Some(&crate::facts::Value::Text("/".into()))
    );
    assert_eq!(n("container.cpus"), Some(0.5));
    assert_eq!(n("container.cpu.used_cpus"), Some(0.49));
    assert_eq!(n("container.cpu.busy_ratio"), Some(0.98));
    // One runnable task on half a CPU is one per whole CPU: nothing queues behind it.
    assert_eq!(n("container.cpu.procs_running"), Some(1.0));
    assert_eq!(n("container.cpu.runnable_per_cpu"), Some(1.0));
    assert_eq!(n("container.psi.cpu.some_avg10"), Some(66.0));
    assert_eq!(n("container.mem.limit_bytes"), Some(96.0 * MIB));
    assert_eq!(n("container.mem.working_set_bytes"), Some(90.0 * MIB));
    assert_eq!(n("container.mem.available_bytes"), Some(6.0 * MIB));
    assert_eq!(n("container.mem.available_ratio"), Some(0.0625));
    // v1: no memory.pressure, said so.
    // v1: no memory.pressure, said so; lacked, so the host's pressure judges it.
    assert_eq!(n("container.psi.memory.some_avg10"), None);
    assert!(
        host.stated_reason("container.psi.memory.some_avg10")
            .is_some_and(|r| r.contains("cgroup v1 has none"))
    );
    assert!(host.is_lacked("container.psi.memory.some_avg10"));
    assert_eq!(cgroups[0].facts.get_f64("cgroup.container_own"), Some(1.0));
}

#[test]
fn without_limits_of_its_own_below_the_hosts_the_host_judges_it_and_its_facts_are_lacked() {
    let ctr = podman(ContainerLimits {
        cpus: Some(2),
        memory_bytes: Some(300 * 1024 * 1024),
        ..ContainerLimits::default()
    });
    let first = sample(&ctr, vec![proc(1, 'R', "/")]);
    for own in [
        // No quota, a cpuset of every CPU, no memory limit of its own (300 MiB is an ancestor's:
        // the cgroup rules judge it there, with that cgroup's use).
        cgroup("/", None, None, 1.2, 300.0 * MIB),
        // A quota of 4 CPUs on a 2-CPU host, a limit of 64 GiB on 23.5 GiB.
        cgroup("/", Some(4.0), Some(64.0 * 1024.0 * MIB), 1.2, 300.0 * MIB),
    ] {
        let mut cgroups = vec![own];
        let mut host = host_with_cpus(2.0);
        let note = derive(&first, None, &mut cgroups, None, &mut host);
        assert_eq!(
            note.as_deref(),
            Some(
                "inside a container with no CPU or memory limit below the host's: the host's /proc figures judge it"
            )
        );
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
}

#[test]
fn the_fewest_cpus_of_quota_cpuset_and_host_and_whole_cpus_for_the_run_queue() {
    let with = |quota, cpus, running: usize| {
        let ctr = podman(ContainerLimits {
            cpus: Some(cpus),
            ..ContainerLimits::default()
        });
        let procs = (0..running).map(|i| proc(100 + i as i32, 'R', "/")).collect();
        let first = sample(&ctr, procs);
        let mut cgroups = vec![cgroup("/", quota, None, 0.5, 0.0)];
        let mut host = host_with_cpus(8.0);
        derive(&first, None, &mut cgroups, None, &mut host);
        (
            host.get_f64("container.cpus"),
            host.get_f64("container.cpu.runnable_per_cpu"),
        )
    };
    assert_eq!(with(None, 2, 4), (Some(2.0), Some(2.0)));
    assert_eq!(with(Some(3.0), 2, 4), (Some(2.0), Some(2.0)));
    assert_eq!(with(Some(1.5), 4, 4), (Some(1.5), Some(2.0)));
    assert_eq!(with(Some(0.25), 8, 4), (Some(0.25), Some(4.0)));
}

#[test]
fn when_the_host_has_less_to_give_than_its_limit_that_is_what_is_available() {
    let ctr = podman(ContainerLimits::default());
    let first = sample(&ctr, vec![]);
    let mut cgroups = vec![cgroup("/", None, Some(4096.0 * MIB), 0.0, 1024.0 * MIB)];
    let mut host = host_with_cpus(2.0);
    host.num("host.mem.available_bytes", 200.0 * MIB);
    derive(&first, None, &mut cgroups, None, &mut host);
    assert_eq!(host.get_f64("container.mem.available_bytes"), Some(200.0 * MIB));
    assert_eq!(
        host.get_f64("container.mem.available_ratio"),
        Some(200.0 / 4096.0)
    );
}

#[test]
fn in_the_hosts_pid_namespace_its_processes_are_those_of_its_cgroup_in_both_samples() {
    let own = "/docker/4f1a9c3e8b2d";
    let ctr = ContainerSample {
        signs: vec!["/.dockerenv".to_string()],
        runtime: Some("docker".to_string()),
        own_cgroup: Some(own.to_string()),
        ..ContainerSample::default()
    };
    let first = sample(
        &ctr,
        vec![
            proc(100, 'R', own),
            proc(101, 'R', &format!("{own}/sub")),
            proc(102, 'R', "/docker/4f1a9c3e8b2dx"),
            proc(103, 'R', "/system.slice/sshd.service"),
        ],
    );
    // The second pass keeps no cgroup lines: membership is the first sample's.
    let second = sample(
        &ctr,
        first.processes.procs.iter().map(|p| reread(p, 'R')).collect(),
    );
    let mut cgroups = vec![
        cgroup("/", None, None, 2.0, 0.0),
        cgroup(own, Some(1.0), None, 1.0, 1.0),
    ];
    let mut host = host_with_cpus(4.0);
    derive(&first, Some(&second), &mut cgroups, None, &mut host);
    assert_eq!(host.get_f64("container.cpu.procs_running"), Some(2.0));
    assert_eq!(host.get_f64("container.cpu.busy_ratio"), Some(1.0));
    assert_eq!(cgroups[0].facts.get_f64("cgroup.container_own"), None);
    assert_eq!(cgroups[1].facts.get_f64("cgroup.container_own"), Some(1.0));
    // A shared PID namespace (a pod's sidecars seen from a private cgroup namespace): theirs read
    // `/..` and are not counted.
    let shared = podman(ContainerLimits::default());
    let first = sample(
        &shared,
        vec![
            proc(1, 'R', "/"),
            proc(7, 'R', "/../cri-containerd-sidecar.scope"),
        ],
    );
    let mut cgroups = vec![cgroup("/", Some(1.0), None, 1.0, 0.0)];
    let mut host = host_with_cpus(4.0);
    derive(&first, None, &mut cgroups, None, &mut host);
    assert_eq!(host.get_f64("container.cpu.procs_running"), Some(1.0));
}

#[test]
fn one_sample_its_cgroup_unread_or_its_usage_missing_say_why() {
    let ctr = podman(ContainerLimits::default());
    let first = sample(&ctr, vec![proc(1, 'R', "/")]);
    // Its own cgroup was not read: every figure says so.
    let mut host = host_with_cpus(2.0);
    derive(&first, None, &mut [], None, &mut host);
    assert_eq!(
        host.stated_reason("container.cpu.busy_ratio"),
        Some("its own cgroup / was not read")
    );
    // Two samples but no usage counter: said; one sample: left to the catalogue (needs two).
    let mut own = cgroup("/", Some(1.0), None, 0.0, 0.0);
    own.facts.remove("cgroup.cpu.usage_cores");
    let mut host = host_with_cpus(2.0);
    derive(&first, Some(&first), &mut [own.clone()], None, &mut host);
    assert!(
        host.stated_reason("container.cpu.busy_ratio")
            .is_some_and(|r| r.starts_with("its own cgroup's CPU usage was not read"))
    );
    let mut host = host_with_cpus(2.0);
    derive(&first, None, &mut [own], None, &mut host);
    assert_eq!(host.stated_reason("container.cpu.busy_ratio"), None);
}

#[test]
fn outside_a_container_nothing_is_derived() {
    let mut s = Sample::new(0.0, chrono::Utc::now());
    s.container = Some(ContainerSample::default());
    let mut cgroups = vec![cgroup("/", Some(1.0), None, 1.0, 1.0)];
    let mut host = host_with_cpus(2.0);
    derive(&s, None, &mut cgroups, None, &mut host);
    assert_eq!(host.iter().count(), 3);
    assert_eq!(cgroups[0].facts.get_f64("cgroup.container_own"), None);
}
