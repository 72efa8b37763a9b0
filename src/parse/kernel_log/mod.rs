//! The kernel log: record parsers (/dev/kmsg, dmesg, journalctl -k, syslog) and event recognisers.
//! Lines that name an event no recogniser understood are counted ([`Unrecognised`]).
//!
//! Pure functions over bytes and records; reading /dev/kmsg or a file is the caller's job.
//!
//! ```text
//! bytes of /dev/kmsg records   --parse_kmsg------------\
//! saved dmesg / journal / syslog --parse_text(_bytes)---> ParsedLog { records, lost, skipped_lines }
//! records --diagnose--> Diagnosis { events, lost, unrecognised }  --resolve_wall_times(boot time)--> events with times
//! ```
//!
//! The modules, each importing only those below it (`a -> b`: a imports b):
//!
//! ```text
//! diagnose     the driver: diagnose, Diagnosis, resolve_wall_times
//!   -> oom, lines, events, record, unrecognised
//! unrecognised EVENT_KEYWORDS, and the lines that name an event no recogniser understood
//! oom          follows OOM reports across their lines, one kill per victim
//!   -> oom_lines, helpers, events, record
//! oom_lines    the `Killed process` line and the `oom-kill:` summary, parsed one at a time
//!   -> helpers, events
//! lines        the line scanner: runs the per-line recognisers in order, joins follow-up lines
//!   -> process, storage, hardware, limits, events, record
//! process      segfaults and traps, hung tasks, oopses / BUGs / lockups / RCU stalls / panics
//! storage      block and buffer I/O errors, filesystem errors and shutdowns, NVMe
//! hardware     machine checks, CPER, EDAC
//! limits       SYN flood, conntrack, file-max, tcp_mem, fork rejected, lost messages
//!   (those four) -> helpers, events
//! helpers      rx, capture groups as numbers, kernel_release, KernelEvent::at
//!   -> events, record
//! events       the event types, their JSON form and one-line text: imports no sibling
//! kmsg         /dev/kmsg records                     -> record
//! text         saved dmesg / journal / syslog text: wrapped lines, years   -> text_line, record
//! text_line    one text line's prefix (the dialects)  -> journal_json, text_fields, record
//! journal_json journalctl -o json lines               -> record
//! text_fields  stamps, zones, month, facility and level names of a text line's prefix
//! record       LogRecord, Lost, ParsedLog, sequence_gaps: imports no sibling
//! ```
//!
//! Nothing here fails: lines that are not understood are skipped (those naming an event are
//! counted, see `unrecognised`), and arbitrary bytes are fine input (a property test checks that
//! nothing panics).
//!
//! # JSON form of an event
//!
//! [`KernelEvent`] serialises to one flat object. Every event has:
//!
//! | key | type | meaning |
//! |---|---|---|
//! | `kind` | string | `oom_kill`, `segfault`, `hung_task`, `oops`, `io_error`, `hardware_error`, `syn_flood`, `conntrack_full`, `file_max`, `tcp_mem`, `fork_rejected`, `lost` |
//! | `time` | RFC 3339 string or null | wall time of the key record (see `time_source`) |
//! | `time_source` | `logged`, `logged_zone_assumed`, `boot_time_plus_monotonic`, or null | where `time` came from |
//! | `mono_usec` | integer or null | printk timestamp, microseconds since boot |
//! | `seq` | integer or null | /dev/kmsg sequence number |
//! | `line` | string | the key line as the kernel wrote it |
//!
//! and the fields of its kind. Sizes are bytes (the kernel's kB are KiB), addresses are hex strings
//! (`"0x7ffcd5af7efc"`), anything a format may not print is `null`.
//!
//! - `oom_kill` ([`OomKill`]): `pid`, `comm`, `uid`, `total_vm_bytes`, `anon_rss_bytes`,
//!   `file_rss_bytes`, `shmem_rss_bytes`, `rss_bytes` (their sum), `pgtables_bytes`,
//!   `oom_score_adj`, `global` (bool: false when a memory cgroup hit its limit), `constraint`,
//!   `oom_memcg` (the cgroup whose limit was hit), `task_memcg` (the victim's), `cpuset`,
//!   `mems_allowed`, `oom_group` (memory.oom.group kills), `trigger_comm`, `trigger_pid`,
//!   `gfp_mask`, `order`, `memcg_usage_bytes`, `memcg_limit_bytes`, `memcg_failcnt`, `chosen_pid`,
//!   `chosen_comm`, `score` (pre-5.1 "Kill process ... or sacrifice child"), `kernel` (release),
//!   `kill_line_seen` (false: only the 5.0+ `oom-kill:` summary named the victim), `reaped`
//!   (an `oom_reaper` line followed; it is never a second kill).
//! - `segfault` ([`Segfault`]): `pid`, `comm`, `fault` (`segfault`, `general protection fault`,
//!   `divide error`, ..., arm64 `level 3 translation fault`), `address`, `ip`, `sp`, `error_code`,
//!   `error` {`protection`, `write`, `user`, `reserved`, `instruction_fetch`, `protection_key`},
//!   `esr`, `object`, `object_start`, `object_size`, `ip_offset`, `cpu`, `core`, `socket`,
//!   `likely_stack_overflow` (a user-mode write within 4096 bytes of sp).
//! - `hung_task` ([`HungTask`]): `pid`, `comm`, `blocked_secs` (as printed: 120, 122, 1228...).
//! - `oops` ([`Oops`]): `what` (`oops`, `null_pointer_dereference`, `paging_request`,
//!   `general_protection_fault`, `kernel_bug`, `bug`, `soft_lockup`, `hard_lockup`, `rcu_stall`,
//!   `panic`), `detail`, `pid`, `comm`, `cpu`, `stuck_secs`, `address`, `location`, `function`,
//!   `die`, `kernel`. WARNING splats are not events.
//! - `io_error` ([`IoError`]): `what` (`block_io`, `buffer_io`, `fs_error`, `fs_shutdown`,
//!   `remount_read_only`, `journal_aborted`, `metadata_io`, `nvme_timeout`, `nvme_reset`),
//!   `device`, `filesystem`, `sector`, `block`, `op`, `error`, `detail`, `comm` (ext2/3/4 errors
//!   name the task, never its pid).
//! - `hardware_error` ([`HardwareError`]): `source` (`mce`, `cper`, `edac`, `other`), `severity`,
//!   `cpu`, `bank`, `count`, `controller`, `detail`, `lines`.
//! - `syn_flood` ([`SynFlood`]): `port` (a string: newer kernels may print `addr:port`), `action`
//!   (`sending_cookies`, `dropping_request`), `ipv6`.
//! - `conntrack_full` ([`ConntrackFull`]): `table`.
//! - `file_max` ([`FileMax`]): `limit`.
//! - `tcp_mem` ([`TcpMem`]): `variant` (`out_of_memory`, `too_many_orphaned_sockets`).
//! - `fork_rejected` ([`ForkRejected`]): `cgroup`.
//! - `lost` ([`LostEvent`]): `what` (`callbacks_suppressed`, `printk_dropped`, `kmsg_gap`), `name`,
//!   `count`, `after_seq`.
//!
//! Example (the OOM kill induced on the test machine, from `dmesg -T`):
//!
//! ```json
//! {"kind":"oom_kill","pid":8060,"comm":"python3","uid":0,"total_vm_bytes":285401088,
//!  "anon_rss_bytes":66686976,"file_rss_bytes":6590464,"shmem_rss_bytes":0,"rss_bytes":73277440,
//!  "pgtables_bytes":200704,"oom_score_adj":0,"global":false,"constraint":"CONSTRAINT_MEMCG",
//!  "oom_memcg":"/osdoctor-oomtest","task_memcg":"/osdoctor-oomtest","cpuset":"/","mems_allowed":"0",
//!  "oom_group":null,"trigger_comm":"python3","trigger_pid":8060,"gfp_mask":"0xcc0(GFP_KERNEL)",
//!  "order":0,"memcg_usage_bytes":67108864,"memcg_limit_bytes":67108864,"memcg_failcnt":0,
//!  "chosen_pid":null,"chosen_comm":null,"score":null,"kernel":"6.18.44-fc-v657",
//!  "kill_line_seen":true,"reaped":false,"time":"2026-11-23T16:01:00Z",
//!  "time_source":"logged_zone_assumed","mono_usec":null,"seq":null,
//!  "line":"Memory cgroup out of memory: Killed process 8060 (python3) total-vm:278712kB, ..."}
//! ```
//!
//! For humans, [`KernelEvent::one_line`] (also `Display`) gives e.g.
//! `oom_kill       pid 8060 (python3) rss 69.9 MiB, memcg /osdoctor-oomtest, global=false`.

mod diagnose;
mod events;
mod hardware;
mod helpers;
mod journal_json;
mod kmsg;
mod limits;
mod lines;
mod oom;
mod oom_lines;
mod process;
mod record;
mod storage;
mod text;
mod text_fields;
mod text_line;
mod unrecognised;

pub use diagnose::{Diagnosis, diagnose, resolve_wall_times};
pub use events::{
    ConntrackFull, EventKind, FileMax, ForkRejected, HardwareError, HungTask, IoError, IoErrorKind,
    KernelEvent, LostEvent, OomKill, Oops, OopsKind, PageFaultError, Segfault, SynFlood, TcpMem, TimeSource,
};
pub use kmsg::parse_kmsg;
pub use record::{LogRecord, Lost, ParsedLog, sequence_gaps};
pub use text::{TextOptions, parse_text, parse_text_bytes, parse_text_bytes_with, parse_text_with};
/// `Z`, `+0100`, `+01:00`, `-05`: a zone as logs and `date` write it.
pub use text_fields::parse_offset;
pub use unrecognised::{EVENT_KEYWORDS, MAX_EXAMPLES, Unrecognised, keyword_of};

#[cfg(test)]
mod dialect_tests;
#[cfg(test)]
mod public_log_tests;
#[cfg(test)]
mod review_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod text_tests;
