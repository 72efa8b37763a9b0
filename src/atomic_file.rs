//! Writing a file so that a reader never sees half of it: a temporary file in the same directory,
//! written and fsynced, renamed over the target, and the directory fsynced so that the rename itself
//! survives a crash. node_exporter's textfile collector and the next cron run both read what we
//! write while we may be writing it.

use std::io::{self, Write};
use std::path::Path;

/// Replace `path` with `bytes` atomically. On error the target is untouched and the temporary file
/// removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// Replace `path` with what `write` writes into the temporary file (a snapshot archive, too large
/// to hold in memory first), atomically as [`write_atomic`].
///
/// Only a regular file (or none) is replaced. A symbolic link is followed and the file it names
/// replaced, so the link stays; a device, a FIFO or a socket (`-o /dev/stdout`, `-o /dev/null`, a
/// pipe to a collector) is written in place, since renaming over it would replace the device node.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
) -> io::Result<()> {
    let resolved;
    let path = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(target) => {
                resolved = target;
                resolved.as_path()
            }
            // A dangling link: create the file it names, in place.
            Err(_) => return write_in_place(path, write),
        },
        Ok(m) if !m.is_file() => return write_in_place(path, write),
        _ => path,
    };
    if let Ok(m) = std::fs::metadata(path)
        && !m.is_file()
    {
        return write_in_place(path, write);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    // Hidden, and named after the target and this process, so that two writers never share it and
    // a textfile collector (which reads *.prom only) never reads it.
    let prefix = format!(".{}.tmp.", name.to_string_lossy());
    remove_stale_temporaries(dir, &prefix);
    let tmp = dir.join(format!("{prefix}{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        write(&mut f)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename is durable once the directory is; some filesystems cannot fsync a directory.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Remove the temporaries of earlier writers of the same file that died before their rename (an OOM
/// kill under a container's memory limit): `.NAME.tmp.PID` whose PID no longer runs. A live writer's
/// is left alone.
fn remove_stale_temporaries(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let alive = rustix::process::Pid::from_raw(pid)
            .is_some_and(|p| rustix::process::test_kill_process(p).is_ok());
        if !alive {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Open (creating a regular file if need be) and write where `path` points: for what must not be
/// replaced.
fn write_in_place(path: &Path, write: impl FnOnce(&mut std::fs::File) -> io::Result<()>) -> io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    write(&mut f)?;
    f.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("osdoctor.prom");
        write_atomic(&path, b"one\n").unwrap();
        write_atomic(&path, b"two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["osdoctor.prom"]);
    }

    #[test]
    fn a_link_is_followed_and_kept_and_a_device_is_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.prom");
        std::fs::write(&real, "old\n").unwrap();
        let link = dir.path().join("link.prom");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new\n").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new\n");
        // A FIFO stands for a device: renaming over it would replace the node.
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        write_atomic(&fifo, b"through\n").unwrap();
        assert_eq!(reader.join().unwrap(), "through\n");
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    }

    #[test]
    fn a_dead_writers_temporary_is_removed_and_a_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        // pid 0x3FFFFFFF is above any pid_max: no such process.
        let dead = dir.path().join(".state.json.tmp.1073741823");
        let live = dir.path().join(".state.json.tmp.1");
        std::fs::write(&dead, "half").unwrap();
        std::fs::write(&live, "in progress").unwrap();
        write_atomic(&path, b"{}").unwrap();
        assert!(!dead.exists());
        assert!(live.exists());
    }

    #[test]
    fn a_missing_directory_fails_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/x.json");
        assert!(write_atomic(&path, b"x").is_err());
        assert!(!dir.path().join("no").exists());
    }
}
