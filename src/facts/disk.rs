//! Disk facts: one subject per whole block device that carried I/O over the interval, from the
//! /proc/diskstats counters of both samples (iostat's arithmetic, Documentation/admin-guide/iostats.rst).
//!
//! Utilization is busy time (io_ticks) over the interval, as iostat's %util; the average queue is the
//! weighted time in queue over the interval (avgqu-sz, aqu-sz); await is time per completed request.
//! A counter that went backwards gives no rate. With one sample, the whole devices that ever did I/O
//! are subjects with no rates (the rules say "needs two samples").

use super::{Subject, SubjectId, SubjectKind};
use crate::clock::rate;
use crate::collect::disk::{DiskReading, DiskSample};
use crate::sample::Sample;

/// The facts this module derives.
#[rustfmt::skip]
pub static FACTS: &[super::FactDef] = &[
    fact!("disk.utilization_ratio", Ratio, Disk, rate, ["/proc/diskstats"], "share of the interval the device had I/O in flight (io_ticks; iostat %util)"),
    fact!("disk.queue_avg", Number, Disk, rate, ["/proc/diskstats"], "average requests in flight or queued over the interval (weighted time in queue / interval; iostat aqu-sz)"),
    fact!("disk.read_await_s", Seconds, Disk, rate, ["/proc/diskstats"], "average time a read took over the interval, queueing included (iostat r_await)"),
    fact!("disk.write_await_s", Seconds, Disk, rate, ["/proc/diskstats"], "average time a write took over the interval, queueing included (iostat w_await)"),
    fact!("disk.read_iops", PerSecond, Disk, rate, ["/proc/diskstats"], "reads completed per second"),
    fact!("disk.write_iops", PerSecond, Disk, rate, ["/proc/diskstats"], "writes completed per second"),
    fact!("disk.read_bytes_per_s", Bytes, Disk, rate, ["/proc/diskstats"], "bytes read per second"),
    fact!("disk.write_bytes_per_s", Bytes, Disk, rate, ["/proc/diskstats"], "bytes written per second"),
    fact!("disk.in_flight", Count, Disk, ["/proc/diskstats"], "requests in flight when the last sample was read"),
];

/// Why a replay has no disk or mount subjects when its snapshot predates them (short: it heads a
/// "Not checked" line listing five rules).
pub const OLDER_SNAPSHOT: &str = "not in this older snapshot";

/// The disk subjects, or why there are none (the reason, and whether the host has no disk at all).
pub fn derive(first: &Sample, second: Option<&Sample>) -> Result<Vec<Subject>, (String, bool)> {
    let Some(DiskSample { devices }) = &first.disks else {
        return Err((OLDER_SNAPSHOT.to_string(), false));
    };
    let whole: Vec<&DiskReading> = devices.iter().filter(|d| d.whole == Some(true)).collect();
    if whole.is_empty() {
        return Err(("no whole block device has done I/O since boot".to_string(), true));
    }
    let Some(second) = second else {
        return Ok(whole.iter().map(|d| subject(d, None, 0.0)).collect());
    };
    let Some(later) = &second.disks else {
        return Err((
            "/proc/diskstats could not be read in the second sample".to_string(),
            false,
        ));
    };
    let elapsed = second.mono_secs - first.mono_secs;
    Ok(whole
        .into_iter()
        .filter_map(|d| {
            let after = later.devices.iter().find(|a| {
                a.counters.name == d.counters.name
                    && (a.counters.major, a.counters.minor) == (d.counters.major, d.counters.minor)
            })?;
            carried_io(d, after).then(|| subject(d, Some(after), elapsed))
        })
        .collect())
}

/// Any request completed, or any busy time, between the samples.
fn carried_io(before: &DiskReading, after: &DiskReading) -> bool {
    let (b, a) = (&before.counters, &after.counters);
    [
        (b.reads, a.reads),
        (b.writes, a.writes),
        (b.discards, a.discards),
        (b.io_time_ms, a.io_time_ms),
    ]
    .into_iter()
    .any(|pair| matches!(pair, (Some(x), Some(y)) if y != x))
}

fn subject(d: &DiskReading, after: Option<&DiskReading>, elapsed: f64) -> Subject {
    let mut f = super::FactSet::default();
    let last = after.unwrap_or(d);
    f.opt("disk.in_flight", last.counters.in_flight.map(|n| n as f64));
    if let Some(after) = after {
        let (b, a) = (&d.counters, &after.counters);
        let per_s = |x: Option<u64>, y: Option<u64>| rate(x?, y?, elapsed);
        let ms_per_s = |x: Option<u64>, y: Option<u64>| Some(ms_delta(x?, y?)? as f64 / elapsed);
        let went_back = "a diskstats time counter went backwards (the device was re-created?)";
        // Milliseconds of busy time per second of interval, as a share (io_ticks can overshoot the
        // interval by a tick: capped at 100%).
        match ms_per_s(b.io_time_ms, a.io_time_ms) {
            Some(ms) => f.num("disk.utilization_ratio", (ms / 1000.0).min(1.0)),
            None if b.io_time_ms.is_some() && a.io_time_ms.is_some() => {
                f.absent("disk.utilization_ratio", went_back)
            }
            None => {}
        }
        match ms_per_s(b.weighted_io_time_ms, a.weighted_io_time_ms) {
            Some(ms) => f.num("disk.queue_avg", ms / 1000.0),
            None if b.weighted_io_time_ms.is_some() && a.weighted_io_time_ms.is_some() => {
                f.absent("disk.queue_avg", went_back)
            }
            None => {}
        }
        let reads = per_s(b.reads, a.reads);
        let writes = per_s(b.writes, a.writes);
        f.opt("disk.read_iops", reads);
        f.opt("disk.write_iops", writes);
        f.opt("disk.read_bytes_per_s", per_s(b.read_bytes, a.read_bytes));
        f.opt("disk.write_bytes_per_s", per_s(b.written_bytes, a.written_bytes));
        f.opt(
            "disk.read_await_s",
            await_s(b.reads, a.reads, b.read_time_ms, a.read_time_ms),
        );
        f.opt(
            "disk.write_await_s",
            await_s(b.writes, a.writes, b.write_time_ms, a.write_time_ms),
        );
    }
    Subject {
        id: SubjectId {
            kind: SubjectKind::Disk,
            device: Some(d.display_name().to_string()),
            ..SubjectId::default()
        },
        facts: f,
    }
}

/// Time per request completed between the samples; none when no request completed or a counter
/// went backwards.
fn await_s(n0: Option<u64>, n1: Option<u64>, t0: Option<u64>, t1: Option<u64>) -> Option<f64> {
    let done = n1?.checked_sub(n0?)?;
    let ms = ms_delta(t0?, t1?)?;
    (done > 0).then(|| ms as f64 / 1000.0 / done as f64)
}

/// Milliseconds between two readings of a diskstats time field. The kernel prints them as `unsigned
/// int` ("Wrapping might eventually occur on a very busy or long-lived system", iostats.rst): a
/// reading below the last one is a wrap at 2^32 when that makes a plausible delta (under half the
/// range, as sysstat's unsigned subtraction assumes), else a reset, which gives nothing.
fn ms_delta(before: u64, after: u64) -> Option<u64> {
    if after >= before {
        return Some(after - before);
    }
    let wrapped = (1u64 << 32).checked_sub(before)? + after;
    (wrapped < 1u64 << 31).then_some(wrapped)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::parse::diskstats::DiskCounters;

    fn reading(name: &str, whole: bool, c: [u64; 6]) -> DiskReading {
        let [reads, writes, read_ms, write_ms, io_ms, weighted_ms] = c;
        DiskReading {
            counters: DiskCounters {
                major: 7,
                minor: 0,
                name: name.to_string(),
                reads: Some(reads),
                writes: Some(writes),
                read_bytes: Some(reads * 4096),
                written_bytes: Some(writes << 20),
                read_time_ms: Some(read_ms),
                write_time_ms: Some(write_ms),
                io_time_ms: Some(io_ms),
                weighted_io_time_ms: Some(weighted_ms),
                in_flight: Some(1),
                discards: None,
            },
            whole: Some(whole),
            dm_name: None,
        }
    }

    fn sample(at: f64, devices: Vec<DiskReading>) -> Sample {
        let mut s = Sample::new(at, Utc::now());
        s.disks = Some(DiskSample { devices });
        s
    }

    #[test]
    fn iostat_arithmetic_over_two_seconds() {
        let first = sample(
            10.0,
            vec![
                reading("loop0", true, [100, 1000, 50, 9000, 5000, 9500]),
                reading("loop0p1", false, [100, 1000, 50, 9000, 5000, 9500]),
                reading("vda", true, [7, 7, 7, 7, 7, 7]),
            ],
        );
        let second = sample(
            12.0,
            vec![
                reading("loop0", true, [100, 1400, 50, 10_900, 6_960, 11_480]),
                reading("loop0p1", false, [100, 1400, 50, 10_900, 6_960, 11_480]),
                reading("vda", true, [7, 7, 7, 7, 7, 7]),
            ],
        );
        let subjects = derive(&first, Some(&second)).unwrap();
        // vda did nothing over the interval; the partition is not a subject.
        assert_eq!(subjects.len(), 1);
        let f = &subjects[0].facts;
        assert_eq!(subjects[0].id.device.as_deref(), Some("loop0"));
        assert_eq!(f.get_f64("disk.utilization_ratio"), Some(0.98));
        assert_eq!(f.get_f64("disk.queue_avg"), Some(0.99));
        assert_eq!(f.get_f64("disk.write_iops"), Some(200.0));
        assert_eq!(f.get_f64("disk.write_bytes_per_s"), Some(200.0 * 1048576.0));
        assert_eq!(f.get_f64("disk.write_await_s"), Some(1.9 / 400.0));
        // No read completed: no read await, but a read rate of zero.
        assert_eq!(f.get_f64("disk.read_await_s"), None);
        assert_eq!(f.get_f64("disk.read_iops"), Some(0.0));
    }

    #[test]
    fn a_32_bit_time_counter_that_wrapped_still_gives_the_busy_time() {
        // io_ticks 4,294,967,000 -> 764: 296 + 764 = 1,060 ms over 1 s, capped at 100%.
        let first = sample(
            0.0,
            vec![reading(
                "sda",
                true,
                [10, 10, 10, 10, 4_294_967_000, 4_294_966_000],
            )],
        );
        let second = sample(1.0, vec![reading("sda", true, [20, 20, 20, 20, 764, 1_704])]);
        let subjects = derive(&first, Some(&second)).unwrap();
        let f = &subjects[0].facts;
        assert_eq!(f.get_f64("disk.utilization_ratio"), Some(1.0));
        assert_eq!(f.get_f64("disk.queue_avg"), Some(3.0));
    }

    #[test]
    fn a_counter_that_went_backwards_gives_no_rate() {
        let first = sample(0.0, vec![reading("sda", true, [10, 10, 10, 10, 5000, 5000])]);
        let second = sample(1.0, vec![reading("sda", true, [20, 20, 20, 20, 100, 100])]);
        let subjects = derive(&first, Some(&second)).unwrap();
        let f = &subjects[0].facts;
        assert_eq!(f.get_f64("disk.utilization_ratio"), None);
        assert_eq!(f.get_f64("disk.queue_avg"), None);
        assert_eq!(f.get_f64("disk.read_iops"), Some(10.0));
    }

    #[test]
    fn a_host_without_busy_disks_is_absent_and_one_sample_has_no_rates() {
        let idle = sample(0.0, vec![DiskReading::default()]);
        assert!(derive(&idle, None).unwrap_err().1);
        let one = sample(0.0, vec![reading("vda", true, [1, 1, 1, 1, 1, 1])]);
        let subjects = derive(&one, None).unwrap();
        assert_eq!(subjects[0].facts.get_f64("disk.utilization_ratio"), None);
        assert_eq!(subjects[0].facts.get_f64("disk.in_flight"), Some(1.0));
    }
}
