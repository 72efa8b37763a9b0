//! `osdoctor kernel-log`: kernel events from /dev/kmsg or a saved log, and the kernel-log rules.

use osdoctor::cli::KernelLogArgs;
use osdoctor::pipeline::source::Source;
use osdoctor::report::Format;
use osdoctor::rules::catalog;

use super::write_out;

pub fn run(args: KernelLogArgs) -> anyhow::Result<u8> {
    use osdoctor::kernel_report::{self, LogInput};
    let rules = catalog::builtin()?;
    let since = args.since.map(|s| s.0);
    let report = match &args.file {
        Some(path) => kernel_report::run(LogInput::File(path), since, &rules)?,
        None => {
            let source = Source::open(args.root.as_deref())?;
            kernel_report::run(LogInput::Source(&source), since, &rules)?
        }
    };
    let mut buf = Vec::new();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut buf, &report)?;
            buf.push(b'\n');
        }
        _ => kernel_report::render_table(&report, &mut buf)?,
    }
    write_out(&buf)?;
    Ok(report.status.exit_code())
}
