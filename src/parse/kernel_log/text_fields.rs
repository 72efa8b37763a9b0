//! The fields of a saved log line's prefix, decoded: printk seconds and fractions, dates and
//! times, zones, month names (English and German), syslog facility and level names.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use regex::Captures;

pub(super) fn num(c: &Captures<'_>, group: usize) -> Option<u64> {
    c.get(group)?.as_str().parse().ok()
}

pub(super) fn mono_usec(c: &Captures<'_>, secs_group: usize, fraction_group: usize) -> Option<u64> {
    let secs = num(c, secs_group)?;
    let micros = u64::from(fraction_nanos(c.get(fraction_group)?.as_str()) / 1000);
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

/// "5" -> 500_000_000; digits beyond nanoseconds are ignored.
pub(super) fn fraction_nanos(digits: &str) -> u32 {
    let mut nanos = 0u32;
    let mut scale = 100_000_000u32;
    for d in digits.chars().take(9) {
        nanos += d.to_digit(10).unwrap_or(0) * scale;
        scale /= 10;
    }
    nanos
}

pub(super) fn ymd_hms(c: &Captures<'_>, groups: [usize; 6], fraction: Option<&str>) -> Option<NaiveDateTime> {
    let [y, mo, d, h, mi, s] = groups;
    NaiveDate::from_ymd_opt(
        i32::try_from(num(c, y)?).ok()?,
        num(c, mo)? as u32,
        num(c, d)? as u32,
    )?
    .and_hms_nano_opt(
        num(c, h)? as u32,
        num(c, mi)? as u32,
        num(c, s)? as u32,
        fraction.map_or(0, fraction_nanos),
    )
}

/// A ctime-ordered time, `Mon DD HH:MM:SS YYYY` (CTIME and BUSYBOX: month name in group 1, day 2,
/// hours to seconds 3 to 5, year 6), which writes no zone: `offset` is assumed.
pub(super) fn ctime_wall(c: &Captures<'_>, offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
    let month = month_number(c.get(1).map_or("", |m| m.as_str()))?;
    let date = NaiveDate::from_ymd_opt(num(c, 6)? as i32, month, num(c, 2)? as u32)?;
    let naive = date.and_hms_opt(num(c, 3)? as u32, num(c, 4)? as u32, num(c, 5)? as u32)?;
    local_to_fixed(naive, offset)
}

pub(super) fn local_to_fixed(naive: NaiveDateTime, offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
    offset.from_local_datetime(&naive).single()
}

pub(super) fn utc() -> FixedOffset {
    Utc.fix()
}

/// `Z`, `+0100`, `+01:00`, `-05`.
pub(super) fn parse_offset(zone: &str) -> Option<FixedOffset> {
    if zone == "Z" {
        return Some(utc());
    }
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
    let hours: i32 = digits.get(..2)?.parse().ok()?;
    let minutes: i32 = digits.get(2..4).map_or(Some(0), |m| m.parse().ok())?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// English month abbreviations, plus the German ones `dmesg -T` prints under a German locale.
pub(super) fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [[&str; 2]; 12] = [
        ["jan", "jan"],
        ["feb", "feb"],
        ["mar", "mär"],
        ["apr", "apr"],
        ["may", "mai"],
        ["jun", "jun"],
        ["jul", "jul"],
        ["aug", "aug"],
        ["sep", "sep"],
        ["oct", "okt"],
        ["nov", "nov"],
        ["dec", "dez"],
    ];
    let lower = name.to_lowercase();
    let prefix: String = lower.chars().take(3).collect();
    MONTHS
        .iter()
        .position(|names| names.contains(&prefix.as_str()))
        .map(|i| i as u32 + 1)
}

pub(super) fn facility_code(name: &str) -> Option<u8> {
    const NAMES: [&str; 24] = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
        "res0", "res1", "res2", "res3", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
        "local7",
    ];
    NAMES.iter().position(|n| *n == name).map(|i| i as u8)
}

pub(super) fn level_code(name: &str) -> Option<u8> {
    let code = match name {
        "emerg" | "panic" => 0,
        "alert" => 1,
        "crit" => 2,
        "err" | "error" => 3,
        "warn" | "warning" => 4,
        "notice" => 5,
        "info" => 6,
        "debug" => 7,
        _ => return None,
    };
    Some(code)
}
