//! Time and counters: the monotonic clock, and the rate of a counter between two readings of it.

/// The monotonic clock in seconds.
pub fn monotonic_secs() -> f64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Change per second of a monotonic counter; `None` when it went backwards (a reset, a wrap, a
/// recreated cgroup) or no time passed: a rate is never guessed and never negative.
pub fn rate(before: u64, after: u64, elapsed_secs: f64) -> Option<f64> {
    if after < before || elapsed_secs.is_nan() || elapsed_secs <= 0.0 {
        return None;
    }
    Some((after - before) as f64 / elapsed_secs)
}

/// The same for signed counters as /proc/vmstat prints them.
pub fn rate_i64(before: i64, after: i64, elapsed_secs: f64) -> Option<f64> {
    if before < 0 || after < 0 {
        return None;
    }
    rate(before as u64, after as u64, elapsed_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_never_go_negative() {
        assert_eq!(rate(100, 300, 2.0), Some(100.0));
        assert_eq!(rate(300, 100, 2.0), None);
        assert_eq!(rate(1, 2, 0.0), None);
        assert_eq!(rate(1, 2, f64::NAN), None);
        assert_eq!(rate_i64(-1, 5, 1.0), None);
        assert_eq!(rate_i64(5, 5, 1.0), Some(0.0));
    }
}
