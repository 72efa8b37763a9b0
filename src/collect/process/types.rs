//! The samples the process collector fills: one process ([`ProcSample`]) with what was read of its
//! threads, limits and cgroups; one pass over all of them ([`ProcessSample`]); what a scan publishes as
//! it goes ([`ScanProgress`]) and where a pass is in time ([`PassClock`]). No reading here.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Which per-thread files the scan reads for multi-threaded processes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerThread {
    pub status: bool,
    pub schedstat: bool,
    pub stat: bool,
}

impl PerThread {
    pub fn any(self) -> bool {
        self.status || self.schedstat || self.stat
    }
    pub(super) fn union(self, o: PerThread) -> PerThread {
        PerThread {
            status: self.status || o.status,
            schedstat: self.schedstat || o.schedstat,
            stat: self.stat || o.stat,
        }
    }
    pub(super) fn names(self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.status {
            v.push("status");
        }
        if self.schedstat {
            v.push("schedstat");
        }
        if self.stat {
            v.push("stat");
        }
        v
    }
    pub(super) fn parse(s: &str) -> PerThread {
        let mut p = PerThread::default();
        for w in s.split(',').map(str::trim) {
            match w {
                "status" => p.status = true,
                "schedstat" => p.schedstat = true,
                "stat" => p.stat = true,
                _ => {}
            }
        }
        p
    }
}

/// One thread's scheduler counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadSched {
    pub tid: i32,
    pub exec_ns: u64,
    pub delay_ns: u64,
}

/// What was read of a process's threads (`/proc/PID/task/*`).
#[derive(Debug, Clone, Default)]
pub struct Threads {
    /// Which files were read.
    pub read: PerThread,
    pub count: usize,
    /// Voluntary and involuntary context switches summed over the threads.
    pub ctxt: Option<(u64, u64)>,
    pub sched: Vec<ThreadSched>,
    /// (tid, state) of every thread, when their stat was read.
    pub states: Vec<(i32, char)>,
}

/// The limits the rules use; `None` inside means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcLimits {
    pub nofile_soft: Option<u64>,
    pub nofile_hard: Option<u64>,
    pub nproc_soft: Option<u64>,
}

/// One line of /proc/PID/cgroup, kept raw so pods and containers can be attributed later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupLine {
    pub hierarchy: u32,
    pub controllers: String,
    pub path: String,
}

/// A task in D state with its wait channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub tid: i32,
    pub wchan: Option<String>,
}

/// One process as read in one pass.
#[derive(Debug, Clone, Default)]
pub struct ProcSample {
    pub pid: i32,
    /// Clock ticks after boot: with the pid, the process's identity (PIDs wrap).
    pub starttime: u64,
    pub comm: String,
    pub state: char,
    pub ppid: i32,
    pub kthread: bool,
    pub utime: u64,
    pub stime: u64,
    pub majflt: u64,
    pub num_threads: u64,
    pub rss_pages: u64,
    /// The CPU its main thread last ran on (/proc/PID/stat field 39, `processor`).
    pub processor: Option<u32>,
    /// CPU ns of all its threads (its process CPU clock), taken just before its stat on the live
    /// system: the second pass skips its stat when this has not moved.
    pub cpu_ns: Option<u64>,
    /// VmRSS of /proc/PID/status, kB (the same counters as `rss_pages`, read a moment later).
    pub vmrss_kb: Option<u64>,
    /// Threads of /proc/PID/status (the same count as `num_threads`, read a moment later).
    pub status_threads: Option<u64>,
    pub uid: Option<u32>,
    pub fdsize: Option<u64>,
    pub swap_kb: Option<u64>,
    pub cap_eff: Option<u64>,
    /// Levels of PID namespaces (the NSpid entries): 1 on the host, more inside a container.
    pub pidns_depth: Option<usize>,
    /// The main thread's voluntary and involuntary context switches (/proc/PID/status).
    pub ctxt_main: Option<(u64, u64)>,
    pub limits: Option<ProcLimits>,
    /// The main thread's /proc/PID/schedstat: on-CPU ns, run-queue wait ns, timeslices.
    pub schedstat: Option<(u64, u64, u64)>,
    /// Shared between processes whose /proc/PID/cgroup is the same (most are): thousands of copies of
    /// the same ten lines are the biggest memory cost of a scan otherwise.
    pub cgroups: Arc<[CgroupLine]>,
    pub oom_score: Option<u32>,
    pub fd_count: Option<u64>,
    /// fd number and link target, when the fd directory's links were read.
    pub fd_links: Option<Vec<(u32, String)>>,
    /// The fd table classified (only for processes near their fd limit or holding CLOSE_WAIT sockets
    /// by the dozen: see `fd_table`).
    pub fd_table: Option<crate::parse::fd_table::FdTable>,
    /// Without a classified table: at most this many of its fds are CLOSE_WAIT sockets (its fd count
    /// or its namespace's CLOSE_WAIT sockets, below the survey's floor; or the exact count where the
    /// survey read its fd links).
    pub close_wait_at_most: Option<u64>,
    pub threads: Option<Threads>,
    /// Listening TCP sockets among its fds (only for processes with a low soft RLIMIT_NOFILE).
    pub listen_ports: Option<Vec<u16>>,
    /// Deleted files held open: (path, bytes).
    pub deleted: Option<Vec<(String, u64)>>,
    /// Tasks in D state in both samples (second pass only).
    pub blocked: Vec<Blocked>,
    /// A database this process is (comm, or the main class of a `java` process).
    pub database: Option<String>,
    /// Something of this process could not be read for lack of permission.
    pub denied: bool,
}

impl ProcSample {
    /// Its /proc/PID/stat was read (the identity and state come from it).
    pub fn has_stat(&self) -> bool {
        self.state != '\0'
    }

    pub fn is_zombie(&self) -> bool {
        self.state == 'Z' || self.state == 'X'
    }

    /// The Kubernetes pod and container the process runs in, from any of its cgroup paths (the v2 path
    /// first; on v1 hosts each hierarchy has a path and one of them names the container).
    pub fn container_identity(&self) -> Option<crate::parse::cgroup::ContainerIdentity> {
        let first = self.cgroup_path();
        first
            .iter()
            .map(String::as_str)
            .chain(self.cgroups.iter().map(|c| c.path.as_str()))
            .filter_map(crate::parse::cgroup::identify)
            .find(|id| id.pod_uid.is_some() || id.container_id.is_some())
    }

    /// The cgroup to name in findings: the v2 (`0::`) path; on a hybrid or v1 host where that is `/`,
    /// the v1 memory (else cpu) hierarchy's path.
    pub fn cgroup_path(&self) -> Option<String> {
        let v2 = self
            .cgroups
            .iter()
            .find(|c| c.hierarchy == 0 && c.controllers.is_empty());
        let v1 = |name: &str| {
            self.cgroups
                .iter()
                .find(|c| c.hierarchy != 0 && c.controllers.split(',').any(|x| x == name))
        };
        let v1 = v1("memory").or_else(|| v1("cpu"));
        match (v2, v1) {
            (Some(v2), Some(v1)) if v2.path == "/" => Some(v1.path.clone()),
            (Some(v2), _) => Some(v2.path.clone()),
            (None, Some(v1)) => Some(v1.path.clone()),
            (None, None) => None,
        }
    }

    /// Every distinct cgroup path of the process, over the v2 group and the v1 hierarchies.
    pub fn cgroup_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = Vec::new();
        for c in self.cgroups.iter() {
            if !paths.contains(&c.path) {
                paths.push(c.path.clone());
            }
        }
        paths
    }

    /// Threads in D state (all threads when their stat was read, else the main thread).
    pub fn d_tids(&self) -> Vec<i32> {
        match &self.threads {
            Some(t) if !t.states.is_empty() => t
                .states
                .iter()
                .filter(|(_, s)| *s == 'D')
                .map(|(t, _)| *t)
                .collect(),
            _ if self.state == 'D' => vec![self.pid],
            _ => Vec::new(),
        }
    }
}

/// A mounted filesystem's capacity.
#[derive(Debug, Clone, PartialEq)]
pub struct MountUsage {
    pub mount_point: String,
    pub fstype: String,
    pub used_ratio: f64,
    pub size_bytes: u64,
}

/// How the open-fd count is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdCount {
    /// `stat()` of the fd directory (live, Linux 6.2+).
    StatSize,
    /// List the directory and read every link (recording a snapshot).
    ListWithLinks,
    /// Count the entries (a directory root).
    List,
    /// List only when FDSize reaches 75% of the soft limit (live, before 6.2).
    ListIfNear,
}

/// Every process of one pass, and the scan's own findings.
#[derive(Debug, Clone, Default)]
pub struct ProcessSample {
    /// /proc could be listed (false: nothing was scanned).
    pub scanned: bool,
    /// Every process was read (false: the scan stopped at the deadline).
    pub complete: bool,
    pub procs: Vec<ProcSample>,
    pub per_thread: PerThread,
    /// Host context switches per second across the first scan (the per-thread trigger).
    pub scan_ctxt_rate: Option<f64>,
    pub mounts: Vec<MountUsage>,
    /// uid -> user name, from /etc/passwd.
    pub users: BTreeMap<u32, String>,
    /// /proc/sys/kernel/cap_last_cap: CapEff with every bit up to it set is the full set.
    pub cap_last_cap: Option<u32>,
    /// Processes something could not be read of (permission).
    pub denied: usize,
    /// Processes that exited during the pass.
    pub gone: usize,
    pub fd_count_mode: Option<FdCount>,
    /// Where the processes were listed when not from /proc/PID (a sosreport's `ps` table, such as
    /// `sos_commands/process/ps_alxwww`): only what that listing shows is known of them.
    pub listing: Option<String>,
}

impl ProcessSample {
    pub fn user_name(&self, uid: u32) -> String {
        self.users.get(&uid).cloned().unwrap_or_else(|| uid.to_string())
    }
}

/// What the scan publishes as it goes, so a deadline keeps the processes read so far.
#[derive(Debug, Default)]
pub struct ScanProgress {
    pub procs: Mutex<Vec<ProcSample>>,
    /// What is being read now (named in the timeout note).
    pub at: Mutex<String>,
}

impl ScanProgress {
    pub fn at(&self, what: impl Into<String>) {
        if let Ok(mut a) = self.at.lock() {
            *a = what.into();
        }
    }
    pub fn push(&self, p: ProcSample) {
        if let Ok(mut v) = self.procs.lock() {
            v.push(p);
        }
    }
    /// The processes published so far.
    pub fn take(&self) -> Vec<ProcSample> {
        self.procs
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
    /// Publish a whole list (while the scan works on its own copy).
    pub(super) fn replace(&self, procs: &[ProcSample]) {
        if let Ok(mut v) = self.procs.lock() {
            *v = procs.to_vec();
        }
    }
}

/// Where a pass is in time, for the trigger that needs a time window and the second pass's choices.
pub struct PassClock {
    /// CLOCK_MONOTONIC seconds when this pass read /proc/stat.
    pub stat_read_at: f64,
    /// When the first pass read it (second pass only).
    pub prev_stat_read_at: Option<f64>,
    /// USER_HZ, the unit of CPU times in /proc/PID/stat.
    pub ticks_per_second: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_path_prefers_v2_then_v1_memory() {
        let line = |h: u32, c: &str, p: &str| CgroupLine {
            hierarchy: h,
            controllers: c.into(),
            path: p.into(),
        };
        let mut p = ProcSample {
            cgroups: vec![line(4, "memory", "/app"), line(1, "cpu", "/"), line(0, "", "/")].into(),
            ..ProcSample::default()
        };
        assert_eq!(p.cgroup_path().as_deref(), Some("/app"));
        p.cgroups = vec![line(0, "", "/system.slice/x.service")].into();
        assert_eq!(p.cgroup_path().as_deref(), Some("/system.slice/x.service"));
        p.cgroups = vec![line(3, "cpu,cpuacct", "/k")].into();
        assert_eq!(p.cgroup_path().as_deref(), Some("/k"));
    }
}

#[cfg(test)]
mod attribution_tests {
    use super::*;

    #[test]
    fn a_process_in_a_pod_names_its_pod_and_container() {
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let p = ProcSample {
            cgroups: vec![
                CgroupLine {
                    hierarchy: 4,
                    controllers: "memory".into(),
                    path: format!("/kubepods/burstable/pod1e597579-417e-482f-bf65-5fe170c3aebd/{id}"),
                },
                CgroupLine {
                    hierarchy: 0,
                    controllers: String::new(),
                    path: "/".into(),
                },
            ]
            .into(),
            ..ProcSample::default()
        };
        let ident = p.container_identity().unwrap();
        assert_eq!(
            ident.pod_uid.as_deref(),
            Some("1e597579-417e-482f-bf65-5fe170c3aebd")
        );
        assert_eq!(ident.container_id.as_deref(), Some(id));
        assert!(ProcSample::default().container_identity().is_none());
    }
}
