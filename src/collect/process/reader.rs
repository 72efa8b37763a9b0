//! Reading the files below /proc/PID during a scan: one reusable buffer and path, the cgroup files
//! seen so far (parsed once), why a file was not used ([`Skip`]), and per-kind counts of what could not
//! be read ([`Problems`]), reported once in coverage rather than per file.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::types::{CgroupLine, ProcSample};
use crate::coverage::{Coverage, ProblemKind};
use crate::root::{ReadError, Root};

/// Per-kind counters of what could not be read, reported once rather than per file.
#[derive(Default)]
pub(super) struct Problems {
    denied_files: BTreeMap<&'static str, usize>,
    unparsable: Vec<(String, String)>,
    unparsable_total: usize,
}

impl Problems {
    pub(super) fn denied(&mut self, kind: &'static str) {
        *self.denied_files.entry(kind).or_default() += 1;
    }
    fn unparsable(&mut self, path: &str, why: String) {
        self.unparsable_total += 1;
        if self.unparsable.len() < 10 {
            self.unparsable.push((path.to_string(), why));
        }
    }
    pub(super) fn report(self, cov: &mut Coverage, denied_procs: usize) {
        for (kind, n) in &self.denied_files {
            cov.add(
                &format!("/proc/[pid]/{kind}"),
                ProblemKind::Denied,
                format!(
                    "permission denied for {n} process{}",
                    if *n == 1 { "" } else { "es" }
                ),
            );
        }
        if denied_procs > 0 {
            let note = format!(
                "{denied_procs} process{} not fully inspectable: run as root or with CAP_SYS_PTRACE",
                if denied_procs == 1 { "" } else { "es" }
            );
            if !cov.notes.contains(&note) {
                cov.notes.push(note);
            }
        }
        for (path, why) in &self.unparsable {
            cov.add(path, ProblemKind::Unreadable, format!("did not parse: {why}"));
        }
        if self.unparsable_total > self.unparsable.len() {
            cov.notes.push(format!(
                "{} per-process files did not parse (the first {} are listed)",
                self.unparsable_total,
                self.unparsable.len()
            ));
        }
    }
}

/// Why one file of a process was not used.
pub(super) enum Skip {
    /// The process exited (ENOENT, ESRCH, an empty read): drop it silently.
    Gone,
    Denied,
    /// Not a regular file, too large, another I/O error: listed in coverage.
    Other(ReadError),
    Unparsable(String),
}

pub(super) fn classify(e: ReadError) -> Skip {
    if e.is_not_found() {
        Skip::Gone
    } else if e.is_permission_denied() {
        Skip::Denied
    } else {
        Skip::Other(e)
    }
}

/// Reusable state of one scan.
pub(super) struct Reader<'a> {
    pub(super) root: &'a Root,
    buf: Vec<u8>,
    pub(super) path: String,
    pub(super) problems: Problems,
    /// /proc/PID/cgroup contents seen so far, parsed once.
    pub(super) cgroups: HashMap<Vec<u8>, Arc<[CgroupLine]>>,
    /// The live system with no snapshot being recorded: values may come from syscalls
    /// ([`super::live`]) and files whose values nothing uses may be left unread. A recording reads
    /// every file a replay reads; a directory root reads what it holds.
    pub(super) shortcuts: bool,
}

impl<'a> Reader<'a> {
    pub(super) fn new(root: &'a Root) -> Reader<'a> {
        Reader {
            root,
            buf: Vec::with_capacity(8192),
            path: String::with_capacity(64),
            problems: Problems::default(),
            cgroups: HashMap::new(),
            shortcuts: root.is_live() && !root.is_recording() && super::live::proc_is_ours(),
        }
    }

    /// Read `/proc/PID/NAME` (or any path below /proc/PID) and parse it.
    pub(super) fn parse<T>(
        &mut self,
        pid: i32,
        name: &str,
        parse: impl FnOnce(&[u8]) -> Result<T, String>,
    ) -> Result<T, Skip> {
        use std::fmt::Write;
        self.path.clear();
        let _ = write!(self.path, "/proc/{pid}/{name}");
        match self.root.read_into(&self.path, &mut self.buf) {
            Ok(()) if self.buf.is_empty() => Err(Skip::Gone),
            Ok(()) => parse(&self.buf).map_err(Skip::Unparsable),
            Err(e) => Err(classify(e)),
        }
    }

    /// Handle a skipped file: `true` when the whole process is gone.
    pub(super) fn skipped(
        &mut self,
        s: Skip,
        kind: &'static str,
        p: &mut ProcSample,
        cov: &mut Coverage,
    ) -> bool {
        match s {
            Skip::Gone => return true,
            Skip::Denied => {
                self.problems.denied(kind);
                p.denied = true;
            }
            Skip::Other(e) => cov.read_failed(&e),
            Skip::Unparsable(why) => {
                let path = self.path.clone();
                self.problems.unparsable(&path, why);
            }
        }
        false
    }
}

pub(super) fn procfs<T>(r: procfs_core::ProcResult<T>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}
