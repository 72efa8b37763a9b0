//! Units and how numbers are shown to people: the lowest layer, used by facts, rules and reports.

use serde::Serialize;

/// How a fact's number is read and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A share from 0 to 1, shown as a percentage; thresholds may be written "80%".
    Ratio,
    /// Already a percentage (0..100), as PSI prints it.
    Percent,
    Bytes,
    /// Events per second.
    PerSecond,
    /// Pages per second.
    PagesPerSecond,
    /// A whole number of things.
    Count,
    Seconds,
    /// A plain number (load average, a sysctl value).
    Number,
    /// Text: names, lists of top processes; usable in summaries and evidence, not in comparisons.
    Text,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Unit::Ratio => "ratio",
            Unit::Percent => "percent",
            Unit::Bytes => "bytes",
            Unit::PerSecond => "per_second",
            Unit::PagesPerSecond => "pages_per_second",
            Unit::Count => "count",
            Unit::Seconds => "seconds",
            Unit::Number => "number",
            Unit::Text => "text",
        }
    }
}

/// A number in its unit, for humans: `93.2%`, `1.9 GiB`, `12,345/s`.
pub fn format_value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Ratio => format!("{:.1}%", v * 100.0),
        Unit::Percent => format!("{v:.1}%"),
        Unit::Bytes => format_bytes(v),
        Unit::PerSecond => format!("{}/s", format_number(v)),
        Unit::PagesPerSecond => format!("{} pages/s", format_number(v)),
        Unit::Count => group_thousands(v.round() as i64),
        Unit::Seconds => format_duration(v),
        Unit::Number | Unit::Text => format_number(v),
    }
}

/// Whole numbers grouped, small ones with up to two decimals.
pub fn format_number(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 {
        group_thousands(v.round() as i64)
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Seconds for humans: `4.8 ms` (under a second: a disk's await), `42 s`, `3 min 20 s`, `2 h 5 min`,
/// `3 d 4 h`.
pub fn format_duration(secs: f64) -> String {
    if secs > 0.0 && secs < 0.9995 {
        let ms = secs * 1000.0;
        return if ms >= 10.0 {
            format!("{ms:.0} ms")
        } else {
            format!("{ms:.2} ms")
        };
    }
    let s = secs.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86400, s % 86400 / 3600),
    }
}

/// Binary units, one decimal.
pub fn format_bytes(v: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = v;
    let mut i = 0;
    while v.abs() >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(format_value(0.9321, Unit::Ratio), "93.2%");
        assert_eq!(format_value(2040109465.6, Unit::Bytes), "1.9 GiB");
        assert_eq!(format_value(12345.4, Unit::PerSecond), "12,345/s");
        assert_eq!(format_value(2.5, Unit::Number), "2.50");
        assert_eq!(format_value(1234567.0, Unit::Count), "1,234,567");
        assert_eq!(format_value(512.0, Unit::Bytes), "512 B");
        assert_eq!(format_value(0.0048, Unit::Seconds), "4.80 ms");
        assert_eq!(format_value(0.25, Unit::Seconds), "250 ms");
        assert_eq!(format_value(0.0, Unit::Seconds), "0 s");
        assert_eq!(format_value(61.0, Unit::Seconds), "1 min 1 s");
    }
}
