//! Checks before procfs-core parsers that fail on input the kernel never writes but a damaged copy
//! can hold (a truncated file in a copied tree, a bundle, a snapshot edited by hand): such a file is
//! an error to report, never a panic (found by fuzzing, tests/fuzz/).

use procfs_core::FromRead;

/// The largest value, in kB, a /proc/meminfo line may hold: procfs-core multiplies it by 1024 (by
/// 2^30 for `GB`), which overflows above this in a debug build and wraps in a release one. 2^40 kB is
/// a PiB of memory.
pub const MEMINFO_MAX_KB: u64 = 1 << 40;

/// /proc/meminfo through procfs-core, refusing values it cannot scale to bytes.
pub fn meminfo(bytes: &[u8]) -> Result<procfs_core::Meminfo, String> {
    let text = String::from_utf8_lossy(bytes);
    for line in text.lines() {
        // procfs-core cuts the last byte off the name (its colon): a name ending in a character of
        // more than one byte would be cut inside it.
        if line
            .split_whitespace()
            .next()
            .is_some_and(|name| !name.is_ascii())
        {
            return Err(format!("{line:?}: not a meminfo line"));
        }
        let mut words = line.split_whitespace().skip(1);
        let (Some(value), unit) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(value) = value.parse::<u64>() else {
            continue; // procfs-core says what is wrong with it
        };
        let limit = match unit {
            Some("MiB" | "miB" | "MB" | "mB") => MEMINFO_MAX_KB >> 10,
            Some("GiB" | "giB" | "GB" | "gB") => MEMINFO_MAX_KB >> 20,
            _ => MEMINFO_MAX_KB,
        };
        if value > limit {
            return Err(format!("{line:?}: the value is too large to be memory"));
        }
    }
    procfs_core::Meminfo::from_read(bytes).map_err(|e| format!("{e} (truncated or unknown format?)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_meminfo_reads_and_an_overflowing_one_is_an_error() {
        let real = std::fs::read("/proc/meminfo").unwrap();
        assert!(meminfo(&real).is_ok());
        // Found by the host fuzz target: 18 digits of kB overflow procfs-core's scaling.
        let bad = b"MemTotal:       246837720000000000 kB\nMemFree: 1 kB\n";
        assert!(meminfo(bad).unwrap_err().contains("too large"));
        // Found by the next campaign: a name ending in a two-byte character.
        assert!(
            meminfo("-\u{600} 0\n".as_bytes())
                .unwrap_err()
                .contains("not a meminfo line")
        );
    }
}
