//! Processes known from a listing rather than /proc/PID (a sosreport's `ps` tables, one sample):
//! why the facts a listing cannot give are absent, and the tasks in D state it shows.

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

/// A listing is one sample: D state "in both samples" cannot be told. The D-state facts are absent
/// with a reason that names the tasks the listing shows in D state at capture.
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
    let at_capture = match n {
        0 => "no task was in D state at capture".to_string(),
        1 => format!("at capture 1 task was in D state: {}", who.join("; ")),
        n => format!("at capture {n} tasks were in D state: {}", who.join("; ")),
    };
    let why: std::sync::Arc<str> = format!(
        "a sosreport holds one sample ({listing}): D state in both samples cannot be told from a passing wait; {at_capture}"
    )
    .into();
    host.absent("host.tasks.d_state", why.clone());
    host.absent("host.d_state_tasks", why);
}
