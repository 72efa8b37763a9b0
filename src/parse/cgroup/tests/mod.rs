//! Tests of the cgroup parsers on real and documented file contents, and on arbitrary bytes. Test data
//! lives in `tests/data/cgroupfs/` (see its README for which files are real).

mod documented_v2;
pub(crate) mod no_panic;
mod real_files;

use std::path::{Path, PathBuf};

/// `tests/data/cgroupfs/<rel>`.
pub(crate) fn data_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cgroupfs")
        .join(rel)
}

/// A file of the test data, as text.
pub(crate) fn data(rel: &str) -> String {
    let p = data_path(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
