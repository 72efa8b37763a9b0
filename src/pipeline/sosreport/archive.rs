//! A sosreport archive (`.tar.xz`, the default of `sos report`; `.tar.gz`, `.tar.bz2`): only the
//! members osdoctor reads are extracted, into a temporary directory removed when the run ends, and
//! never more than [`MAX_MEMBERS`] files or [`MAX_BYTES`] bytes (one member at most
//! [`MAX_MEMBER_BYTES`]): a support bundle can hold gigabytes of logs and cores that a check never
//! reads. Skipping a member still decompresses it, so the whole archive is read for at most
//! [`MAX_ARCHIVE_BYTES`] decompressed bytes, [`MAX_HEADERS`] members and [`MAX_SECONDS`]: past any of
//! them the run stops and says to extract the archive and pass the directory. The compression is told
//! by its magic bytes, not the name.
//!
//! An archive is someone else's file: members are written only as regular files and directories
//! inside the temporary directory (`..` dropped, files opened with O_NOFOLLOW), hard links are
//! skipped, and symbolic links (a sosreport's `proc/self`, `sys/class/net/*`) are made only after
//! every file is written, so no member is ever written through one; where a link's place is already
//! taken, the link is skipped. Reading follows them inside the root only ([`crate::root::Root`]).
//!
//! Kept (relative to the archive's top directory, `sosreport-HOST-...`): the markers (`version.txt`,
//! `sos_reports/`, `sos_logs/`), the `sos_commands/` outputs [`super`] reads, `proc/` (of the per-PID
//! directories only `mountinfo`: `proc/self` links to one; not kallsyms and the other large tables), the parts of `sys/` the
//! collectors read (`fs/cgroup`, `block`, `class/net`, `devices`, `kernel/mm`), `etc/passwd` and the
//! syslog files (`var/log/messages`, `syslog`, `kern.log`). A `.tar.gz` that is an osdoctor snapshot
//! is told apart by its `osdoctor-snapshot.json` and left to the snapshot reader.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::pipeline::snapshot::TempDir;

pub const MAX_MEMBERS: usize = 50_000;
pub const MAX_BYTES: u64 = 512 << 20;
pub const MAX_MEMBER_BYTES: u64 = 128 << 20;
/// The most an archive is decompressed, skipped members included.
pub const MAX_ARCHIVE_BYTES: u64 = 8 << 30;
/// The most members read, skipped ones included.
pub const MAX_HEADERS: usize = 1_000_000;
/// The longest the archive is read.
pub const MAX_SECONDS: u64 = 120;

/// A name `--root` may give for an archive (the content decides what it is).
pub fn is_archive(path: &Path) -> bool {
    let name = path.to_string_lossy();
    [".tar.xz", ".txz", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// What an archive turned out to be.
pub enum Extracted {
    /// The sosreport's members osdoctor reads, under `dir`, and the archive's mtime.
    Sosreport {
        dir: TempDir,
        mtime: Option<DateTime<Utc>>,
        skipped: usize,
    },
    /// It holds `osdoctor-snapshot.json`: an osdoctor snapshot (`.tar.gz`), nothing extracted.
    Snapshot,
}

/// The archive's decompressor, by its magic bytes.
fn decoder(path: &Path) -> Result<Box<dyn Read>, String> {
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut magic = [0u8; 6];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut magic))
        .map_err(err)?;
    let file = std::fs::File::open(path).map_err(err)?;
    let file = std::io::BufReader::new(file);
    let magic = &magic[..n];
    Ok(if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Box::new(liblzma::read::XzDecoder::new(file))
    } else if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else if magic.starts_with(b"BZh") {
        Box::new(bzip2::read::MultiBzDecoder::new(file))
    } else {
        return Err(format!(
            "{}: not an xz, gzip or bzip2 compressed tar archive",
            path.display()
        ));
    })
}

/// Top-level names of a sosreport: a member path starting with one has no top directory to strip.
const TOP_LEVEL: &[&str] = &[
    "sos_commands",
    "sos_reports",
    "sos_logs",
    "version.txt",
    "proc",
    "sys",
];

/// Extract what osdoctor reads of the sosreport archive at `path`.
pub fn extract(path: &Path) -> Result<Extracted, String> {
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let mtime = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .map(DateTime::<Utc>::from);
    let dir = TempDir::new("osdoctor-sosreport").map_err(err)?;
    let mut tar = tar::Archive::new(decoder(path)?);
    let (mut members, mut bytes, mut skipped) = (0usize, 0u64, 0usize);
    let (mut headers, mut read_total) = (0usize, 0u64);
    let started = std::time::Instant::now();
    let mut links: Vec<(PathBuf, PathBuf)> = Vec::new();
    for entry in tar.entries().map_err(err)? {
        let mut entry = entry.map_err(err)?;
        let size = entry.header().size().unwrap_or(0);
        headers += 1;
        read_total = read_total.saturating_add(size);
        if headers > MAX_HEADERS
            || read_total > MAX_ARCHIVE_BYTES
            || started.elapsed().as_secs() > MAX_SECONDS
        {
            return Err(format!(
                "{}: larger than osdoctor reads of an archive ({MAX_HEADERS} members, {} GiB or {MAX_SECONDS} s): \
                 extract it (tar xf) and pass the sosreport's directory to --root",
                path.display(),
                MAX_ARCHIVE_BYTES >> 30
            ));
        }
        let name = entry.path().map_err(err)?.into_owned();
        let parts: Vec<String> = name
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        let Some(first) = parts.first() else { continue };
        let rel: Vec<&str> = if TOP_LEVEL.contains(&first.as_str()) || parts.len() == 1 {
            parts.iter().map(String::as_str).collect()
        } else {
            parts[1..].iter().map(String::as_str).collect()
        };
        if rel == ["osdoctor-snapshot.json"] {
            return Ok(Extracted::Snapshot);
        }
        if rel.is_empty() || !wanted(&rel) {
            continue;
        }
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_symlink() || kind.is_dir()) {
            continue;
        }
        if size > MAX_MEMBER_BYTES || members >= MAX_MEMBERS || bytes + size > MAX_BYTES {
            skipped += 1;
            continue;
        }
        let dest = dir.path().join(rel.iter().collect::<PathBuf>());
        // A member whose place another member took (a file where a directory should be) is skipped.
        match kind {
            k if k.is_dir() => {
                if std::fs::create_dir_all(&dest).is_err() {
                    skipped += 1;
                    continue;
                }
            }
            k if k.is_symlink() => {
                if let Ok(Some(target)) = entry.link_name() {
                    links.push((dest, target.into_owned()));
                }
            }
            _ => {
                if let Some(parent) = dest.parent()
                    && std::fs::create_dir_all(parent).is_err()
                {
                    skipped += 1;
                    continue;
                }
                // No link exists yet in the directory, and O_NOFOLLOW refuses one at the name itself.
                let out = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&dest);
                let Ok(mut out) = out else {
                    skipped += 1;
                    continue;
                };
                std::io::copy(&mut (&mut entry).take(MAX_MEMBER_BYTES), &mut out).map_err(err)?;
            }
        }
        members += 1;
        bytes += size;
    }
    // The links last: a name already taken (a directory or file of the same name) keeps what it is,
    // and a link whose place lies below another link (which may lead out) is not made.
    for (dest, target) in links {
        if let Some(parent) = dest.parent()
            && no_link_between(dir.path(), parent)
            && std::fs::create_dir_all(parent).is_ok()
            && std::fs::symlink_metadata(&dest).is_err()
        {
            let _ = std::os::unix::fs::symlink(&target, &dest);
        }
    }
    Ok(Extracted::Sosreport { dir, mtime, skipped })
}

/// Whether no existing component of `path` below `base` is a symbolic link (so creating something at
/// `path` stays inside `base`).
fn no_link_between(base: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(base) else {
        return false;
    };
    let mut at = base.to_path_buf();
    for part in rel.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => return false,
            Ok(_) => {}
            Err(_) => return true, // not there yet: create_dir_all makes real directories from here
        }
    }
    true
}

/// Files under `proc/` a sosreport copies that no collector reads (the largest tables).
const PROC_UNREAD: &[&str] = &[
    "kallsyms",
    "slabinfo",
    "pagetypeinfo",
    "zoneinfo",
    "vmallocinfo",
    "buddyinfo",
    "timer_list",
    "sched_debug",
    "mtrr",
    "iomem",
    "ioports",
    "interrupts",
    "modules",
];

/// Whether a member (its path below the top directory) is one osdoctor reads.
fn wanted(rel: &[&str]) -> bool {
    match rel {
        ["version.txt"] | ["sos_reports", ..] | ["sos_logs"] | ["etc", "passwd"] => true,
        ["sos_commands", plugin, file, ..] => match *plugin {
            "kernel" => matches!(*file, "dmesg" | "dmesg_-T" | "sysctl_-a" | "uname_-a"),
            "process" => file.starts_with("ps_") || file.starts_with("lsof_"),
            "filesys" => file.starts_with("df_"),
            "date" => file.starts_with("date"),
            "general" => matches!(*file, "date" | "hostname"),
            "host" => *file == "hostname",
            "logs" => file.starts_with("journalctl_"),
            _ => false,
        },
        // proc/self links to sos's own PID directory: its mountinfo is the mount table read.
        ["proc", pid, rest @ ..] if pid.bytes().all(|b| b.is_ascii_digit()) => {
            rest.is_empty() || rest == ["mountinfo"]
        }
        ["proc", name, ..] => !PROC_UNREAD.contains(name),
        ["proc"] | ["sys"] => true,
        ["sys", "fs"] | ["sys", "kernel"] => true,
        ["sys", "fs", "cgroup", ..]
        | ["sys", "block", ..]
        | ["sys", "class"]
        | ["sys", "class", "net", ..]
        | ["sys", "devices", ..]
        | ["sys", "kernel", "mm", ..] => true,
        ["var"] | ["var", "log"] => true,
        ["var", "log", name] => matches!(*name, "messages" | "syslog" | "kern.log"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_is_read_only() {
        let w = |p: &str| wanted(&p.split('/').collect::<Vec<_>>());
        assert!(w("sos_commands/kernel/dmesg"));
        assert!(w("sos_commands/process/ps_alxwww"));
        assert!(w("proc/meminfo"));
        assert!(w("proc/1/mountinfo"));
        assert!(w("sys/fs/cgroup/memory/memory.stat"));
        assert!(!w("proc/kallsyms"));
        assert!(w("proc/22241/mountinfo"));
        assert!(!w("proc/22241/environ"));
        assert!(!w("sos_commands/kernel/ls_-lt_.sys.kernel.slab"));
        assert!(!w("environment"));
        assert!(!w("var/log/secure"));
        assert!(!w("etc/shadow"));
    }
}
