//! User names: uid -> name from /etc/passwd, to name a process's owner.

use std::collections::BTreeMap;

use crate::coverage::Coverage;
use crate::root::Root;

/// uid -> name from /etc/passwd (absent: names are shown as numbers).
pub(super) fn read_users(root: &Root, cov: &mut Coverage) -> BTreeMap<u32, String> {
    match root.read_string("/etc/passwd") {
        Ok(text) => {
            cov.read_ok("/etc/passwd");
            text.lines()
                .filter_map(|l| {
                    let w: Vec<&str> = l.split(':').collect();
                    Some((w.get(2)?.parse().ok()?, w.first()?.to_string()))
                })
                .collect()
        }
        Err(_) => BTreeMap::new(),
    }
}
