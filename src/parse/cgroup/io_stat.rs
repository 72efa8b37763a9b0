//! cgroup2 `io.stat`, a nested-keyed file.
//!
//! cgroup-v2.rst: "io.stat  A read-only nested-keyed file. Lines are keyed by $MAJ:$MIN device numbers
//! and not ordered. The following nested keys are defined: rbytes (Bytes read), wbytes (Bytes
//! written), rios (Number of read IOs), wios (Number of write IOs), dbytes (Bytes discarded), dios
//! (Number of discard IOs)."
//!
//! ```text
//! 8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0
//! ```
//!
//! With io.latency or iocost enabled the kernel appends more keys (`use_delay=`, `avg_lat=`,
//! `cost.vrate=100.00`, ...), some of them not integers: unknown keys are skipped without looking at
//! their values.

use serde::Serialize;

use super::error::{ParseError, parse_u64};

/// One device's line of `io.stat`. Bytes are bytes; `*ios` are counts of I/O requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IoStat {
    pub major: u32,
    pub minor: u32,
    pub rbytes: Option<u64>,
    pub wbytes: Option<u64>,
    pub rios: Option<u64>,
    pub wios: Option<u64>,
    /// Discard counters (kernel 5.0 and later).
    pub dbytes: Option<u64>,
    pub dios: Option<u64>,
}

impl IoStat {
    /// `MAJ:MIN`, as /proc/diskstats and /sys/dev/block name the device.
    pub fn device(&self) -> String {
        format!("{}:{}", self.major, self.minor)
    }
}

/// Parse `io.stat`: one [`IoStat`] per non-blank line, in file order.
pub fn parse(text: &str) -> Result<Vec<IoStat>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let mut words = line.split_ascii_whitespace();
        let Some(device) = words.next() else { continue };
        let bad_device = || ParseError::new(n, format!("expected a MAJ:MIN device, found {device:?}"));
        let (major, minor) = device.split_once(':').ok_or_else(bad_device)?;
        let mut stat = IoStat {
            major: major.parse().map_err(|_| bad_device())?,
            minor: minor.parse().map_err(|_| bad_device())?,
            ..IoStat::default()
        };
        for word in words {
            let Some((key, value)) = word.split_once('=') else {
                return Err(ParseError::new(n, format!("expected key=value, found {word:?}")));
            };
            let slot = match key {
                "rbytes" => &mut stat.rbytes,
                "wbytes" => &mut stat.wbytes,
                "rios" => &mut stat.rios,
                "wios" => &mut stat.wios,
                "dbytes" => &mut stat.dbytes,
                "dios" => &mut stat.dios,
                _ => continue,
            };
            *slot = Some(parse_u64(value, n)?);
        }
        out.push(stat);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in cgroup-v2.rst.
    const DOC_EXAMPLE: &str = "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n\
                               8:0 rbytes=90430464 wbytes=299008000 rios=8950 wios=1252 dbytes=50331648 dios=3021\n";

    #[test]
    fn the_documented_example() {
        let devs = parse(DOC_EXAMPLE).unwrap();
        assert_eq!(devs.len(), 2);
        assert_eq!(devs[0].device(), "8:16");
        assert_eq!(devs[0].wbytes, Some(314773504));
        assert_eq!(devs[1].dios, Some(3021));
    }

    #[test]
    fn unknown_keys_are_ignored_even_when_not_integers() {
        let devs =
            parse("259:0 rbytes=10 wbytes=20 rios=1 wios=2 use_delay=0 delay_nsec=0 cost.vrate=100.00\n")
                .unwrap();
        assert_eq!(devs[0].rbytes, Some(10));
        // Kernels before 5.0 have no discard keys.
        assert_eq!(devs[0].dbytes, None);
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(parse("8:0 rbytes=1\nsda rbytes=1\n").unwrap_err().line, 2);
        assert_eq!(parse("8:0 rbytes\n").unwrap_err().line, 1);
        assert_eq!(parse("8:0 rbytes=x\n").unwrap_err().line, 1);
        assert!(parse("").unwrap().is_empty());
    }
}
