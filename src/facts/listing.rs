//! Processes known from a listing rather than /proc/PID (a sosreport's `ps` tables, one sample):
//! why the facts a listing cannot give are absent, and the tasks in D state it shows (the one-sample
//! form of proc.uninterruptible).

use super::{FactSet, SubjectKind};
use crate::collect::process::ProcessSample;

/// Why a fact of a listed process is absent: the listing has no such column.
pub fn reason(listing: &str) -> String {
    format!("not in a sosreport: its processes are listed by ps ({listing}), without their /proc/PID files")
}

/// Say why each fact of `kind` that is neither set nor a rate (rates have the one-sample reason)
/// is absent on a listed subject.
pub fn fill_reasons(facts: &mut FactSet, kind: SubjectKind, why: &std::sync::Arc<str>) {
    for def in super::catalog().filter(|d| d.subject == kind && !d.rate) {
        if facts.get(def.name).is_none() {
            facts.absent(def.name, why.clone());
        }
    }
}

/// A listing is one sample: D state "in both samples" cannot be told, so the D-state facts take their
/// one-sample form, the tasks in D state at capture (the state column of ps), and
/// `host.d_state_when` says so: a task caught in a passing wait counts too, which the summary states.
pub fn d_state_at_capture(host: &mut FactSet, s: &ProcessSample, listing: &str) {
    let mut n = 0usize;
    let mut who = Vec::new();
    for p in &s.procs {
        for tid in p.d_tids() {
            n += 1;
            if who.len() < 10 {
                let mut w = format!("pid {} ({})", p.pid, p.comm);
                if tid != p.pid {
                    w.push_str(&format!(" thread {tid}"));
                }
                who.push(w);
            }
        }
    }
    host.num("host.tasks.d_state", n as f64);
    host.text(
        "host.d_state_tasks",
        if who.is_empty() {
            "none".to_string()
        } else {
            who.join("; ")
        },
    );
    host.text(
        "host.d_state_when",
        format!("at capture (one sample: {listing}; a passing wait counts too)"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::process::ProcSample;

    #[test]
    fn d_state_at_capture_counts_the_listed_tasks_and_says_when() {
        let mut s = ProcessSample::default();
        for pid in 100..106 {
            s.procs.push(ProcSample {
                pid,
                comm: "nfsd".to_string(),
                state: if pid == 105 { 'S' } else { 'D' },
                ..ProcSample::default()
            });
        }
        let mut host = FactSet::default();
        d_state_at_capture(&mut host, &s, "sos_commands/process/ps_alxwww");
        assert_eq!(host.get_f64("host.tasks.d_state"), Some(5.0));
        let text = |name: &str| match host.get(name) {
            Some(crate::facts::Value::Text(t)) => t.clone(),
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(
            text("host.d_state_tasks"),
            "pid 100 (nfsd); pid 101 (nfsd); pid 102 (nfsd); pid 103 (nfsd); pid 104 (nfsd)"
        );
        assert_eq!(
            text("host.d_state_when"),
            "at capture (one sample: sos_commands/process/ps_alxwww; a passing wait counts too)"
        );
    }
}
