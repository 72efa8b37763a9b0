//! A sosreport's processes: its `ps` tables (and `lsof`, for open fds) as one [`ProcessSample`]
//! of one sample. A sosreport copies no /proc/PID files: what `ps` shows (state, parent, threads and
//! their states, RSS, command, cgroup) is all there is; start times, limits, schedstat and fd links
//! are not, and the facts from them are absent with that reason.
//!
//! Which table gives what:
//! - `ps_alxwww` (else `ps_auxwww`): every process, its numeric UID, parent, RSS, STAT, command;
//! - `ps_-elfL`: one row per thread: the thread count and each thread's state (D-state threads);
//! - `ps_axo_pid_ppid_user_group_lwp_nlwp_start_time_comm_cgroup`: the real comm, NLWP and the
//!   cgroup lines (sos 3.6 and later);
//! - `ps_auxwww`: user names for the UIDs;
//! - `lsof_*`: open fds per process (numbered FDs, counted once per process).

use std::collections::{BTreeMap, HashMap};

use crate::collect::process::{CgroupLine, PerThread, ProcSample, ProcessSample, Threads};
use crate::parse::sos::{PsRow, comm_of, parse_lsof_fd_counts, parse_ps};

/// The `ps` tables read (file-name prefixes under `sos_commands/process/`).
pub const TABLES: &[&str] = &[
    "ps_alxwww",
    "ps_auxwww",
    "ps_-elfL",
    "ps_axo_pid_ppid_user_group_lwp_nlwp",
];

/// Whether `file` is the table `name` (the `ps axo` table's name goes on with its columns).
pub fn is_table(file: &str, name: &str) -> bool {
    file == name || (name.ends_with("_nlwp") && file.starts_with(name))
}

/// The tables read, by their file names under `sos_commands/process/`.
pub struct PsFiles<'a> {
    /// (file name, text) of the tables present.
    pub tables: Vec<(&'a str, String)>,
    /// (file name, text) of the lsof output, if any.
    pub lsof: Option<(String, String)>,
}

/// The processes of the tables, with the file the list came from; `None` when no table lists them.
pub fn from_ps(files: &PsFiles, page_size: u64) -> Option<(ProcessSample, String)> {
    let table = |name: &str| {
        files
            .tables
            .iter()
            .find(|(n, _)| is_table(n, name))
            .and_then(|(n, t)| parse_ps(t).map(|rows| (n.to_string(), rows)))
    };
    let (base_name, base) = table("ps_alxwww").or_else(|| table("ps_auxwww"))?;
    let threads = table("ps_-elfL").map(|(_, rows)| rows).unwrap_or_default();
    let axo = table("ps_axo_pid_ppid_user_group_lwp_nlwp").map(|(_, rows)| rows);
    let users_table = table("ps_auxwww").map(|(_, rows)| rows).unwrap_or_default();

    let mut by_pid_threads: HashMap<i32, Vec<&PsRow>> = HashMap::new();
    for t in &threads {
        by_pid_threads.entry(t.pid).or_default().push(t);
    }
    let axo_by_pid: HashMap<i32, &PsRow> = axo.iter().flatten().map(|r| (r.pid, r)).collect();
    let user_by_pid: HashMap<i32, &str> = users_table
        .iter()
        .filter_map(|r| r.user.as_deref().map(|u| (r.pid, u)))
        .collect();
    let fds = files
        .lsof
        .as_ref()
        .map(|(_, t)| parse_lsof_fd_counts(t))
        .unwrap_or_default();

    let mut users: BTreeMap<u32, String> = BTreeMap::new();
    let mut procs = Vec::with_capacity(base.len());
    for row in &base {
        let axo = axo_by_pid.get(&row.pid);
        let thread_rows = by_pid_threads.get(&row.pid);
        // `ps auxwww` has no PPID column: the thread table's or the axo table's.
        let ppid = row
            .ppid
            .or(axo.and_then(|a| a.ppid))
            .or(thread_rows.and_then(|t| t.first().and_then(|r| r.ppid)))
            .unwrap_or(0);
        let num_threads = axo
            .and_then(|a| a.threads)
            .or(thread_rows.and_then(|t| t.first().and_then(|r| r.threads)))
            .or(thread_rows.map(|t| t.len() as u64))
            .unwrap_or(1);
        if let (Some(uid), Some(user)) = (row.uid, user_by_pid.get(&row.pid)) {
            users.entry(uid).or_insert_with(|| user.to_string());
        }
        let comm = axo
            .map(|a| a.command.clone())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| comm_of(&row.command));
        let threads = thread_rows.map(|rows| Threads {
            read: PerThread {
                stat: true,
                ..PerThread::default()
            },
            count: rows.len(),
            states: rows.iter().filter_map(|r| Some((r.tid?, r.state()))).collect(),
            ..Threads::default()
        });
        procs.push(ProcSample {
            pid: row.pid,
            comm,
            state: row.state(),
            ppid,
            // Every kernel thread is kthreadd (PID 2) or its child: ps has no PF_KTHREAD column.
            kthread: row.pid == 2 || ppid == 2,
            num_threads,
            rss_pages: row.rss_kb.unwrap_or(0) * 1024 / page_size.max(1),
            vmrss_kb: row.rss_kb,
            status_threads: Some(num_threads),
            uid: row.uid,
            cgroups: axo
                .and_then(|a| a.cgroup.as_deref())
                .map(cgroup_lines)
                .unwrap_or_default()
                .into(),
            fd_count: fds.get(&row.pid).copied(),
            threads,
            ..ProcSample::default()
        });
    }
    let sample = ProcessSample {
        scanned: true,
        complete: true,
        procs,
        users,
        listing: Some(format!("sos_commands/process/{base_name}")),
        ..ProcessSample::default()
    };
    Some((sample, base_name))
}

/// `ps -o cgroup`'s comma-joined `/proc/PID/cgroup` lines (`4:memory:/a,0::/`).
fn cgroup_lines(text: &str) -> Vec<CgroupLine> {
    // A path may hold a comma: a piece that does not start `N:` continues the previous line's path.
    let mut out: Vec<CgroupLine> = Vec::new();
    for piece in text.split(',') {
        let mut parts = piece.splitn(3, ':');
        let parsed = match (parts.next(), parts.next(), parts.next()) {
            (Some(h), Some(c), Some(p)) => h.parse::<u32>().ok().map(|h| (h, c, p)),
            _ => None,
        };
        match (parsed, out.last_mut()) {
            (Some((hierarchy, controllers, path)), _) => out.push(CgroupLine {
                hierarchy,
                controllers: controllers.to_string(),
                path: path.to_string(),
            }),
            (None, Some(last)) => {
                last.path.push(',');
                last.path.push_str(piece);
            }
            (None, None) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_join_into_processes() {
        let alx = "F   UID   PID  PPID PRI  NI    VSZ   RSS WCHAN  STAT TTY        TIME COMMAND\n\
                   4     0     1     0  10 -10  52952 12636 -      S<Ll ?          2:19 /sbin/init\n\
                   1     0     2     0  20   0      0     0 kthrea S    ?          0:00 [kthreadd]\n\
                   0  1000    50     1  20   0   2920  1832 hrtime D    ?          0:00 sleep 600\n\
                   0     0    51     1  20   0      0     0 -      Z    ?          0:00 [loadgen] <defunct>\n";
        let aux = "USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n\
                   alice       50  0.0  0.0   2920  1832 ?        D    09:13   0:00 sleep 600\n";
        let elfl = "F S UID        PID  PPID   LWP  C NLWP PRI  NI ADDR SZ WCHAN  STIME TTY          TIME CMD\n\
                    4 S root         1     0     1  0    2  70 -10 - 13238 -      09:13 ?        00:02:19 /sbin/init\n\
                    5 D root         1     0    63  0    2  80   0 - 13238 -      09:13 ?        00:00:00 /sbin/init\n";
        let axo = "  PID  PPID USER     GROUP      LWP NLWP START COMMAND         CGROUP\n\
                       1     0 root     root         1    2 09:13 systemd         4:memory:/,0::/init.scope\n";
        let files = PsFiles {
            tables: vec![
                ("ps_alxwww", alx.to_string()),
                ("ps_auxwww", aux.to_string()),
                ("ps_-elfL", elfl.to_string()),
                (
                    "ps_axo_pid_ppid_user_group_lwp_nlwp_start_time_comm_cgroup",
                    axo.to_string(),
                ),
            ],
            lsof: None,
        };
        let (s, from) = from_ps(&files, 4096).unwrap();
        assert_eq!(from, "ps_alxwww");
        assert_eq!(s.procs.len(), 4);
        let init = &s.procs[0];
        assert_eq!(init.comm, "systemd");
        assert_eq!(init.num_threads, 2);
        assert_eq!(init.d_tids(), vec![63]);
        assert_eq!(init.cgroup_path().as_deref(), Some("/init.scope"));
        assert!(s.procs[1].kthread);
        assert_eq!(s.procs[2].comm, "sleep");
        assert_eq!(s.procs[2].d_tids(), vec![50]);
        assert_eq!(s.user_name(1000), "alice");
        assert!(s.procs[3].is_zombie());
        assert_eq!(s.procs[3].comm, "loadgen");
    }
}
