//! Lines that name a kernel event no recogniser understood: counted, with a few examples, so that
//! an event in a format the parsers do not know never vanishes silently.
//!
//! [`EVENT_KEYWORDS`] is the one list of what marks such a line. A record (from the kernel) whose
//! text contains one of them, and that neither the OOM tracker nor the line scanner took as an
//! event's line or as part of one, is unrecognised. The consumer says so: the `kernel-log` report
//! and `check`'s coverage carry the count and examples and are marked partial; the exit code is
//! not changed by it.

use serde::Serialize;

/// Substrings (case-sensitive) of the key lines of the events the recognisers know, as the kernel
/// prints them. Keep them specific: a keyword in an ordinary boot message would mark every log
/// partial.
pub const EVENT_KEYWORDS: &[&str] = &[
    // OOM kills (oom.rs, oom_lines.rs)
    "Out of memory",
    "Killed process",
    "invoked oom-killer",
    // process faults (process.rs)
    "segfault",
    "general protection fault",
    "blocked for more than",
    "soft lockup",
    "hard LOCKUP",
    "Hard LOCKUP",
    "self-detected stall",
    "detected stalls on CPUs",
    "Kernel panic",
    "Oops",
    "BUG:",
    "kernel BUG at",
    // storage (storage.rs)
    "I/O error",
    "EXT4-fs error",
    "EXT3-fs error",
    "EXT2-fs error",
    "error count since last fsck",
    // hardware (hardware.rs)
    "Machine check",
    "Hardware Error",
    // limits (limits.rs)
    "SYN flooding",
    "nf_conntrack: table full",
    "VFS: file-max limit",
    "TCP: out of memory",
    "too many orphaned sockets",
    "fork rejected by pids controller",
];

/// Lines that carry a keyword but are the kernel's own closing lines of an event already counted:
/// `---[ end Kernel panic - not syncing: Fatal exception ]---`, `---[ end trace ... ]---`.
const TRAILERS: &[&str] = &["---[ end "];

/// How many example lines are kept.
pub const MAX_EXAMPLES: usize = 5;
/// Examples are cut to this many characters.
const MAX_EXAMPLE_CHARS: usize = 200;

/// Lines with an event keyword that no recogniser understood.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Unrecognised {
    pub count: usize,
    /// The first [`MAX_EXAMPLES`] such lines, as logged (cut to 200 characters).
    pub examples: Vec<String>,
}

impl Unrecognised {
    /// Count `text` if it names an event (it was not understood).
    pub(super) fn consider(&mut self, text: &str) {
        if keyword_of(text).is_none() {
            return;
        }
        self.count += 1;
        if self.examples.len() < MAX_EXAMPLES {
            let mut example: String = text.chars().take(MAX_EXAMPLE_CHARS).collect();
            if example.len() < text.len() {
                example.push('…');
            }
            self.examples.push(example);
        }
    }

    /// Add another log's (several logs read for one report).
    pub fn merge(&mut self, other: &Unrecognised) {
        self.count += other.count;
        for e in &other.examples {
            if self.examples.len() < MAX_EXAMPLES {
                self.examples.push(e.clone());
            }
        }
    }

    /// The note a report carries when there are any: how many, and that the report is partial.
    pub fn note(&self) -> Option<String> {
        (self.count > 0).then(|| {
            format!(
                "{} kernel log line{} named an event in a form osdoctor does not understand (e.g. {:?}): the report is partial, those events are not counted",
                self.count,
                if self.count == 1 { "" } else { "s" },
                self.examples.first().map_or("", String::as_str)
            )
        })
    }
}

/// The first event keyword in `text`, unless the line is an event's trailer.
pub fn keyword_of(text: &str) -> Option<&'static str> {
    if TRAILERS.iter().any(|t| text.starts_with(t)) {
        return None;
    }
    EVENT_KEYWORDS.iter().copied().find(|k| text.contains(k))
}
