//! Open file descriptors: how the count is taken in this root and kernel ([`fd_count_mode`]), taking
//! it for one process, and listing /proc/PID/fd with its link targets (which the listeners and the
//! deleted files read too).

use super::reader::{Reader, Skip, classify};
use super::types::{FdCount, ProcSample};
use crate::coverage::Coverage;
use crate::root::{ReadError, Root};

/// `6.18.44-fc` -> (6, 18).
pub fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(['.', '-']);
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// How the open-fd count is taken in this root; `kernel_release` is /proc/sys/kernel/osrelease.
pub fn fd_count_mode(root: &Root, kernel_release: Option<&str>) -> FdCount {
    if root.is_recording() {
        return FdCount::ListWithLinks;
    }
    let new_kernel = kernel_release
        .and_then(kernel_version)
        .is_some_and(|v| v >= (6, 2));
    if !root.is_live() {
        // A snapshot's fd/ is a directory of links: count them. A host's real /proc under --root
        // (a debug container) answers stat() like the live one.
        return if new_kernel && root.is_procfs("/proc") {
            FdCount::StatSize
        } else {
            FdCount::List
        };
    }
    if new_kernel {
        FdCount::StatSize
    } else {
        FdCount::ListIfNear
    }
}

/// The open-fd count; `false` when the process is gone.
pub(super) fn count_fds(r: &mut Reader, p: &mut ProcSample, mode: FdCount, cov: &mut Coverage) -> bool {
    match take_fd_count(r.root, p, mode) {
        Ok(()) => true,
        Err(e) => !r.skipped(classify(e), "fd", p, cov),
    }
}

/// Fill `p.fd_count` (and `p.fd_links` when listing with links) as `mode` says. `ListIfNear` lists
/// only when FDSize (the fd table's capacity, an upper bound on the count) reaches 75% of the soft
/// RLIMIT_NOFILE, or when either is unknown.
pub(super) fn take_fd_count(root: &Root, p: &mut ProcSample, mode: FdCount) -> Result<(), ReadError> {
    let near = || match (p.fdsize, p.limits.and_then(|l| l.nofile_soft)) {
        (Some(size), Some(soft)) if soft > 0 => size as f64 >= 0.75 * soft as f64,
        _ => true,
    };
    match mode {
        FdCount::StatSize => {
            let st = root.stat(&format!("/proc/{}/fd", p.pid))?;
            p.fd_count = Some(st.st_size.max(0) as u64);
        }
        FdCount::ListIfNear if !near() => {}
        FdCount::List | FdCount::ListIfNear | FdCount::ListWithLinks => {
            let (count, links) = read_fd_dir(root, p.pid, mode == FdCount::ListWithLinks)?;
            p.fd_count = Some(count);
            p.fd_links = links;
        }
    }
    Ok(())
}

/// fd number and link target.
pub type FdLinks = Vec<(u32, String)>;

/// Read a process's fd links into `p.fd_links` for a pass that needs them; false when they could
/// not be read: denied marks the process, another failure goes to coverage, a process gone is
/// skipped quietly.
pub(super) fn read_links(r: &mut Reader, p: &mut ProcSample, cov: &mut Coverage) -> bool {
    match read_fd_dir(r.root, p.pid, true) {
        Ok((_, links)) => {
            p.fd_links = links;
            true
        }
        Err(e) => {
            match classify(e) {
                Skip::Denied => {
                    r.problems.denied("fd");
                    p.denied = true;
                }
                Skip::Other(e) => cov.read_failed(&e),
                _ => {}
            }
            false
        }
    }
}

/// List /proc/PID/fd; with `links`, read every link target too.
pub(super) fn read_fd_dir(root: &Root, pid: i32, links: bool) -> Result<(u64, Option<FdLinks>), ReadError> {
    let dir = format!("/proc/{pid}/fd");
    let names = root.list_dir(&dir)?;
    let fds: Vec<u32> = names.iter().filter_map(|n| n.parse().ok()).collect();
    if !links {
        return Ok((fds.len() as u64, None));
    }
    let mut out = Vec::with_capacity(fds.len());
    for fd in fds {
        // A snapshot keeps sockets, pipes and deleted files, not the paths of open files.
        match root.read_link_recorded_as(&format!("{dir}/{fd}"), crate::parse::fd_table::recorded_target) {
            Ok(t) => out.push((fd, t)),
            // Closed between the listing and the read.
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    out.sort();
    Ok((out.len() as u64, Some(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions() {
        assert_eq!(kernel_version("6.18.44-fc-v657"), Some((6, 18)));
        assert_eq!(kernel_version("5.4.0-150-generic"), Some((5, 4)));
        assert_eq!(kernel_version("6.2-rc1"), Some((6, 2)));
        assert!(kernel_version("6.18.44").unwrap() >= (6, 2));
        assert!(kernel_version("5.15.0").unwrap() < (6, 2));
        assert_eq!(kernel_version("garbage"), None);
    }
}
