//! The command outputs a sosreport saves under `sos_commands/` that osdoctor reads: `ps` tables
//! (`process/ps_alxwww`, `ps_auxwww`, `ps_-elfL`, `ps_axo_pid_ppid_user_group_lwp_nlwp_start_time_comm_cgroup`),
//! `kernel/sysctl_-a`, `filesys/df_-al...` and `df_-ali...`, `date/date` and `process/lsof_...`.
//! Pure: text in, types out. Putting them together is `pipeline/sosreport`'s job.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};

/// One row of a `ps` table, by the columns its header names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PsRow {
    pub pid: i32,
    pub ppid: Option<i32>,
    /// The thread of a per-thread listing (`ps -L`: LWP).
    pub tid: Option<i32>,
    /// Numeric UID (`ps l`), when the table has one.
    pub uid: Option<u32>,
    /// A user name (`ps u`'s USER, `ps -f`'s UID).
    pub user: Option<String>,
    /// STAT or S: the state letter first, then BSD flags (`S<Ll`).
    pub stat: String,
    pub rss_kb: Option<u64>,
    pub wchan: Option<String>,
    pub threads: Option<u64>,
    /// The free-text column: COMMAND/CMD (the command line, `[name]` for kernel threads, `<defunct>`
    /// for zombies) or, in an `-o comm` table, the comm.
    pub command: String,
    /// The CGROUP column (`ps -o cgroup`): `-` or comma-joined `/proc/PID/cgroup` lines.
    pub cgroup: Option<String>,
}

impl PsRow {
    /// The state letter (R, S, D, Z, T, t, I, X).
    pub fn state(&self) -> char {
        self.stat.chars().next().unwrap_or('?')
    }
}

/// Columns whose value may hold spaces: everything between the fixed columns before and after it.
const FREE_TEXT: &[&str] = &["COMMAND", "CMD", "ARGS", "COMM"];

/// Parse a `ps` table by its header. Every column but the command is one token; columns after the
/// command (CGROUP) are taken from the right. `None` when the text has no header with PID.
pub fn parse_ps(text: &str) -> Option<Vec<PsRow>> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next()?.split_whitespace().collect();
    if !header.contains(&"PID") {
        return None;
    }
    let free = header.iter().position(|h| FREE_TEXT.contains(h));
    let mut rows = Vec::new();
    for line in lines {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let mut cols: BTreeMap<&str, String> = BTreeMap::new();
        match free {
            Some(f) => {
                let after = header.len() - f - 1;
                if tokens.len() < f + after {
                    continue;
                }
                for (h, t) in header[..f].iter().zip(&tokens) {
                    cols.insert(h, (*t).to_string());
                }
                for (h, t) in header[f + 1..].iter().zip(&tokens[tokens.len() - after..]) {
                    cols.insert(h, (*t).to_string());
                }
                // A last command column keeps its own spacing; one before other columns is re-joined.
                let cmd = if after > 0 {
                    tokens[f..tokens.len() - after].join(" ")
                } else {
                    rest_after(line, f).trim_end().to_string()
                };
                cols.insert(header[f], cmd);
            }
            None => {
                for (h, t) in header.iter().zip(&tokens) {
                    cols.insert(h, (*t).to_string());
                }
            }
        }
        let Some(pid) = cols.get("PID").and_then(|p| p.parse().ok()) else {
            continue;
        };
        let num = |k: &str| cols.get(k).and_then(|v| v.parse::<u64>().ok());
        let uid_col = cols.get("UID").cloned();
        rows.push(PsRow {
            pid,
            ppid: cols.get("PPID").and_then(|p| p.parse().ok()),
            tid: cols.get("LWP").and_then(|p| p.parse().ok()),
            uid: uid_col.as_deref().and_then(|u| u.parse().ok()),
            user: cols
                .get("USER")
                .cloned()
                .or_else(|| uid_col.filter(|u| u.parse::<u32>().is_err())),
            stat: cols.get("STAT").or(cols.get("S")).cloned().unwrap_or_default(),
            rss_kb: num("RSS"),
            wchan: cols.get("WCHAN").cloned().filter(|w| w != "-"),
            threads: num("NLWP"),
            command: free
                .map(|f| cols.get(header[f]).cloned().unwrap_or_default())
                .unwrap_or_default(),
            cgroup: cols.get("CGROUP").cloned().filter(|c| c != "-"),
        });
    }
    Some(rows)
}

/// What follows the first `n` whitespace-separated tokens of `line`.
fn rest_after(line: &str, n: usize) -> &str {
    let mut rest = line.trim_start();
    for _ in 0..n {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest
}

/// The comm a command column stands for: `[kthreadd]` -> `kthreadd`, `[loadgen] <defunct>` ->
/// `loadgen`, `/usr/sbin/sshd -D` -> `sshd` (cut to the kernel's 15 bytes).
pub fn comm_of(command: &str) -> String {
    let c = command.trim().trim_end_matches("<defunct>").trim();
    let name = if let Some(inner) = c.strip_prefix('[').and_then(|s| s.split(']').next()) {
        inner.to_string()
    } else {
        let argv0 = c.split_whitespace().next().unwrap_or("");
        argv0.rsplit('/').next().unwrap_or(argv0).to_string()
    };
    let mut end = name.len().min(15);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

/// `sysctl -a` lines (`net.ipv4.tcp_mem = 1 2 3`) as (`/proc/sys/net/ipv4/tcp_mem`, value) pairs.
/// sysctl writes a `/` inside a name (a VLAN interface `eth0.1`) as `.` and its `.` as `/`: undone
/// here. Lines without ` = ` (permission errors) are skipped.
pub fn parse_sysctl(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let (key, value) = l.split_once(" = ").or_else(|| {
                l.strip_suffix(" =").map(|k| (k, "")) // an empty value
            })?;
            let key = key.trim();
            if key.is_empty() || key.contains(char::is_whitespace) {
                return None;
            }
            let path: String = key
                .chars()
                .map(|c| match c {
                    '.' => '/',
                    '/' => '.',
                    c => c,
                })
                .collect();
            Some((format!("/proc/sys/{path}"), value.to_string()))
        })
        .collect()
}

/// One filesystem of `df -al` (1K blocks) joined with `df -ali` (inodes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DfRow {
    pub mount_point: String,
    pub blocks_1k: u64,
    pub used_1k: u64,
    pub avail_1k: u64,
    /// Inodes total and free (`df -i`), when that table has the mount.
    pub inodes: Option<(u64, u64)>,
}

/// `df` output: (mount point, three numbers) per row, `-` rows (pseudo filesystems) left out. The
/// last row of a mount point wins (the filesystem on top, the one `statvfs()` sees). A filesystem
/// name on a line of its own (old df wraps long names) is joined with the next line.
fn df_table(text: &str) -> Vec<(String, [u64; 3])> {
    let mut out: Vec<(String, [u64; 3])> = Vec::new();
    let mut carried: Option<String> = None;
    for line in text.lines().skip(1) {
        let mut tokens: Vec<&str> = line.split_whitespace().collect();
        let joined;
        if let Some(c) = carried.take() {
            joined = c;
            tokens.insert(0, &joined);
        }
        if tokens.len() == 1 {
            carried = Some(tokens[0].to_string());
            continue;
        }
        if tokens.len() < 6 {
            continue;
        }
        let nums: Option<Vec<u64>> = tokens[1..4].iter().map(|t| t.parse().ok()).collect();
        let Some(nums) = nums else { continue };
        let mount = tokens[5..].join(" ");
        out.retain(|(m, _)| *m != mount);
        out.push((mount, [nums[0], nums[1], nums[2]]));
    }
    out
}

/// `df -al` and, when present, `df -ali`, joined by mount point.
pub fn parse_df(blocks: &str, inodes: Option<&str>) -> Vec<DfRow> {
    let inode_rows = inodes.map(df_table).unwrap_or_default();
    df_table(blocks)
        .into_iter()
        .map(|(mount, [size, used, avail])| DfRow {
            inodes: inode_rows
                .iter()
                .find(|(m, _)| *m == mount)
                .map(|(_, [total, _, free])| (*total, *free)),
            mount_point: mount,
            blocks_1k: size,
            used_1k: used,
            avail_1k: avail,
        })
        .collect()
}

/// The time and the zone word of `date` output (`Mon Dec  7 16:04:52 UTC 2026`): the first
/// non-blank line, six fields.
fn date_fields(text: &str) -> Option<(NaiveDateTime, &str)> {
    let line = text.lines().find(|l| !l.trim().is_empty())?;
    let tokens: Vec<&str> = line.split_whitespace().collect();
    if tokens.len() != 6 {
        return None;
    }
    let stamp = format!("{} {} {} {}", tokens[1], tokens[2], tokens[3], tokens[5]);
    let time = NaiveDateTime::parse_from_str(&stamp, "%b %d %H:%M:%S %Y").ok()?;
    Some((time, tokens[4]))
}

/// `date` output (`Mon Dec  7 16:04:52 UTC 2026`) in UTC. Only UTC/GMT stamps are taken: another
/// zone's abbreviation does not say its offset (`date --utc` is the file to read then).
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let (time, zone) = date_fields(text)?;
    matches!(zone, "UTC" | "GMT").then(|| time.and_utc())
}

/// The host's UTC offset when the sosreport was taken, from `date` (local time) and `date --utc`
/// run moments apart: their difference, to the nearest quarter hour (every zone's offset is a
/// multiple of 15 minutes). A numeric zone in the local output (`+0530`) is taken as written.
pub fn parse_local_offset(local: &str, utc: &str) -> Option<FixedOffset> {
    let (local_time, zone) = date_fields(local)?;
    if zone.starts_with(['+', '-']) {
        return crate::parse::kernel_log::parse_offset(zone);
    }
    let utc_time = parse_date(utc)?.naive_utc();
    let seconds = (local_time - utc_time).num_seconds();
    let quarters = (seconds as f64 / 900.0).round() as i32;
    (quarters.abs() <= 14 * 4)
        .then(|| FixedOffset::east_opt(quarters * 900))
        .flatten()
}

/// Open file descriptors per PID in `lsof` output: distinct numbered FDs (`3u`, `10r`, `4w`) of
/// each process, its threads' rows counted once. Memory maps, cwd and the like are not fds.
pub fn parse_lsof_fd_counts(text: &str) -> BTreeMap<i32, u64> {
    let mut fds: BTreeMap<i32, BTreeSet<u32>> = BTreeMap::new();
    let mut lines = text.lines().skip_while(|l| !l.starts_with("COMMAND"));
    if lines.next().is_none() {
        return BTreeMap::new();
    }
    for line in lines {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let Some(pid) = tokens.get(1).and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        // The FD column is after PID, the optional TID and the user: the first numbered-with-mode token.
        let fd = tokens[2..tokens.len().min(6)].iter().find_map(|t| {
            let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let mode = &t[digits.len()..];
            (!digits.is_empty() && mode.starts_with(['r', 'w', 'u']))
                .then(|| digits.parse::<u32>().ok())
                .flatten()
        });
        if let Some(fd) = fd {
            fds.entry(pid).or_default().insert(fd);
        }
    }
    fds.into_iter().map(|(p, s)| (p, s.len() as u64)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_alx_rows_keep_the_command_and_state() {
        let text = "F   UID   PID  PPID PRI  NI    VSZ   RSS WCHAN  STAT TTY        TIME COMMAND\n\
                    4     0     1     0  10 -10  52952 12636 -      S<Ll ?          2:19 /process_api --addr 0.0.0.0:2024\n\
                    0     0 22020     1  20   0   2920  1832 hrtime D    ?          0:00 sleep 600\n\
                    0     0 22041 22039  20   0      0     0 -      Z    ?          0:00 [loadgen] <defunct>\n";
        let rows = parse_ps(text).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].command, "/process_api --addr 0.0.0.0:2024");
        assert_eq!(rows[0].rss_kb, Some(12636));
        assert_eq!(rows[0].wchan, None);
        assert_eq!(rows[1].state(), 'D');
        assert_eq!(rows[1].wchan.as_deref(), Some("hrtime"));
        assert_eq!(rows[2].ppid, Some(22039));
        assert_eq!(rows[2].uid, Some(0));
        assert_eq!(comm_of(&rows[2].command), "loadgen");
        assert_eq!(comm_of("/usr/lib/systemd/systemd-journald"), "systemd-journal");
    }

    #[test]
    fn ps_axo_takes_the_cgroup_after_a_comm_with_spaces() {
        let text = "  PID  PPID USER     GROUP      LWP NLWP START COMMAND         CGROUP\n\
                    22039     1 root     root     22039    1 16:04 Web Content     4:memory:/a,0::/\n\
                        2     0 root     root         2    1 09:13 kthreadd        -\n";
        let rows = parse_ps(text).unwrap();
        assert_eq!(rows[0].command, "Web Content");
        assert_eq!(rows[0].threads, Some(1));
        assert_eq!(rows[0].cgroup.as_deref(), Some("4:memory:/a,0::/"));
        assert_eq!(rows[0].user.as_deref(), Some("root"));
        assert_eq!(rows[1].cgroup, None);
    }

    #[test]
    fn ps_elfl_rows_are_threads() {
        let text = "F S UID        PID  PPID   LWP  C NLWP PRI  NI ADDR SZ WCHAN  STIME TTY          TIME CMD\n\
                    4 S root         1     0     1  0   40  70 -10 - 13238 -      09:13 ?        00:02:19 /process_api\n\
                    5 D root         1     0    63  0   40  80   0 - 13238 io_sch 09:13 ?        00:00:00 /process_api\n";
        let rows = parse_ps(text).unwrap();
        assert_eq!(rows[1].tid, Some(63));
        assert_eq!(rows[1].state(), 'D');
        assert_eq!(rows[1].threads, Some(40));
        assert_eq!(rows[1].user.as_deref(), Some("root"));
        assert_eq!(rows[1].uid, None);
    }

    #[test]
    fn sysctl_names_become_proc_sys_paths() {
        let text = "fs.file-nr = 708\t0\t2466239\nnet.ipv4.conf.eth0/1.rp_filter = 1\nkernel.domainname = \nsysctl: permission denied on key 'x'\n";
        let v = parse_sysctl(text);
        assert_eq!(v[0], ("/proc/sys/fs/file-nr".into(), "708\t0\t2466239".into()));
        assert_eq!(v[1].0, "/proc/sys/net/ipv4/conf/eth0.1/rp_filter");
        assert_eq!(v[2].1, "");
        assert_eq!(v.len(), 3);
    }

    #[test]
    fn df_rows_join_blocks_and_inodes() {
        let blocks = "Filesystem 1K-blocks Used Available Use% Mounted on\nproc 0 0 0 - /proc\n/dev/vda 264212084 42420928 52864960 45% /\n\
                      /dev/mapper/a-very-long-name\n 100 50 50 50% /my mount\n";
        let inodes =
            "Filesystem Inodes IUsed IFree IUse% Mounted on\n/dev/vda 16384000 500000 15884000 4% /\n";
        let rows = parse_df(blocks, Some(inodes));
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!(rows[1].mount_point, "/");
        assert_eq!(rows[1].inodes, Some((16384000, 15884000)));
        assert_eq!(rows[2].mount_point, "/my mount");
        assert_eq!(rows[2].blocks_1k, 100);
    }

    #[test]
    fn the_local_offset_from_date_and_date_utc() {
        let utc = "Mon Dec  7 16:04:52 UTC 2026\n";
        let east = |s: i32| FixedOffset::east_opt(s);
        assert_eq!(
            parse_local_offset("Mon Dec  7 17:04:52 CET 2026\n", utc),
            east(3600)
        );
        assert_eq!(
            parse_local_offset("Mon Dec  7 11:04:53 EST 2026\n", utc),
            east(-5 * 3600)
        );
        assert_eq!(
            parse_local_offset("Mon Dec  7 21:34:52 IST 2026\n", utc),
            east(5 * 3600 + 1800)
        );
        // Across midnight, and a numeric zone as written.
        assert_eq!(
            parse_local_offset("Tue Dec  8 01:04:52 JST 2026\n", utc),
            east(9 * 3600)
        );
        assert_eq!(
            parse_local_offset("Mon Dec  7 19:04:52 +03 2026\n", ""),
            east(3 * 3600)
        );
        assert_eq!(parse_local_offset("Mon Dec  7 16:04:52 UTC 2026\n", utc), east(0));
        // Unreadable, or a "UTC" file that is not UTC.
        assert_eq!(parse_local_offset("garbage", utc), None);
        assert_eq!(
            parse_local_offset("Mon Dec  7 17:04:52 CET 2026\n", "Mon Dec  7 17:04:52 CET 2026\n"),
            None
        );
    }

    #[test]
    fn date_in_utc_only() {
        let t = parse_date("Mon Dec  7 16:04:52 UTC 2026\n").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-07T16:04:52+00:00");
        assert_eq!(parse_date("Mon Dec  7 16:04:52 CET 2026\n"), None);
    }

    #[test]
    fn lsof_counts_numbered_fds_once_per_process() {
        let text = "lsof: WARNING: x\nCOMMAND   PID   TID  USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\n\
                    a       10        0  cwd  DIR 254,0 1 2 /\n\
                    a       10        0    0u  CHR 1,3 0t0 5 /dev/null\n\
                    a       10        0    3r  REG 1,3 0t0 5 /x\n\
                    a       10    11  0    3r  REG 1,3 0t0 5 /x\n\
                    b       12        0    1w  FIFO 0,13 0t0 7 pipe\n";
        let c = parse_lsof_fd_counts(text);
        assert_eq!(c.get(&10), Some(&2));
        assert_eq!(c.get(&12), Some(&1));
    }
}
