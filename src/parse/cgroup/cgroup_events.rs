//! cgroup2 `cgroup.events`.
//!
//! cgroup-v2.rst: "cgroup.events  A read-only flat-keyed file which exists on non-root cgroups. ...
//! populated: 1 if the cgroup or its descendants contains any live processes; otherwise, 0. frozen: 1
//! if the cgroup is frozen; otherwise, 0." (`frozen` since 5.2.)

use serde::Serialize;

use super::error::ParseError;
use super::flat_keyed;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CgroupEvents {
    pub populated: Option<bool>,
    pub frozen: Option<bool>,
}

/// Parse `cgroup.events`.
pub fn parse(text: &str) -> Result<CgroupEvents, ParseError> {
    let m = flat_keyed::parse(text)?;
    Ok(CgroupEvents {
        populated: m.get_flag("populated"),
        frozen: m.get_flag("frozen"),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn populated_and_frozen() {
        let e = super::parse("populated 1\nfrozen 0\n").unwrap();
        assert_eq!(e.populated, Some(true));
        assert_eq!(e.frozen, Some(false));
        // 4.x kernels have no frozen key.
        assert_eq!(super::parse("populated 0\n").unwrap().frozen, None);
    }
}
