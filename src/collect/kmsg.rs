//! The kernel log: every record still in the /dev/kmsg ring buffer (or a saved log file), parsed and
//! turned into kernel events by [`crate::parse::kernel_log`].

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};

use crate::coverage::Coverage;
use crate::parse::kernel_log::{self, KernelEvent, Lost, ParsedLog, Unrecognised};
use crate::root::Root;

/// The ring buffer is at most a few MiB (log_buf_len); this bounds a hostile snapshot file too.
pub const MAX_LOG_BYTES: usize = 32 << 20;

/// Where the records were read from, and the events found in them.
#[derive(Debug, Clone)]
pub struct KernelLog {
    /// `/dev/kmsg`, or the file given to `kernel-log --file`.
    pub source: String,
    pub records: usize,
    pub events: Vec<KernelEvent>,
    /// Records lost before they were read (/dev/kmsg sequence gaps).
    pub lost: Vec<Lost>,
    /// Lines that name an event no parser understood: a report that has any is partial.
    pub unrecognised: Unrecognised,
}

impl KernelLog {
    fn from_parsed(source: String, parsed: ParsedLog, boot: Option<DateTime<FixedOffset>>) -> KernelLog {
        let mut diagnosis = kernel_log::diagnose(&parsed.records);
        if let Some(boot) = boot {
            kernel_log::resolve_wall_times(&mut diagnosis.events, boot);
        }
        let mut lost = parsed.lost;
        for l in diagnosis.lost {
            if !lost.contains(&l) {
                lost.push(l);
            }
        }
        KernelLog {
            source,
            records: parsed.records.len(),
            events: diagnosis.events,
            lost,
            unrecognised: diagnosis.unrecognised,
        }
    }

    /// Messages the kernel itself says it dropped ("N callbacks suppressed", printk drops) plus records
    /// overwritten before they were read.
    pub fn lost_messages(&self) -> u64 {
        let suppressed: u64 = self
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                kernel_log::EventKind::Lost(l) => Some(l.count),
                _ => None,
            })
            .fold(0u64, u64::saturating_add);
        self.lost
            .iter()
            .map(|l| l.count)
            .fold(suppressed, u64::saturating_add)
    }
}

/// Boot time as a wall-clock instant, from /proc/stat btime.
pub fn boot_time(btime_secs: u64) -> Option<DateTime<FixedOffset>> {
    Utc.timestamp_opt(btime_secs as i64, 0)
        .single()
        .map(|t| t.fixed_offset())
}

/// Read /dev/kmsg through the root (a snapshot holds the records it captured at the same path).
/// Reading it needs CAP_SYSLOG where kernel.dmesg_restrict is 1; a refusal is listed in coverage.
pub fn collect(root: &Root, btime_secs: Option<u64>, cov: &mut Coverage) -> Option<KernelLog> {
    match root.read_records("/dev/kmsg", MAX_LOG_BYTES) {
        Ok(bytes) => {
            cov.read_ok("/dev/kmsg");
            let log = KernelLog::from_parsed(
                "/dev/kmsg".to_string(),
                kernel_log::parse_kmsg(&bytes),
                btime_secs.and_then(boot_time),
            );
            Some(log)
        }
        Err(e) => {
            cov.read_failed(&e);
            None
        }
    }
}

/// A saved kernel log inside the root (a sosreport's `sos_commands/kernel/dmesg`, a journal export or
/// syslog file), by the text parser; `year` dates syslog stamps that carry none, `offset` is their
/// zone (UTC when `None`).
pub fn collect_text(
    root: &Root,
    path: &str,
    year: Option<i32>,
    offset: Option<chrono::FixedOffset>,
    btime_secs: Option<u64>,
    cov: &mut Coverage,
) -> Option<KernelLog> {
    // The newest part of a log larger than that (a sosreport's whole-boot dmesg of a busy host).
    match root.read_tail(path, MAX_FILE_BYTES as u64) {
        Ok(bytes) => {
            cov.read_ok(path);
            // A tail starts inside a line: from the next one.
            let bytes = match bytes.len() == MAX_FILE_BYTES {
                true => {
                    let from = bytes.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
                    cov.notes.push(format!(
                        "{path}: larger than {} MiB; its newest {} MiB were read",
                        MAX_FILE_BYTES >> 20,
                        MAX_FILE_BYTES >> 20
                    ));
                    &bytes[from..]
                }
                false => &bytes[..],
            };
            Some(KernelLog::from_parsed(
                path.trim_start_matches('/').to_string(),
                kernel_log::parse_text_bytes_with(bytes, &kernel_log::TextOptions { year, offset }),
                btime_secs.and_then(boot_time),
            ))
        }
        Err(e) => {
            cov.read_failed(&e);
            None
        }
    }
}

/// The most a saved log may hold, decompressed: more than any ring buffer, a day of a busy kern.log.
pub const MAX_FILE_BYTES: usize = MAX_LOG_BYTES * 4;

/// A saved log: /dev/kmsg records, `dmesg`, `dmesg -T`, `journalctl -k` (text or `-o json`) or
/// syslog text, told apart by its first lines; gzip-compressed (a rotated `kern.log.2.gz`) or not,
/// told by its magic bytes; `-` is standard input. Monotonic-only timestamps stay without wall time
/// unless `boot` is known.
pub fn from_file(path: &Path, boot: Option<DateTime<FixedOffset>>) -> std::io::Result<KernelLog> {
    let (bytes, source) = if path == Path::new("-") {
        (read_capped(std::io::stdin().lock())?, "-".to_string())
    } else {
        let meta = std::fs::metadata(path)?;
        if meta.len() > MAX_FILE_BYTES as u64 {
            return Err(too_large());
        }
        (
            read_capped(std::fs::File::open(path)?)?,
            path.display().to_string(),
        )
    };
    let bytes = if bytes.starts_with(&GZIP_MAGIC) {
        // Several members (`cat a.gz b.gz`) are one stream, as gzip -d reads them.
        read_capped(flate2::read::MultiGzDecoder::new(bytes.as_slice()))?
    } else {
        bytes
    };
    let parsed = if looks_like_kmsg(&bytes) {
        kernel_log::parse_kmsg(&bytes)
    } else {
        kernel_log::parse_text_bytes(&bytes, None)
    };
    Ok(KernelLog::from_parsed(source, parsed, boot))
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// All of `reader`, or an error past [`MAX_FILE_BYTES`] (a decompression bomb stops there).
fn read_capped(reader: impl Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

fn too_large() -> std::io::Error {
    std::io::Error::other(format!("larger than {} MiB", MAX_FILE_BYTES >> 20))
}

/// /dev/kmsg records start `prio,seq,usec,flags;`.
fn looks_like_kmsg(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(' '))
        .take(3)
        .peekable();
    lines.peek().is_some()
        && lines.all(|l| {
            let Some((head, _)) = l.split_once(';') else {
                return false;
            };
            let fields: Vec<&str> = head.split(',').collect();
            fields.len() >= 4
                && fields[..3]
                    .iter()
                    .all(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// Parse `--since`: `90s`, `30m`, `24h`, `7d`, `2w`, or `all` (no window).
pub fn parse_since(s: &str) -> Result<Option<chrono::Duration>, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a duration such as 30m, 24h, 7d or all"))?;
    let secs = match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86400,
        "w" => 7 * 86400,
        "" => return Err(format!("{s:?}: add a unit (s, m, h, d, w)")),
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use s, m, h, d or w)")),
    };
    if n <= 0 {
        return Err(format!("{s:?}: must be greater than 0 (or `all`)"));
    }
    Ok(Some(chrono::Duration::seconds(n.saturating_mul(secs))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since() {
        assert_eq!(parse_since("24h").unwrap(), Some(chrono::Duration::hours(24)));
        assert_eq!(parse_since("90s").unwrap(), Some(chrono::Duration::seconds(90)));
        assert_eq!(parse_since("all").unwrap(), None);
        assert!(parse_since("24").is_err());
        assert!(parse_since("soon").is_err());
        assert!(parse_since("0h").is_err());
    }

    #[test]
    fn tells_kmsg_from_text() {
        assert!(looks_like_kmsg(
            b"6,1234,5678,-;hello\n SUBSYSTEM=x\n6,1235,5679,-;again\n"
        ));
        assert!(!looks_like_kmsg(b"[    1.234] hello\n"));
        assert!(!looks_like_kmsg(b"Nov 23 15:54:01 host kernel: x\n"));
        assert!(!looks_like_kmsg(b""));
    }

    #[test]
    fn reads_the_induced_oom_from_a_saved_kmsg_file() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/kernel_log/induced-6.18-memcg-v1-oom.kmsg");
        let log = from_file(&path, boot_time(1_700_000_000)).unwrap();
        let kills: Vec<_> = log
            .events
            .iter()
            .filter(|e| e.kind_name() == "oom_kill")
            .collect();
        assert_eq!(kills.len(), 1, "{:#?}", log.events);
        assert_eq!(kills[0].pid(), Some(8060));
        assert!(kills[0].time.is_some(), "wall time from boot time + monotonic");
    }
}
