//! The trend history of `--state`: the gauges that leak, per subject, over days, thinned in time and
//! bounded in subjects.
//!
//! Thinning. Every series keeps its last [`RAW_POINTS`] points as they were taken (one per run), so
//! runs a minute or a few seconds apart still show "grew in each of the last 3 runs". Older points are
//! thinned to the first point of each 10-minute bucket for the last day, and of each hour beyond, and
//! dropped after 7 days ([`HORIZON_SECS`]): never more than one point per 10 minutes, at most about
//! 300 points per subject, so an hourly cron and a one-minute timer both see hours to days of trend.
//! Buckets are fixed in wall time (not relative to now), so a point kept once stays kept until it
//! ages into the coarser zone.
//!
//! Bounding. Every subject keeps its thinned history, dips and all (a fit over the upswings alone
//! would see a leak in any oscillation), up to [`cap`] subjects of its kind (200 processes, 100
//! cgroups, 50 filesystems). Which ones: those nearest a limit at their own pace, ranked by the
//! shortest projected time to the limit of any gauge (fds against the soft limit, RSS against the
//! memory limit that binds, working set against memory.max, space used against full; the rate a
//! Theil–Sen fit over up to [`RANK_POINTS`] of the points), so a noisy gauge far from its limit does
//! not crowd out a slow leak near it. Every other subject keeps its latest point only (up to
//! [`BASELINE_CAP`]), so that growth by the next run can be seen and ranked. The notes of
//! [`History::record`] say when a cap dropped the history of growing subjects. Whatever the number of
//! processes the file stays under a few MB.
//!
//! Forgetting. A process that exited (its `PID:STARTTIME` not seen by a run that listed processes) is
//! dropped; a cgroup or a filesystem not seen keeps its points until they age out at [`HORIZON_SECS`]
//! (a mount that comes back, a collector that missed it once). A kind this run did not collect is
//! left as it is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Points kept as taken, newest last: a trend over the last runs needs the runs themselves.
pub const RAW_POINTS: usize = 12;
/// Points older than this are dropped.
pub const HORIZON_SECS: i64 = 7 * 86_400;
/// Within the last day, one point per 10 minutes.
pub const FINE_BUCKET_SECS: i64 = 600;
pub const FINE_SPAN_SECS: i64 = 86_400;
/// Beyond it, one point per hour.
pub const COARSE_BUCKET_SECS: i64 = 3_600;
/// How far ahead of a run's time a point may be and still be taken for a concurrent run's.
pub const CLOCK_SLACK_MS: i64 = 10 * 60_000;
/// Subjects kept with their latest point only, per kind.
pub const BASELINE_CAP: usize = 4_096;
/// The points of a series the ranking fits (evenly picked, the latest included): the fit is quadratic.
pub const RANK_POINTS: usize = 24;

/// The kinds of subject with a history, and their gauges (the order of a point's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TrendKind {
    Host,
    Process,
    Cgroup,
    Mount,
}

impl TrendKind {
    pub const ALL: [TrendKind; 4] = [
        TrendKind::Host,
        TrendKind::Process,
        TrendKind::Cgroup,
        TrendKind::Mount,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TrendKind::Host => "host",
            TrendKind::Process => "process",
            TrendKind::Cgroup => "cgroup",
            TrendKind::Mount => "mount",
        }
    }

    /// The gauges a point holds, in order; the file names them so that a later version can tell.
    pub fn gauges(self) -> &'static [&'static str] {
        match self {
            TrendKind::Host => &["fd_allocated", "conntrack_entries"],
            TrendKind::Process => &["fd_open", "rss_bytes", "threads"],
            TrendKind::Cgroup => &["working_set_bytes", "pids_current"],
            TrendKind::Mount => &["used_bytes", "inodes_used"],
        }
    }

    /// How many subjects of this kind keep a history.
    pub fn cap(self) -> usize {
        match self {
            TrendKind::Host => 1,
            TrendKind::Process => 200,
            TrendKind::Cgroup => 100,
            TrendKind::Mount => 50,
        }
    }

    /// What the coverage note calls them.
    fn plural(self) -> &'static str {
        match self {
            TrendKind::Host => "host gauges",
            TrendKind::Process => "processes",
            TrendKind::Cgroup => "cgroups",
            TrendKind::Mount => "filesystems",
        }
    }
}

pub use TrendKind::*;

/// One reading: wall time in milliseconds since the epoch, and the kind's gauges (`null` when not read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point(pub i64, pub Vec<Option<f64>>);

impl Point {
    pub fn secs(&self) -> f64 {
        self.0 as f64 / 1000.0
    }

    pub fn get(&self, gauge: usize) -> Option<f64> {
        self.1.get(gauge).copied().flatten()
    }
}

/// One subject's readings, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// A name for people reading the file (a process's comm); the key identifies.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    pub points: Vec<Point>,
}

/// One subject's reading in this run.
#[derive(Debug, Clone)]
pub struct Observation {
    pub kind: TrendKind,
    /// `PID:STARTTIME` for a process, the cgroup path, the mount point, `host`.
    pub key: String,
    pub label: String,
    pub values: Vec<Option<f64>>,
    /// The limit each gauge grows towards (`None`: none known), for ranking who keeps a history.
    pub limits: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Runs that added points (the history's depth, for "needs 4 runs").
    #[serde(default)]
    pub runs: u64,
    /// Each kind's gauge names, as [`TrendKind::gauges`] (a kind whose gauges differ is not read).
    #[serde(default)]
    pub gauges: BTreeMap<String, Vec<String>>,
    /// Kind name -> subject key -> series.
    #[serde(default)]
    pub series: BTreeMap<String, BTreeMap<String, Series>>,
    /// The boot the process keys belong to (/proc/sys/kernel/random/boot_id): after a reboot an
    /// early daemon gets the same pid and start time, so its key names another process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
}

impl History {
    /// The series of a subject, if it has one.
    pub fn series(&self, kind: TrendKind, key: &str) -> Option<&Series> {
        self.series.get(kind.name())?.get(key)
    }

    /// Drop the kinds whose stored gauges are not this binary's (written by another version).
    pub fn drop_foreign_gauges(&mut self) {
        for kind in TrendKind::ALL {
            let ours: Vec<String> = kind.gauges().iter().map(|g| g.to_string()).collect();
            if let Some(theirs) = self.gauges.get(kind.name())
                && *theirs != ours
            {
                self.series.remove(kind.name());
            }
        }
        self.gauges.clear();
    }

    /// Note the boot this run saw: process series of another boot are dropped (their keys may name
    /// new processes). Returns a coverage note when it did. An unknown boot changes nothing.
    pub fn set_boot(&mut self, boot_id: Option<&str>) -> Option<String> {
        let now = boot_id?.trim();
        if now.is_empty() {
            return None;
        }
        let before = self.boot_id.replace(now.to_string());
        if before.as_deref().is_none_or(|b| b == now) {
            return None;
        }
        let dropped = self.series.remove(Process.name()).map_or(0, |p| p.len());
        (dropped > 0).then(|| {
            format!("--state: the host rebooted since the last run: the history of {dropped} processes was dropped")
        })
    }

    /// Add this run's readings at `now_ms` for the kinds in `collected` (the kinds this run listed:
    /// a kind whose collector failed or did not run is left as it is). A process not observed has
    /// exited and is dropped; a cgroup or filesystem not observed keeps its points until they age out.
    /// Each series is thinned and each kind bounded. Returns coverage notes on what the caps dropped.
    pub fn record(
        &mut self,
        now_ms: i64,
        observations: Vec<Observation>,
        collected: &[TrendKind],
    ) -> Vec<String> {
        self.drop_foreign_gauges();
        let mut notes = Vec::new();
        let mut by_kind: BTreeMap<TrendKind, Vec<Observation>> = BTreeMap::new();
        for o in observations {
            by_kind.entry(o.kind).or_default().push(o);
        }
        for kind in TrendKind::ALL {
            self.gauges.insert(
                kind.name().to_string(),
                kind.gauges().iter().map(|g| g.to_string()).collect(),
            );
            if !collected.contains(&kind) {
                continue;
            }
            let mut old = self.series.remove(kind.name()).unwrap_or_default();
            let mut fresh: Vec<(String, Series, Vec<Option<f64>>)> = Vec::new();
            for o in by_kind.remove(&kind).unwrap_or_default() {
                let mut s = old.remove(&o.key).unwrap_or_default();
                s.label = o.label;
                // Points far ahead of now are from a clock since set back: they cannot be placed.
                // A little ahead is a run that started after this one and saved first (runs take
                // the lock once their samples are taken): this point goes before it.
                s.points.retain(|p| p.0 <= now_ms + CLOCK_SLACK_MS);
                let at = s.points.partition_point(|p| p.0 < now_ms);
                if s.points.get(at).is_none_or(|p| p.0 != now_ms) {
                    s.points.insert(at, Point(now_ms, o.values));
                }
                thin(&mut s.points, now_ms);
                fresh.push((o.key, s, o.limits));
            }
            // Not seen: a process exited; a cgroup or a mount ages out.
            if kind != Process {
                for (key, mut s) in old {
                    s.points
                        .retain(|p| p.0 <= now_ms + CLOCK_SLACK_MS && (now_ms - p.0) / 1000 <= HORIZON_SECS);
                    thin(&mut s.points, now_ms);
                    if !s.points.is_empty() {
                        fresh.push((key, s, Vec::new()));
                    }
                }
            }
            let (kept, dropped_growing, dropped) = bound(kind, fresh);
            if dropped_growing > 0 {
                notes.push(format!(
                    "--state: {dropped_growing} growing {} lost their trend history (it keeps {}, those nearest a limit \
                     at their rate): their growth is judged from the next runs only",
                    kind.plural(),
                    kind.cap()
                ));
            }
            if dropped > 0 {
                notes.push(format!(
                    "--state: {dropped} {} were not remembered at all (over {BASELINE_CAP}): their growth by the next run \
                     cannot be seen",
                    kind.plural()
                ));
            }
            if !kept.is_empty() {
                self.series.insert(kind.name().to_string(), kept);
            }
        }
        self.runs += 1;
        notes
    }
}

/// Keep the last [`RAW_POINTS`] as they are; before them one point per bucket (10 minutes within the
/// last day, an hour beyond), nothing older than 7 days.
pub fn thin(points: &mut Vec<Point>, now_ms: i64) {
    let raw_from = points.len().saturating_sub(RAW_POINTS);
    let mut last_bucket = None;
    let mut kept = Vec::with_capacity(points.len());
    for (i, p) in points.drain(..).enumerate() {
        if i >= raw_from {
            kept.push(p);
            continue;
        }
        let age = (now_ms - p.0) / 1000;
        if age > HORIZON_SECS {
            continue;
        }
        let width = if age <= FINE_SPAN_SECS {
            FINE_BUCKET_SECS
        } else {
            COARSE_BUCKET_SECS
        };
        let bucket = (width, p.0.div_euclid(width * 1000));
        if last_bucket == Some(bucket) {
            continue;
        }
        last_bucket = Some(bucket);
        kept.push(p);
    }
    *points = kept;
}

/// How soon a series reaches a limit: the shortest projected time (seconds) over the gauges with a
/// limit, at the Theil–Sen rate over up to [`RANK_POINTS`] of its points from its latest value;
/// `None` when no gauge with a limit grows.
pub fn seconds_to_limit(s: &Series, limits: &[Option<f64>]) -> Option<f64> {
    let n = s.points.len();
    if n < 2 {
        return None;
    }
    let k = n.min(RANK_POINTS);
    let picked: Vec<&Point> = (0..k).map(|i| &s.points[i * (n - 1) / (k - 1)]).collect();
    let last = s.points.last()?;
    limits
        .iter()
        .enumerate()
        .filter_map(|(g, limit)| {
            let limit = (*limit)?;
            let pts: Vec<(f64, f64)> = picked
                .iter()
                .filter_map(|p| Some((p.secs(), p.get(g)?)))
                .collect();
            let slope = crate::facts::trend::theil_sen(&pts)?;
            let now = last.get(g)?;
            (slope > 0.0).then(|| ((limit - now) / slope).max(0.0))
        })
        .min_by(f64::total_cmp)
}

/// The subjects nearest a limit (the shortest projected time first) with their history, up to the
/// kind's cap; every other one with its latest point, up to [`BASELINE_CAP`] in all, the nearest then the
/// largest first. Returns the series kept, how many growing ones lost their history and how many were
/// dropped altogether.
fn bound(
    kind: TrendKind,
    fresh: Vec<(String, Series, Vec<Option<f64>>)>,
) -> (BTreeMap<String, Series>, usize, usize) {
    let size = |s: &Series| s.points.last().and_then(|p| p.get(0)).unwrap_or(0.0);
    let mut ranked: Vec<(Option<f64>, String, Series)> = fresh
        .into_iter()
        .map(|(key, s, limits)| (seconds_to_limit(&s, &limits), key, s))
        .collect();
    ranked.sort_by(|a, b| {
        let t = |x: &Option<f64>| x.unwrap_or(f64::INFINITY);
        t(&a.0)
            .total_cmp(&t(&b.0))
            .then_with(|| size(&b.2).total_cmp(&size(&a.2)))
            .then_with(|| a.1.cmp(&b.1))
    });
    let mut kept = BTreeMap::new();
    let mut dropped_growing = 0;
    let mut dropped = 0;
    for (i, (time, key, mut s)) in ranked.into_iter().enumerate() {
        if i >= kind.cap() {
            // The latest point only.
            if s.points.len() > 1 && time.is_some() {
                dropped_growing += 1;
            }
            let n = s.points.len();
            s.points.drain(..n.saturating_sub(1));
        }
        if i >= BASELINE_CAP.max(kind.cap()) {
            dropped += 1;
            continue;
        }
        kept.insert(key, s);
    }
    (kept, dropped_growing, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(key: &str, fd: f64) -> Observation {
        Observation {
            kind: Process,
            key: key.to_string(),
            label: "x".to_string(),
            values: vec![Some(fd), Some(1e6), Some(1.0)],
            limits: vec![Some(1024.0), Some(16e9), None],
        }
    }

    const ALL: &[TrendKind] = &TrendKind::ALL;

    #[test]
    fn raw_points_are_kept_and_older_ones_thinned_to_buckets() {
        let now = 10 * 86_400_000;
        // One point a minute for 3 days.
        let mut points: Vec<Point> = (0..3 * 1440)
            .map(|m| Point(now - (3 * 1440 - 1 - m) * 60_000, vec![Some(m as f64)]))
            .collect();
        thin(&mut points, now);
        let raw = &points[points.len() - RAW_POINTS..];
        assert!(
            raw.windows(2).all(|w| w[1].0 - w[0].0 == 60_000),
            "the last runs as taken"
        );
        // At most one point per 10 minutes before them, one per hour beyond a day.
        let older = &points[..points.len() - RAW_POINTS];
        for w in older.windows(2) {
            let age = (now - w[1].0) / 1000;
            let gap = (w[1].0 - w[0].0) / 1000;
            assert!(
                gap >= if age > FINE_SPAN_SECS { 3000 } else { 600 },
                "{gap} s at age {age}"
            );
        }
        assert!(points.len() <= RAW_POINTS + 144 + 48 + 2, "{}", points.len());
        // Thinning again keeps what it kept.
        let again = points.clone();
        thin(&mut points, now);
        assert_eq!(points, again);
        // Nothing older than 7 days.
        let later = now + 20 * 86_400_000;
        let mut old = vec![Point(0, vec![]), Point(1, vec![])];
        old.extend((0..RAW_POINTS as i64).map(|i| Point(later - 1000 + i, vec![])));
        thin(&mut old, later);
        assert_eq!(old.len(), RAW_POINTS);
    }

    #[test]
    fn size_stays_bounded_over_eight_days_of_runs_with_processes_coming_and_going() {
        let mut h = History::default();
        let start = 1_700_000_000_000i64;
        // 8 days of a run every 10 minutes: 250 growing processes (50 over the cap), 200 flat ones
        // replaced every hour (pids come and go).
        let mut sizes = Vec::new();
        for run in 0..8 * 144i64 {
            let now = start + run * 600_000;
            let generation = run / 6;
            let mut o: Vec<Observation> = (0..250)
                .map(|p| obs(&format!("{p}:1"), (100 + run) as f64))
                .collect();
            o.extend((0..200).map(|p| obs(&format!("{}:{generation}", 1000 + p), 50.0)));
            let notes = h.record(now, o, ALL);
            if run == 0 {
                assert!(notes.is_empty(), "{notes:?}");
            } else {
                assert!(
                    notes
                        .iter()
                        .any(|n| n.contains("50 growing processes lost their trend history")),
                    "{notes:?}"
                );
            }
            if run % 144 == 143 {
                sizes.push(serde_json::to_vec(&h).unwrap().len());
            }
        }
        let procs = &h.series["process"];
        assert_eq!(procs.len(), 200 + 50 + 200);
        let longest = procs.values().map(|s| s.points.len()).max().unwrap();
        assert!(longest <= RAW_POINTS + 144 + 144 + 2, "{longest}");
        // Bounded: the last day's file is no bigger than the 7th's, and a few MB at most.
        assert!(sizes[7] <= sizes[6] + sizes[6] / 50, "{sizes:?}");
        assert!(sizes[7] < 4_000_000, "{sizes:?}");
        assert_eq!(h.runs, 8 * 144);
    }

    #[test]
    fn over_the_baseline_cap_subjects_are_not_remembered_and_a_note_says_so() {
        let mut h = History::default();
        let o = (0..BASELINE_CAP + 10)
            .map(|p| obs(&format!("{p}:1"), p as f64))
            .collect();
        let notes = h.record(1, o, ALL);
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("--state: 10 processes were not remembered")),
            "{notes:?}"
        );
        // The largest are kept.
        assert!(h.series(Process, &format!("{}:1", BASELINE_CAP + 9)).is_some());
        assert!(h.series(Process, "0:1").is_none());
    }

    #[test]
    fn every_subject_keeps_its_history_dips_and_all() {
        let mut h = History::default();
        for (i, fd) in [10.0, 10.0, 30.0, 5.0, 50.0].into_iter().enumerate() {
            h.record(i as i64 * 1000 + 1, vec![obs("1:1", fd), obs("2:1", 7.0)], ALL);
        }
        assert_eq!(h.series(Process, "2:1").unwrap().points.len(), 5);
        let fds = |h: &History| -> Vec<f64> {
            h.series(Process, "1:1")
                .unwrap()
                .points
                .iter()
                .map(|p| p.get(0).unwrap())
                .collect()
        };
        // A dip does not cut the history down to the latest point.
        assert_eq!(fds(&h), [10.0, 10.0, 30.0, 5.0, 50.0]);
        // Nor does the last point being below the first.
        h.record(3500, vec![obs("1:1", 1.0), obs("2:1", 7.0)], ALL);
        assert_eq!(fds(&h), [10.0, 10.0, 30.0, 5.0, 1.0, 50.0]);
        // A run that started earlier but saved later goes before the points of the one that saved first.
        let times: Vec<i64> = h
            .series(Process, "1:1")
            .unwrap()
            .points
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(times, [1, 1001, 2001, 3001, 3500, 4001]);
        // An exited process is gone.
        h.record(10_000, vec![obs("2:1", 7.0)], ALL);
        assert!(h.series(Process, "1:1").is_none());
    }

    fn subject(kind: TrendKind, key: &str, v: f64) -> Observation {
        Observation {
            kind,
            key: key.to_string(),
            label: String::new(),
            values: vec![Some(v), Some(1.0)],
            limits: vec![None, None],
        }
    }

    #[test]
    fn unseen_cgroups_and_mounts_age_out_and_a_kind_not_collected_is_left_alone() {
        let mut h = History::default();
        let day = 86_400_000i64;
        for run in 0..4 {
            h.record(
                run * 600_000,
                vec![
                    obs("1:1", 10.0 + run as f64),
                    subject(Cgroup, "/app", 1e6),
                    subject(Mount, "/data", 1e9),
                ],
                ALL,
            );
        }
        // A run that lists processes but did not see the cgroup or the mount: both stay.
        h.record(day, vec![obs("2:1", 5.0)], ALL);
        assert_eq!(h.series(Cgroup, "/app").unwrap().points.len(), 4);
        assert_eq!(h.series(Mount, "/data").unwrap().points.len(), 4);
        assert!(h.series(Process, "1:1").is_none());
        // A run that collected no processes (their collector failed): the processes stay too.
        h.record(day + 600_000, vec![subject(Cgroup, "/app", 2e6)], &[Host, Cgroup]);
        assert!(h.series(Process, "2:1").is_some());
        assert_eq!(h.series(Cgroup, "/app").unwrap().points.len(), 5);
        assert_eq!(h.series(Mount, "/data").unwrap().points.len(), 4);
        // Past the 7-day horizon the unseen ones are gone.
        h.record(8 * day, vec![obs("2:1", 5.0)], ALL);
        assert!(h.series(Mount, "/data").is_none());
        assert_eq!(h.series(Cgroup, "/app").unwrap().points.len(), 1);
        h.record(9 * day, vec![obs("2:1", 5.0)], ALL);
        assert!(h.series(Cgroup, "/app").is_none());
    }

    #[test]
    fn history_goes_to_the_subjects_nearest_a_limit_not_to_the_noisiest() {
        let mut h = History::default();
        let mut notes = Vec::new();
        for run in 0..6i64 {
            // 250 processes whose RSS goes from 1 MB to 50 MB (a relative growth of 49, far from 16 GB
            // of RAM)...
            let mut o: Vec<Observation> = (0..250)
                .map(|p| {
                    let rss = 1e6 + 9.8e6 * run as f64 + p as f64;
                    Observation {
                        kind: Process,
                        key: format!("{p}:1"),
                        label: "noisy".to_string(),
                        values: vec![Some(10.0), Some(rss), Some(1.0)],
                        limits: vec![Some(1024.0), Some(16e9), None],
                    }
                })
                .collect();
            // ...and one leaking 400 fds a run (from 10,000 to 12,000: a relative growth of 0.2) towards its
            // limit of 16,384.
            o.push(Observation {
                kind: Process,
                key: "9999:1".to_string(),
                label: "leaky".to_string(),
                values: vec![Some(10_000.0 + 400.0 * run as f64), Some(1e8), Some(1.0)],
                limits: vec![Some(16_384.0), Some(16e9), None],
            });
            notes = h.record(1_700_000_000_000 + run * 600_000, o, ALL);
        }
        assert_eq!(h.series(Process, "9999:1").unwrap().points.len(), 6);
        // The noisy ones over the cap lost theirs, and the note says how many and of what kind.
        assert!(
            notes.iter().any(
                |n| n.starts_with("--state: 51 growing processes lost their trend history (it keeps 200")
            ),
            "{notes:?}"
        );
    }

    #[test]
    fn a_reboot_drops_the_process_history_whose_keys_may_name_new_processes() {
        let mut h = History::default();
        assert_eq!(h.set_boot(Some("a\n")), None);
        h.record(1, vec![obs("1:1", 10.0), subject(Mount, "/data", 1e9)], ALL);
        assert_eq!(h.set_boot(Some("a")), None);
        assert_eq!(h.set_boot(None), None);
        assert!(h.series(Process, "1:1").is_some());
        let note = h.set_boot(Some("b")).unwrap();
        assert!(note.contains("the history of 1 processes was dropped"), "{note}");
        assert!(h.series(Process, "1:1").is_none());
        assert!(h.series(Mount, "/data").is_some());
        assert_eq!(h.boot_id.as_deref(), Some("b"));
    }
}
