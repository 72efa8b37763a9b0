//! `--format json`: the model's own serde shape, pretty-printed (`check`'s is the report contract of
//! DESIGN.md §4; `cgroup`'s and `kernel-log`'s are documented on their models).

use std::io::{self, Write};

use super::model::Model;

pub fn write<M: Model>(m: &M, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, m).map_err(io::Error::other)?;
    writeln!(out)
}
