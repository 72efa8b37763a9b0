//! Pressure stall information: `/proc/pressure/{cpu,memory,io,irq}` and cgroup2 `{cpu,memory,io,irq}.pressure`.
//!
//! From Documentation/accounting/psi.rst:
//!
//! ```text
//! some avg10=0.00 avg60=0.00 avg300=0.00 total=0
//! full avg10=0.00 avg60=0.00 avg300=0.00 total=0
//! ```
//!
//! "The avg10, avg60 and avg300 are the percentage of time over the last 10, 60 and 300 seconds that
//! some (at least one) or full (all non-idle) tasks were stalled"; `total` is the cumulative stall in
//! microseconds. Kernels before 5.13 print only the `some` line for cpu; `/proc/pressure/irq` prints
//! only `full`. procfs-core's `CpuPressure` rejects a one-line file, so osdoctor parses PSI itself.

use serde::Serialize;

/// One `some` or `full` line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PsiLine {
    /// Percent of wall time stalled over the last 10 s.
    pub avg10: f64,
    pub avg60: f64,
    pub avg300: f64,
    /// Cumulative stall time in microseconds.
    pub total_usec: u64,
}

/// A whole pressure file; either line may be absent.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Pressure {
    pub some: Option<PsiLine>,
    pub full: Option<PsiLine>,
}

/// Why a pressure file did not parse: the 1-based line and what was wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct PsiError {
    pub line: usize,
    pub message: String,
}

/// Parse a pressure file. Unknown keys are ignored (new kernels may add some); a line that is not
/// `some`/`full` or lacks `avg10` is an error.
pub fn parse(text: &str) -> Result<Pressure, PsiError> {
    let mut out = Pressure::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let err = |message: String| PsiError { line: i + 1, message };
        let mut words = line.split_ascii_whitespace();
        let which = words.next().unwrap_or_default();
        let (mut avg10, mut avg60, mut avg300, mut total) = (None, None, None, None);
        for word in words {
            let Some((key, value)) = word.split_once('=') else {
                return Err(err(format!("expected key=value, found {word:?}")));
            };
            let bad = || err(format!("bad number in {word:?}"));
            match key {
                "avg10" => avg10 = Some(value.parse::<f64>().map_err(|_| bad())?),
                "avg60" => avg60 = Some(value.parse::<f64>().map_err(|_| bad())?),
                "avg300" => avg300 = Some(value.parse::<f64>().map_err(|_| bad())?),
                "total" => total = Some(value.parse::<u64>().map_err(|_| bad())?),
                _ => {}
            }
        }
        let (Some(avg10), Some(avg60), Some(avg300), Some(total_usec)) = (avg10, avg60, avg300, total) else {
            return Err(err(format!("missing avg10/avg60/avg300/total in {line:?}")));
        };
        let rec = PsiLine {
            avg10,
            avg60,
            avg300,
            total_usec,
        };
        match which {
            "some" => out.some = Some(rec),
            "full" => out.full = Some(rec),
            other => return Err(err(format!("expected 'some' or 'full', found {other:?}"))),
        }
    }
    if out.some.is_none() && out.full.is_none() {
        return Err(PsiError {
            line: 1,
            message: "empty pressure file".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_lines() {
        let p = parse(
            "some avg10=54.12 avg60=20.00 avg300=3.10 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        )
        .unwrap();
        assert_eq!(p.some.unwrap().avg10, 54.12);
        assert_eq!(p.some.unwrap().total_usec, 123456);
        assert_eq!(p.full.unwrap().avg60, 0.0);
    }

    #[test]
    fn cpu_before_5_13_has_only_some() {
        let p = parse("some avg10=1.50 avg60=0.80 avg300=0.20 total=999\n").unwrap();
        assert_eq!(p.some.unwrap().avg10, 1.5);
        assert!(p.full.is_none());
    }

    #[test]
    fn irq_has_only_full() {
        let p = parse("full avg10=0.10 avg60=0.00 avg300=0.00 total=42\n").unwrap();
        assert!(p.some.is_none());
        assert_eq!(p.full.unwrap().total_usec, 42);
    }

    #[test]
    fn garbage_names_the_line() {
        let e = parse("some avg10=1.0 avg60=1 avg300=1 total=1\nfull avg10=x avg60=1 avg300=1 total=1\n")
            .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(parse("").is_err());
        assert!(parse("some avg10=1.0\n").is_err());
    }
}
