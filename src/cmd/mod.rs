//! One thin module per subcommand, named as the CLI names it: arguments -> pipeline -> renderer ->
//! exit code. What they share: writing to stdout, loading the rules, whether to colour.

pub mod cgroup;
pub mod check;
pub mod completions;
pub mod kernel_log;
pub mod repeat;
pub mod rules;
pub mod snapshot;

use std::io::{self, IsTerminal, Write};

use osdoctor::rules::{Rule, catalog, load};

/// Write to stdout at once; a closed pipe (`| head`) ends quietly.
pub fn write_out(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Write a report to `-o FILE` atomically (no reader ever sees half of it), or to stdout (no `-o`,
/// or `-o -`).
pub fn emit(output: Option<&std::path::Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match output {
        Some(path) if path.as_os_str() != "-" => osdoctor::atomic_file::write_atomic(path, bytes)
            .map_err(|e| anyhow::anyhow!("-o {}: {e}", path.display())),
        _ => write_out(bytes),
    }
}

pub fn load_rules(extra: Option<&std::path::Path>) -> anyhow::Result<Vec<Rule>> {
    let extra = match extra {
        Some(dir) => load::load_dir(dir)?,
        None => Vec::new(),
    };
    Ok(catalog::merged(extra)?)
}

pub fn use_color() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
