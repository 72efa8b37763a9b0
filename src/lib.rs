//! osdoctor: Linux production diagnostics over the kernel's own accounting.
//!
//! This is the map of the code: its layers, what each module does, and where to add what. It is kept
//! true with the code; `osdoctor` the binary (src/main.rs, src/cmd/) is a thin layer over this library.
//!
//! # The flow
//!
//! Data flows one way, top to bottom; no module imports one above it, and no two modules import each
//! other.
//!
//! ```text
//! main.rs, cmd/<subcommand>.rs   (binary) arguments -> pipeline -> renderer -> exit code
//!   pipeline/                    source -> passes under one deadline -> facts -> rules -> enrichment -> report
//!     source.rs                  --root: live "/", a root tree, a snapshot, a sosreport; the Plan of passes
//!     collectors.rs              REGISTRY: the collectors one pass runs, and the Scope of a command
//!     deadline.rs                the one worker: a blocked read is abandoned, the report is partial
//!     enrich.rs                  command lines of processes named in findings; pod and container names
//!                                (collect/kubelet_logs.rs); --state counters
//!     trend.rs                   the gauges a run records in the --state history; trend facts from it
//!     lifecycle.rs               first_seen, new, cleared; a kernel event already reported is info
//!     check.rs, cgroup/,         one run per command, from source to report model
//!     kernel_log.rs
//!     snapshot.rs                the snapshot format (written by cmd/snapshot.rs, read by source.rs)
//!     sosreport/                 a sosreport directory or archive as one sample at its capture: its
//!                                proc/ and sys/ through a Root, sysctl -a as /proc/sys, ps tables as
//!                                the processes, dmesg as the kernel log, df as statvfs
//!   report/                      report models (Report, CgroupReport, KernelLogReport), the renderer
//!                                trait Model, one writer per format (table, json, prometheus, nagios)
//!   state/                       the --state file: runs, counters, kernel events reported, the thinned
//!                                history (history.rs), its flock (lock.rs); loaded before the rules
//!                                run, recorded after
//!   atomic_file.rs               files written so that no reader sees half of one (--state, -o)
//!   rules/                       rules/*.toml loaded and evaluated: Finding, Severity, UseKind;
//!                                diagnose.rs the stories, ignore.rs `check --ignore` patterns
//!   facts/                       the flat, named view rules read; each module declares its FACTS
//!                                (container.rs: inside a container, its limits and its own cgroup's
//!                                use, which host rules with `[rule.in_container]` judge instead of
//!                                the host's /proc figures)
//!   sample.rs                    what one pass read (Sample) and a run collected (Collected)
//!   collect/                     I/O through Root only: one module per kernel source (container/:
//!                                whether osdoctor runs in a container, read before the cgroups, whose
//!                                own cgroup, "/" in a private cgroup namespace, is then judged)
//!   parse/                       pure: bytes in, types out, one module per kernel path
//!   root.rs, coverage.rs,        the only module that opens files; what could not be read;
//!   clock.rs, units.rs, redact.rs  the monotonic clock and rates; units and number formatting; secrets
//! ```
//!
//! # Invariants
//!
//! - Every read goes through [`root::Root`], so every source replays from a snapshot or a tree; a
//!   snapshot holds exactly the files a pass read (the recording root), and `parse/` never opens a file.
//! - A collector never fails as a whole: what it cannot read or understand goes to
//!   [`coverage::Coverage`], and the facts it would have given are absent, so the rules that need them
//!   are "not evaluated", never guessed.
//! - Every sample field is an `Option`; units are converted at read time (bytes, seconds); a rate over a
//!   counter that went backwards is `None` ([`clock::rate`]).
//! - One deadline worker ([`pipeline::deadline`]) takes the passes of every command: a read that blocks
//!   is abandoned at `--interval` + `--timeout`, and the report comes out marked partial.
//! - Collectors know nothing of rules, rules nothing of files, renderers nothing of /proc.
//!
//! # Where to add what
//!
//! - **A kernel source**, say `/proc/net/snmp`: a pure parser `parse/proc_net_snmp.rs` (tested on
//!   real bytes); a collector `collect/net.rs` that reads it through `Root` into its own sample type and
//!   records problems in coverage; a field for that type in [`sample::Sample`]; one entry in
//!   [`pipeline::collectors::REGISTRY`] (say whether the second pass re-reads it, for rates).
//! - **A fact**: one `fact!` line in the `FACTS` of the `facts/` module that computes it, next to the
//!   code that sets it; `osdoctor rules facts` lists it and rule files may name it.
//! - **A subject kind** (disk, mount, nic and numa_node are done this way): a variant of
//!   [`facts::SubjectKind`], the collector that produces its readings (`collect/disk.rs`), a
//!   `facts/<kind>.rs` that derives one [`facts::Subject`] per thing (`facts/disk.rs`), called from
//!   [`facts::derive`], which also says when the host lacks the resource (the grid's "absent"; a
//!   resource lacked host-wide, such as NUMA on a single-node host, also makes its rules on other
//!   subjects absent through [`facts::FactSet::lacks`] on the host's facts, as `facts/numa.rs` does).
//! - **A live-only reading** (a syscall a directory cannot replay, such as `statvfs()`): take it
//!   through [`root::Root`] (or only when [`root::Root::is_live`], as `collect/listen.rs` asks
//!   sock_diag), record it with [`root::Root::record_file`] in a file of osdoctor's own
//!   (documented in `pipeline/snapshot.rs`), read that file back in a replay; if it can block, read it
//!   last in the pass and publish progress, as `collect/filesystem.rs` does.
//! - **A trend over runs** (a gauge that leaks): its gauge in `state/history.rs`'s `TrendKind::gauges`
//!   and `pipeline/trend.rs`'s `gauge_facts` (a changed gauge list drops that kind's old history),
//!   a `TrendFacts` in `facts/trend.rs` and its limit in `pipeline/trend.rs` (in `derive`, and in
//!   `limits`, which ranks who keeps a history), then a rule on
//!   `*.growth_runs` and `*.seconds_to_limit` as `fd.leak_trend` is.
//! - **A rule**: an entry in `rules/<resource>.toml` (no Rust change), with a fixture where it fires
//!   and one where it stays quiet; `osdoctor rules check DIR` validates a file.
//! - **A format**: a writer in `report/` (as `prometheus.rs`, `nagios.rs`) over the one renderer trait
//!   [`report::model::Model`], a variant of [`report::Format`], and its arm in
//!   [`report::render::render`]; every command then offers it.
//! - **A command**: a module in the binary's `cmd/`, a run in `pipeline/`, its model in `report/`.

pub mod atomic_file;
pub mod cli;
pub mod clock;
pub mod collect;
pub mod coverage;
pub mod facts;
pub mod parse;
pub mod pipeline;
pub mod redact;
pub mod report;
pub mod root;
pub mod rules;
pub mod sample;
pub mod state;
pub mod units;
