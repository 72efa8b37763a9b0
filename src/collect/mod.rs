//! Collectors: one module per kernel source. They read through [`crate::root::Root`], fill typed
//! samples and record what they could not read in [`crate::coverage::Coverage`]. They know nothing of rules.

pub mod cgroup;
pub mod host;
pub mod kmsg;
pub mod proc_net_tcp;
pub mod proc_pid;
pub mod process;

use crate::coverage::Coverage;
use crate::root::Root;

/// Read `path` and parse it; a failure is recorded in coverage and gives `None`.
pub(crate) fn read_parsed<T>(
    root: &Root,
    path: &str,
    cov: &mut Coverage,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    match root.read_string(path) {
        Ok(text) => match parse(&text) {
            Ok(v) => {
                cov.read_ok(path);
                Some(v)
            }
            Err(why) => {
                cov.malformed(path, why);
                None
            }
        },
        Err(e) => {
            cov.read_failed(&e);
            None
        }
    }
}
