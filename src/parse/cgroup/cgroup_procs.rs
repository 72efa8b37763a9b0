//! `cgroup.procs` (v1 and v2).
//!
//! cgroup-v2.rst: "When read, it lists the PIDs of all processes which belong to the cgroup
//! one-per-line. The PIDs are not ordered and the same PID may show up more than once if the process
//! got moved to another cgroup and then back or the PID got recycled while reading."

use super::error::ParseError;

/// Parse `cgroup.procs` into sorted, deduplicated PIDs.
pub fn parse(text: &str) -> Result<Vec<i32>, ParseError> {
    let mut pids = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let word = line.trim();
        if word.is_empty() {
            continue;
        }
        match word.parse::<i32>() {
            Ok(pid) if pid > 0 => pids.push(pid),
            _ => return Err(ParseError::new(i + 1, format!("expected a PID, found {word:?}"))),
        }
    }
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deduplicated_and_sorted() {
        assert_eq!(parse("30\n7\n30\n").unwrap(), vec![7, 30]);
        assert!(parse("").unwrap().is_empty());
        assert_eq!(parse("1\nabc\n").unwrap_err().line, 2);
        assert!(parse("0\n").is_err());
    }
}
