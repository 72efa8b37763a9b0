//! The two lines of an OOM report that name a victim, each parsed on its own: the `Killed process`
//! line (all its vendor and version variants) and the 5.0+ `oom-kill:` summary, and what each
//! adds to an [`OomKill`]. Following a report across its lines is the OOM tracker's job (oom.rs).

use std::sync::LazyLock;

use regex::Regex;

use super::events::OomKill;
use super::helpers::{group, number, rx};

/// The comm is lazy and bounded (the kernel's is at most 15 bytes; 64 leaves room for odd forms),
/// up to the first `)` that the rest of the line follows: ` total-vm:` (`vsz:` on 2.6), or, before
/// 2.6.28, nothing but a full stop (`Out of Memory: Killed process 2001 (httpd).`). So comms like
/// `((resolved))` and `a (b) c) d` come out whole, and a comm never runs on into other fields or
/// into another line pasted after this one.
static KILLED: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"Killed process ([0-9]+)(?:, UID ([0-9]+),)? \((.{0,64}?)\)(?:(?:, UID ([0-9]+),)? (?:total-vm|vsz):([0-9,]+)kB|\.?\s*$)",
    )
});
static KILL_FIELD: LazyLock<Regex> =
    LazyLock::new(|| rx(r"(anon-rss|file-rss|shmem-rss|pgtables|UID|oom_score_adj):(-?[0-9,]+)"));

/// A 5.0+ `oom-kill:` summary line.
#[derive(Debug, Clone, Default)]
pub(super) struct Summary {
    pub(super) constraint: Option<String>,
    pub(super) cpuset: Option<String>,
    pub(super) mems_allowed: Option<String>,
    pub(super) oom_memcg: Option<String>,
    pub(super) global: Option<bool>,
    pub(super) task_memcg: Option<String>,
    pub(super) comm: String,
    pub(super) pid: u32,
    pub(super) uid: Option<u32>,
}

/// A `Killed process` line.
#[derive(Debug, Clone)]
pub(super) struct KillLine {
    pub(super) prefix: String,
    pub(super) pid: u32,
    pub(super) comm: String,
    pub(super) uid: Option<u32>,
    pub(super) total_vm_kb: Option<u64>,
    pub(super) anon_kb: Option<u64>,
    pub(super) file_kb: Option<u64>,
    pub(super) shmem_kb: Option<u64>,
    pub(super) pgtables_kb: Option<u64>,
    pub(super) oom_score_adj: Option<i32>,
}

impl KillLine {
    pub(super) fn fill(&self, kill: &mut OomKill) {
        kill.uid = self.uid;
        kill.total_vm_bytes = self.total_vm_kb.and_then(kib);
        kill.anon_rss_bytes = self.anon_kb.and_then(kib);
        kill.file_rss_bytes = self.file_kb.and_then(kib);
        kill.shmem_rss_bytes = self.shmem_kb.and_then(kib);
        kill.rss_bytes = [kill.anon_rss_bytes, kill.file_rss_bytes, kill.shmem_rss_bytes]
            .into_iter()
            .flatten()
            .try_fold(0u64, u64::checked_add)
            .filter(|_| kill.anon_rss_bytes.is_some());
        kill.pgtables_bytes = self.pgtables_kb.and_then(kib);
        kill.oom_score_adj = self.oom_score_adj;
    }
}

pub(super) fn apply_summary(kill: &mut OomKill, summary: &Summary) {
    kill.constraint = summary.constraint.clone().or(kill.constraint.take());
    kill.cpuset = summary.cpuset.clone().or(kill.cpuset.take());
    kill.mems_allowed = summary.mems_allowed.clone().or(kill.mems_allowed.take());
    kill.oom_memcg = summary.oom_memcg.clone().or(kill.oom_memcg.take());
    kill.task_memcg = summary.task_memcg.clone().or(kill.task_memcg.take());
    kill.uid = kill.uid.or(summary.uid);
    // oom_memcg= vs global_oom decides, whatever the constraint says.
    if summary.global.is_some() {
        kill.global = summary.global;
    }
}

/// `Memory cgroup out of memory` is a memcg OOM; `Out of memory` and
/// `Out of memory (oom_kill_allocating_task)` are not (the latter is never used for memcgs), nor is
/// 2.4's `Out of Memory`.
pub(super) fn prefix_global(prefix: &str) -> Option<bool> {
    if prefix.ends_with("Memory cgroup out of memory") {
        Some(false)
    } else if prefix.contains("Out of memory") || prefix.contains("Out of Memory") {
        Some(true)
    } else {
        None
    }
}

pub(super) fn parse_kill_line(text: &str) -> Option<KillLine> {
    let c = KILLED.captures(text)?;
    let start = c.get(0)?.start();
    let prefix = text[..start].trim_end().trim_end_matches(':').to_string();
    let mut line = KillLine {
        prefix,
        pid: number(&c, 1)?,
        comm: group(&c, 3).to_string(),
        uid: number(&c, 2).or_else(|| number(&c, 4)),
        total_vm_kb: grouped_number(group(&c, 5)),
        anon_kb: None,
        file_kb: None,
        shmem_kb: None,
        pgtables_kb: None,
        oom_score_adj: None,
    };
    let tail = &text[c.get(0)?.end()..];
    for f in KILL_FIELD.captures_iter(tail) {
        let value = group(&f, 2);
        match group(&f, 1) {
            "anon-rss" => line.anon_kb = grouped_number(value),
            "file-rss" => line.file_kb = grouped_number(value),
            "shmem-rss" => line.shmem_kb = grouped_number(value),
            "pgtables" => line.pgtables_kb = grouped_number(value),
            "UID" => line.uid = line.uid.or_else(|| value.parse().ok()),
            "oom_score_adj" => line.oom_score_adj = value.parse().ok(),
            _ => {}
        }
    }
    Some(line)
}

/// `constraint=C,nodemask=N,cpuset=S,mems_allowed=M,oom_memcg=P|global_oom,task_memcg=T,task=COMM,pid=P,uid=U`.
/// Paths and lists can contain commas, so fields are cut at the next known key rather than at
/// commas, and the task's name (which may contain anything) is read from the right.
pub(super) fn parse_summary(fields: &str) -> Option<Summary> {
    let (rest, uid) = fields.rsplit_once(",uid=")?;
    let (rest, pid) = rest.rsplit_once(",pid=")?;
    let (rest, comm) = rest.rsplit_once(",task=")?;
    let mut summary = Summary {
        comm: comm.to_string(),
        pid: pid.trim().parse().ok()?,
        uid: uid.trim().parse().ok(),
        ..Summary::default()
    };
    let (rest, task_memcg) = match rest.rsplit_once(",task_memcg=") {
        Some((rest, path)) => (rest, Some(path.to_string())),
        None => (rest, None),
    };
    summary.task_memcg = task_memcg;
    let rest = if let Some(rest) = rest.strip_suffix(",global_oom") {
        summary.global = Some(true);
        rest
    } else if let Some((rest, path)) = rest.rsplit_once(",oom_memcg=") {
        summary.global = Some(false);
        summary.oom_memcg = Some(path.to_string());
        rest
    } else {
        rest
    };
    let rest = match rest.rsplit_once(",mems_allowed=") {
        Some((rest, mems)) => {
            summary.mems_allowed = Some(mems.to_string());
            rest
        }
        None => rest,
    };
    let rest = match rest.rsplit_once(",cpuset=") {
        Some((rest, cpuset)) => {
            summary.cpuset = Some(cpuset.to_string());
            rest
        }
        None => rest,
    };
    let constraint = rest.strip_prefix("constraint=")?;
    summary.constraint = Some(constraint.split(',').next().unwrap_or(constraint).to_string());
    Some(summary)
}

pub(super) fn kib(kb: u64) -> Option<u64> {
    kb.checked_mul(1024)
}

/// `26,184,840` as some vendor kernels print it, or plain digits.
fn grouped_number(text: &str) -> Option<u64> {
    let digits: String = text.chars().filter(|&c| c != ',').collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_fields_are_cut_at_known_keys() {
        let s = parse_summary(
            "constraint=CONSTRAINT_MEMCG,nodemask=0-1,cpuset=x,mems_allowed=0,2,oom_memcg=/a,b,task_memcg=/a,b/c,task=we,ird,pid=7,uid=1000",
        )
        .unwrap_or_default();
        assert_eq!(s.constraint.as_deref(), Some("CONSTRAINT_MEMCG"));
        assert_eq!(s.cpuset.as_deref(), Some("x"));
        assert_eq!(s.mems_allowed.as_deref(), Some("0,2"));
        assert_eq!((s.oom_memcg.as_deref(), s.global), (Some("/a,b"), Some(false)));
        assert_eq!(s.task_memcg.as_deref(), Some("/a,b/c"));
        assert_eq!((s.comm.as_str(), s.pid, s.uid), ("we,ird", 7, Some(1000)));
    }

    #[test]
    fn summary_without_memcg_or_cpuset_support() {
        // CONFIG_MEMCG=n prints neither oom_memcg= nor global_oom; CONFIG_CPUSETS=n no cpuset.
        let s = parse_summary("constraint=CONSTRAINT_NONE,nodemask=(null),task=x,pid=1,uid=0")
            .unwrap_or_default();
        assert_eq!(
            (s.global, s.oom_memcg, s.task_memcg, s.cpuset),
            (None, None, None, None)
        );
        assert_eq!(s.pid, 1);
        let s = parse_summary("constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task=x,pid=1,uid=0")
            .unwrap_or_default();
        assert_eq!((s.global, s.task_memcg), (Some(true), None));
        assert!(parse_summary("constraint=X,task=x,pid=notanumber,uid=0").is_none());
    }

    #[test]
    fn kill_line_variants() {
        let k = parse_kill_line("Out of memory (oom_kill_allocating_task): Killed process 3 (a) total-vm:10kB, anon-rss:1kB, file-rss:2kB, shmem-rss:3kB, UID:4 pgtables:5kB oom_score_adj:-17")
            .unwrap_or_else(|| panic!("not parsed"));
        assert_eq!(k.prefix, "Out of memory (oom_kill_allocating_task)");
        assert_eq!(prefix_global(&k.prefix), Some(true));
        assert_eq!((k.pid, k.comm.as_str(), k.uid), (3, "a", Some(4)));
        assert_eq!(
            (k.anon_kb, k.file_kb, k.shmem_kb, k.pgtables_kb),
            (Some(1), Some(2), Some(3), Some(5))
        );
        assert_eq!(k.oom_score_adj, Some(-17));
        let k = parse_kill_line(
            "Killed process 11726, UID 498, (mysqld) total-vm:7823732kB, anon-rss:2539268kB, file-rss:768kB",
        )
        .unwrap_or_else(|| panic!("not parsed"));
        assert_eq!(
            (k.prefix.as_str(), k.pid, k.comm.as_str(), k.uid),
            ("", 11726, "mysqld", Some(498))
        );
        assert_eq!(prefix_global(&k.prefix), None);
        let k = parse_kill_line("Killed process 799153 (node), UID 1000, total-vm:606096kB, anon-rss:68308kB, file-rss:13648kB, shmem-rss:0kB")
            .unwrap_or_else(|| panic!("not parsed"));
        assert_eq!((k.comm.as_str(), k.uid), ("node", Some(1000)));
        // 2.6 kernels printed vsz: instead of total-vm:.
        let k = parse_kill_line("Killed process 1 (init) vsz:100kB, anon-rss:1kB, file-rss:1kB")
            .unwrap_or_else(|| panic!("not parsed"));
        assert_eq!(k.total_vm_kb, Some(100));
        assert!(parse_kill_line("Killed process 62769 (").is_none());
        // The comm ends at the first `)` the rest of the line follows, and is bounded.
        let k = parse_kill_line(
            "Killed process 5 (db) total-vm:1kB, anon-rss:1kB/x:Killed process 6 (c) total-vm:2kB",
        )
        .unwrap_or_else(|| panic!("not parsed"));
        assert_eq!((k.pid, k.comm.as_str(), k.total_vm_kb), (5, "db", Some(1)));
        let k = parse_kill_line("Out of Memory: Killed process 2001 (httpd).")
            .unwrap_or_else(|| panic!("not parsed"));
        assert_eq!((k.pid, k.comm.as_str(), k.total_vm_kb), (2001, "httpd", None));
        assert_eq!(prefix_global(&k.prefix), Some(true));
        let long = format!("Killed process 7 ({}) total-vm:1kB", "x".repeat(65));
        assert!(parse_kill_line(&long).is_none());
        assert!(parse_kill_line("Killed process 8 (x) and then some").is_none());
        assert!(parse_kill_line("oom_reaper: reaped process 1 (x), now anon-rss:0kB").is_none());
    }
}
