//! The command line, as clap derive types. Doc comments are the help text and the man pages
//! (man/*.1 are generated from these definitions; see tests/cli.rs).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;
use crate::rules::Severity;
use crate::rules::ignore::IgnorePattern;

/// Diagnose a sick Linux host or pod from the kernel's own accounting.
///
/// osdoctor reads /proc and /sys twice over a short interval, runs a USE-method rule engine
/// (Utilization, Saturation, Errors for every resource) and says what is wrong, the OS mechanism
/// behind it, the numbers, and what to do next.
///
/// Exit codes (monitoring-plugin convention): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (usage error,
/// unreadable root, rules that do not load, or a report that could not be completed).
#[derive(Debug, Parser)]
#[command(name = "osdoctor", version, about, long_about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check this host (or a snapshot) and report what is wrong.
    ///
    /// Samples twice, --interval apart, evaluates every rule and prints the verdict, the findings
    /// worst first, a USE grid, and what could not be checked. The exit code is the verdict.
    Check(CheckArgs),
    /// Show one pod, container or cgroup: limits, usage, events, throttling, processes, findings.
    ///
    /// TARGET is a cgroup path (absolute in the hierarchy, relative to it, or a directory under a
    /// cgroup mount), a PID, a container ID (64 hex digits or a unique prefix of at least 12, also
    /// as containerd://ID), or a Kubernetes pod UID (with dashes or underscores; the systemd and
    /// cgroupfs cgroup drivers alike); on a node with the kubelet's log tree (/var/log/pods) also
    /// namespace/pod-name, or a pod or container name unique on the node. A pod shows its pod cgroup
    /// and each container's, the pause container marked, named with their restart counts when the
    /// log tree gives them. Samples twice, --interval apart, and runs every rule that applies to the
    /// target: the cgroup rules, the process rules for its processes, and the kernel-log rules for the
    /// last day's events whose cgroup is the target or inside it (OOM kills with the limit hit,
    /// refused forks), each named with its container. A target whose cgroup is gone but that the
    /// kernel log names (a container ID or prefix, a pod UID, a path) is reported from those events,
    /// saying it is gone and when the log last saw it. The exit code is the verdict; a target that
    /// matches nothing, or more than one thing, exits 3 with what was searched or what matched.
    Cgroup(CgroupArgs),
    /// Capture everything `check` reads (both samples) for replay with `check --root`.
    ///
    /// Writes a directory, or a compressed archive when PATH ends in .tar.gz or .tgz.
    /// Environment variables are never captured.
    Snapshot(SnapshotArgs),
    /// Kernel events diagnosed from the kernel log: OOM kills, segfaults, hung tasks, oopses, I/O
    /// and hardware errors, SYN floods, conntrack and file-max exhaustion, refused forks.
    ///
    /// Reads /dev/kmsg (root, or CAP_SYSLOG where kernel.dmesg_restrict = 1), or a saved `dmesg`,
    /// `dmesg -T`, `journalctl -k`, syslog or /dev/kmsg file with --file. Prints the events newest
    /// first, one line each, then the findings; the exit code is the verdict of those findings.
    KernelLog(KernelLogArgs),
    /// List, explain or validate rules.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Print the JSON Schema of the `--format json` report.
    Schema,
    /// Print shell completions: `osdoctor completions bash > /etc/bash_completion.d/osdoctor`.
    ///
    /// For zsh, write it as `_osdoctor` in a directory of $fpath; for fish, to
    /// ~/.config/fish/completions/osdoctor.fish.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// Shells `osdoctor completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Read DIR instead of the live system: a snapshot made by `osdoctor snapshot` (directory or
    /// .tar.gz), a sosreport (directory or .tar.xz, .tar.gz, .tar.bz2: one sample at its capture
    /// time), or a root-like tree such as a host's / mounted at /host in a debug container.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Seconds between the two samples. 0 takes one sample; rules that need a rate are then
    /// reported as not evaluated.
    #[arg(long, value_name = "SECS", default_value_t = 1.0, value_parser = parse_seconds)]
    pub interval: f64,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Also load the rules in DIR/*.toml; a rule with a built-in id replaces the built-in.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,

    /// Give up on reads that take longer than this (seconds, not counting --interval); the report
    /// still comes out, marked partial, with exit code 3 unless something critical was found.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse_positive_seconds)]
    pub timeout: f64,

    /// Remember findings in FILE across runs (JSON): a firing rule then holds until its clear level,
    /// so cron checks do not flap, and the trend rules see what grew run after run. Created when
    /// missing; locked with FILE.lock.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// How far back kernel-log events count: 90s, 30m, 24h, 7d, 2w, or `all`.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_since)]
    pub since: Since,

    /// Show only the problems (stories) at this severity or above, each whole with its cause (the exit
    /// code still reflects all findings).
    #[arg(long, value_enum, value_name = "LEVEL", default_value_t = MinSeverity::Info)]
    pub min_severity: MinSeverity,

    /// Focus on this process (repeatable). Process rules (fd.process_near_limit,
    /// proc.context_switch_storm, ...) are evaluated only for the given PIDs; host rules still run
    /// and still name the top processes of the whole host. A PID that does not exist is noted in
    /// the coverage.
    #[arg(long = "pid", value_name = "PID", value_parser = clap::value_parser!(i32).range(1..))]
    pub pids: Vec<i32>,

    /// Show command lines as they are. By default the command lines of processes named in findings
    /// are shown with secrets replaced by [REDACTED]: values of password=, passwd=, token=, key=,
    /// secret= and the like, the argument after --password-style flags, Authorization headers,
    /// AWS access key ids and passwords in URLs. Snapshots always hold the redacted form.
    #[arg(long)]
    pub no_redact: bool,

    /// Write the report to FILE instead of standard output, atomically: a temporary file in the
    /// same directory, renamed over FILE, so that a reader (node_exporter's textfile collector)
    /// never sees half a report. A symlink is followed and kept; a device or FIFO is written in
    /// place; `-` is standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Check again every DURATION (30s, 5m, 1h) until stopped, for a container that must not exit:
    /// each run rewrites -o FILE and records in --state. The next run starts DURATION after the
    /// last one started (at once when a run took longer). SIGTERM or SIGINT ends it between runs:
    /// a run in progress finishes and writes its report first, and the exit code is then 0 (each
    /// run's verdict is in its report); a second signal ends it at once, with exit code 3. One line
    /// per run goes to standard error.
    #[arg(long, value_name = "DURATION", value_parser = parse_every)]
    pub every: Option<std::time::Duration>,

    /// Do not show or count findings matching RULE[:SUBJECT] (repeatable). Both are globs (`*` any
    /// characters, `?` one) over the rule id and the subject as the table prints it, whose first
    /// word may be left out: `net.*` (every network rule), `fd.process_near_limit:pid * (java)`,
    /// `fs.capacity:/mnt/*`, `cgroup.*:pod 0f3c*`. Ignored findings do not count in the exit code
    /// and are listed in the coverage (JSON `coverage.ignored`); their effects are still shown,
    /// told without them.
    #[arg(long = "ignore", value_name = "RULE[:SUBJECT]", value_parser = parse_ignore)]
    pub ignore: Vec<IgnorePattern>,

    /// Read more --ignore patterns from FILE: one per line; blank lines are skipped, and `#` starts
    /// a comment at the start of a line or after a space.
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
}

fn parse_ignore(s: &str) -> Result<IgnorePattern, String> {
    IgnorePattern::parse(s)
}

/// `--every`: 30s, 5m, 1h (as --since, without `all`), at least one second.
fn parse_every(s: &str) -> Result<std::time::Duration, String> {
    match crate::collect::kmsg::parse_since(s)? {
        None => Err(format!("{s:?}: expected a duration such as 30s, 5m or 1h")),
        Some(d) => Ok(std::time::Duration::from_secs(d.num_seconds().max(1) as u64)),
    }
}

#[derive(Debug, Args)]
pub struct KernelLogArgs {
    /// Read a saved log instead of /dev/kmsg: `dmesg` (-T, -H, -x, ...), `journalctl -k` (short, -o
    /// short-iso/precise/monotonic, -o json, -o json-pretty), syslog or RFC 5424 lines, OpenWrt
    /// logread, or /dev/kmsg records; the format is detected, gzip too. `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// How far back events count: 90s, 30m, 24h, 7d, 2w, or `all`. For --file the window ends at the
    /// newest event in the file, and the default is `all`; for /dev/kmsg it ends now, default 24h.
    #[arg(long, value_name = "DURATION", value_parser = parse_since)]
    pub since: Option<Since>,

    /// Read the kernel log of a snapshot or root tree (DIR/dev/kmsg), or of a sosreport (its saved
    /// dmesg; --since counts back from its capture), instead of the live one.
    #[arg(long, value_name = "DIR", conflicts_with = "file")]
    pub root: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = KernelLogFormat::Table)]
    pub format: KernelLogFormat,

    /// Write the report to FILE instead of standard output, atomically (a temporary file in the
    /// same directory, renamed over FILE; a device or FIFO is written in place; `-` is standard
    /// output).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Output formats of `osdoctor kernel-log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KernelLogFormat {
    /// One screen: verdict, the events newest first (one line each), then the findings.
    Table,
    /// The kernel-log report: source, records read, window, the events newest first (kind, time,
    /// pid, comm and the fields of each kind), lost records, status, findings, rules not evaluated.
    Json,
    /// Prometheus text: the verdict, one series per finding, events by kind, records read, messages
    /// lost.
    Prometheus,
    /// One monitoring-plugin status line with performance data, then one line per finding.
    Nagios,
}

impl From<KernelLogFormat> for Format {
    fn from(f: KernelLogFormat) -> Format {
        match f {
            KernelLogFormat::Table => Format::Table,
            KernelLogFormat::Json => Format::Json,
            KernelLogFormat::Prometheus => Format::Prometheus,
            KernelLogFormat::Nagios => Format::Nagios,
        }
    }
}

/// A `--since` window: `None` is `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Since(pub Option<chrono::Duration>);

fn parse_since(s: &str) -> Result<Since, String> {
    crate::collect::kmsg::parse_since(s).map(Since)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MinSeverity {
    Info,
    Warning,
    Critical,
}

impl From<MinSeverity> for Severity {
    fn from(m: MinSeverity) -> Severity {
        match m {
            MinSeverity::Info => Severity::Info,
            MinSeverity::Warning => Severity::Warning,
            MinSeverity::Critical => Severity::Critical,
        }
    }
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Where to write: a new directory, or a file ending in .tar.gz or .tgz.
    #[arg(short, long, value_name = "PATH")]
    pub output: PathBuf,

    /// Seconds between the two samples (0 = one sample).
    #[arg(long, value_name = "SECS", default_value_t = 1.0, value_parser = parse_seconds)]
    pub interval: f64,
}

#[derive(Debug, Args)]
pub struct CgroupArgs {
    /// A cgroup path, PID, container ID (or unique prefix of >= 12 hex digits), pod UID,
    /// namespace/pod-name, or a pod or container name unique on the node.
    #[arg(value_name = "TARGET")]
    pub target: String,

    /// Read DIR instead of the live system: a snapshot made by `osdoctor snapshot` (its two samples
    /// are replayed), a sosreport (directory or archive: one sample), or a root-like tree such as a
    /// host's / mounted at /host in a debug container.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Seconds between the two samples. 0 takes one sample; rules that need a rate are then
    /// reported as not evaluated. A snapshot keeps its recorded interval.
    #[arg(long, value_name = "SECS", default_value_t = 1.0, value_parser = parse_seconds)]
    pub interval: f64,

    /// Output format.
    #[arg(long, value_enum, default_value_t = CgroupFormat::Table)]
    pub format: CgroupFormat,

    /// Also load the rules in DIR/*.toml; a rule with a built-in id replaces the built-in.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,

    /// Give up on reads that take longer than this (seconds, not counting --interval); the report
    /// still comes out, marked partial.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse_positive_seconds)]
    pub timeout: f64,

    /// Write the report to FILE instead of standard output, atomically (a temporary file in the
    /// same directory, renamed over FILE; a device or FIFO is written in place; `-` is standard
    /// output).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Output formats of `osdoctor cgroup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CgroupFormat {
    /// One screen: verdict, findings worst first, then each cgroup's limits, usage, events,
    /// throttling, pids, pressure and processes.
    Table,
    /// The cgroup report: target, each cgroup's figures (bytes, seconds, ratios) with its
    /// processes and findings, coverage (shape: README, "osdoctor cgroup").
    Json,
    /// Prometheus text: the verdict, one series per finding, then per-cgroup gauges.
    Prometheus,
    /// One monitoring-plugin status line with performance data, then one line per finding.
    Nagios,
}

impl From<CgroupFormat> for Format {
    fn from(f: CgroupFormat) -> Format {
        match f {
            CgroupFormat::Table => Format::Table,
            CgroupFormat::Json => Format::Json,
            CgroupFormat::Prometheus => Format::Prometheus,
            CgroupFormat::Nagios => Format::Nagios,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// List the rules: id, levels, resource, USE kind, subject and title.
    List {
        /// Also load DIR/*.toml, as `check --rules DIR` would.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Explain one rule: its levels, evidence, cause, next steps and where the thresholds come from.
    Explain {
        /// A rule id, e.g. cpu.runqueue.
        id: String,
        /// Also load DIR/*.toml.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Validate the rule files in DIR; errors name the file, line and column (exit code 3).
    Check {
        /// A directory of *.toml rule files.
        dir: PathBuf,
    },
    /// List the facts rules can use, with their units and sources.
    Facts,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.0..=3600.0).contains(&v) {
        return Err(format!("{s} is out of range (0 to 3600 seconds)"));
    }
    Ok(v)
}

fn parse_positive_seconds(s: &str) -> Result<f64, String> {
    let v = parse_seconds(s)?;
    if v == 0.0 {
        return Err("must be greater than 0".to_string());
    }
    Ok(v)
}
