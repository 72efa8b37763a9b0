//! /proc/diskstats through procfs-core's line parser, with units converted here: sectors to bytes
//! (the kernel's diskstats sector is always 512 bytes, whatever the device's sector size) and
//! milliseconds to seconds. Documentation/admin-guide/iostats.rst describes the fields.

use serde::{Deserialize, Serialize};

/// The kernel's diskstats sector: 512 bytes on every device (iostats.rst, "sectors").
const SECTOR_BYTES: u64 = 512;

/// The cumulative counters of one block device (whole disk or partition), since boot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskCounters {
    pub major: u32,
    pub minor: u32,
    /// The kernel's name (`sda`, `nvme0n1p1`, `loop0`, `dm-0`).
    pub name: String,
    pub reads: Option<u64>,
    pub writes: Option<u64>,
    pub read_bytes: Option<u64>,
    pub written_bytes: Option<u64>,
    /// Milliseconds, as the kernel counts them (kept whole so a backwards step is exact).
    pub read_time_ms: Option<u64>,
    pub write_time_ms: Option<u64>,
    /// Time the device had I/O in flight (io_ticks): busy time, the base of %util.
    pub io_time_ms: Option<u64>,
    /// Time in queue weighted by the requests in flight (time_in_queue): the base of the average queue.
    pub weighted_io_time_ms: Option<u64>,
    pub in_flight: Option<u64>,
    pub discards: Option<u64>,
}

impl DiskCounters {
    /// True when any request ever completed or was in flight on the device.
    pub fn ever_used(&self) -> bool {
        [self.reads, self.writes, self.discards, self.in_flight]
            .into_iter()
            .flatten()
            .any(|n| n > 0)
    }

    pub fn read_seconds(&self) -> Option<f64> {
        self.read_time_ms.map(ms_to_secs)
    }
}

fn ms_to_secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// Every line of /proc/diskstats; a line procfs-core cannot parse is reported (by its 1-based number
/// and the reason), not fatal to the others.
pub fn parse(text: &str) -> (Vec<DiskCounters>, Vec<String>) {
    let mut devices = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match procfs_core::DiskStat::from_line(line) {
            Ok(d) => devices.push(DiskCounters {
                major: d.major.max(0) as u32,
                minor: d.minor.max(0) as u32,
                name: d.name,
                reads: Some(d.reads),
                writes: Some(d.writes),
                read_bytes: Some(d.sectors_read.saturating_mul(SECTOR_BYTES)),
                written_bytes: Some(d.sectors_written.saturating_mul(SECTOR_BYTES)),
                read_time_ms: Some(d.time_reading),
                write_time_ms: Some(d.time_writing),
                io_time_ms: Some(d.time_in_progress),
                weighted_io_time_ms: Some(d.weighted_time_in_progress),
                in_flight: Some(d.in_progress),
                discards: d.discards,
            }),
            Err(e) => problems.push(format!("line {}: skipped ({e})", i + 1)),
        }
    }
    (devices, problems)
}

/// A name that looks like a partition of another device in the list (`sda1` of `sda`, `nvme0n1p2`
/// of `nvme0n1`): used only where /sys/block cannot say which devices are whole (a tree without /sys).
///
/// The kernel names a partition by the disk's name and its number, with a `p` between them when the
/// disk's name ends in a digit (`nvme0n1p2`, `loop1p1`, `mmcblk0p1`): so `loop10` is not a partition
/// of `loop1`, nor `md10` of `md1`.
pub fn looks_like_partition(name: &str, all: &[DiskCounters]) -> bool {
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all.iter().any(|d| {
        d.name != name
            && name.strip_prefix(d.name.as_str()).is_some_and(|rest| {
                if d.name.ends_with(|c: char| c.is_ascii_digit()) {
                    rest.strip_prefix('p').is_some_and(number)
                } else {
                    number(rest)
                }
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Lines of this VM's /proc/diskstats (Linux 6.18: 20 fields), a 4.x line (14 fields: no
    // discards) and a broken one.
    const TEXT: &str = "   7       0 loop0 1402 0 290770 614 131590 0 1052672 68853 0 68975 69467 0 0 0 0 0 0\n\
 254       0 vda 63017 15343 5783642 21987 414712 169744 22186810 361071 0 212044 413790 0 0 0 0 39511 30731\n\
 254       1 vda1 5 0 40 1 0 0 0 0 0 3 1 0 0 0 0 0 0\n\
   8       0 sda 100 2 800 50 200 3 1600 70 1 90 120\n\
 253 0 dm-0 x\n";

    #[test]
    fn units_are_bytes_and_counts() {
        let (d, problems) = parse(TEXT);
        assert_eq!(d.len(), 4);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("line 5: skipped"), "{problems:?}");
        let loop0 = &d[0];
        assert_eq!((loop0.major, loop0.minor, loop0.name.as_str()), (7, 0, "loop0"));
        assert_eq!(loop0.writes, Some(131_590));
        assert_eq!(loop0.written_bytes, Some(1_052_672 * 512));
        assert_eq!(loop0.io_time_ms, Some(68_975));
        assert_eq!(loop0.weighted_io_time_ms, Some(69_467));
        assert_eq!(loop0.discards, Some(0));
        // A 4.x kernel's line has no discard fields.
        assert_eq!(d[3].discards, None);
        assert_eq!(d[3].in_flight, Some(1));
        assert_eq!(d[3].read_seconds(), Some(0.05));
    }

    #[test]
    fn partitions_by_name_only_as_a_fallback() {
        let (d, _) = parse(TEXT);
        assert!(looks_like_partition("vda1", &d));
        assert!(!looks_like_partition("vda", &d));
        assert!(!looks_like_partition("loop0", &d));
        let nvme = [DiskCounters {
            name: "nvme0n1".into(),
            ..Default::default()
        }];
        assert!(looks_like_partition("nvme0n1p2", &nvme));
        assert!(!looks_like_partition("nvme0n1x", &nvme));
        // A disk whose name ends in a digit has `p` before its partition numbers.
        let named = |n: &str| DiskCounters {
            name: n.into(),
            ..Default::default()
        };
        let many = [
            named("loop1"),
            named("nvme0n1"),
            named("md1"),
            named("dm-1"),
            named("sda"),
        ];
        for whole in ["loop10", "nvme0n10", "md10", "dm-10", "sdab"] {
            assert!(!looks_like_partition(whole, &many), "{whole}");
        }
        for part in ["loop1p1", "md1p2", "sda10"] {
            assert!(looks_like_partition(part, &many), "{part}");
        }
    }

    #[test]
    fn an_unused_device_is_not_ever_used() {
        let (d, _) = parse("   7       1 loop1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
        assert!(!d[0].ever_used());
        assert!(parse(TEXT).0[0].ever_used());
    }
}
