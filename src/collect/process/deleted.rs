//! Deleted files still held open, with their sizes, looked for when a filesystem is nearly full; a
//! snapshot records the sizes in [`DELETED_FILE`] (`stat()` through /proc/PID/fd/N cannot be replayed).

use std::collections::HashMap;

use super::fds::read_fd_dir;
use super::reader::{Reader, Skip, classify};
use super::types::ProcSample;
use crate::coverage::Coverage;

/// A filesystem this full makes deleted-but-open files worth finding.
pub const FS_FULL_TRIGGER: f64 = 0.90;
/// Sizes of deleted files held open (`stat()` through /proc/PID/fd/N cannot be replayed either).
pub const DELETED_FILE: &str = "/osdoctor/deleted-fds";

/// Deleted files still held open (`/path (deleted)` links), with their sizes. A snapshot records the
/// sizes in [`DELETED_FILE`].
pub(super) fn deleted_files(r: &mut Reader, procs: &mut [ProcSample], cov: &mut Coverage) {
    let recorded: Option<HashMap<(i32, u32), u64>> = if r.root.is_live() {
        None
    } else {
        r.root.read_string(DELETED_FILE).ok().map(|t| {
            t.lines()
                .filter_map(|l| {
                    let mut w = l.split_ascii_whitespace();
                    Some((
                        (w.next()?.parse().ok()?, w.next()?.parse().ok()?),
                        w.next()?.parse().ok()?,
                    ))
                })
                .collect()
        })
    };
    let mut record = String::new();
    for p in procs.iter_mut().filter(|p| !p.kthread && !p.is_zombie()) {
        if p.fd_links.is_none() {
            match read_fd_dir(r.root, p.pid, true) {
                Ok((_, links)) => p.fd_links = links,
                Err(e) => {
                    if let Skip::Denied = classify(e) {
                        r.problems.denied("fd");
                        p.denied = true;
                    }
                    continue;
                }
            }
        }
        let mut deleted = Vec::new();
        for (fd, target) in p.fd_links.iter().flatten() {
            let Some(path) = target.strip_suffix(" (deleted)") else {
                continue;
            };
            if !path.starts_with('/') || path.starts_with("/memfd:") {
                continue;
            }
            let size = match &recorded {
                Some(map) => map.get(&(p.pid, *fd)).copied(),
                None => r
                    .root
                    .stat(&format!("/proc/{}/fd/{fd}", p.pid))
                    .ok()
                    .map(|st| st.st_size.max(0) as u64),
            };
            if let Some(size) = size {
                record.push_str(&format!("{} {fd} {size}\n", p.pid));
                deleted.push((path.to_string(), size));
            }
        }
        p.deleted = Some(deleted);
    }
    r.root.record_file(DELETED_FILE, record.as_bytes());
    cov.read_ok("/proc/[pid]/fd/*");
}
