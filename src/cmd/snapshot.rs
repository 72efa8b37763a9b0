//! `osdoctor snapshot -o PATH`: capture exactly the files `check` reads, both samples with their
//! timestamps, a metadata file and the live run's report, to a directory or a `.tar.gz`
//! (the format: [`osdoctor::pipeline::snapshot`]).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;

use osdoctor::cli::SnapshotArgs;
use osdoctor::collect::SystemInfo;
use osdoctor::pipeline::check::{self, CheckOptions};
use osdoctor::pipeline::collectors::Scope;
use osdoctor::pipeline::deadline;
use osdoctor::pipeline::snapshot::{
    self, FORMAT_VERSION, META_FILE, REPORT_FILE, SampleMeta, SnapshotMeta, TempDir, is_archive,
    realtime_minus_monotonic,
};
use osdoctor::pipeline::source::Plan;
use osdoctor::report::Report;
use osdoctor::root::Root;
use osdoctor::rules::{Rule, catalog};

/// How long a capture may read beyond its interval before it gives up on a blocked read.
const CAPTURE_TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(args: SnapshotArgs) -> anyhow::Result<u8> {
    let rules = catalog::builtin()?;
    let (meta, report) = capture(&args.output, Duration::from_secs_f64(args.interval), &rules)
        .with_context(|| format!("snapshot -o {}", args.output.display()))?;
    let mut msg = format!(
        "osdoctor: wrote {} ({} sample{}, {:.1} s apart) from host {}; replay with: osdoctor check --root {}\n",
        args.output.display(),
        meta.samples.len(),
        if meta.samples.len() == 1 { "" } else { "s" },
        meta.interval_s,
        meta.hostname,
        args.output.display()
    );
    let found: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} ({})", f.rule, f.severity.name()))
        .collect();
    msg.push_str(&format!(
        "status when captured: {}{}\n",
        report.status.label(),
        if found.is_empty() {
            String::new()
        } else {
            format!(": {}", found.join(", "))
        }
    ));
    if meta.partial {
        msg.push_str(&format!(
            "the capture is partial: a read did not finish within {} s, and the snapshot holds what was read by then (see its metadata).\n",
            CAPTURE_TIMEOUT.as_secs()
        ));
    }
    if !meta.unreadable.is_empty() {
        msg.push_str(&format!(
            "{} files could not be read and are absent from the snapshot (see its metadata).\n",
            meta.unreadable.len()
        ));
    }
    eprint!("{msg}");
    Ok(0)
}

/// Capture the live system into `out` (a directory, created; or a file ending in .tar.gz / .tgz).
fn capture(out: &Path, interval: Duration, rules: &[Rule]) -> anyhow::Result<(SnapshotMeta, Report)> {
    if is_archive(out) {
        let staging = TempDir::new("osdoctor-snapshot")?;
        let captured = capture_dir(staging.path(), interval, rules)?;
        snapshot::pack(staging.path(), out)?;
        return Ok(captured);
    }
    capture_dir(out, interval, rules)
}

fn capture_dir(dir: &Path, interval: Duration, rules: &[Rule]) -> anyhow::Result<(SnapshotMeta, Report)> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        anyhow::bail!(
            "{}: exists and is not empty; choose a new directory",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let offset = realtime_minus_monotonic();
    let started = Utc::now();
    let root1 = Root::live_recording(dir.join("sample1"));
    let root2 = (!interval.is_zero()).then(|| Root::live_recording(dir.join("sample2")));
    // Command lines of the processes the report names are read after the rules ran: recorded
    // (redacted) into the last sample, where a replay reads them back.
    let late_root = root2.clone().unwrap_or_else(|| root1.clone());
    let plan = Plan {
        first: root1.clone(),
        second: root2.clone(),
        sleep: interval,
        recorded: Vec::new(),
        si: SystemInfo::live(),
        late_root,
        recorded_partial: false,
        sosreport: None,
    };
    // The same passes under the same deadline as `check`: a read that blocks leaves a partial
    // snapshot, said so, rather than a hung command.
    let collected = deadline::collect(plan, Scope::Host, CAPTURE_TIMEOUT);
    for root in std::iter::once(&root1).chain(root2.as_ref()) {
        if let Some(e) = root.recording_error() {
            anyhow::bail!("writing the snapshot failed: {e}");
        }
    }
    let Some(s1) = collected.first.as_ref() else {
        anyhow::bail!(
            "the first sample could not be taken within {}s",
            CAPTURE_TIMEOUT.as_secs()
        );
    };
    let si = collected.si;
    let samples: Vec<SampleMeta> = std::iter::once(s1)
        .chain(collected.second.as_ref())
        .zip(["sample1", "sample2"])
        .map(|(s, dir)| SampleMeta {
            dir: dir.into(),
            mono_secs: s.mono_secs,
            wall: s.wall,
        })
        .collect();
    let meta = SnapshotMeta {
        format: "osdoctor-snapshot".into(),
        format_version: FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        created_at: s1.wall,
        hostname: s1.host.hostname.clone().unwrap_or_default(),
        kernel: s1.host.kernel_release.clone().unwrap_or_default(),
        ticks_per_second: si.ticks_per_second,
        page_size: si.page_size,
        boot_time_secs: si.boot_time_secs,
        realtime_minus_monotonic_secs: offset,
        interval_s: samples
            .get(1)
            .map(|s| s.mono_secs - samples[0].mono_secs)
            .unwrap_or(0.0),
        samples,
        unreadable: collected.coverage.problems.clone(),
        partial: collected.partial,
    };
    std::fs::write(dir.join(META_FILE), serde_json::to_string_pretty(&meta)? + "\n")?;

    // The report of this live run, from the very samples just written.
    let opts = CheckOptions {
        interval,
        timeout: CAPTURE_TIMEOUT,
        rules,
        state: None,
        min_severity: osdoctor::rules::Severity::Info,
        since: Some(chrono::Duration::hours(24)),
        pids: &[],
        // A snapshot only ever holds redacted command lines (see Root::read_recorded_as).
        redact: true,
        ignore: &[],
    };
    let report = check::build_report("/", "live", None, &collected, &opts, started)?;
    std::fs::write(
        dir.join(REPORT_FILE),
        serde_json::to_string_pretty(&report)? + "\n",
    )?;
    Ok((meta, report))
}
