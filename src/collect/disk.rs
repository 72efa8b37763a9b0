//! Block devices: /proc/diskstats on every pass (its counters give the rates), and on the first pass
//! which devices are whole disks and what device-mapper devices are called.
//!
//! Whole devices only: a partition's I/O is already counted in its disk's line. A device is whole when
//! `/sys/block/NAME/dev` can be read (the kernel lists only whole devices in /sys/block; partitions
//! live below their disk). Reading that file rather than listing /sys/block is what makes the rule
//! replay: a snapshot records the files read, not a directory's entries. Only devices that ever did
//! I/O are looked up (an idle loop device costs nothing). Where /sys/block is absent altogether (a
//! tree without /sys, a sosreport without it) a name that extends another device's name with a
//! partition number (`sda1`, `nvme0n1p2`) is taken for a partition instead.

use serde::{Deserialize, Serialize};

use crate::collect::host::Pass;
use crate::coverage::Coverage;
use crate::parse::diskstats::{self, DiskCounters};
use crate::root::Root;

pub const DISKSTATS: &str = "/proc/diskstats";

/// One block device as one pass read it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskReading {
    pub counters: DiskCounters,
    /// First pass: a whole device (`None`: not looked up, it never did I/O).
    pub whole: Option<bool>,
    /// First pass, device-mapper devices: the name from /sys/block/dm-N/dm/name (`vg0-root`).
    pub dm_name: Option<String>,
}

impl DiskReading {
    /// The name reports show: a dm device's own name, else the kernel's.
    pub fn display_name(&self) -> &str {
        self.dm_name.as_deref().unwrap_or(&self.counters.name)
    }
}

/// The block devices of one pass; `None` in the sample when /proc/diskstats could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiskSample {
    pub devices: Vec<DiskReading>,
}

/// Read /proc/diskstats, and on the first pass which devices are whole and the dm names.
pub fn collect(root: &Root, pass: Pass, cov: &mut Coverage) -> Option<DiskSample> {
    let text = match root.read_string(DISKSTATS) {
        Ok(t) => t,
        Err(e) => {
            // A snapshot taken before disks were read has no diskstats: not a problem of this host.
            if !e.is_not_found() || root.is_live() {
                cov.read_failed(&e);
            }
            return None;
        }
    };
    let (counters, problems) = diskstats::parse(&text);
    if counters.is_empty() && !problems.is_empty() {
        cov.malformed(DISKSTATS, problems.join("; "));
        return None;
    }
    cov.read_ok(DISKSTATS);
    for p in problems {
        cov.notes.push(format!("{DISKSTATS}: {p}"));
    }
    let sys_block = pass == Pass::Full && root.exists("/sys/block");
    let devices = counters
        .iter()
        .map(|c| {
            let mut reading = DiskReading {
                counters: c.clone(),
                ..DiskReading::default()
            };
            if pass == Pass::Full && c.ever_used() {
                reading.whole = Some(if sys_block {
                    root.read(&format!("/sys/block/{}/dev", c.name)).is_ok()
                } else {
                    !diskstats::looks_like_partition(&c.name, &counters)
                });
                if reading.whole == Some(true) && c.name.starts_with("dm-") {
                    reading.dm_name = root
                        .read_string(&format!("/sys/block/{}/dm/name", c.name))
                        .ok()
                        .map(|n| n.trim().to_string())
                        .filter(|n| !n.is_empty());
                }
            }
            reading
        })
        .collect();
    Some(DiskSample { devices })
}
