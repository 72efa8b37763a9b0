//! The raw-read baseline of benches/scan-cost.sh: the simplest program that reads what a per-process
//! scan needs, with no parsing. For every /proc/PID it opens and reads stat, status, limits, schedstat
//! and cgroup, and lists every entry of fd/ (getdents); then it reads the system-wide files osdoctor's
//! host collector reads. One pass; prints the number of processes and files read to stderr.
//!
//! Built with `cargo build --release --example raw_read`.

use std::io::Read;

fn read(path: &str, buf: &mut Vec<u8>) -> bool {
    buf.clear();
    match std::fs::File::open(path) {
        Ok(mut f) => f.read_to_end(buf).is_ok(),
        Err(_) => false,
    }
}

fn main() {
    let mut buf = Vec::with_capacity(8192);
    let mut procs = 0usize;
    let mut files = 0usize;
    let mut fds = 0usize;
    let mut path = String::with_capacity(64);
    for entry in std::fs::read_dir("/proc").expect("/proc") {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let Some(pid) = name.to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())) else {
            continue;
        };
        procs += 1;
        for f in ["stat", "status", "limits", "schedstat", "cgroup"] {
            path.clear();
            path.push_str("/proc/");
            path.push_str(pid);
            path.push('/');
            path.push_str(f);
            files += usize::from(read(&path, &mut buf));
        }
        path.clear();
        path.push_str("/proc/");
        path.push_str(pid);
        path.push_str("/fd");
        if let Ok(dir) = std::fs::read_dir(&path) {
            fds += dir.count();
        }
    }
    for f in [
        "/proc/stat",
        "/proc/meminfo",
        "/proc/vmstat",
        "/proc/loadavg",
        "/proc/pressure/cpu",
        "/proc/pressure/memory",
        "/proc/pressure/io",
        "/proc/sys/fs/file-nr",
    ] {
        files += usize::from(read(f, &mut buf));
    }
    eprintln!("raw_read: {procs} processes, {files} files, {fds} fd entries");
}
