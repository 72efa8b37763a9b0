//! `osdoctor completions bash|zsh|fish`: shell completions from the CLI definition itself.

use clap::CommandFactory;
use clap_complete::Shell as Generator;

use osdoctor::cli::{Cli, Shell};

use super::write_out;

pub fn run(shell: Shell) -> anyhow::Result<u8> {
    let generator = match shell {
        Shell::Bash => Generator::Bash,
        Shell::Zsh => Generator::Zsh,
        Shell::Fish => Generator::Fish,
    };
    let mut buf = Vec::new();
    clap_complete::generate(generator, &mut Cli::command(), "osdoctor", &mut buf);
    write_out(&buf)?;
    Ok(0)
}
