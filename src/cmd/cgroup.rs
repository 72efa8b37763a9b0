//! `osdoctor cgroup TARGET`: one pod, container or cgroup, its limits, usage, processes and findings.

use std::time::Duration;

use osdoctor::cli::CgroupArgs;
use osdoctor::pipeline::cgroup::{self, CgroupOptions};
use osdoctor::pipeline::source::Source;
use osdoctor::report::Format;
use osdoctor::report::render::render;

use super::{emit, load_rules, use_color};

/// `osdoctor cgroup TARGET`: an unknown or ambiguous target is an error (exit 3) with the resolver's
/// message; otherwise the exit code is the verdict.
pub fn run(args: CgroupArgs) -> anyhow::Result<u8> {
    let rules = load_rules(args.rules.as_deref())?;
    let source = Source::open(args.root.as_deref())?;
    let opts = CgroupOptions {
        interval: Duration::from_secs_f64(args.interval),
        timeout: Duration::from_secs_f64(args.timeout),
        rules: &rules,
    };
    let report = cgroup::run(&source, &args.target, &opts)?;
    let format = Format::from(args.format);
    let mut buf = Vec::new();
    let color = format == Format::Table && args.output.is_none() && use_color();
    render(&report, format, color, &mut buf)?;
    emit(args.output.as_deref(), &buf)?;
    Ok(report.status.exit_code())
}
