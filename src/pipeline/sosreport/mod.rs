//! A sosreport as a source: `--root` given a sosreport directory (`sos report --build`) or its
//! archive (see [`archive`]). A sosreport is told by its own markers: `sos_commands/` with
//! `sos_reports/`, `sos_logs/` or `version.txt` (sos 3.x and 4.x alike).
//!
//! It is read as one sample taken at its capture time, through a [`Root`] over the sosreport
//! directory, so the collectors read its copies of /proc and /sys files where they always read:
//!
//! - host files (`proc/stat`, `meminfo`, `vmstat`, `diskstats`, `net/*`, `self/mountinfo`) and
//!   `sys/` (cgroups, block devices, NICs) as sos copied them;
//! - /proc/sys/...: from `sos_commands/kernel/sysctl_-a` (`a.b.c = v` answers reads of
//!   /proc/sys/a/b/c; a file sos copied itself wins), and the hostname and kernel release from
//!   `sos_commands/host/hostname` and `kernel/uname_-a` when there is no sysctl output;
//! - the kernel log: `sos_commands/kernel/dmesg` (or `dmesg_-T`), else a kernel journal export
//!   (`sos_commands/logs/journalctl_*-k*`), else `var/log/messages`, `syslog` or `kern.log` (their
//!   stamps in the host's zone: `sos_commands/date/date` against `date_--utc`; as UTC, with a note,
//!   when those do not say), else the boot's whole journal, by the kernel-log text parser: one of
//!   them, since the same events are in several;
//! - processes: the `ps` tables and `lsof` ([`processes`]): state, parent, threads and their states,
//!   RSS, command, cgroup, open fds. Start times, limits, schedstat and fd links are not in a
//!   sosreport: the facts and rules that need them are not evaluated, with that reason;
//! - filesystems: `sos_commands/filesys/df_-al*` and `df_-ali*` stand for `statvfs()` (as a
//!   snapshot's `osdoctor/filesystems` does), the mounts from `proc/self/mountinfo`.
//!
//! "Now" is the capture time: `sos_commands/date/date_--utc` (or `date`, or sos 3.x's
//! `general/date`, when it is in UTC), else the archive's mtime, else the mtime of
//! `sos_commands/date/date` (written at capture). `--since`
//! counts back from it and ages are taken at it. Rules that need two samples (rates, D state in both
//! samples) are not evaluated: a sosreport holds one; the D-state tasks at capture are named in
//! that reason.

mod archive;
mod processes;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use archive::Extracted;
pub use archive::is_archive;

use crate::collect::SystemInfo;
use crate::collect::process::ProcessSample;
use crate::collect::{filesystem, kmsg};
use crate::parse::filesystems::{StatvfsNumbers, StatvfsRecord, format_record};
use crate::parse::sos;
use crate::pipeline::snapshot::TempDir;
use crate::root::Root;

/// Why rules that need two samples are not evaluated on a sosreport.
pub const ONE_SAMPLE: &str = "a sosreport holds one sample, taken at its capture: rates and changes need two";

/// Whether `dir` is a sosreport (its own markers, not a guess from /proc files).
pub fn is_sosreport(dir: &Path) -> bool {
    dir.join("sos_commands").is_dir()
        && (dir.join("sos_reports").is_dir()
            || dir.join("sos_logs").is_dir()
            || dir.join("version.txt").is_file())
}

/// What a sosreport gives that the collectors cannot read from files at their usual paths.
#[derive(Debug, Clone)]
pub struct SosData {
    /// The processes of its `ps` tables; `None` when it has none.
    pub processes: Option<ProcessSample>,
    /// The kernel log file, as the root reads it (`/sos_commands/kernel/dmesg`).
    pub kernel_log: Option<String>,
    /// The host's UTC offset at capture (`date` against `date --utc`): the zone of its syslog
    /// files' stamps. `None`: they are read as UTC (said in a note).
    pub local_offset: Option<chrono::FixedOffset>,
    /// The capture time, and what said so.
    pub captured: DateTime<Utc>,
    pub captured_from: String,
    /// The sos version (`version.txt`'s `sosreport: 4.0`).
    pub version: Option<String>,
    /// Files of its own read (shown in coverage), and notes for the report.
    pub read: Vec<String>,
    pub notes: Vec<String>,
}

impl SosData {
    /// The year of the capture: syslog stamps carry none.
    pub fn year(&self) -> i32 {
        use chrono::Datelike;
        self.captured.year()
    }
}

/// An opened sosreport: the root its files are read through and what it says besides.
pub struct SosReport {
    pub root: Root,
    pub data: Arc<SosData>,
    pub si: SystemInfo,
    /// CLOCK_MONOTONIC seconds at capture (uptime), when the boot time is known.
    pub mono_secs: f64,
    pub _unpacked: Option<TempDir>,
}

/// Read a sosreport's archive: `Ok(None)` when it is an osdoctor snapshot instead.
pub fn open_archive(path: &Path) -> Result<Option<SosReport>, String> {
    match archive::extract(path)? {
        Extracted::Snapshot => Ok(None),
        Extracted::Sosreport { dir, mtime, skipped } => {
            if !is_sosreport(dir.path()) {
                return Err(format!(
                    "{}: neither a sosreport (no sos_commands/ with sos_reports/, sos_logs/ or version.txt) nor an osdoctor snapshot",
                    path.display()
                ));
            }
            let mut report = open_dir(dir.path(), mtime)?;
            if skipped > 0 {
                Arc::make_mut(&mut report.data).notes.push(format!(
                    "{skipped} members of the archive were not extracted: over the caps of {} files, {} MiB in all or {} MiB each",
                    archive::MAX_MEMBERS,
                    archive::MAX_BYTES >> 20,
                    archive::MAX_MEMBER_BYTES >> 20
                ));
            }
            report._unpacked = Some(dir);
            Ok(Some(report))
        }
    }
}

/// Read the sosreport directory `dir`; `archive_mtime` is the archive's, when it came from one.
pub fn open_dir(dir: &Path, archive_mtime: Option<DateTime<Utc>>) -> Result<SosReport, String> {
    let plain = Root::dir(dir).map_err(|e| e.to_string())?;
    let mut read = Vec::new();
    let mut notes = Vec::new();
    let mut text = |path: &str| -> Option<String> {
        let t = plain.read_string(path).ok()?;
        read.push(path.to_string());
        Some(t)
    };
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();

    // /proc/sys from sysctl -a, where sos did not copy the file itself.
    if let Some(t) = text("/sos_commands/kernel/sysctl_-a") {
        for (path, value) in sos::parse_sysctl(&t) {
            if !plain.exists(&path) {
                files.insert(path, format!("{value}\n").into_bytes());
            }
        }
    }
    if !files.contains_key("/proc/sys/kernel/hostname")
        && !plain.exists("/proc/sys/kernel/hostname")
        && let Some(h) =
            text("/sos_commands/host/hostname").or_else(|| text("/sos_commands/general/hostname"))
    {
        files.insert("/proc/sys/kernel/hostname".into(), h.into_bytes());
    }
    if !files.contains_key("/proc/sys/kernel/osrelease")
        && !plain.exists("/proc/sys/kernel/osrelease")
        && let Some(release) = text("/sos_commands/kernel/uname_-a")
            .and_then(|u| u.split_whitespace().nth(2).map(str::to_string))
    {
        files.insert(
            "/proc/sys/kernel/osrelease".into(),
            format!("{release}\n").into_bytes(),
        );
    }

    // statvfs() from df.
    let filesys = list(&plain, "/sos_commands/filesys");
    let df_blocks = filesys
        .iter()
        .find(|n| n.starts_with("df_-al") && !n.starts_with("df_-ali"));
    let df_inodes = filesys.iter().find(|n| n.starts_with("df_-ali"));
    if let Some(blocks) = df_blocks.and_then(|n| text(&format!("/sos_commands/filesys/{n}"))) {
        let inodes = df_inodes.and_then(|n| text(&format!("/sos_commands/filesys/{n}")));
        let rows: Vec<(String, StatvfsRecord)> = sos::parse_df(&blocks, inodes.as_deref())
            .into_iter()
            .filter(|r| r.blocks_1k > 0)
            .map(|r| {
                let (files, files_free) = r.inodes.unwrap_or((0, 0));
                let numbers = StatvfsNumbers {
                    fragment_size: 1024,
                    blocks: r.blocks_1k,
                    blocks_free: r.blocks_1k.saturating_sub(r.used_1k),
                    blocks_available: r.avail_1k,
                    files,
                    files_free,
                };
                (r.mount_point, StatvfsRecord::Numbers(numbers))
            })
            .collect();
        files.insert(filesystem::RECORD_FILE.into(), format_record(&rows).into_bytes());
    } else {
        notes.push(
            "the sosreport has no df output (sos_commands/filesys/df_-al*): filesystem capacity is not known"
                .into(),
        );
    }

    // The capture time.
    let (captured, captured_from) = match text("/sos_commands/date/date_--utc")
        .as_deref()
        .and_then(sos::parse_date)
        .map(|t| (t, "sos_commands/date/date_--utc".to_string()))
        .or_else(|| {
            // sos 3.x before the date plugin: the general plugin's `date`.
            ["/sos_commands/date/date", "/sos_commands/general/date"]
                .into_iter()
                .find_map(|p| Some((sos::parse_date(&text(p)?)?, p.trim_start_matches('/').to_string())))
        })
        .or_else(|| archive_mtime.map(|t| (t, "the archive's modification time".to_string())))
        .or_else(|| {
            // A date file that does not parse (damaged, another locale) still has the capture's time
            // as its modification time, and so have sos's own files.
            [
                "sos_commands/date/date",
                "sos_commands/date/date_--utc",
                "sos_logs/sos.log",
                "sos_reports/manifest.json",
                "version.txt",
            ]
            .into_iter()
            .find_map(|f| {
                let m = std::fs::metadata(dir.join(f)).ok()?.modified().ok()?;
                Some((m.into(), format!("the modification time of {f}")))
            })
        }) {
        Some(found) => found,
        None => {
            return Err(format!(
                "{}: the sosreport does not say when it was taken (no sos_commands/date/date in UTC, no archive time)",
                dir.display()
            ));
        }
    };

    // The zone of syslog stamps (dmesg's are seconds since boot, a journal export's are UTC).
    let local_offset = match (
        text("/sos_commands/date/date"),
        text("/sos_commands/date/date_--utc"),
    ) {
        (Some(local), utc) => sos::parse_local_offset(&local, utc.as_deref().unwrap_or_default()),
        (None, _) => None,
    };

    // The kernel log: dmesg, else the kernel's journal, else syslog files, else the whole journal of
    // the boot (its other programs' lines are dropped by the parser; `--catalog` text may be kept).
    let logs = list(&plain, "/sos_commands/logs");
    let journal = |kernel_only: bool| {
        logs.iter()
            .filter(move |n| {
                n.starts_with("journalctl_")
                    && if kernel_only {
                        n.contains("_-k") || n.contains("--dmesg")
                    } else {
                        n.contains("_--boot") || *n == "journalctl_--no-pager"
                    }
            })
            .map(|n| format!("/sos_commands/logs/{n}"))
    };
    let kernel_log = ["/sos_commands/kernel/dmesg", "/sos_commands/kernel/dmesg_-T"]
        .map(String::from)
        .into_iter()
        .chain(journal(true))
        .chain(["messages", "syslog", "kern.log"].map(|n| format!("/var/log/{n}")))
        .chain(journal(false))
        .find(|p| plain.stat(p).is_ok_and(|s| s.st_size > 0));
    if kernel_log.is_none() {
        notes.push("the sosreport holds no kernel log (sos_commands/kernel/dmesg, a journal export or var/log/messages)".into());
    }
    if kernel_log.as_deref().is_some_and(|p| p.starts_with("/var/log/")) && local_offset.is_none() {
        notes.push(
            "the syslog stamps of the kernel log are read as UTC: sos_commands/date/date and date_--utc do not give the host's zone"
                .into(),
        );
    }

    // Processes.
    let proc_dir = list(&plain, "/sos_commands/process");
    let tables: Vec<(&str, String)> = proc_dir
        .iter()
        .filter(|n| processes::TABLES.iter().any(|t| processes::is_table(n, t)))
        .filter_map(|n| Some((n.as_str(), text(&format!("/sos_commands/process/{n}"))?)))
        .collect();
    let lsof = proc_dir
        .iter()
        .find(|n| n.starts_with("lsof_"))
        .and_then(|n| Some((n.clone(), text(&format!("/sos_commands/process/{n}"))?)));
    let page_size = 4096;
    let processes = processes::from_ps(
        &processes::PsFiles {
            tables,
            lsof: lsof.clone(),
        },
        page_size,
    )
    .map(|(s, _)| s);
    match (&processes, &lsof) {
        (None, _) => notes.push(
            "the sosreport has no ps table (sos_commands/process/ps_alxwww or ps_auxwww): no process was read".into(),
        ),
        (Some(_), None) => notes.push(
            "the sosreport has no lsof output: open fds per process are not known".into(),
        ),
        _ => {}
    }
    let version = text("/version.txt").and_then(|v| {
        v.lines()
            .find_map(|l| l.strip_prefix("sosreport:").map(|s| s.trim().to_string()))
    });
    notes.insert(
        0,
        format!(
            "a sosreport{} taken at {} ({captured_from}): one sample; ages and --since count from then",
            version
                .as_deref()
                .map(|v| format!(" (sos {v})"))
                .unwrap_or_default(),
            captured.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
    );

    let btime = plain.read_string("/proc/stat").ok().and_then(|s| {
        s.lines().find_map(|l| {
            l.strip_prefix("btime ")
                .and_then(|b| b.trim().parse::<u64>().ok())
        })
    });
    let mono_secs = btime
        .map(|b| (captured.timestamp() as f64 - b as f64).max(0.0))
        .unwrap_or(0.0);
    let root = Root::dir_with_files(dir, files).map_err(|e| e.to_string())?;
    Ok(SosReport {
        root,
        si: SystemInfo {
            // USER_HZ is 100 on every architecture sos runs on; a sosreport does not record the page
            // size, and RSS comes from ps in kB anyway.
            ticks_per_second: 100,
            page_size,
            boot_time_secs: btime,
        },
        mono_secs,
        data: Arc::new(SosData {
            processes,
            kernel_log,
            local_offset,
            captured,
            captured_from,
            version,
            read,
            notes,
        }),
        _unpacked: None,
    })
}

/// The names in a directory of the sosreport, sorted; none when it is absent.
fn list(root: &Root, dir: &str) -> Vec<String> {
    let mut names = root.list_dir(dir).unwrap_or_default();
    names.sort();
    names
}

/// The kernel log of a sosreport, read by the text parser; dated from the boot time.
pub fn kernel_log(
    root: &Root,
    data: &SosData,
    btime_secs: Option<u64>,
    cov: &mut crate::coverage::Coverage,
) -> Option<kmsg::KernelLog> {
    let path = data.kernel_log.as_deref()?;
    kmsg::collect_text(root, path, Some(data.year()), data.local_offset, btime_secs, cov)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Write `text` at `path` under `dir`, making its directories.
    fn put(dir: &Path, path: &str, text: &str) {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A sos 3.x-style tree, built by hand: `general/date` and `general/hostname`, `ps auxwww` and
    /// `ps -elfL` only, `df -al`, no dmesg but /var/log/messages, no sysctl output.
    #[test]
    fn an_older_layout_is_read_from_what_it_has() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let put = |p: &str, t: &str| put(d, p, t);
        put("version.txt", "sosreport: 3.9\n");
        put("sos_commands/general/date", "Tue Mar  3 10:00:00 UTC 2020\n");
        put("sos_commands/general/hostname", "db1\n");
        put(
            "sos_commands/process/ps_auxwww",
            "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND\n\
             root 1 0.0 0.0 100 50 ? Ss 09:00 0:01 /sbin/init\n\
             pg 40 0.0 0.0 0 0 ? Z 09:00 0:00 [postgres] <defunct>\n",
        );
        put(
            "sos_commands/process/ps_-elfL",
            "F S UID PID PPID LWP C NLWP PRI NI ADDR SZ WCHAN STIME TTY TIME CMD\n\
             4 S root 1 0 1 0 1 80 0 - 10 - 09:00 ? 00:00:01 /sbin/init\n\
             4 Z pg 40 1 40 0 1 80 0 - 0 - 09:00 ? 00:00:00 [postgres] <defunct>\n",
        );
        put(
            "sos_commands/filesys/df_-al",
            "Filesystem 1K-blocks Used Available Use% Mounted on\n/dev/sda1 1000 950 50 95% /\n",
        );
        put("var/log/messages", "Mar  3 09:59:00 db1 kernel: hello\n");
        put("proc/stat", "cpu 1 2 3 4\nbtime 1583226000\n");
        assert!(is_sosreport(d));
        let sos = open_dir(d, None).unwrap();
        assert_eq!(sos.data.captured.to_rfc3339(), "2020-03-03T10:00:00+00:00");
        assert_eq!(sos.data.captured_from, "sos_commands/general/date");
        assert_eq!(sos.data.version.as_deref(), Some("3.9"));
        assert_eq!(sos.data.kernel_log.as_deref(), Some("/var/log/messages"));
        assert_eq!(sos.mono_secs, 3600.0);
        let procs = sos.data.processes.as_ref().unwrap();
        assert_eq!(procs.listing.as_deref(), Some("sos_commands/process/ps_auxwww"));
        let zombie = procs.procs.iter().find(|p| p.pid == 40).unwrap();
        assert!(zombie.is_zombie());
        assert_eq!(zombie.ppid, 1, "from ps -elfL");
        assert_eq!(zombie.comm, "postgres");
        assert_eq!(
            sos.root.read_string("/proc/sys/kernel/hostname").unwrap(),
            "db1\n"
        );
        assert_eq!(
            sos.root.read_string(filesystem::RECORD_FILE).unwrap(),
            "/\t1024\t1000\t50\t50\t0\t0\n"
        );
        assert!(sos.data.notes.iter().any(|n| n.contains("no lsof output")));
        // Only sos 3.x's UTC `date`: the zone of the syslog stamps is not known, and said so.
        assert_eq!(sos.data.local_offset, None);
        assert!(
            sos.data
                .notes
                .iter()
                .any(|n| n.contains("syslog stamps of the kernel log are read as UTC"))
        );
    }

    /// A host in CET: its /var/log/messages stamps are local time, `date` and `date --utc` say by
    /// how much.
    #[test]
    fn syslog_stamps_are_read_in_the_hosts_zone() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let put = |p: &str, t: &str| put(d, p, t);
        put("version.txt", "sosreport: 4.0\n");
        put("sos_commands/date/date", "Tue Mar  3 11:00:00 CET 2020\n");
        put("sos_commands/date/date_--utc", "Tue Mar  3 10:00:01 UTC 2020\n");
        put(
            "var/log/messages",
            "Mar  3 10:59:00 db1 kernel: Out of memory: Killed process 4242 (java) total-vm:1000kB, anon-rss:500kB, file-rss:0kB, shmem-rss:0kB\n",
        );
        let sos = open_dir(d, None).unwrap();
        assert_eq!(sos.data.local_offset, chrono::FixedOffset::east_opt(3600));
        assert!(!sos.data.notes.iter().any(|n| n.contains("read as UTC")));
        let mut cov = crate::coverage::Coverage::default();
        let log = kernel_log(&sos.root, &sos.data, None, &mut cov).expect("the log");
        let kill = log.events.first().expect("the kill");
        assert_eq!(
            kill.time.map(|t| t.with_timezone(&Utc).to_rfc3339()),
            Some("2020-03-03T09:59:00+00:00".to_string())
        );
    }

    #[test]
    fn a_tree_without_its_markers_is_not_a_sosreport() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("sos_commands")).unwrap();
        assert!(!is_sosreport(tmp.path()));
        std::fs::create_dir_all(tmp.path().join("sos_logs")).unwrap();
        assert!(is_sosreport(tmp.path()));
    }
}
