//! Saved kernel logs as text, the way people keep and paste them. The format is detected per line,
//! because pasted logs mix them (a `dmesg -T` excerpt, then a few syslog lines):
//!
//! ```text
//! [   12.345678] msg                                    dmesg
//! <6>[   12.345678] msg                                 dmesg -r
//! kern  :err   : [   12.345678] msg                     dmesg -x
//! [    0.000000 <    0.000000>] msg                     dmesg -d
//! [Mon Nov 23 15:54:01 2026] msg                        dmesg -T (also localised: "[Di Dez  5 ...]")
//! 2026-11-23T15:54:01,123456+00:00 msg                  dmesg --time-format=iso
//! Nov 23 15:54:01 host kernel: msg                      journalctl -k, -o short
//! Nov 23 15:54:01.123456 host kernel: msg               journalctl -o short-precise
//! 2026-11-23T15:54:01+0000 host kernel: msg             journalctl -o short-iso (short-iso-precise too)
//! Mon 2026-11-23 15:54:01 UTC host kernel: msg          journalctl -o short-full
//! [   12.345678] host kernel: msg                       journalctl -o short-monotonic
//! 1795330062.470000 host kernel: msg                    journalctl -o short-unix
//! Nov 23 15:54:01 host kernel: [ 1234.567890] msg      rsyslog kern.log, /var/log/messages
//! 2026-11-23T15:54:01.123456+00:00 host kernel: msg     rsyslog with RFC 3339 stamps
//! Wed Mar 27 02:55:10 2019 kern.info kernel: [ts] msg   busybox / OpenWrt logread
//! ```
//!
//! Syslog lines from other programs (`host sshd[123]: ...`) are dropped. A line with no recognised
//! prefix is kept as bare text: people paste logs with the prefixes cut off. Markdown quote markers
//! (`> `) in front of a line are ignored, and so are `-- Boot ... --` style journalctl markers.

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use regex::{Captures, Regex};

use super::record::{LogRecord, ParsedLog};
use super::text_fields::{
    ctime_wall, facility_code, fraction_nanos, level_code, local_to_fixed, mono_usec, month_number, num,
    parse_offset, utc, ymd_hms,
};

/// How to read stamps that do not say everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextOptions {
    /// Year of the newest classic-syslog line (`Nov 23 15:54:01` carries no year). Earlier lines
    /// get earlier years when the month goes backwards (December, then January). `None` means the
    /// current year.
    pub year: Option<i32>,
    /// Offset of stamps printed without a zone (classic syslog, `dmesg -T`): they are local time on
    /// the host that wrote them. `None` means UTC. Records stamped so have
    /// [`LogRecord::wall_zone_assumed`] set.
    pub offset: Option<FixedOffset>,
}

/// Parse a saved text log; see the module documentation for the formats.
pub fn parse_text(text: &str, year_hint: Option<i32>) -> ParsedLog {
    parse_text_with(
        text,
        &TextOptions {
            year: year_hint,
            offset: None,
        },
    )
}

/// [`parse_text`] for bytes that may not be UTF-8 (each line is decoded lossily).
pub fn parse_text_bytes(bytes: &[u8], year_hint: Option<i32>) -> ParsedLog {
    parse_text_bytes_with(
        bytes,
        &TextOptions {
            year: year_hint,
            offset: None,
        },
    )
}

/// [`parse_text`] with explicit [`TextOptions`].
pub fn parse_text_with(text: &str, options: &TextOptions) -> ParsedLog {
    parse_lines(text.split('\n').map(Cow::Borrowed), options)
}

/// [`parse_text_bytes`] with explicit [`TextOptions`].
pub fn parse_text_bytes_with(bytes: &[u8], options: &TextOptions) -> ParsedLog {
    parse_lines(bytes.split(|&b| b == b'\n').map(String::from_utf8_lossy), options)
}

/// A classic syslog stamp before its year is known.
#[derive(Debug, Clone, Copy)]
struct YearlessStamp {
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
}

enum Line {
    Blank,
    Skipped,
    /// A record, and whether the line had a recognised prefix (a timestamp or a syslog tag).
    Record(Box<LogRecord>, Option<YearlessStamp>, bool),
}

/// The narrowest terminal a pasted line may have been wrapped by.
const MIN_WRAP_WIDTH: usize = 80;

/// What the line before was, to tell a wrapped line from a new message.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Previous {
    Blank,
    Skipped,
    Prefixed,
    Bare,
}

fn parse_lines<'a>(lines: impl Iterator<Item = Cow<'a, str>>, options: &TextOptions) -> ParsedLog {
    let mut pending: Vec<(LogRecord, Option<YearlessStamp>)> = Vec::new();
    let mut skipped_lines = 0;
    let mut previous = Previous::Blank;
    let mut previous_width = 0;
    for line in lines {
        let indented = line.starts_with([' ', '\t']);
        // Terminals are at least 80 columns wide: only a line that long can have been wrapped.
        let wrapped = indented || previous_width >= MIN_WRAP_WIDTH;
        previous_width = line.trim_end().chars().count();
        previous = match parse_line(&line, options) {
            Line::Blank => Previous::Blank,
            Line::Skipped => {
                skipped_lines += 1;
                Previous::Skipped
            }
            // A line without a prefix right after one with a prefix is the rest of that line,
            // wrapped by the terminal it was copied from (cut anywhere, so joined as is), or the
            // indented second line of a multi-line message (dmesg indents those).
            Line::Record(record, _, false) if previous == Previous::Prefixed && wrapped => {
                if let Some((last, _)) = pending.last_mut() {
                    if indented {
                        last.text.push(' ');
                    }
                    last.text.push_str(&record.text);
                }
                Previous::Prefixed
            }
            // The indented continuation of another program's message.
            Line::Record(_, _, false) if previous == Previous::Skipped && indented => {
                skipped_lines += 1;
                Previous::Skipped
            }
            Line::Record(record, stamp, prefixed) => {
                pending.push((*record, stamp));
                if prefixed {
                    Previous::Prefixed
                } else {
                    Previous::Bare
                }
            }
        };
    }
    assign_years(&mut pending, options);
    ParsedLog {
        records: pending.into_iter().map(|(record, _)| record).collect(),
        lost: Vec::new(),
        skipped_lines,
    }
}

static JOURNAL_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^-- (?:Logs begin|Journal begins|Boot |No entries|Reboot)").expect("static regex")
});
static PRIO: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^<([0-9]{1,3})>").expect("static regex"));
static DMESG_X: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|res[0-3]|local[0-7])\s*:\s*(emerg|alert|crit|err|warn|notice|info|debug)\s*:\s?",
    )
    .expect("static regex")
});
/// `[ 12.345678]`, and `dmesg -d`'s `[ 12.345678 <  0.000012>]`.
static MONO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\[\s*([0-9]+)\.([0-9]+)(?:\s*<\s*[0-9]+\.[0-9]+>)?\]\s?").expect("static regex")
});
/// `dmesg -e` / `--reltime`: `[  +0.000012]` or `[Nov23 15:54]`; they carry no usable time.
static RELTIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\[(?:\s*\+\s*[0-9]+\.[0-9]+|\p{L}{3}[0-9]{1,2} [0-9]{2}:[0-9]{2})\]\s?")
        .expect("static regex")
});
/// The CONFIG_PRINTK_CALLER id dmesg prints after the time: `[T1234]` (task) or `[C1]` (CPU).
static CALLER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\[([TC][0-9]+)\]\s?").expect("static regex"));
/// `dmesg -T`: `[Mon Nov 23 15:54:01 2026]`; the weekday and month may be localised.
static CTIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\[(?:\p{L}+\.?\s+)?(\p{L}+)\.?\s+([0-9]{1,2})\s+([0-9]{1,2}):([0-9]{2}):([0-9]{2})\s+([0-9]{4})\]\s?")
        .expect("static regex")
});
static ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:([.,])([0-9]+))?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?\s+",
    )
    .expect("static regex")
});
/// journalctl `-o short-full`: `Mon 2026-11-23 15:54:01 UTC host kernel: msg`.
static SHORT_FULL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\p{L}{2,3} ([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))? ([A-Za-z][A-Za-z0-9+-]*)\s+",
    )
    .expect("static regex")
});
/// busybox logread: `Wed Mar 27 02:55:10 2019 kern.info kernel: ...`.
static BUSYBOX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\p{L}{2,3} (\p{L}{3}) +([0-9]{1,2}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([0-9]{4})\s+")
        .expect("static regex")
});
/// Classic syslog and journalctl short / short-precise: `Nov 23 15:54:01[.123456] `.
static SYSLOG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\p{L}{3}) +([0-9]{1,2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?\s+")
        .expect("static regex")
});
/// journalctl `-o short-unix`: `1795330062.470000 host kernel: msg`.
static UNIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]{9,11})\.([0-9]{1,9})\s+").expect("static regex"));
/// After a syslog stamp: `HOST TAG[PID]: ` or, without the host (`journalctl --no-hostname`),
/// `TAG[PID]: `.
static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:([^\s:]+) )?([^\s:\[\]]+)(?:\[[0-9]+\])?:(?: |$)").expect("static regex")
});
/// A kernel tag where the line's prefix was not recognised (`kernel: msg` from grep, odd syslogs).
static KERNEL_TAG_ANYWHERE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|\s)kernel: ").expect("static regex"));
/// A printk timestamp after an unrecognised prefix, e.g. a hypervisor's copy of the guest's serial
/// console (`2023-12-04T10:49:30.103Z In(05) vcpu-5 - Guest: <4>[39261021.091603] msg`). Six
/// fraction digits, as printk prints them, so that `[ 8060]` task-table rows never match.
static MONO_EMBEDDED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|\s)(?:<([0-9]{1,3})>)?\[\s*([0-9]+)\.([0-9]{6})\]\s?").expect("static regex")
});

fn parse_line(raw: &str, options: &TextOptions) -> Line {
    let Some(line) = strip_code_fences(strip_quote_markers(raw.trim())) else {
        return Line::Blank;
    };
    if line.is_empty() {
        return Line::Blank;
    }
    if JOURNAL_MARKER.is_match(line) {
        return Line::Skipped;
    }
    let assumed_offset = options.offset.unwrap_or_else(utc);
    let mut record = LogRecord::default();
    let mut stamp = None;
    let mut rest = line;
    let mut recognised = false;

    if let Some(c) = PRIO.captures(rest) {
        set_prio(&mut record, num(&c, 1));
        rest = after(rest, &c);
        recognised = true;
    }
    if let Some(c) = DMESG_X.captures(rest) {
        record.facility = c.get(1).and_then(|m| facility_code(m.as_str()));
        record.level = c.get(2).and_then(|m| level_code(m.as_str()));
        rest = after(rest, &c);
        recognised = true;
    }

    let mut syslog_like = false;
    // dmesg prints up to three bracketed prefixes: `[  +0.000001] [Tue Jan 13 04:33:10 2026] [T88870]`
    // (--reltime, --ctime, and the CONFIG_PRINTK_CALLER id).
    let mut bracketed = false;
    for _ in 0..3 {
        if let Some(c) = MONO.captures(rest) {
            record.mono_usec = mono_usec(&c, 1, 2);
            rest = after(rest, &c);
            // journalctl -o short-monotonic puts the host and tag after the timestamp. Only a
            // `kernel` tag is stripped: "[ 1.2] EXT4-fs (vda): mounted" must stay a kernel message.
            if let Some(t) = TAG.captures(rest)
                && t.get(1).is_some()
                && t.get(2).is_some_and(|m| m.as_str() == "kernel")
            {
                rest = after(rest, &t);
            }
        } else if let Some(c) = RELTIME.captures(rest) {
            rest = after(rest, &c);
        } else if let Some(c) = CTIME.captures(rest) {
            record.wall = ctime_wall(&c, assumed_offset);
            record.wall_zone_assumed = record.wall.is_some();
            rest = after(rest, &c);
        } else if bracketed && let Some(c) = CALLER.captures(rest) {
            record.caller = c.get(1).map(|m| m.as_str().to_string());
            rest = after(rest, &c);
        } else {
            break;
        }
        bracketed = true;
        recognised = true;
    }
    if bracketed {
        // Nothing else to look for: a dmesg line.
    } else if let Some(c) = ISO.captures(rest) {
        let zone = c.get(9).map(|m| m.as_str());
        let offset = zone.and_then(parse_offset);
        record.wall = ymd_hms(&c, [1, 2, 3, 4, 5, 6], c.get(8).map(|m| m.as_str()))
            .and_then(|naive| local_to_fixed(naive, offset.unwrap_or(assumed_offset)));
        record.wall_zone_assumed = record.wall.is_some() && offset.is_none();
        // dmesg --time-format=iso writes a comma before the fraction and no host or tag.
        syslog_like = c.get(7).is_none_or(|m| m.as_str() != ",");
        rest = after(rest, &c);
        recognised = true;
    } else if let Some(c) = SHORT_FULL.captures(rest) {
        let zone = c.get(8).map_or("", |m| m.as_str());
        let offset = matches!(zone, "UTC" | "GMT" | "Z" | "UCT").then(utc);
        record.wall = ymd_hms(&c, [1, 2, 3, 4, 5, 6], c.get(7).map(|m| m.as_str()))
            .and_then(|naive| local_to_fixed(naive, offset.unwrap_or(assumed_offset)));
        record.wall_zone_assumed = record.wall.is_some() && offset.is_none();
        syslog_like = true;
        rest = after(rest, &c);
        recognised = true;
    } else if let Some(c) = BUSYBOX.captures(rest) {
        record.wall = ctime_wall(&c, assumed_offset);
        record.wall_zone_assumed = record.wall.is_some();
        syslog_like = true;
        rest = after(rest, &c);
        recognised = true;
    } else if let Some(c) = SYSLOG.captures(rest)
        && let Some(month) = month_number(c.get(1).map_or("", |m| m.as_str()))
    {
        stamp = Some(YearlessStamp {
            month,
            day: num(&c, 2).unwrap_or(0) as u32,
            hour: num(&c, 3).unwrap_or(0) as u32,
            minute: num(&c, 4).unwrap_or(0) as u32,
            second: num(&c, 5).unwrap_or(0) as u32,
            nanos: c.get(6).map_or(0, |m| fraction_nanos(m.as_str())),
        });
        syslog_like = true;
        rest = after(rest, &c);
        recognised = true;
    } else if let Some(c) = UNIX.captures(rest)
        && TAG.is_match(after(rest, &c))
    {
        let secs = num(&c, 1).and_then(|s| i64::try_from(s).ok());
        let nanos = c.get(2).map_or(0, |m| fraction_nanos(m.as_str()));
        record.wall = secs
            .and_then(|s| DateTime::from_timestamp(s, nanos))
            .map(|t| t.fixed_offset());
        syslog_like = true;
        rest = after(rest, &c);
        recognised = true;
    }

    let mut structure_known = recognised && !syslog_like;
    if syslog_like && let Some(t) = TAG.captures(rest) {
        if t.get(2).is_none_or(|m| m.as_str() != "kernel") {
            return Line::Skipped;
        }
        // busybox puts `facility.level` where the host would be.
        if let Some(host) = t.get(1).map(|m| m.as_str())
            && let Some((facility, level)) = host.split_once('.')
            && let (Some(f), Some(l)) = (facility_code(facility), level_code(level))
        {
            record.facility = Some(f);
            record.level = Some(l);
        }
        rest = after(rest, &t);
        structure_known = true;
    }

    if !recognised && let Some(m) = KERNEL_TAG_ANYWHERE.find(rest) {
        rest = &rest[m.end()..];
        structure_known = true;
    }

    // rsyslog keeps the printk timestamp inside the message: "host kernel: [ 1234.567890] msg".
    if record.mono_usec.is_none() {
        if let Some(c) = MONO.captures(rest) {
            record.mono_usec = mono_usec(&c, 1, 2);
            rest = after(rest, &c);
        } else if !structure_known
            && let Some(c) = MONO_EMBEDDED.captures(rest)
            && c.get(0).is_some_and(|m| m.start() <= 120)
        {
            if let Some(prio) = num(&c, 1) {
                set_prio(&mut record, Some(prio));
            }
            record.mono_usec = mono_usec(&c, 2, 3);
            rest = after(rest, &c);
        }
    }

    let prefixed = recognised || structure_known || record.mono_usec.is_some();
    record.text = rest.trim_end().to_string();
    Line::Record(Box::new(record), stamp, prefixed)
}

/// Give year-less syslog stamps a year: the newest line gets `options.year` (or this year), and a
/// month that goes far backwards (December, then January) starts the next year.
fn assign_years(pending: &mut [(LogRecord, Option<YearlessStamp>)], options: &TextOptions) {
    let mut rollovers = Vec::with_capacity(pending.len());
    let mut years_passed = 0i32;
    let mut previous_month = None;
    for (_, stamp) in pending.iter() {
        if let Some(stamp) = stamp {
            if previous_month.is_some_and(|prev| stamp.month + 6 <= prev) {
                years_passed += 1;
            }
            previous_month = Some(stamp.month);
        }
        rollovers.push(years_passed);
    }
    let newest_year = options.year.unwrap_or_else(|| Utc::now().year());
    let offset = options.offset.unwrap_or_else(utc);
    for ((record, stamp), passed) in pending.iter_mut().zip(rollovers) {
        let Some(s) = stamp else { continue };
        let year = newest_year.saturating_sub(years_passed - passed);
        record.wall = NaiveDate::from_ymd_opt(year, s.month, s.day)
            .and_then(|d| d.and_hms_nano_opt(s.hour, s.minute, s.second, s.nanos))
            .and_then(|naive| local_to_fixed(naive, offset));
        record.wall_zone_assumed = record.wall.is_some();
    }
}

/// Markdown code fences: a fence line (```` ``` ````, ```` ```text ````) is no log line (`None`);
/// fences glued to the first or last line of a block are cut off.
fn strip_code_fences(line: &str) -> Option<&str> {
    let mut line = line;
    for fence in ["```", "~~~"] {
        if let Some(rest) = line.strip_prefix(fence) {
            let rest = rest.trim_start_matches(fence.as_bytes()[0] as char);
            if rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return None;
            }
            line = rest;
        }
        line = line.trim_end_matches(fence).trim_end();
    }
    Some(line.trim_start())
}

/// Markdown quote markers (`> `, `>> `) that people leave in front of pasted lines.
fn strip_quote_markers(mut line: &str) -> &str {
    while let Some(rest) = line.strip_prefix('>') {
        line = rest.trim_start();
    }
    line
}

fn after<'a>(text: &'a str, c: &Captures<'_>) -> &'a str {
    c.get(0).map_or(text, |m| &text[m.end()..])
}

fn set_prio(record: &mut LogRecord, prio: Option<u64>) {
    if let Some(prio) = prio {
        record.facility = u8::try_from(prio >> 3).ok();
        record.level = Some((prio & 7) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> LogRecord {
        let parsed = parse_text(line, Some(2026));
        assert_eq!(parsed.records.len(), 1, "{line:?} -> {parsed:?}");
        parsed.records.into_iter().next().unwrap_or_default()
    }

    fn wall(record: &LogRecord) -> String {
        record.wall.map(|w| w.to_rfc3339()).unwrap_or_default()
    }

    #[test]
    fn plain_dmesg() {
        let r = one("[  401.343231] Memory cgroup out of memory: Killed process 8060 (python3)\r");
        assert_eq!(r.mono_usec, Some(401_343_231));
        assert_eq!(
            r.text,
            "Memory cgroup out of memory: Killed process 8060 (python3)"
        );
        assert_eq!(r.wall, None);
        assert_eq!(r.level, None);
    }

    #[test]
    fn dmesg_raw_and_decoded_levels_and_delta() {
        let r = one("<3>[    1.500000] boom");
        assert_eq!(
            (r.facility, r.level, r.mono_usec),
            (Some(0), Some(3), Some(1_500_000))
        );
        let r = one("kern  :err   : [    1.2] boom");
        assert_eq!(
            (r.facility, r.level, r.mono_usec),
            (Some(0), Some(3), Some(1_200_000))
        );
        assert_eq!(r.text, "boom");
        let r = one("user  :notice: [   5.000001] hello");
        assert_eq!(r.facility, Some(1));
        let r = one("[    0.000002 <    0.000002>] delta");
        assert_eq!((r.mono_usec, r.text.as_str()), (Some(2), "delta"));
        let r = one("[  +0.000012] relative");
        assert_eq!((r.mono_usec, r.text.as_str()), (None, "relative"));
    }

    #[test]
    fn dmesg_ctime_in_english_and_german() {
        let r = one("[Mon Nov 23 15:54:01 2026] msg");
        assert_eq!(wall(&r), "2026-11-23T15:54:01+00:00");
        assert!(r.wall_zone_assumed);
        assert_eq!(r.text, "msg");
        let r = one("[Thu Dec  7 00:05:14 2017] Killed process 28438 (java)");
        assert_eq!(wall(&r), "2017-12-07T00:05:14+00:00");
        let r = one("[Di Dez  5 10:00:00 2023] x");
        assert_eq!(wall(&r), "2023-12-05T10:00:00+00:00");
    }

    #[test]
    fn assumed_offset_applies_to_zoneless_stamps() {
        let options = TextOptions {
            year: Some(2026),
            offset: FixedOffset::east_opt(3600),
        };
        let parsed = parse_text_with(
            "[Mon Nov 23 15:54:01 2026] msg\nNov 23 15:54:02 h kernel: x",
            &options,
        );
        assert_eq!(wall(&parsed.records[0]), "2026-11-23T15:54:01+01:00");
        assert_eq!(wall(&parsed.records[1]), "2026-11-23T15:54:02+01:00");
    }

    #[test]
    fn journalctl_short_and_syslog() {
        let r = one("Nov 23 15:54:01 node-1 kernel: oom-kill:constraint=CONSTRAINT_MEMCG");
        assert_eq!(wall(&r), "2026-11-23T15:54:01+00:00");
        assert_eq!(r.text, "oom-kill:constraint=CONSTRAINT_MEMCG");
        assert_eq!(r.mono_usec, None);
        let r =
            one("Mar  2 17:35:10 server1 kernel: [2858609.598568] Killed process 11726, UID 498, (mysqld)");
        assert_eq!(r.mono_usec, Some(2_858_609_598_568));
        assert_eq!(r.text, "Killed process 11726, UID 498, (mysqld)");
        assert_eq!(wall(&r), "2026-03-02T17:35:10+00:00");
        let r = one("Nov 23 15:54:01.123456 node-1 kernel: precise");
        assert_eq!(wall(&r), "2026-11-23T15:54:01.123456+00:00");
        // journalctl --no-hostname
        let r = one("Jan 09 14:15:16 kernel: Out of memory: Killed process 569725 (uvicorn)");
        assert_eq!(r.text, "Out of memory: Killed process 569725 (uvicorn)");
    }

    #[test]
    fn other_programs_are_dropped() {
        let text = "May  8 14:05:27 doris-03 kernel: Memory cgroup out of memory: Kill process 24984\n\
                    May  8 14:05:34 doris-03 containerd: time=\"2020-05-08T14:05:34\" level=info\n\
                    Nov 23 15:54:01 h sshd[123]: Accepted publickey\n\
                    2026-11-23T15:54:01.123456+00:00 h systemd[1]: Started x\n\
                    Jan 09 14:15:16 systemd-journald[375]: Under memory pressure\n\
                    -- Boot 0123456789abcdef --\n";
        let parsed = parse_text(text, Some(2020));
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(parsed.skipped_lines, 5);
    }

    #[test]
    fn iso_variants() {
        let r = one("2026-11-23T15:54:01.123456+00:00 host kernel: rfc3339");
        assert_eq!(wall(&r), "2026-11-23T15:54:01.123456+00:00");
        assert!(!r.wall_zone_assumed);
        assert_eq!(r.text, "rfc3339");
        let r = one("2026-11-23T15:54:01+0100 host kernel: short-iso");
        assert_eq!(wall(&r), "2026-11-23T15:54:01+01:00");
        let r =
            one("2024-08-20T17:38:27.488639+00:00 sonic kernel: [   90.864905] runc[7180]: segfault at 0");
        assert_eq!(r.mono_usec, Some(90_864_905));
        assert_eq!(r.text, "runc[7180]: segfault at 0");
        // dmesg --time-format=iso: comma before the fraction, no host or tag.
        let r = one("2026-11-23T15:54:01,123456+00:00 EXT4-fs (vda): mounted");
        assert_eq!(r.text, "EXT4-fs (vda): mounted");
        assert_eq!(wall(&r), "2026-11-23T15:54:01.123456+00:00");
    }

    #[test]
    fn journalctl_other_outputs() {
        let r = one("Mon 2026-11-23 15:54:01 UTC host kernel: full");
        assert_eq!(
            (wall(&r).as_str(), r.wall_zone_assumed),
            ("2026-11-23T15:54:01+00:00", false)
        );
        let r = one("[  401.336949] host kernel: monotonic");
        assert_eq!((r.mono_usec, r.text.as_str()), (Some(401_336_949), "monotonic"));
        let r = one("[  401.336949] EXT4-fs (vda): mounted filesystem");
        assert_eq!(r.text, "EXT4-fs (vda): mounted filesystem");
        let r = one("1795330062.470000 host kernel: unix");
        assert_eq!(wall(&r), "2026-11-22T06:47:42.470+00:00");
    }

    #[test]
    fn busybox_and_console_captures() {
        let r = one("Wed Mar 27 02:55:10 2019 kern.warn kernel: [   12.345678] openwrt");
        assert_eq!(wall(&r), "2019-03-27T02:55:10+00:00");
        assert_eq!(
            (r.level, r.mono_usec, r.text.as_str()),
            (Some(4), Some(12_345_678), "openwrt")
        );
        let r = one("2023-12-04T10:49:30.103Z In(05) vcpu-5 - Guest: <4>[39261021.091603] Call Trace:");
        assert_eq!((r.level, r.mono_usec), (Some(4), Some(39_261_021_091_603)));
        assert_eq!(r.text, "Call Trace:");
    }

    #[test]
    fn dmesg_chained_brackets_and_caller() {
        let r = one(
            "kern  :err   : [  +0.000001] [Tue Jan 13 04:33:10 2026] [T88870] I/O error, dev sda, sector 1",
        );
        assert_eq!((r.level, r.caller.as_deref()), (Some(3), Some("T88870")));
        assert_eq!(wall(&r), "2026-01-13T04:33:10+00:00");
        assert_eq!(r.text, "I/O error, dev sda, sector 1");
        let r = one("[  12.000001] [C1] msg");
        assert_eq!(
            (r.mono_usec, r.caller.as_deref(), r.text.as_str()),
            (Some(12_000_001), Some("C1"), "msg")
        );
        // Not a caller id without a dmesg prefix in front.
        assert_eq!(one("[T1] msg").text, "[T1] msg");
    }

    #[test]
    fn printk_stamp_behind_an_unknown_prefix() {
        let r = one("Jun 25, 2021 @ 12:42:13.029 | kernel | [113782.638786] Memory cgroup out of memory");
        assert_eq!(
            (r.mono_usec, r.text.as_str()),
            (Some(113_782_638_786), "Memory cgroup out of memory")
        );
        let r =
            one("/ # [90216.140000] watchdog: BUG: soft lockup - CPU#0 stuck for 186s! [kworker/u3:3:2073]");
        assert_eq!(r.mono_usec, Some(90_216_140_000));
        // A recognised syslog line keeps its message whole.
        let r = one("Nov 23 15:54:01 h kernel: foo [ 12.345678] bar");
        assert_eq!(r.text, "foo [ 12.345678] bar");
    }

    #[test]
    fn bare_text_grep_output_and_quotes() {
        let r = one("kernel: java invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=0");
        assert_eq!(
            r.text,
            "java invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=0"
        );
        let r = one("> Nov 30 10:16:57 iZuf601 kernel: Killed process 799153 (node), UID 1000,");
        assert_eq!(r.text, "Killed process 799153 (node), UID 1000,");
        let r = one("   Killed process 1 (x) total-vm:1kB   ");
        assert_eq!(
            (r.text.as_str(), r.mono_usec, r.wall),
            ("Killed process 1 (x) total-vm:1kB", None, None)
        );
        // A task-table row is not a timestamp.
        let r = one("[ 8060]     0  8060    69678    17890 python3");
        assert_eq!(
            (r.mono_usec, r.text.as_str()),
            (None, "[ 8060]     0  8060    69678    17890 python3")
        );
    }

    #[test]
    fn syslog_years_roll_over_backwards_from_the_hint() {
        let text = "Dec 31 23:59:59 h kernel: old\nJan  1 00:00:01 h kernel: new\n";
        let parsed = parse_text(text, Some(2027));
        assert_eq!(wall(&parsed.records[0]), "2026-12-31T23:59:59+00:00");
        assert_eq!(wall(&parsed.records[1]), "2027-01-01T00:00:01+00:00");
        // February 29th exists only in leap years.
        let parsed = parse_text("Feb 29 12:00:00 h kernel: leap", Some(2025));
        assert_eq!(parsed.records[0].wall, None);
        assert_eq!(parsed.records[0].text, "leap");
    }

    #[test]
    fn wrapped_lines_are_joined_to_the_line_they_continue() {
        let text = "[5193605.506728] Task in /kubepods/pod9/c1 killed as a result of limit of /kubepo\n\
                    ds/pod9/c1\n\
                    [ 503.293880] active_anon:239 inactive_anon:6955\n\
                    \x20               active_file:7458 inactive_file:23136\n\
                    Nov 23 15:54:01 h sshd[1]: a message\n\
                    \x20   its second line\n\
                    \n\
                    a bare line\n\
                    another bare line\n\
                    [ 1.000000] a short line\n\
                    oom-kill:constraint=CONSTRAINT_NONE\n";
        let parsed = parse_text(text, Some(2026));
        let texts: Vec<&str> = parsed.records.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Task in /kubepods/pod9/c1 killed as a result of limit of /kubepods/pod9/c1",
                "active_anon:239 inactive_anon:6955 active_file:7458 inactive_file:23136",
                "a bare line",
                "another bare line",
                "a short line",
                "oom-kill:constraint=CONSTRAINT_NONE",
            ]
        );
        assert_eq!(parsed.skipped_lines, 2);
    }

    #[test]
    fn markdown_fences_are_not_log_lines() {
        let text = "```shell\n```[Sun Mar 30 08:24:00 2025] first\n[Sun Mar 30 08:24:01 2025] last```\n```\n";
        let parsed = parse_text(text, None);
        let texts: Vec<&str> = parsed.records.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["first", "last"]);
        assert!(parsed.records.iter().all(|r| r.wall.is_some()));
    }

    #[test]
    fn invalid_utf8_is_decoded_lossily() {
        let parsed = parse_text_bytes(b"[    1.000000] caf\xe9\n\n\xff\xfe\n", Some(2026));
        assert_eq!(parsed.records.len(), 2);
        assert_eq!(parsed.records[0].text, "caf\u{fffd}");
    }
}
