//! Focused parsers for the two per-process files whose procfs-core parsers dominate a scan's CPU time:
//! `/proc/PID/status` (procfs-core builds a HashMap of ~55 owned strings: 18 us a file measured here)
//! and `/proc/PID/limits` (10 us). These read only the fields osdoctor uses, without allocating
//! (about 1 us each). Tests check that they agree with procfs-core on every live process.

/// The fields of /proc/PID/status that osdoctor uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusFields {
    /// Real uid (first of the four `Uid:` values).
    pub ruid: u32,
    pub fdsize: Option<u64>,
    /// VmSwap in kB (absent for kernel threads and zombies).
    pub vmswap_kb: Option<u64>,
    pub capeff: Option<u64>,
    /// Number of NSpid entries (PID namespace levels).
    pub nspid_levels: Option<usize>,
    pub voluntary_ctxt_switches: Option<u64>,
    pub nonvoluntary_ctxt_switches: Option<u64>,
    /// VmRSS in kB (absent for kernel threads and zombies).
    pub vmrss_kb: Option<u64>,
    pub threads: Option<u64>,
}

/// Parse /proc/PID/status. `Uid` is required (a file without it is not a status file).
pub fn parse_status(bytes: &[u8]) -> Result<StatusFields, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let mut s = StatusFields::default();
    let mut uid = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let num = || {
            value
                .split_ascii_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        };
        match key {
            "Uid" => uid = num().map(|u| u as u32),
            "FDSize" => s.fdsize = num(),
            "VmSwap" => s.vmswap_kb = num(),
            "CapEff" => s.capeff = u64::from_str_radix(value, 16).ok(),
            "NSpid" => s.nspid_levels = Some(value.split_ascii_whitespace().count()),
            "voluntary_ctxt_switches" => s.voluntary_ctxt_switches = num(),
            "nonvoluntary_ctxt_switches" => s.nonvoluntary_ctxt_switches = num(),
            "VmRSS" => s.vmrss_kb = num(),
            "Threads" => s.threads = num(),
            _ => {}
        }
    }
    s.ruid = uid.ok_or("no Uid line")?;
    Ok(s)
}

/// Only the context-switch counters (per-thread `task/TID/status`).
pub fn parse_ctxt(bytes: &[u8]) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut v = None;
    let mut n = None;
    // They are the last lines of the file.
    for line in text.lines().rev() {
        if let Some(x) = line.strip_prefix("voluntary_ctxt_switches:") {
            v = x.trim().parse().ok();
        } else if let Some(x) = line.strip_prefix("nonvoluntary_ctxt_switches:") {
            n = x.trim().parse().ok();
        }
        if v.is_some() && n.is_some() {
            break;
        }
    }
    Some((v?, n?))
}

/// Soft and hard limits of the rows osdoctor uses; `None` inside means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitFields {
    pub nofile_soft: Option<u64>,
    pub nofile_hard: Option<u64>,
    pub nproc_soft: Option<u64>,
}

/// Parse /proc/PID/limits (`%-25s %-20s %-20s %-10s` rows, fs/proc/base.c).
pub fn parse_limits(bytes: &[u8]) -> Result<LimitFields, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let value = |w: Option<&str>| -> Result<Option<u64>, String> {
        match w {
            Some("unlimited") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| format!("bad limit {v:?}")),
            None => Err("truncated limits row".to_string()),
        }
    };
    let mut out = LimitFields::default();
    let (mut nofile, mut nproc) = (false, false);
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Max open files") {
            let mut w = rest.split_ascii_whitespace();
            out.nofile_soft = value(w.next())?;
            out.nofile_hard = value(w.next())?;
            nofile = true;
        } else if let Some(rest) = line.strip_prefix("Max processes") {
            out.nproc_soft = value(rest.split_ascii_whitespace().next())?;
            nproc = true;
        }
    }
    if !(nofile && nproc) {
        return Err("no Max open files / Max processes rows".to_string());
    }
    Ok(out)
}

/// /proc/PID/stat through procfs-core, after checking the shape its parser slices by: it panics on a
/// line whose `(` is first, whose `)` comes before `(` or last, or whose neighbours of the parens are
/// not single bytes (a truncated or damaged file in a copied tree or a bundle; the kernel never writes
/// one). Such a file is an error here, not a crash.
pub fn parse_stat(bytes: &[u8]) -> Result<procfs_core::process::Stat, String> {
    use procfs_core::FromRead;
    // procfs-core works on the trimmed lossy text; check the same text.
    let text = String::from_utf8_lossy(bytes);
    let line = text.trim().as_bytes();
    let open = line.iter().position(|&b| b == b'(');
    let close = line.iter().rposition(|&b| b == b')');
    let sane = match (open, close) {
        (Some(open), Some(close)) => {
            open >= 2
                && line[open - 1] == b' '
                && close > open
                && line.get(close + 1) == Some(&b' ')
                && close + 2 < line.len()
        }
        _ => false,
    };
    if !sane {
        return Err("not a stat line: no `PID (comm) STATE ...`".to_string());
    }
    procfs_core::process::Stat::from_read(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use procfs_core::FromRead;
    use procfs_core::process::{LimitValue, Limits, Status};

    fn lim(v: &LimitValue) -> Option<u64> {
        match v {
            LimitValue::Unlimited => None,
            LimitValue::Value(n) => Some(*n),
        }
    }

    #[test]
    fn agrees_with_procfs_core_on_every_live_process() {
        let mut compared = 0;
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let dir = e.path();
            let (Ok(status), Ok(limits)) = (
                std::fs::read(dir.join("status")),
                std::fs::read(dir.join("limits")),
            ) else {
                continue;
            };
            let (Ok(theirs), Ok(their_limits)) =
                (Status::from_read(&status[..]), Limits::from_read(&limits[..]))
            else {
                continue;
            };
            let ours = parse_status(&status).unwrap();
            assert_eq!(ours.ruid, theirs.ruid, "{}", dir.display());
            assert_eq!(ours.fdsize, Some(theirs.fdsize as u64));
            assert_eq!(ours.vmswap_kb, theirs.vmswap);
            assert_eq!(ours.capeff, Some(theirs.capeff));
            assert_eq!(ours.nspid_levels, theirs.nspid.as_ref().map(Vec::len));
            assert_eq!(ours.voluntary_ctxt_switches, theirs.voluntary_ctxt_switches);
            assert_eq!(ours.nonvoluntary_ctxt_switches, theirs.nonvoluntary_ctxt_switches);
            assert_eq!(ours.vmrss_kb, theirs.vmrss);
            assert_eq!(ours.threads, Some(theirs.threads));
            assert_eq!(
                parse_ctxt(&status),
                theirs
                    .voluntary_ctxt_switches
                    .zip(theirs.nonvoluntary_ctxt_switches)
            );
            let l = parse_limits(&limits).unwrap();
            assert_eq!(l.nofile_soft, lim(&their_limits.max_open_files.soft_limit));
            assert_eq!(l.nofile_hard, lim(&their_limits.max_open_files.hard_limit));
            assert_eq!(l.nproc_soft, lim(&their_limits.max_processes.soft_limit));
            compared += 1;
        }
        assert!(compared > 1);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_status(b"Name:\tx\n").is_err());
        assert!(parse_status(&[0xff, 0xfe]).is_err());
        assert!(parse_limits(b"Limit Soft Hard\n").is_err());
        assert!(parse_limits(b"Max open files            abc                  4096                 files\nMax processes 1 1\n").is_err());
        assert_eq!(parse_ctxt(b"voluntary_ctxt_switches:\t5\n"), None);
    }
}
