//! The fields of a saved log line's prefix, decoded: printk seconds and fractions, dates and
//! times, zones, month names (English and eight other locales), syslog facility and level names.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use regex::Captures;

pub(super) fn num(c: &Captures<'_>, group: usize) -> Option<u64> {
    c.get(group)?.as_str().parse().ok()
}

/// Seconds and an optional fraction (any number of digits: `12`, `12.3`, `12.345678`) in microseconds.
pub(super) fn mono_usec(c: &Captures<'_>, secs_group: usize, fraction_group: usize) -> Option<u64> {
    let secs = num(c, secs_group)?;
    let micros = u64::from(c.get(fraction_group).map_or(0, |f| fraction_nanos(f.as_str())) / 1000);
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
pub fn parse_offset(zone: &str) -> Option<FixedOffset> {
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

/// Month abbreviations as glibc's `%b` prints them (`dmesg -T` uses the locale's): English, German,
/// French, Spanish, Italian, Portuguese, Dutch, Polish and Russian (Chinese, Japanese and Korean
/// print the month's number: [`month_number`]). Trailing dots (`nov.`) are
/// ignored; a name not in the table is tried by its first three letters (`November`, `Sept`).
#[rustfmt::skip]
const MONTH_NAMES: [(&str, u32); 65] = [
    // en, and the names other locales share with it
    ("jan", 1), ("feb", 2), ("mar", 3), ("apr", 4), ("may", 5), ("jun", 6),
    ("jul", 7), ("aug", 8), ("sep", 9), ("oct", 10), ("nov", 11), ("dec", 12),
    // de
    ("mär", 3), ("mrz", 3), ("mai", 5), ("okt", 10), ("dez", 12),
    // fr
    ("janv", 1), ("févr", 2), ("mars", 3), ("avr", 4), ("avril", 4), ("juin", 6), ("juil", 7),
    ("août", 8), ("sept", 9), ("déc", 12),
    // es, it, pt
    ("ene", 1), ("abr", 4), ("ago", 8), ("dic", 12), ("gen", 1), ("mag", 5), ("giu", 6),
    ("lug", 7), ("set", 9), ("ott", 10), ("fev", 2), ("out", 10),
    // nl, pl
    ("mrt", 3), ("mei", 5), ("sty", 1), ("lut", 2), ("kwi", 4), ("maj", 5), ("cze", 6),
    ("lip", 7), ("sie", 8), ("wrz", 9), ("paź", 10), ("lis", 11), ("gru", 12),
    // ru (the genitive forms glibc prints after a day)
    ("янв", 1), ("фев", 2), ("мар", 3), ("апр", 4), ("мая", 5), ("май", 5), ("июн", 6), ("июл", 7), ("авг", 8),
    ("сен", 9), ("окт", 10), ("ноя", 11), ("дек", 12),
];

pub(super) fn month_number(name: &str) -> Option<u32> {
    // zh_CN, ja_JP, ko_KR: `12月`, `1월`.
    if let Some(digits) = name.strip_suffix('月').or_else(|| name.strip_suffix('월')) {
        return digits.trim().parse().ok().filter(|m| (1..=12).contains(m));
    }
    let lower = name.trim_end_matches('.').to_lowercase();
    let find = |key: &str| MONTH_NAMES.iter().find(|(n, _)| *n == key).map(|&(_, m)| m);
    find(&lower).or_else(|| {
        let prefix: String = lower.chars().take(3).collect();
        // French juin / juillet share their first three letters.
        (prefix != "jui").then(|| find(&prefix)).flatten()
    })
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
