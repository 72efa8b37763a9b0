//! The [`CgroupReport`] as a [`Model`]: its table (one screen, verdict first, like `check`), its
//! Prometheus gauges per cgroup, its Nagios status line (`OSDOCTOR CGROUP STATUS - TARGET: ...`) and
//! performance data. JSON is the report struct as documented on [`CgroupReport`].
//!
//! ```text
//! osdoctor: WARNING  2 warnings   pod eded8c65-… · burstable · containerd · cgroup v2 · sampled over 1.0 s
//!
//! WARN  cgroup.oom_kill           container 4f1a9c3e8b2d: OOM kills: 2; working set …
//!       why:  The OOM killer killed a process of this cgroup: the cgroup reached its memory limit …
//!       next: osdoctor kernel-log   # … · …
//!
//! pod eded8c65-6e8e-4c6e-a889-3e427565c740  /kubepods.slice/…/kubepods-burstable-pod…slice
//!   memory     working set 250.0 MiB of 512.0 MiB (48.8%) · usage 262.0 MiB · oom_kill 2 …
//!   cpu        quota 1.00 CPU · using 0.48 CPU (48.0% of quota) · throttled in 0.0% of periods
//!   …
//! ```

use std::io::{self, Write};

use super::Status;
use super::cgroup::{CgroupReport, CgroupView, PsiView, Role};
use super::model::Model;
use super::prometheus::esc;
use super::style::{self, Style};
use crate::rules::finding::{Finding, NotEvaluated};
use crate::units::Unit;
use crate::units::{format_bytes, format_value};

impl Model for CgroupReport {
    fn status(&self) -> Status {
        self.status
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn partial(&self) -> bool {
        self.partial
    }
    fn not_evaluated(&self) -> &[NotEvaluated] {
        &self.coverage.not_evaluated
    }
    fn who(&self, f: &Finding) -> String {
        who(self, f)
    }
    fn table(&self, style: Style, out: &mut dyn Write) -> io::Result<()> {
        Table { style }.render(self, out)
    }
    fn nagios_service(&self) -> &'static str {
        "OSDOCTOR CGROUP"
    }
    fn nagios_about(&self) -> String {
        format!("{}: ", self.target.input)
    }
    fn perfdata(&self) -> String {
        perfdata(self)
    }
    fn unreadable_files(&self) -> Option<usize> {
        Some(self.coverage.unreadable.len())
    }
    fn prometheus_series(&self, out: &mut dyn Write) -> io::Result<()> {
        prometheus(self, out)
    }
}

/// How a cgroup is named in one line: `pod <uid>`, `container <12 hex>`, `cgroup <path>`; with the
/// kubelet's log tree `pod <namespace>/<name>` and `container <name> (<12 hex>)`.
pub fn label(v: &CgroupView) -> String {
    match (v.role, &v.pod_uid, &v.container_id) {
        (Role::Pod, Some(uid), _) => match (&v.namespace, &v.name) {
            (Some(ns), Some(name)) => format!("pod {ns}/{name}"),
            _ => format!("pod {uid}"),
        },
        (Role::Container, _, Some(id)) if v.name.is_some() => format!(
            "container {} ({})",
            v.name.as_deref().unwrap_or_default(),
            &id[..id.len().min(12)]
        ),
        (Role::Container, _, Some(id)) => format!(
            "container {}{}",
            &id[..id.len().min(12)],
            if v.is_pause == Some(true) { " (pause)" } else { "" }
        ),
        _ => format!("cgroup {}", v.path),
    }
}

/// A container's restarts, and its last OOM kill, in one line: `container app restarted 3 times;
/// last OOM-killed 5 min ago`.
pub fn restart_line(v: &CgroupView) -> Option<String> {
    let n = v.restarts?;
    let name = v.name.as_deref()?;
    let mut line = match n {
        0 => format!("container {name} has not restarted"),
        1 => format!("container {name} restarted once"),
        n => format!("container {name} restarted {n} times"),
    };
    match (v.last_oom_kill_age_s, v.memory.events.oom_kill) {
        (Some(age), _) => line.push_str(&format!("; last OOM-killed {} ago", ago(age))),
        (None, Some(k)) if k > 0 => line.push_str(&format!(
            "; its cgroup counts {k} OOM kill{}",
            if k == 1 { "" } else { "s" }
        )),
        _ => {}
    }
    Some(line)
}

/// `42 s`, `5 min`, `3 h`, `2 days`.
fn ago(secs: f64) -> String {
    let s = secs.max(0.0);
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 2.0 * 3600.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 2.0 * 86400.0 {
        format!("{:.0} h", s / 3600.0)
    } else {
        format!("{:.0} days", s / 86400.0)
    }
}

/// Who a finding is about: its cgroup's [`label`] (followed by the process, for a process's finding),
/// else the subject's own.
fn who(r: &CgroupReport, f: &Finding) -> String {
    let cgroup = r
        .cgroups
        .iter()
        .find(|v| f.subject.cgroup.as_deref() == Some(v.path.as_str()))
        .map(label);
    match (cgroup, f.subject.kind) {
        (Some(l), crate::facts::SubjectKind::Cgroup) => l,
        (Some(l), _) => format!("{l} {}", f.subject.label()),
        (None, crate::facts::SubjectKind::Process) => {
            let container = f
                .subject
                .container_id
                .as_deref()
                .map(|id| match &f.subject.container {
                    Some(name) => format!("container {name} ({}) ", &id[..id.len().min(12)]),
                    None => format!("container {} ", &id[..id.len().min(12)]),
                });
            format!("{}{}", container.unwrap_or_default(), f.subject.label())
        }
        (None, _) => f.subject.display_label(),
    }
}

fn pct(ratio: f64) -> String {
    format_value(ratio, Unit::Ratio)
}

fn count(n: u64) -> String {
    format_value(n as f64, Unit::Count)
}

fn cores(c: f64) -> String {
    format!("{c:.2} CPU{}", if (c - 1.0).abs() < 0.005 { "" } else { "s" })
}

fn secs(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
    }
}

struct Table {
    style: Style,
}

impl Table {
    fn render(&self, r: &CgroupReport, out: &mut dyn Write) -> io::Result<()> {
        // Verdict line.
        let t = &r.target;
        let mut about = vec![match (&t.pod_uid, &t.container_id) {
            (_, Some(id)) => match (&t.container, &t.pod) {
                (Some(name), Some(pod)) => {
                    format!("container {name} of pod {pod} ({})", &id[..id.len().min(12)])
                }
                _ => format!("container {}", &id[..id.len().min(12)]),
            },
            (Some(uid), None) => match &t.pod {
                Some(pod) => format!("pod {pod}"),
                None => format!("pod {uid}"),
            },
            _ => format!("cgroup {}", t.cgroup),
        }];
        if let Some(q) = t.qos {
            about.push(format!("{q:?}").to_lowercase());
        }
        if let Some(rt) = t.runtime {
            about.push(format!("{rt:?}").to_lowercase());
        }
        if let Some(m) = &r.cgroup_mode {
            about.push(format!("cgroup {m}"));
        }
        about.push(if r.interval_s > 0.0 {
            format!("sampled over {:.1} s", r.interval_s)
        } else {
            "one sample".to_string()
        });
        if r.root != "/" {
            about.push(format!("root {}", r.root));
        }
        self.style.verdict(
            out,
            r.status,
            |s| r.count(s),
            &about,
            r.partial.then_some(style::PARTIAL_TIMEOUT),
        )?;

        // Findings, worst first, named by the cgroup's short label.
        let rule_width = r.findings.iter().map(|f| f.rule.len()).max().unwrap_or(0);
        for f in &r.findings {
            writeln!(
                out,
                "{}  {:<rule_width$}  {}: {}{}",
                self.style.severity(f.severity),
                f.rule,
                who(r, f),
                f.summary,
                style::fd_breakdown_suffix(f)
            )?;
            style::why_and_next(out, f)?;
        }
        if !r.findings.is_empty() {
            writeln!(out)?;
        }

        // What TARGET resolved to.
        let kind = match t.kind {
            crate::collect::cgroup::TargetKind::CgroupPath => "cgroup path",
            crate::collect::cgroup::TargetKind::Pid => "PID",
            crate::collect::cgroup::TargetKind::ContainerId => "container ID",
            crate::collect::cgroup::TargetKind::PodUid => "pod UID",
            crate::collect::cgroup::TargetKind::PodName => "pod name",
            crate::collect::cgroup::TargetKind::ContainerName => "container name",
        };
        if t.gone {
            writeln!(
                out,
                "target {} ({kind}) -> {}: gone, no such cgroup now; the kernel log last saw it {}",
                t.input,
                t.cgroup,
                t.last_seen
                    .as_deref()
                    .map_or("at a time it does not give".to_string(), |s| format!("at {s}"))
            )?;
        } else {
            writeln!(out, "target {} ({kind}) -> {}", t.input, t.cgroup)?;
        }
        writeln!(out)?;

        let pod_path = r
            .cgroups
            .first()
            .filter(|v| v.role == Role::Pod)
            .map(|v| v.path.clone());
        for v in &r.cgroups {
            self.cgroup(v, pod_path.as_deref(), out)?;
        }

        // What could not be checked.
        if !r.coverage.not_evaluated.is_empty() {
            writeln!(out, "Not checked:")?;
            style::not_checked(out, &r.coverage.not_evaluated)?;
        }
        let problems: Vec<_> = r
            .coverage
            .unreadable
            .iter()
            .filter(|p| !p.reason.starts_with("not found") && p.reason != "cgroup directory not found")
            .collect();
        for p in &problems {
            writeln!(out, "Could not read {}: {}", p.path, p.reason)?;
        }
        let absent = r.coverage.unreadable.len() - problems.len();
        if absent > 0 {
            writeln!(
                out,
                "{absent} cgroup files or directories absent here (see --format json, coverage.unreadable)."
            )?;
        }
        for n in &r.coverage.notes {
            writeln!(out, "Note: {n}")?;
        }
        Ok(())
    }

    /// One cgroup's block; a pod's containers show their path relative to the pod's.
    fn cgroup(&self, v: &CgroupView, pod_path: Option<&str>, out: &mut dyn Write) -> io::Result<()> {
        let mut head = label(v);
        if let Some(rt) = v.runtime {
            head.push_str(&format!("  {rt:?}").to_lowercase());
        }
        let shown_path = match pod_path.and_then(|p| v.path.strip_prefix(p)) {
            Some(rest) if v.role == Role::Container && rest.starts_with('/') => format!("…{rest}"),
            _ => v.path.clone(),
        };
        if v.role == Role::Cgroup {
            writeln!(out, "{}", self.style.paint(&head, "1"))?;
        } else {
            writeln!(out, "{}  {shown_path}", self.style.paint(&head, "1"))?;
        }
        if v.role == Role::Pod
            && let Some(uid) = v.pod_uid.as_deref().filter(|_| v.name.is_some())
        {
            writeln!(out, "  uid        {uid}")?;
        }
        if let Some(line) = restart_line(v) {
            writeln!(out, "  restarts   {line}")?;
        }
        // On v1 a process may sit at different paths per hierarchy: say where the others are.
        let elsewhere: Vec<String> = v
            .dirs
            .iter()
            .filter(|(_, dir)| !dir.trim_end_matches('/').ends_with(v.path.trim_end_matches('/')))
            .map(|(ctrl, dir)| format!("{ctrl} {dir}"))
            .collect();
        if v.path != "/" && !elsewhere.is_empty() {
            writeln!(out, "  elsewhere  {}", elsewhere.join(" · "))?;
        }
        // A pause container without findings gets one line: it only holds the pod's namespaces.
        if v.is_pause == Some(true) && v.findings.is_empty() {
            let n = v.processes.total.unwrap_or(0);
            let ws = v
                .memory
                .working_set_bytes
                .map(|b| format!(", working set {}", format_bytes(b as f64)))
                .unwrap_or_default();
            writeln!(
                out,
                "  the pod's sandbox: {n} process{}{ws}, no findings",
                if n == 1 { "" } else { "es" }
            )?;
            writeln!(out)?;
            return Ok(());
        }
        writeln!(out, "  memory     {}", memory_line(v))?;
        writeln!(out, "  cpu        {}", cpu_line(v))?;
        writeln!(out, "  pids       {}", pids_line(v))?;
        writeln!(out, "  io         {}", io_line(v))?;
        writeln!(out, "  pressure   {}", pressure_line(v))?;
        let p = &v.processes;
        match p.total {
            None => writeln!(out, "  processes  unknown (cgroup.procs unreadable)")?,
            Some(0) => writeln!(
                out,
                "  processes  none in this cgroup itself{}",
                if v.role == Role::Pod {
                    " (they run in its containers)"
                } else {
                    ""
                }
            )?,
            Some(total) if p.shown.is_empty() => writeln!(
                out,
                "  processes  {total} listed, none readable here (exited, or not captured under --root)"
            )?,
            Some(total) => {
                let more = if total > p.shown.len() {
                    format!(", the {} largest by RSS", p.shown.len())
                } else {
                    String::new()
                };
                writeln!(out, "  processes  {total}{more}")?;
                let comm_w = p.shown.iter().map(|s| s.comm.len()).max().unwrap_or(4).max(4);
                // What the fds are, where the table was read: a column only when some row has one.
                let what = p.shown.iter().any(|s| s.fd_table.is_some());
                let header = format!(
                    "    {:>7}  {:<comm_w$}  S  {:>10}  {:>7}  {:>5}",
                    "PID", "COMM", "RSS", "THREADS", "FDS"
                );
                if what {
                    writeln!(out, "{header}  WHAT")?;
                } else {
                    writeln!(out, "{header}")?;
                }
                let opt = |v: Option<u64>| v.map(count).unwrap_or_else(|| "?".to_string());
                for s in &p.shown {
                    let row = format!(
                        "    {:>7}  {:<comm_w$}  {}  {:>10}  {:>7}  {:>5}",
                        s.pid,
                        s.comm,
                        s.state,
                        s.rss_bytes
                            .map(|b| format_bytes(b as f64))
                            .unwrap_or_else(|| "?".to_string()),
                        opt(s.threads),
                        opt(s.fds)
                    );
                    match s.fd_table.as_ref().map(|t| t.classes()) {
                        Some(classes) if !classes.is_empty() => writeln!(
                            out,
                            "{}",
                            super::table::shorten(&format!("{row}  {classes}"), super::table::WIDTH)
                        )?,
                        _ => writeln!(out, "{}", row.trim_end())?,
                    }
                }
            }
        }
        writeln!(out)
    }
}

fn memory_line(v: &CgroupView) -> String {
    let m = &v.memory;
    if m.version.is_none() {
        return match m.limited {
            Some(false) => "no cgroup at this path in the memory hierarchy".to_string(),
            _ => "not readable".to_string(),
        };
    }
    let mut parts = Vec::new();
    let ws = m.working_set_bytes.map(|b| format_bytes(b as f64));
    match (ws, m.limit_bytes, m.limited) {
        (Some(ws), Some(limit), _) => parts.push(format!(
            "working set {ws} of {} limit{}",
            format_bytes(limit as f64),
            m.working_set_ratio
                .map(|r| format!(" ({})", pct(r)))
                .unwrap_or_default()
        )),
        (Some(ws), None, Some(false)) => parts.push(format!("working set {ws}, no limit")),
        (Some(ws), None, _) => parts.push(format!("working set {ws}")),
        (None, Some(limit), _) => parts.push(format!("limit {}", format_bytes(limit as f64))),
        (None, None, Some(false)) => parts.push("no limit".to_string()),
        (None, None, _) => {}
    }
    if let Some(u) = m.usage_bytes {
        parts.push(format!("usage {}", format_bytes(u as f64)));
    }
    if let Some(h) = m.high_bytes {
        parts.push(format!("high {}", format_bytes(h as f64)));
    }
    if let Some(s) = m.swap_bytes.filter(|s| *s > 0) {
        parts.push(format!("swap {}", format_bytes(s as f64)));
    }
    let e = &m.events;
    let mut events = Vec::new();
    if let Some(k) = e.oom_kill.or(e.oom_kill_local) {
        let mut s = format!("oom_kill {}", count(k));
        // v2 memory.events counts descendants too; say how many were this cgroup's own processes.
        if let Some(local) = e.oom_kill_local.filter(|l| *l != k) {
            s.push_str(&format!(" ({} of its own processes)", count(local)));
        }
        if let Some(d) = m.oom_kill_during_interval.filter(|d| *d > 0) {
            s.push_str(&format!(" (+{d} during the interval)"));
        }
        events.push(s);
    }
    for (name, val) in [("oom", e.oom), ("max", e.max), ("high", e.high)] {
        if let Some(n) = val {
            events.push(format!("{name} {}", count(n)));
        }
    }
    if !events.is_empty() {
        parts.push(format!("events {}", events.join(", ")));
    }
    if m.under_oom == Some(true) {
        parts.push("UNDER OOM now".to_string());
    }
    if parts.is_empty() {
        return "no figures readable (see coverage)".to_string();
    }
    parts.join(" · ")
}

fn cpu_line(v: &CgroupView) -> String {
    let c = &v.cpu;
    if c.version.is_none() {
        return match c.limited {
            Some(false) => "no cgroup at this path in the cpu hierarchy".to_string(),
            _ => "not readable".to_string(),
        };
    }
    let mut parts = Vec::new();
    match (c.quota_cores, c.limited) {
        (Some(q), _) => parts.push(format!(
            "quota {}{}",
            cores(q),
            match (c.quota_seconds, c.period_seconds) {
                (Some(qs), Some(ps)) => format!(" ({:.0} ms per {:.0} ms)", qs * 1e3, ps * 1e3),
                _ => String::new(),
            }
        )),
        (None, Some(false)) => parts.push("no quota".to_string()),
        _ => {}
    }
    let i = &c.interval;
    match (i.usage_cores, i.quota_used_ratio) {
        (Some(u), Some(q)) => parts.push(format!("using {} ({} of quota)", cores(u), pct(q))),
        (Some(u), None) => parts.push(format!("using {}", cores(u))),
        (None, Some(q)) if i.quota_used_is_lower_bound => parts.push(format!(
            "using at least {} of quota (no cpuacct usage: counted from throttled periods)",
            pct(q)
        )),
        (None, Some(q)) => parts.push(format!("{} of quota used", pct(q))),
        (None, None) => {}
    }
    let has_quota = c.limited == Some(true) || i.periods.is_some_and(|p| p > 0);
    if let Some(t) = i.throttled_ratio.filter(|_| has_quota) {
        let mut s = format!("throttled in {} of periods", pct(t));
        if let (Some(tp), Some(p)) = (i.throttled_periods, i.periods) {
            s.push_str(&format!(" ({} of {})", count(tp), count(p)));
        }
        if let Some(ts) = i.throttled_seconds {
            s.push_str(&format!(", {} throttled", secs(ts)));
        }
        parts.push(s);
    } else if let Some(n) = c.nr_throttled_total.filter(|n| *n > 0) {
        parts.push(format!(
            "throttled in {} of {} periods since creation",
            count(n),
            c.nr_periods_total.map(count).unwrap_or_else(|| "?".into())
        ));
    }
    if parts.is_empty() {
        "no figures readable (see coverage)".to_string()
    } else {
        parts.join(" · ")
    }
}

fn pids_line(v: &CgroupView) -> String {
    let p = &v.pids;
    let mut s = match (p.current, p.max, p.limited) {
        (Some(c), Some(m), _) => format!(
            "{} of {} tasks{}",
            count(c),
            count(m),
            if m > 0 {
                format!(" ({})", pct(c as f64 / m as f64))
            } else {
                String::new()
            }
        ),
        (Some(c), None, Some(false)) => format!("{} tasks, no limit", count(c)),
        (Some(c), None, _) => format!("{} tasks", count(c)),
        (None, _, Some(false)) => return "no cgroup at this path in the pids hierarchy".to_string(),
        (None, _, _) => {
            return match v.dirs.get("pids") {
                Some(dir) => format!("no pids.current in {dir}"),
                None => "no pids hierarchy".to_string(),
            };
        }
    };
    if let Some(n) = p.forks_refused.filter(|n| *n > 0) {
        s.push_str(&format!(" · forks refused at the limit {}", count(n)));
        if let Some(d) = p.forks_refused_during_interval.filter(|d| *d > 0) {
            s.push_str(&format!(" (+{d} during the interval)"));
        }
    }
    s
}

fn io_line(v: &CgroupView) -> String {
    let io = &v.io;
    let v1 = crate::parse::cgroup::CgroupVersion::V1;
    let Some(version) = io.version else {
        if let Some(note) = &io.note {
            return note.clone();
        }
        return match (v.dirs.get("blkio"), v.dirs.get("unified")) {
            (Some(_), _) => "blkio files not read (see coverage)".to_string(),
            (None, Some(_)) => {
                "no io.stat (the io controller is not enabled for this cgroup, or see coverage)".to_string()
            }
            (None, None) => "no io or blkio hierarchy".to_string(),
        };
    };
    if version == v1 && io.devices.is_empty() {
        return "no I/O counted by v1 blkio: none issued, or (Linux 6.9+) no blkio throttle limit is set on \
                any device, so nothing is counted; buffered writes are never charged in v1"
            .to_string();
    }
    let ops = |n: Option<u64>| n.map(|n| format!(" ({} ops)", count(n))).unwrap_or_default();
    let bytes = |b: Option<u64>| {
        b.map(|b| format_bytes(b as f64))
            .unwrap_or_else(|| "?".to_string())
    };
    let mut s = format!(
        "read {}{} · written {}{} since the cgroup was created",
        bytes(io.read_bytes_total),
        ops(io.reads_total),
        bytes(io.write_bytes_total),
        ops(io.writes_total)
    );
    if version == v1 {
        s.push_str(" · v1 blkio: buffered writes are not charged to the cgroup");
    }
    s
}

fn pressure_line(v: &CgroupView) -> String {
    let p = &v.pressure;
    let one = |name: &str, psi: &Option<PsiView>| {
        psi.map(|x| {
            let f = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into());
            format!("{name} {}/{}", f(x.some_avg10), f(x.full_avg10))
        })
    };
    let parts: Vec<String> = [one("cpu", &p.cpu), one("memory", &p.memory), one("io", &p.io)]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        "none for this cgroup itself (no cgroup2 pressure files here)".to_string()
    } else {
        format!("some/full avg10 %: {}", parts.join(" · "))
    }
}

/// The cgroup series after the shared ones: the verdict by target, one gauge per figure per cgroup,
/// one series per finding labelled by its cgroup.
fn prometheus(r: &CgroupReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "# HELP osdoctor_cgroup_status Verdict for the target: 0 ok, 1 warning, 2 critical, 3 unknown."
    )?;
    writeln!(out, "# TYPE osdoctor_cgroup_status gauge")?;
    writeln!(
        out,
        "osdoctor_cgroup_status{{target=\"{}\"}} {}",
        esc(&r.target.input),
        r.status.exit_code()
    )?;
    type Getter = fn(&CgroupView) -> Option<f64>;
    let gauges: [(&str, &str, Getter); 12] = [
        ("memory_working_set_bytes", "usage minus inactive_file", |v| {
            v.memory.working_set_bytes.map(|b| b as f64)
        }),
        ("memory_limit_bytes", "memory.max (absent when unlimited)", |v| {
            v.memory.limit_bytes.map(|b| b as f64)
        }),
        ("memory_oom_kills", "OOM kills counted for this cgroup", |v| {
            v.memory
                .events
                .oom_kill_local
                .or(v.memory.events.oom_kill)
                .map(|n| n as f64)
        }),
        (
            "cpu_quota_cores",
            "CFS quota in CPUs (absent when unlimited)",
            |v| v.cpu.quota_cores,
        ),
        ("cpu_usage_cores", "CPUs used over the interval", |v| {
            v.cpu.interval.usage_cores
        }),
        (
            "cpu_throttled_ratio",
            "throttled periods / periods over the interval",
            |v| v.cpu.interval.throttled_ratio,
        ),
        ("pids_current", "tasks in the cgroup", |v| {
            v.pids.current.map(|n| n as f64)
        }),
        ("pids_max", "pids.max (absent when unlimited)", |v| {
            v.pids.max.map(|n| n as f64)
        }),
        ("pids_forks_refused", "forks refused at pids.max", |v| {
            v.pids.forks_refused.map(|n| n as f64)
        }),
        (
            "io_read_bytes",
            "bytes read since the cgroup was created (io.stat, or v1 blkio)",
            |v| v.io.read_bytes_total.map(|n| n as f64),
        ),
        (
            "io_written_bytes",
            "bytes written since the cgroup was created (v1 blkio misses buffered writes)",
            |v| v.io.write_bytes_total.map(|n| n as f64),
        ),
        ("processes", "processes in the cgroup itself", |v| {
            v.processes.total.map(|n| n as f64)
        }),
    ];
    let labels = |v: &CgroupView| {
        let mut l = format!(
            "cgroup=\"{}\",role=\"{}\"",
            esc(&v.path),
            match v.role {
                Role::Pod => "pod",
                Role::Container => "container",
                Role::Cgroup => "cgroup",
            }
        );
        if let Some(u) = &v.pod_uid {
            l.push_str(&format!(",pod_uid=\"{}\"", esc(u)));
        }
        if let Some(c) = &v.container_id {
            l.push_str(&format!(",container_id=\"{}\"", esc(c)));
        }
        l
    };
    for (name, help, get) in gauges {
        writeln!(out, "# HELP osdoctor_cgroup_{name} {help}.")?;
        writeln!(out, "# TYPE osdoctor_cgroup_{name} gauge")?;
        for v in &r.cgroups {
            if let Some(x) = get(v) {
                writeln!(out, "osdoctor_cgroup_{name}{{{}}} {x}", labels(v))?;
            }
        }
    }
    writeln!(
        out,
        "# HELP osdoctor_cgroup_finding One series per finding; the value is the rule's metric, or 1."
    )?;
    writeln!(out, "# TYPE osdoctor_cgroup_finding gauge")?;
    for f in &r.findings {
        let mut l = format!(
            "rule=\"{}\",severity=\"{}\",cgroup=\"{}\"",
            esc(&f.rule),
            f.severity.name(),
            esc(f.subject.cgroup.as_deref().unwrap_or(""))
        );
        if let Some(u) = &f.subject.pod_uid {
            l.push_str(&format!(",pod_uid=\"{}\"", esc(u)));
        }
        if let Some(c) = &f.subject.container_id {
            l.push_str(&format!(",container_id=\"{}\"", esc(c)));
        }
        writeln!(out, "osdoctor_cgroup_finding{{{l}}} {}", f.value.unwrap_or(1.0))?;
    }
    Ok(())
}

/// Performance data after the counts: the first cgroup's working set, throttling and tasks.
fn perfdata(r: &CgroupReport) -> String {
    let mut perf = String::new();
    if let Some(v) = r.cgroups.first() {
        if let Some(ws) = v.memory.working_set_bytes {
            perf.push_str(&format!(
                " working_set={ws}B;;;0;{}",
                v.memory.limit_bytes.map(|l| l.to_string()).unwrap_or_default()
            ));
        }
        if let Some(t) = v.cpu.interval.throttled_ratio {
            perf.push_str(&format!(" throttled={:.1}%;25;50;0;100", t * 100.0));
        }
        if let Some(p) = v.pids.current {
            perf.push_str(&format!(
                " pids={p};;;0;{}",
                v.pids.max.map(|m| m.to_string()).unwrap_or_default()
            ));
        }
    }
    perf
}
