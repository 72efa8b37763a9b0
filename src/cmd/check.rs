//! `osdoctor check`: every rule over the host, its cgroups, processes and kernel log.

use std::time::Duration;

use osdoctor::cli::CheckArgs;
use osdoctor::pipeline::check::{self, CheckOptions};
use osdoctor::pipeline::source::Source;
use osdoctor::report::Format;
use osdoctor::report::render::render;

use super::{load_rules, use_color, write_out};

pub fn run(args: CheckArgs) -> anyhow::Result<u8> {
    let rules = load_rules(args.rules.as_deref())?;
    let source = Source::open(args.root.as_deref())?;
    let opts = CheckOptions {
        interval: Duration::from_secs_f64(args.interval),
        timeout: Duration::from_secs_f64(args.timeout),
        rules: &rules,
        state: args.state.as_deref(),
        min_severity: args.min_severity.into(),
        since: args.since.0,
        pids: &args.pids,
        redact: !args.no_redact,
    };
    let report = check::run(&source, &opts)?;
    let mut buf = Vec::new();
    render(
        &report,
        args.format,
        args.format == Format::Table && use_color(),
        &mut buf,
    )?;
    write_out(&buf)?;
    Ok(report.status.exit_code())
}
