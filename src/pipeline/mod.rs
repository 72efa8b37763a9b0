//! The pipeline every command runs: source -> passes of the registered collectors under one deadline
//! worker -> samples -> facts -> rules -> findings -> enrichment -> report
//! (the models of [`crate::report`], which renders them).
//!
//! - [`source`]: where a run reads from (live, a root tree, a snapshot) and the [`source::Plan`] of
//!   its passes.
//! - [`collectors`]: the registry of collectors one pass runs, and the [`collectors::Scope`] of a
//!   command.
//! - [`deadline`]: the one worker that takes the passes and gives up on a blocked read at `--timeout`.
//! - [`enrich`]: command lines and `--state` counters, after the rules ran.
//! - [`trend`]: the history's gauges of a run, and the trend facts from the loaded `--state`.
//! - [`check`]: `check`'s run from source to report.
//! - [`cgroup`]: `cgroup`'s run: resolve TARGET, sample its cgroups, facts, the cgroup rules, report.
//! - [`kernel_log`]: `kernel-log`'s run: read the log, the `--since` window, the kernel rules, report.
//! - [`snapshot`]: the snapshot format, written by `osdoctor snapshot` and read back by [`source`].
//! - [`sosreport`]: a sosreport (directory or archive) read as one sample at its capture time.

pub mod cgroup;
pub mod check;
pub mod collectors;
pub mod deadline;
pub mod enrich;
pub mod kernel_log;
pub mod lifecycle;
pub mod snapshot;
pub mod sosreport;
pub mod source;
pub mod trend;
