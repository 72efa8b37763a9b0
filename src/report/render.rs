//! Every command's output: one report [`Model`], one function per format.

use std::io::{self, Write};

use super::Format;
use super::model::Model;
use super::style::Style;
use super::{json, nagios, prometheus};

/// Write `m` in `format`; `color` only affects the table.
pub fn render<M: Model>(m: &M, format: Format, color: bool, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => m.table(Style { color }, out),
        Format::Json => json::write(m, out),
        Format::Prometheus => prometheus::write(m, out),
        Format::Nagios => nagios::write(m, out),
    }
}
