//! `--format json`: the report contract of DESIGN.md §4, pretty-printed.

use std::io::{self, Write};

use super::{Render, Report};

pub struct Json;

impl Render for Json {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
        writeln!(out)
    }
}
