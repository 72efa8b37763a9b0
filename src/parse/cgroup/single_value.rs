//! Single-value files: counters (`memory.current`, `memory.usage_in_bytes`, `memory.failcnt`,
//! `pids.current`, `cpu.cfs_period_us`, ...) and limits (`memory.max`, `memory.high`, `memory.low`,
//! `memory.min`, `memory.swap.max`, `pids.max`, v1 `memory.limit_in_bytes`).
//!
//! cgroup-v2.rst, "Conventions": "the special token \"max\" should be used to represent upward
//! infinity for both reading and writing". cgroup v1 has no such token for memory: an unlimited
//! `memory.limit_in_bytes` reads back as a huge number, `PAGE_COUNTER_MAX` pages rounded to the page
//! size (9223372036854771712 on x86-64 with 4 KiB pages, a different value with 64 KiB pages), so any
//! value at or above 2^62 is read as unlimited.

use serde::{Serialize, Serializer};

use super::error::{ParseError, parse_u64, single_line};

/// At or above this, a v1 limit means "no limit" (see the module documentation).
pub const V1_UNLIMITED_THRESHOLD: u64 = 1 << 62;

/// A limit: a number in the file's unit, or no limit at all.
///
/// Serialized as the number, or as the string `"max"` (the cgroup v2 spelling) when unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Unlimited,
    Value(u64),
}

impl Limit {
    /// The number, or `None` when unlimited.
    pub fn value(self) -> Option<u64> {
        match self {
            Limit::Unlimited => None,
            Limit::Value(v) => Some(v),
        }
    }

    pub fn is_unlimited(self) -> bool {
        self == Limit::Unlimited
    }
}

impl Serialize for Limit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Limit::Unlimited => s.serialize_str("max"),
            Limit::Value(v) => s.serialize_u64(*v),
        }
    }
}

/// A single non-negative counter (bytes, count, or the unit the file's name says).
pub fn parse_value(text: &str) -> Result<u64, ParseError> {
    let (n, word) = single_line(text)?;
    parse_u64(word, n)
}

/// A limit in either spelling: `max` (v2, and v1 `pids.max`) or a number, where a number at or above
/// [`V1_UNLIMITED_THRESHOLD`] is v1's "unlimited".
pub fn parse_limit(text: &str) -> Result<Limit, ParseError> {
    let (n, word) = single_line(text)?;
    if word == "max" {
        return Ok(Limit::Unlimited);
    }
    let v = parse_u64(word, n)?;
    Ok(if v >= V1_UNLIMITED_THRESHOLD {
        Limit::Unlimited
    } else {
        Limit::Value(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_limits() {
        assert_eq!(parse_limit("max\n").unwrap(), Limit::Unlimited);
        assert_eq!(parse_limit("67108864\n").unwrap(), Limit::Value(67108864));
        assert_eq!(parse_limit("0\n").unwrap(), Limit::Value(0));
    }

    #[test]
    fn v1_huge_numbers_are_unlimited() {
        // 4 KiB pages (x86-64) and 64 KiB pages (arm64, ppc64le) variants of PAGE_COUNTER_MAX.
        assert_eq!(parse_limit("9223372036854771712\n").unwrap(), Limit::Unlimited);
        assert_eq!(parse_limit("9223372036854710272\n").unwrap(), Limit::Unlimited);
        assert_eq!(parse_limit("4611686018427387904\n").unwrap(), Limit::Unlimited);
        assert_eq!(
            parse_limit("4611686018427387903\n").unwrap(),
            Limit::Value(4611686018427387903)
        );
    }

    #[test]
    fn values_and_errors() {
        assert_eq!(parse_value("35016704\n").unwrap(), 35016704);
        assert_eq!(parse_value("\n12\n\n").unwrap(), 12);
        assert_eq!(parse_value("").unwrap_err().line, 1);
        assert_eq!(parse_value("1\n2\n").unwrap_err().line, 2);
        assert!(parse_value("max\n").is_err());
        assert!(parse_limit("-1\n").is_err());
        assert!(parse_limit("12 13\n").is_err());
    }

    #[test]
    fn serializes_like_the_kernel_spells_it() {
        assert_eq!(serde_json::to_string(&Limit::Unlimited).unwrap(), "\"max\"");
        assert_eq!(serde_json::to_string(&Limit::Value(5)).unwrap(), "5");
    }
}
