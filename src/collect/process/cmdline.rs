//! Command lines of the processes named in findings, read after the rules ran, redacted.

use std::collections::BTreeMap;

use crate::root::Root;

/// Command lines of the named processes, read after the rules ran; never of a task in D state (the
/// read takes its mmap lock). Secrets are redacted unless `redact` is false; a snapshot records the
/// redacted form whatever `redact` says.
pub fn read_cmdlines(root: &Root, procs: &[(i32, char)], redact: bool) -> BTreeMap<i32, String> {
    let mut out = BTreeMap::new();
    for (pid, state) in procs {
        if *state == 'D' {
            continue;
        }
        let path = format!("/proc/{pid}/cmdline");
        let Ok(bytes) = root.read_recorded_as(&path, crate::redact::cmdline_bytes) else {
            continue;
        };
        if bytes.is_empty() {
            continue;
        }
        let text = if redact {
            crate::redact::cmdline_text(&crate::redact::cmdline_bytes(&bytes))
        } else {
            crate::redact::cmdline_text(&bytes)
        };
        out.insert(*pid, text);
    }
    out
}
