//! Host-wide sources: /proc/meminfo, /proc/vmstat, /proc/stat, /proc/loadavg, /proc/pressure/*,
//! /proc/sys/fs/file-nr and the sysctls the rules need; and the files later collectors of the same pass
//! share rather than read again: /proc/self/mountinfo (the cgroup layout and the mount capacity),
//! osrelease (how open fds are counted) and /proc/stat's btime (the kernel log's dates).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use procfs_core::{FromBufReadSI, FromRead, KernelStats, LoadAverage, Meminfo, VmStat};
use serde::{Deserialize, Serialize};

use super::{SystemInfo, parsed, read_parsed};
use crate::coverage::Coverage;
use crate::parse::pressure::{self, Pressure};
use crate::root::{ReadError, Root};

/// The sysctls read on the first pass, as paths below /proc/sys.
pub const SYSCTLS: &[&str] = &[
    "kernel/pid_max",
    "kernel/threads-max",
    "vm/swappiness",
    "vm/overcommit_memory",
    "net/core/somaxconn",
    "net/ipv4/tcp_max_syn_backlog",
];

/// /proc/sys/fs/file-nr: "the number of allocated file handles, the number of allocated but unused file
/// handles, and the maximum number of file handles" (Documentation/admin-guide/sysctl/fs.rst).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FileNr {
    pub allocated: u64,
    pub unused: u64,
    pub max: u64,
}

/// Host-wide readings from one pass.
#[derive(Debug, Clone, Default)]
pub struct HostSample {
    pub meminfo: Option<Meminfo>,
    pub vmstat: Option<HashMap<String, i64>>,
    pub stat: Option<KernelStats>,
    pub loadavg: Option<LoadAverage>,
    pub psi_cpu: Option<Pressure>,
    pub psi_memory: Option<Pressure>,
    pub psi_io: Option<Pressure>,
    pub file_nr: Option<FileNr>,
    /// Sysctls by their /proc/sys path below /proc/sys, e.g. `kernel/pid_max`.
    pub sysctls: BTreeMap<&'static str, i64>,
    pub hostname: Option<String>,
    /// /proc/sys/kernel/osrelease, read once per first pass: the process collector decides from it how
    /// open fds are counted.
    pub kernel_release: Option<String>,
    /// /proc/sys/kernel/random/boot_id: which boot the kernel log's sequence numbers belong to (they
    /// start over at each boot), so a `--state` run knows an event it reported before.
    pub boot_id: Option<String>,
    /// `btime` of /proc/stat (boot time, seconds since the epoch), also when the rest of the file did
    /// not parse: the kernel log dates its records from it without reading /proc/stat again.
    pub btime: Option<u64>,
    /// /proc/self/mountinfo as the first pass read it (text or why not), shared by the cgroup layout
    /// and the mount capacity of the process collector, which run later in the same pass. Not parsed
    /// here and not in coverage: its users record what they made of it, as when each read it.
    pub mountinfo: Option<Arc<Result<String, ReadError>>>,
}

/// Which files a pass reads: the first pass reads everything, the second only what rates need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Full,
    RatesOnly,
}

/// Read the host-wide files. Never fails: what cannot be read is in `cov`.
pub fn collect(root: &Root, si: &SystemInfo, pass: Pass, cov: &mut Coverage) -> HostSample {
    let stat_text = root.read_string("/proc/stat");
    let stat = parsed(stat_text.as_ref(), "/proc/stat", cov, |t| parse_stat(t, si));
    let btime = match &stat {
        Some(s) => Some(s.btime),
        None => stat_text.as_deref().ok().and_then(btime_of),
    };
    let mut host = HostSample {
        stat,
        btime,
        vmstat: read_parsed(root, "/proc/vmstat", cov, |t| {
            VmStat::from_read(t.as_bytes())
                .map(|v| v.0)
                .map_err(|e| e.to_string())
        }),
        ..HostSample::default()
    };
    if pass == Pass::RatesOnly {
        return host;
    }
    host.meminfo = read_parsed(root, "/proc/meminfo", cov, |t| {
        crate::parse::procfs_guard::meminfo(t.as_bytes())
    });
    host.loadavg = read_parsed(root, "/proc/loadavg", cov, |t| {
        LoadAverage::from_read(t.as_bytes()).map_err(|e| e.to_string())
    });
    for (path, slot) in [
        ("/proc/pressure/cpu", &mut host.psi_cpu),
        ("/proc/pressure/memory", &mut host.psi_memory),
        ("/proc/pressure/io", &mut host.psi_io),
    ] {
        *slot = read_parsed(root, path, cov, |t| pressure::parse(t).map_err(|e| e.to_string()));
    }
    host.file_nr = read_parsed(root, "/proc/sys/fs/file-nr", cov, parse_file_nr);
    for name in SYSCTLS {
        let path = format!("/proc/sys/{name}");
        if let Some(v) = read_parsed(root, &path, cov, parse_single_i64) {
            host.sysctls.insert(name, v);
        }
    }
    host.hostname = read_parsed(root, "/proc/sys/kernel/hostname", cov, |t| {
        Ok(t.trim().to_string())
    });
    host.kernel_release = read_parsed(root, "/proc/sys/kernel/osrelease", cov, |t| {
        Ok(t.trim().to_string())
    });
    // Not in coverage when absent: a snapshot taken before it was read has none, and the kernel
    // log's events are then told apart by the boot time instead.
    if let Ok(id) = root.read_string(BOOT_ID) {
        cov.read_ok(BOOT_ID);
        host.boot_id = Some(id.trim().to_string()).filter(|id| !id.is_empty());
    }
    host.mountinfo = Some(Arc::new(root.read_string(MOUNTINFO)));
    host
}

/// The boot's random id, new at every boot.
pub const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// The mount table the cgroup layout and the mount capacity are read from.
pub const MOUNTINFO: &str = "/proc/self/mountinfo";

/// The `btime` line of /proc/stat.
pub fn btime_of(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse().ok()))
}

/// What `osdoctor cgroup`'s pass shares (it reads no other host file): the kernel release (how fds
/// are counted) and, unless the system info has it, the boot time (the kernel log's dates).
pub fn collect_shared(root: &Root, si: &SystemInfo) -> HostSample {
    HostSample {
        kernel_release: root
            .read_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|t| t.trim().to_string()),
        btime: si
            .boot_time_secs
            .is_none()
            .then(|| root.read_string("/proc/stat").ok())
            .flatten()
            .as_deref()
            .and_then(btime_of),
        ..HostSample::default()
    }
}

fn parse_stat(text: &str, si: &SystemInfo) -> Result<KernelStats, String> {
    KernelStats::from_buf_read(text.as_bytes(), &si.procfs()).map_err(|e| e.to_string())
}

/// `allocated unused max`, tab-separated.
pub fn parse_file_nr(text: &str) -> Result<FileNr, String> {
    let nums: Vec<u64> = text
        .split_ascii_whitespace()
        .map(|w| {
            w.parse::<u64>()
                .map_err(|_| format!("expected three numbers, found {w:?}"))
        })
        .collect::<Result<_, _>>()?;
    match nums[..] {
        [allocated, unused, max] => Ok(FileNr {
            allocated,
            unused,
            max,
        }),
        _ => Err(format!("expected three numbers, found {}", nums.len())),
    }
}

/// A sysctl holding one integer.
pub fn parse_single_i64(text: &str) -> Result<i64, String> {
    let t = text.trim();
    t.parse::<i64>()
        .map_err(|_| format!("expected one integer, found {t:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_nr() {
        assert_eq!(
            parse_file_nr("305\t0\t2466177\n").unwrap(),
            FileNr {
                allocated: 305,
                unused: 0,
                max: 2466177
            }
        );
        assert!(parse_file_nr("305\t0\n").is_err());
        assert!(parse_file_nr("a b c").is_err());
    }

    #[test]
    fn reads_a_root_tree_and_lists_what_is_missing() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path();
        std::fs::create_dir_all(p.join("proc/sys/fs")).unwrap();
        std::fs::write(p.join("proc/sys/fs/file-nr"), "10\t0\t100\n").unwrap();
        std::fs::write(p.join("proc/meminfo"), "MemTotal: 1000 kB\nMemFr").unwrap();
        let root = Root::dir(p).unwrap();
        let mut cov = Coverage::default();
        let host = collect(&root, &SystemInfo::live(), Pass::Full, &mut cov);
        assert_eq!(host.file_nr.unwrap().max, 100);
        assert!(host.meminfo.is_none());
        let meminfo = cov.problem_for("/proc/meminfo").unwrap();
        assert_eq!(meminfo.kind, crate::coverage::ProblemKind::Malformed);
        assert_eq!(
            cov.problem_for("/proc/stat").unwrap().kind,
            crate::coverage::ProblemKind::Missing
        );
        assert!(cov.read.contains("/proc/sys/fs/file-nr"));
    }
}
