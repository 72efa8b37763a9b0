//! Live-only shortcuts of the scan: values the kernel gives by a syscall, cheaper than opening,
//! rendering and parsing a /proc/PID file. Used only on the live system when no snapshot is being
//! recorded ([`super::reader::Reader::shortcuts`]): a snapshot must hold the files a replay reads.
//!
//! - the soft and hard RLIMIT_NOFILE and the soft RLIMIT_NPROC from `prlimit(pid, resource, NULL,
//!   &old)`: the values /proc/PID/limits prints (both read `task->signal->rlim`); `prlimit` of another
//!   user's process needs CAP_SYS_RESOURCE, and any failure falls back to the file;
//! - the CPU time of all the process's threads, live and exited, from `clock_gettime` of its process
//!   CPU clock (`sum_exec_runtime` to the nanosecond: the `rtime` that /proc/PID/stat's utime and stime
//!   are scaled to). If it is unchanged between the passes, no thread of the process ran in between,
//!   so nothing in /proc/PID/stat that the facts use has changed (see [`super::scan`]'s second pass).
//!
//! Measured at 2000 processes x 8 threads (benches/README.md): one /proc/PID file costs 5-8 us of
//! CPU (open, seq_file rendering, close), each syscall here well under 1 us.

use super::types::ProcLimits;

mod sys {
    /// RLIM_INFINITY: "unlimited" in /proc/PID/limits.
    pub const RLIM_INFINITY: u64 = libc::RLIM64_INFINITY;
    pub use libc::{RLIMIT_NOFILE, RLIMIT_NPROC};

    /// The (soft, hard) limit of `resource` of process `pid`, read only (`new` is null).
    pub fn get_rlimit(pid: i32, resource: libc::__rlimit_resource_t) -> Option<(u64, u64)> {
        let mut old = libc::rlimit64 {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `new` is null, so nothing is set; `old` is a valid, writable struct rlimit64.
        let rc = unsafe { libc::prlimit64(pid, resource, std::ptr::null(), &mut old) };
        (rc == 0).then_some((old.rlim_cur, old.rlim_max))
    }

    /// The process CPU clock of `pid` (all its threads, live and exited), in nanoseconds.
    pub fn process_cpu_ns(pid: i32) -> Option<u64> {
        // PID_MAX_LIMIT is 4M (2^22); glibc builds the clock id by shifting the pid, and a larger one
        // would wrap to another clock (0 means our own).
        if !(1..=1 << 22).contains(&pid) {
            return None;
        }
        let mut clock: libc::clockid_t = 0;
        // SAFETY: `clock` is a valid, writable clockid_t.
        if unsafe { libc::clock_getcpuclockid(pid, &mut clock) } != 0 {
            return None;
        }
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable struct timespec.
        let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
        (rc == 0 && ts.tv_sec >= 0 && ts.tv_nsec >= 0)
            .then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
    }
}

/// Whether /proc shows our own PID namespace: the syscalls here take pids as this process sees them,
/// and under `nsenter -p` or `unshare -p` without a new /proc, pid N in /proc is another task.
pub(super) fn proc_is_ours() -> bool {
    std::fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str()?.parse::<u32>().ok())
        == Some(std::process::id())
}

/// The limits /proc/PID/limits would show, or `None` (not permitted, gone, another target): read the
/// file then.
pub(super) fn limits(pid: i32) -> Option<ProcLimits> {
    let finite = |v: u64| (v != sys::RLIM_INFINITY).then_some(v);
    let (nofile_soft, nofile_hard) = sys::get_rlimit(pid, sys::RLIMIT_NOFILE)?;
    let (nproc_soft, _) = sys::get_rlimit(pid, sys::RLIMIT_NPROC)?;
    Some(ProcLimits {
        nofile_soft: finite(nofile_soft),
        nofile_hard: finite(nofile_hard),
        nproc_soft: finite(nproc_soft),
    })
}

/// CPU nanoseconds of all the process's threads (its process CPU clock), or `None`.
pub(super) fn cpu_ns(pid: i32) -> Option<u64> {
    sys::process_cpu_ns(pid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::proc_pid;

    #[test]
    fn limits_agree_with_the_file() {
        let me = std::process::id() as i32;
        let Some(got) = limits(me) else {
            return; // a target without the shortcut
        };
        let file = proc_pid::parse_limits(&std::fs::read("/proc/self/limits").unwrap()).unwrap();
        assert_eq!(
            (got.nofile_soft, got.nofile_hard, got.nproc_soft),
            (file.nofile_soft, file.nofile_hard, file.nproc_soft)
        );
        assert!(limits(-1).is_none());
    }

    #[test]
    fn cpu_clock_moves_only_when_the_process_runs() {
        let me = std::process::id() as i32;
        let Some(a) = cpu_ns(me) else {
            return;
        };
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        std::hint::black_box(x);
        assert!(cpu_ns(me).unwrap() > a);
        // Above PID_MAX_LIMIT (4M): never a process.
        assert!(cpu_ns(4_194_305).is_none());
        assert!(cpu_ns(i32::MAX).is_none());
    }
}
