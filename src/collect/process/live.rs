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

#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "loongarch64"
    )
))]
mod sys {
    /// `struct rlimit` of a 64-bit Linux target (rlim_t is unsigned long).
    #[repr(C)]
    #[derive(Default)]
    pub struct Rlimit {
        pub cur: u64,
        pub max: u64,
    }

    /// `struct timespec` of a 64-bit Linux target.
    #[repr(C)]
    #[derive(Default)]
    pub struct Timespec {
        pub sec: i64,
        pub nsec: i64,
    }

    unsafe extern "C" {
        fn prlimit(pid: i32, resource: i32, new: *const Rlimit, old: *mut Rlimit) -> i32;
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }

    /// RLIMIT_NPROC and RLIMIT_NOFILE of the generic asm/resource.h (the targets above).
    pub const RLIMIT_NPROC: i32 = 6;
    pub const RLIMIT_NOFILE: i32 = 7;
    /// RLIM_INFINITY: "unlimited" in /proc/PID/limits.
    pub const RLIM_INFINITY: u64 = u64::MAX;

    pub fn get_rlimit(pid: i32, resource: i32) -> Option<Rlimit> {
        let mut old = Rlimit::default();
        // SAFETY: `new` is null (read only); `old` is a valid, writable struct rlimit.
        let rc = unsafe { prlimit(pid, resource, std::ptr::null(), &mut old) };
        (rc == 0).then_some(old)
    }

    /// MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED) of include/linux/posix-timers.h.
    pub fn process_cpu_ns(pid: i32) -> Option<u64> {
        // The shift drops the top bits: a PID out of range would name another clock (0: our own).
        if !(1..1 << 28).contains(&pid) {
            return None;
        }
        let clock = ((!pid) << 3) | 2;
        let mut ts = Timespec::default();
        // SAFETY: `ts` is a valid, writable struct timespec.
        let rc = unsafe { clock_gettime(clock, &mut ts) };
        (rc == 0 && ts.sec >= 0 && ts.nsec >= 0).then(|| ts.sec as u64 * 1_000_000_000 + ts.nsec as u64)
    }
}

#[cfg(not(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "loongarch64"
    )
)))]
mod sys {
    pub const RLIMIT_NPROC: i32 = 0;
    pub const RLIMIT_NOFILE: i32 = 0;
    pub const RLIM_INFINITY: u64 = u64::MAX;
    pub struct Rlimit {
        pub cur: u64,
        pub max: u64,
    }
    pub fn get_rlimit(_: i32, _: i32) -> Option<Rlimit> {
        None
    }
    pub fn process_cpu_ns(_: i32) -> Option<u64> {
        None
    }
}

/// The limits /proc/PID/limits would show, or `None` (not permitted, gone, another target): read the
/// file then.
pub(super) fn limits(pid: i32) -> Option<ProcLimits> {
    let finite = |v: u64| (v != sys::RLIM_INFINITY).then_some(v);
    let nofile = sys::get_rlimit(pid, sys::RLIMIT_NOFILE)?;
    let nproc = sys::get_rlimit(pid, sys::RLIMIT_NPROC)?;
    Some(ProcLimits {
        nofile_soft: finite(nofile.cur),
        nofile_hard: finite(nofile.max),
        nproc_soft: finite(nproc.cur),
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
