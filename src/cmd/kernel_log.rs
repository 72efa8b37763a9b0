//! `osdoctor kernel-log`: kernel events from /dev/kmsg or a saved log, and the kernel-log rules.

use osdoctor::cli::KernelLogArgs;
use osdoctor::pipeline::kernel_log::{self, LogInput};
use osdoctor::pipeline::source::Source;
use osdoctor::report::Format;
use osdoctor::report::render::render;
use osdoctor::rules::catalog;

use super::{emit, use_color};

pub fn run(args: KernelLogArgs) -> anyhow::Result<u8> {
    let rules = catalog::builtin()?;
    let since = args.since.map(|s| s.0);
    let report = match &args.file {
        Some(path) => kernel_log::run(LogInput::File(path), since, &rules)?,
        None => {
            let source = Source::open(args.root.as_deref())?;
            kernel_log::run(LogInput::Source(&source), since, &rules)?
        }
    };
    let format = Format::from(args.format);
    let mut buf = Vec::new();
    let color = format == Format::Table && args.output.is_none() && use_color();
    render(&report, format, color, &mut buf)?;
    emit(args.output.as_deref(), &buf)?;
    Ok(report.status.exit_code())
}
