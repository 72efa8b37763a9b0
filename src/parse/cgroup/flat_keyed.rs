//! Flat-keyed files: `memory.stat`, `memory.events`, `memory.events.local`, `memory.swap.events`,
//! `cpu.stat`, `pids.events`, `cgroup.events`, `cgroup.stat`, and the v1 `memory.oom_control`,
//! `cpu.stat`, `cpuacct.stat` and `memory.stat`.
//!
//! Documentation/admin-guide/cgroup-v2.rst, "Format":
//!
//! ```text
//!   Flat keyed
//!
//!     KEY0 VAL0\n
//!     KEY1 VAL1\n
//! ```
//!
//! and of memory.stat: "new entries can show up in the middle. Don't rely on items remaining in a
//! fixed position; use the keys to look up specific values!" So every typed reader in this module
//! looks values up by name in a [`FlatKeyed`] map, never by position.

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::{ParseError, parse_u64};

/// The `key value` pairs of one flat-keyed file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FlatKeyed(BTreeMap<String, u64>);

impl FlatKeyed {
    /// The value of `key`, if the file had it.
    pub fn get(&self, key: &str) -> Option<u64> {
        self.0.get(key).copied()
    }

    /// The value of the first of `keys` the file has: for counters renamed between kernels
    /// (`workingset_refault_file`, before 5.9 `workingset_refault`).
    pub fn get_first(&self, keys: &[&str]) -> Option<u64> {
        keys.iter().find_map(|k| self.get(k))
    }

    /// A 0/1 flag such as `populated` or `under_oom`; any non-zero value counts as set.
    pub fn get_flag(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| v != 0)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

/// Parse a flat-keyed file. Blank lines are skipped (cgroup2 `cpu.stat.local` of a cgroup without the
/// cpu controller is empty); a line that is not exactly `KEY VALUE` with a non-negative integer value
/// is an error naming the line. A key seen twice keeps its last value.
pub fn parse(text: &str) -> Result<FlatKeyed, ParseError> {
    let mut map = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let mut words = line.split_ascii_whitespace();
        let Some(key) = words.next() else { continue };
        let Some(value) = words.next() else {
            return Err(ParseError::new(n, format!("key {key:?} has no value")));
        };
        if let Some(extra) = words.next() {
            return Err(ParseError::new(
                n,
                format!("expected \"KEY VALUE\", found a third word {extra:?} after {key:?}"),
            ));
        }
        map.insert(key.to_string(), parse_u64(value, n)?);
    }
    Ok(FlatKeyed(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_wherever_they_appear() {
        let a = parse("anon 1\nfile 2\n").unwrap();
        let b = parse("file 2\nkernel 9\nanon 1\n").unwrap();
        assert_eq!(a.get("anon"), b.get("anon"));
        assert_eq!(a.get("file"), Some(2));
        assert_eq!(b.get("kernel"), Some(9));
        assert_eq!(a.get("kernel"), None);
    }

    #[test]
    fn blank_lines_and_empty_files_are_fine() {
        assert!(parse("").unwrap().is_empty());
        assert_eq!(parse("\nmax 3\n\n").unwrap().get("max"), Some(3));
    }

    #[test]
    fn renamed_keys() {
        let old = parse("workingset_refault 7\n").unwrap();
        let new = parse("workingset_refault_anon 1\nworkingset_refault_file 5\n").unwrap();
        let keys = ["workingset_refault_file", "workingset_refault"];
        assert_eq!(old.get_first(&keys), Some(7));
        assert_eq!(new.get_first(&keys), Some(5));
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("anon 1\nfile x\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("\"x\""), "{e}");
        assert_eq!(parse("a 1\n\nlonely\n").unwrap_err().line, 3);
        assert_eq!(parse("a 1 2\n").unwrap_err().line, 1);
        assert_eq!(parse("a -1\n").unwrap_err().line, 1);
    }
}
