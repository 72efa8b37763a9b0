//! Trend facts: growth across `--state` runs and the projected time to the limit that binds.
//!
//! The points come from the state's history (`state::history`, read by `pipeline/trend.rs`) plus this
//! run's value; this module is the arithmetic. Growth is counted run by run: `*.growth_runs` is how
//! many of the latest steps between consecutive runs each grew (3 means the last 4 points rose every
//! time). The rate is fitted over the whole history with the Theil–Sen estimator (the median of the
//! slopes between every pair of points), which one outlier cannot swing, over wall time; the time left
//! is (limit - the fitted line's value now) / that rate (the line through the median of y - slope * x,
//! so one burst in the latest reading does not move it either). The per-run rate is the median of the
//! last three steps.

use super::FactSet;

/// The facts this module derives.
#[rustfmt::skip]
pub static FACTS: &[super::FactDef] = &[
    fact!("proc.fd.growth_runs", Count, Process, ["--state"], "consecutive --state runs, up to this one, in which the process's open fds grew"),
    fact!("proc.fd.growth_per_run", Number, Process, ["--state"], "open fds added per run (median of the last 3 runs' growth)"),
    fact!("proc.fd.history_s", Seconds, Process, ["--state"], "how far back the --state history of the open fds goes (the span the rate is fitted over)"),
    fact!("proc.fd.growth_per_hour", Number, Process, ["--state"], "open fds added per hour, fitted over the whole --state history (Theil-Sen)"),
    fact!("proc.fd.seconds_to_limit", Seconds, Process, ["--state"], "projected time until the open fds reach the soft RLIMIT_NOFILE at the fitted rate"),
    fact!("proc.rss.growth_runs", Count, Process, ["--state"], "consecutive --state runs, up to this one, in which the process's RSS grew"),
    fact!("proc.rss.growth_per_run", Bytes, Process, ["--state"], "RSS added per run (median of the last 3 runs' growth)"),
    fact!("proc.rss.history_s", Seconds, Process, ["--state"], "how far back the --state history of the RSS goes (the span the rate is fitted over)"),
    fact!("proc.rss.growth_per_hour", Bytes, Process, ["--state"], "RSS added per hour, fitted over the whole --state history (Theil-Sen)"),
    fact!("proc.rss.limit_bytes", Bytes, Process, ["/proc/meminfo", "memory.max"], "the memory limit that binds the process: its cgroup's memory.max when lower than RAM, else RAM"),
    fact!("proc.rss.limit_name", Text, Process, ["/proc/meminfo", "memory.max"], "which limit binds: RAM, or the cgroup whose limit is lower"),
    fact!("proc.rss.seconds_to_limit", Seconds, Process, ["--state"], "projected time until its RSS reaches proc.rss.limit_bytes at the fitted rate"),
    fact!("cgroup.memory.growth_runs", Count, Cgroup, ["--state"], "consecutive --state runs, up to this one, in which the working set grew"),
    fact!("cgroup.memory.growth_per_run", Bytes, Cgroup, ["--state"], "working set added per run (median of the last 3 runs' growth)"),
    fact!("cgroup.memory.history_s", Seconds, Cgroup, ["--state"], "how far back the --state history of the working set goes (the span the rate is fitted over)"),
    fact!("cgroup.memory.growth_per_hour", Bytes, Cgroup, ["--state"], "working set added per hour, fitted over the whole --state history (Theil-Sen)"),
    fact!("cgroup.memory.seconds_to_limit", Seconds, Cgroup, ["--state"], "projected time until the working set reaches memory.max at the fitted rate"),
    fact!("mount.used.growth_runs", Count, Mount, ["--state"], "consecutive --state runs, up to this one, in which the space used grew"),
    fact!("mount.used.growth_per_run", Bytes, Mount, ["--state"], "space used added per run (median of the last 3 runs' growth)"),
    fact!("mount.used.history_s", Seconds, Mount, ["--state"], "how far back the --state history of the space used goes (the span the rate is fitted over)"),
    fact!("mount.used.growth_per_hour", Bytes, Mount, ["--state"], "space used added per hour, fitted over the whole --state history (Theil-Sen)"),
    fact!("mount.used.seconds_to_full", Seconds, Mount, ["--state"], "projected time until no space is available at the fitted rate"),
];

/// The runs a trend needs: growth in each of the last 3 steps is 4 points.
pub const MIN_RUNS: u64 = 4;
/// The growth steps the trend rules ask for (their `when`); the fit is made only from there.
pub const MIN_GROWTH_RUNS: usize = 3;

/// The facts one gauge's trend sets.
pub struct TrendFacts {
    pub growth_runs: &'static str,
    pub per_run: &'static str,
    pub per_hour: &'static str,
    pub to_limit: &'static str,
    pub history: &'static str,
}

pub const PROC_FD: TrendFacts = TrendFacts {
    growth_runs: "proc.fd.growth_runs",
    per_run: "proc.fd.growth_per_run",
    per_hour: "proc.fd.growth_per_hour",
    to_limit: "proc.fd.seconds_to_limit",
    history: "proc.fd.history_s",
};
pub const PROC_RSS: TrendFacts = TrendFacts {
    growth_runs: "proc.rss.growth_runs",
    per_run: "proc.rss.growth_per_run",
    per_hour: "proc.rss.growth_per_hour",
    to_limit: "proc.rss.seconds_to_limit",
    history: "proc.rss.history_s",
};
pub const CGROUP_MEMORY: TrendFacts = TrendFacts {
    growth_runs: "cgroup.memory.growth_runs",
    per_run: "cgroup.memory.growth_per_run",
    per_hour: "cgroup.memory.growth_per_hour",
    to_limit: "cgroup.memory.seconds_to_limit",
    history: "cgroup.memory.history_s",
};
pub const MOUNT_USED: TrendFacts = TrendFacts {
    growth_runs: "mount.used.growth_runs",
    per_run: "mount.used.growth_per_run",
    per_hour: "mount.used.growth_per_hour",
    to_limit: "mount.used.seconds_to_full",
    history: "mount.used.history_s",
};

impl TrendFacts {
    /// Every fact absent, for one reason (no --state, too few runs).
    pub fn absent(&self, f: &mut FactSet, why: &std::sync::Arc<str>) {
        for name in [
            self.growth_runs,
            self.per_run,
            self.per_hour,
            self.to_limit,
            self.history,
        ] {
            f.absent(name, why.clone());
        }
    }

    /// Set the facts from `points` (seconds, value; oldest first, this run's last) and the limit.
    pub fn set(&self, f: &mut FactSet, points: &[(f64, f64)], limit: Option<f64>) {
        let runs = growth_runs(points);
        f.num(self.growth_runs, runs as f64);
        if let (Some(first), Some(last)) = (points.first(), points.last()) {
            f.num(self.history, last.0 - first.0);
        }
        if runs == 0 {
            return;
        }
        let steps: Vec<f64> = points
            .windows(2)
            .rev()
            .take(runs.min(3))
            .map(|w| w[1].1 - w[0].1)
            .collect();
        f.opt(self.per_run, median(steps));
        // The fit is quadratic in the points (up to ~300): only where a rule can use it.
        if runs < MIN_GROWTH_RUNS {
            return;
        }
        let Some(slope) = theil_sen(points) else {
            return;
        };
        f.num(self.per_hour, slope * 3600.0);
        let Some(limit) = limit else {
            f.absent(self.to_limit, "no limit is known");
            return;
        };
        // From the fitted line at now (the Theil–Sen intercept, the median of y - slope * x), not the
        // latest raw value: a burst in the last reading does not move the projection.
        let fitted_now = points.last().and_then(|(t, _)| {
            let intercept = median(points.iter().map(|(x, y)| y - slope * (x - t)).collect())?;
            Some(intercept)
        });
        match (points.last(), fitted_now) {
            (Some((_, now)), _) if *now >= limit => f.num(self.to_limit, 0.0),
            (Some(_), Some(fit)) if slope > 0.0 => f.num(self.to_limit, ((limit - fit) / slope).max(0.0)),
            _ => f.absent(
                self.to_limit,
                "over the whole --state history it did not grow (Theil-Sen slope <= 0)",
            ),
        }
    }
}

/// How many of the latest steps each grew: 0 when the last one did not.
pub fn growth_runs(points: &[(f64, f64)]) -> usize {
    points.windows(2).rev().take_while(|w| w[1].1 > w[0].1).count()
}

/// The median; `None` for no values.
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let n = v.len();
    let (low, upper, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    let upper = *upper;
    Some(if n % 2 == 1 {
        upper
    } else {
        let lower = low.iter().copied().max_by(f64::total_cmp).unwrap_or(upper);
        (lower + upper) / 2.0
    })
}

/// The Theil–Sen slope (per second): the median of the slopes between every pair of points taken at
/// different times. Robust: up to about 29% of the points can be outliers without moving it far.
/// `None` with fewer than two distinct times.
pub fn theil_sen(points: &[(f64, f64)]) -> Option<f64> {
    let mut slopes = Vec::with_capacity(points.len() * points.len().saturating_sub(1) / 2);
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            let dt = b.0 - a.0;
            if dt > 0.0 {
                slopes.push((b.1 - a.1) / dt);
            }
        }
    }
    median(slopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theil_sen_ignores_an_outlier_that_least_squares_would_follow() {
        // 20 an hour, with one wild reading (a burst of connections) in the middle.
        let mut pts: Vec<(f64, f64)> = (0..10)
            .map(|h| (h as f64 * 3600.0, 100.0 + 20.0 * h as f64))
            .collect();
        pts[5].1 = 5000.0;
        let slope = theil_sen(&pts).unwrap() * 3600.0;
        assert!((slope - 20.0).abs() < 1e-9, "{slope}");
        assert_eq!(theil_sen(&[(1.0, 1.0)]), None);
        assert_eq!(theil_sen(&[(1.0, 1.0), (1.0, 5.0)]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0, 10.0]), Some(2.5));
    }

    #[test]
    fn growth_runs_counts_the_latest_steps_that_grew() {
        let p = |v: &[f64]| {
            v.iter()
                .enumerate()
                .map(|(i, v)| (i as f64, *v))
                .collect::<Vec<_>>()
        };
        assert_eq!(growth_runs(&p(&[1.0, 2.0, 3.0, 4.0])), 3);
        assert_eq!(growth_runs(&p(&[5.0, 2.0, 3.0, 4.0])), 2);
        assert_eq!(growth_runs(&p(&[1.0, 2.0, 3.0, 3.0])), 0);
        assert_eq!(growth_runs(&p(&[1.0])), 0);
    }

    #[test]
    fn time_to_limit_runs_from_the_fitted_line_not_a_burst_in_the_last_reading() {
        // 20 fds an hour for 10 hours from 100, then a burst of 300 in the last reading.
        let mut pts: Vec<(f64, f64)> = (0..=10)
            .map(|h| (h as f64 * 3600.0, 100.0 + 20.0 * h as f64))
            .collect();
        pts[10].1 += 300.0;
        let mut f = FactSet::default();
        PROC_FD.set(&mut f, &pts, Some(1024.0));
        // From the line's 300 now: 724 left at 20 an hour, not 424.
        let left = f.get_f64("proc.fd.seconds_to_limit").unwrap();
        assert!((left - 724.0 * 180.0).abs() < 1e-6, "{left}");
    }

    #[test]
    fn time_to_limit_uses_wall_time_and_the_latest_value() {
        let mut f = FactSet::default();
        // 20 fds every 2 seconds from 100: at 160 now, 864 left to 1,024 at 10/s.
        let pts: Vec<(f64, f64)> = (0..4)
            .map(|i| (i as f64 * 2.0, 100.0 + 20.0 * i as f64))
            .collect();
        PROC_FD.set(&mut f, &pts, Some(1024.0));
        assert_eq!(f.get_f64("proc.fd.growth_runs"), Some(3.0));
        assert_eq!(f.get_f64("proc.fd.growth_per_run"), Some(20.0));
        assert_eq!(f.get_f64("proc.fd.growth_per_hour"), Some(36_000.0));
        assert_eq!(f.get_f64("proc.fd.seconds_to_limit"), Some(86.4));
        assert_eq!(f.get_f64("proc.fd.history_s"), Some(6.0));
        // Flat: growth 0, nothing projected.
        let mut f = FactSet::default();
        PROC_FD.set(&mut f, &[(0.0, 5.0), (1.0, 5.0)], Some(10.0));
        assert_eq!(f.get_f64("proc.fd.growth_runs"), Some(0.0));
        assert_eq!(f.get_f64("proc.fd.seconds_to_limit"), None);
    }
}
