//! `osdoctor check`: every rule over the host, its cgroups, processes and kernel log; once, or
//! every `--every` until stopped.

use std::time::{Duration, Instant};

use anyhow::Context;

use osdoctor::cli::CheckArgs;
use osdoctor::pipeline::check::{self, CheckOptions};
use osdoctor::pipeline::source::Source;
use osdoctor::report::render::render;
use osdoctor::report::{Format, Status};
use osdoctor::rules::ignore;

use super::repeat::Stop;
use super::{emit, load_rules, use_color};

pub fn run(args: CheckArgs) -> anyhow::Result<u8> {
    let rules = load_rules(args.rules.as_deref())?;
    let source = Source::open(args.root.as_deref())?;
    let mut ignore = args.ignore.clone();
    if let Some(path) = &args.ignore_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("--ignore-file {}", path.display()))?;
        ignore.extend(ignore::parse_file(path, &text).map_err(anyhow::Error::msg)?);
    }
    // A pattern no rule id matches is a typo: it would ignore nothing, silently.
    for pattern in &ignore {
        if !rules.iter().any(|r| pattern.matches_rule(&r.id)) {
            eprintln!(
                "osdoctor: warning: --ignore {}: no rule matches it (osdoctor rules list shows the ids)",
                pattern.text
            );
        }
    }
    let opts = CheckOptions {
        interval: Duration::from_secs_f64(args.interval),
        timeout: Duration::from_secs_f64(args.timeout),
        rules: &rules,
        state: args.state.as_deref(),
        min_severity: args.min_severity.into(),
        since: args.since.0,
        pids: &args.pids,
        redact: !args.no_redact,
        ignore: &ignore,
    };
    let Some(every) = args.every else {
        return Ok(once(&source, &opts, &args)?.exit_code());
    };
    let stop = Stop::install()?;
    let mut runs = 0u64;
    loop {
        let started = Instant::now();
        runs += 1;
        // A run that fails (a state file another tool broke, a full disk under -o) is said and
        // the next one tried: a DaemonSet's container must not die of one bad minute.
        match once(&source, &opts, &args) {
            Ok(status) => eprintln!(
                "osdoctor: run {runs}: {}{}",
                status.label(),
                args.output
                    .as_ref()
                    .map(|p| format!(", wrote {}", p.display()))
                    .unwrap_or_default()
            ),
            Err(e) => eprintln!("osdoctor: run {runs} failed: {e:#}"),
        }
        if stop.wait_until(started + every) {
            eprintln!("osdoctor: stopped by a signal after {runs} runs");
            return Ok(0);
        }
    }
}

/// One run: report, render, write (to -o FILE atomically, or stdout); its verdict.
fn once(source: &Source, opts: &CheckOptions, args: &CheckArgs) -> anyhow::Result<Status> {
    let report = check::run(source, opts)?;
    let mut buf = Vec::new();
    let color = args.format == Format::Table && args.output.is_none() && use_color();
    render(&report, args.format, color, &mut buf)?;
    emit(args.output.as_deref(), &buf)?;
    Ok(report.status)
}
