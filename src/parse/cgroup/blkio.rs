//! cgroup v1 `blkio.throttle.io_service_bytes` and `blkio.throttle.io_serviced` (and their
//! `_recursive` forms, 4.13+, which add the descendants' I/O), read into the same [`IoStat`] as
//! cgroup2's io.stat.
//!
//! cgroup-v1/blkio-controller.rst: "Number of bytes transferred to/from the disk by the group. These
//! are further divided by the type of operation - read or write, sync or async." One line per device
//! and operation, then a grand total:
//!
//! ```text
//! 254:0 Read 2097152
//! 254:0 Write 2486272
//! 254:0 Sync 4583424
//! 254:0 Async 0
//! 254:0 Discard 0
//! 254:0 Total 4583424
//! Total 4583424
//! ```
//!
//! Two things make these figures smaller than what the cgroup's processes did. v1 does not charge
//! buffered writes to the cgroup: the page cache is written back later by the kernel's flusher
//! threads, whose I/O lands in the root cgroup (only cgroup2 with the memory and io controllers
//! together does writeback accounting). And since Linux 6.9 blk-throttle is activated on a queue only
//! once some cgroup sets a throttle limit on it: before that no bio of that device is counted here, and
//! the files read `Total 0`.

use super::error::{ParseError, parse_u64};
use super::io_stat::IoStat;

/// Which file: bytes (`io_service_bytes`) or requests (`io_serviced`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlkioUnit {
    Bytes,
    Ios,
}

/// Parse one throttle file and merge its Read, Write and Discard counts into `into` (one entry per
/// device, in first-seen order). Sync, Async, the per-device Total and the grand Total are skipped:
/// they restate Read + Write.
pub fn parse_into(text: &str, unit: BlkioUnit, into: &mut Vec<IoStat>) -> Result<(), ParseError> {
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        match words.as_slice() {
            [] => continue,
            ["Total", total] => {
                parse_u64(total, n)?;
            }
            [device, op, value] => {
                let bad_device =
                    || ParseError::new(n, format!("expected a MAJ:MIN device, found {device:?}"));
                let (major, minor) = device.split_once(':').ok_or_else(bad_device)?;
                let (major, minor): (u32, u32) = (
                    major.parse().map_err(|_| bad_device())?,
                    minor.parse().map_err(|_| bad_device())?,
                );
                let value = parse_u64(value, n)?;
                let at = match into.iter().position(|s| s.major == major && s.minor == minor) {
                    Some(at) => at,
                    None => {
                        into.push(IoStat {
                            major,
                            minor,
                            ..IoStat::default()
                        });
                        into.len() - 1
                    }
                };
                let stat = &mut into[at];
                let slot = match (*op, unit) {
                    ("Read", BlkioUnit::Bytes) => &mut stat.rbytes,
                    ("Write", BlkioUnit::Bytes) => &mut stat.wbytes,
                    ("Discard", BlkioUnit::Bytes) => &mut stat.dbytes,
                    ("Read", BlkioUnit::Ios) => &mut stat.rios,
                    ("Write", BlkioUnit::Ios) => &mut stat.wios,
                    ("Discard", BlkioUnit::Ios) => &mut stat.dios,
                    _ => continue,
                };
                *slot = Some(value);
            }
            _ => {
                return Err(ParseError::new(
                    n,
                    format!("expected \"MAJ:MIN Operation count\" or \"Total count\", found {line:?}"),
                ));
            }
        }
    }
    Ok(())
}

/// Parse `io_service_bytes` and `io_serviced` (either may be absent) into one entry per device.
pub fn parse(service_bytes: Option<&str>, serviced: Option<&str>) -> Result<Vec<IoStat>, ParseError> {
    let mut out = Vec::new();
    if let Some(text) = service_bytes {
        parse_into(text, BlkioUnit::Bytes, &mut out)?;
    }
    if let Some(text) = serviced {
        parse_into(text, BlkioUnit::Ios, &mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::cgroup::tests::data;

    /// Captured on this host (Linux 6.18, hybrid): 2 MiB written and read back with O_DIRECT and 1 MiB
    /// written through the page cache, in a v1 blkio cgroup with a throttle limit set.
    #[test]
    fn real_files() {
        let dir = "real/v1/blkio/osdoctor-fixture-io";
        for suffix in ["", "_recursive"] {
            let bytes = data(&format!("{dir}/blkio.throttle.io_service_bytes{suffix}"));
            let ios = data(&format!("{dir}/blkio.throttle.io_serviced{suffix}"));
            let devs = parse(Some(&bytes), Some(&ios)).unwrap();
            assert_eq!(devs.len(), 1);
            let d = &devs[0];
            assert_eq!(d.device(), "254:0");
            assert_eq!(d.rbytes, Some(2097152));
            // The direct 2 MiB and journal writes; the buffered 1 MiB was not charged here.
            assert!(
                d.wbytes.unwrap() >= 2097152 && d.wbytes.unwrap() < 3 * 1048576,
                "{d:?}"
            );
            assert_eq!(
                (d.rios, d.wios, d.dbytes, d.dios),
                (Some(32), Some(128), Some(0), Some(0))
            );
        }
    }

    #[test]
    fn an_inactive_throttle_reads_total_zero() {
        assert!(parse(Some("Total 0\n"), Some("Total 0\n")).unwrap().is_empty());
        assert!(parse(None, None).unwrap().is_empty());
    }

    #[test]
    fn several_devices_and_errors() {
        let text = "8:0 Read 10\n8:0 Write 20\n8:16 Read 1\n8:16 Write 2\n8:16 Total 3\nTotal 33\n";
        let devs = parse(Some(text), Some("8:16 Read 7\n8:16 Write 8\nTotal 15\n")).unwrap();
        assert_eq!(devs.len(), 2);
        assert_eq!((devs[0].rbytes, devs[0].rios), (Some(10), None));
        assert_eq!(
            (devs[1].wbytes, devs[1].rios, devs[1].wios),
            (Some(2), Some(7), Some(8))
        );
        assert_eq!(parse(Some("sda Read 1\n"), None).unwrap_err().line, 1);
        assert_eq!(parse(Some("8:0 Read 1\n8:0 Read x\n"), None).unwrap_err().line, 2);
        assert_eq!(parse(Some("8:0 Read\n"), None).unwrap_err().line, 1);
    }
}
