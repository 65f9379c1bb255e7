//! The arithmetic of a benchmark run, kept pure so it can be tested without
//! a server: percentiles by nearest rank over sorted latencies, rates, ratios.

use std::time::Duration;

/// What one load run amounts to.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Successful requests counted.
    pub count: usize,
    /// Successful requests per second of measured time.
    pub per_second: f64,
    /// Median latency of the successful requests.
    pub p50: Duration,
    /// 99th-percentile latency of the successful requests.
    pub p99: Duration,
    /// Slowest successful request.
    pub max: Duration,
}

/// The `p`-th percentile (0 < p ≤ 100) of `sorted` by the nearest-rank method:
/// the smallest value with at least p % of the samples at or below it. It is
/// always an observed latency, never an interpolation between two.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() || !(p > 0.0 && p <= 100.0) {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Summarises the latencies of the successful requests of a run that lasted
/// `elapsed`; `None` when nothing succeeded or no time passed.
pub fn summarize(mut latencies: Vec<Duration>, elapsed: Duration) -> Option<Summary> {
    if latencies.is_empty() || elapsed.is_zero() {
        return None;
    }
    latencies.sort_unstable();
    Some(Summary {
        count: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 50.0)?,
        p99: percentile(&latencies, 99.0)?,
        max: *latencies.last()?,
    })
}

/// `measured ÷ limit`, the share of the physical limit a run reached; `None`
/// when the limit is not a positive number.
pub fn ratio(measured: f64, limit: f64) -> Option<f64> {
    (limit > 0.0 && limit.is_finite() && measured.is_finite()).then(|| measured / limit)
}

/// Raw rates measured around load slices of equal length: `raw[i]` right
/// before slice i, `raw[i + 1]` right after it. The rate the raw yardstick
/// had during the load is the mean of each slice's two ends, averaged over
/// the slices (the trapezoid rule), which follows a machine whose speed
/// drifts during the run where one measurement before and one after cannot.
/// `None` unless there is exactly one more raw rate than slices.
pub fn raw_during(raw: &[f64], slices: usize) -> Option<f64> {
    if slices == 0 || raw.len() != slices + 1 {
        return None;
    }
    let sum: f64 = raw.windows(2).map(|ends| (ends[0] + ends[1]) / 2.0).sum();
    Some(sum / slices as f64)
}

/// Milliseconds with a fractional part, the unit the reports use.
pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Clock ticks per second in `/proc/…/stat` (USER_HZ): 100 on every Linux ABI
/// Koban runs on, whatever the kernel's internal tick rate.
pub const USER_HZ: f64 = 100.0;

/// User plus system CPU time, in clock ticks, from the text of a
/// `/proc/<pid>/stat` or `/proc/thread-self/stat` file. The command name
/// (field 2) may hold spaces and parentheses, so fields are counted from the
/// last `)`: utime and stime are fields 14 and 15.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Busy CPU time of the whole machine from `/proc/stat`'s first line, in
/// clock ticks: user, nice, system, irq and softirq (not idle, I/O wait or
/// time the hypervisor stole).
pub fn machine_busy_ticks_of(proc_stat: &str) -> Option<u64> {
    let line = proc_stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    Some(ticks.first()? + ticks.get(1)? + ticks.get(2)? + ticks.get(5)? + ticks.get(6)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn nearest_rank_percentiles() {
        let sorted: Vec<Duration> = (1..=100).map(ms).collect();
        for (p, want) in [(50.0, 50), (99.0, 99), (100.0, 100), (1.0, 1), (0.5, 1)] {
            assert_eq!(percentile(&sorted, p), Some(ms(want)), "p{p}");
        }
        // Ten samples: p99 is the largest, p50 the fifth.
        let ten: Vec<Duration> = (1..=10).map(ms).collect();
        assert_eq!(percentile(&ten, 50.0), Some(ms(5)));
        assert_eq!(percentile(&ten, 99.0), Some(ms(10)));
        assert_eq!(percentile(&[ms(7)], 99.0), Some(ms(7)));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&ten, 0.0), None);
        assert_eq!(percentile(&ten, 101.0), None);
        assert_eq!(percentile(&ten, f64::NAN), None);
    }

    #[test]
    fn summary_sorts_and_counts() {
        // Unsorted input, as the client tasks hand it over.
        let latencies = vec![ms(30), ms(10), ms(20), ms(40)];
        let s = summarize(latencies, Duration::from_secs(2)).unwrap();
        assert_eq!(s.count, 4);
        assert!((s.per_second - 2.0).abs() < 1e-9);
        assert_eq!(s.p50, ms(20));
        assert_eq!(s.p99, ms(40));
        assert_eq!(s.max, ms(40));
        assert_eq!(summarize(vec![], Duration::from_secs(1)), None);
        assert_eq!(summarize(vec![ms(1)], Duration::ZERO), None);
    }

    #[test]
    fn cpu_ticks_skip_a_command_name_with_spaces() {
        let stat = "4242 (koban (serve) x) S 1 4242 4242 0 -1 4194560 5812 0 0 0 \
                    1234 56 0 0 20 0 9 0 100 1000000 4000 18446744073709551615";
        assert_eq!(cpu_ticks(stat), Some(1290));
        assert_eq!(cpu_ticks("4242 (koban) S 1 2"), None);
        assert_eq!(cpu_ticks("no parenthesis"), None);
    }

    #[test]
    fn machine_busy_ticks_count_work_not_idle_wait_or_steal() {
        // user nice system idle iowait irq softirq steal guest guest_nice
        let stat =
            "cpu  1000 20 300 90000 400 5 60 700 0 0\ncpu0 500 10 150 45000 200 2 30 350 0 0\n";
        assert_eq!(machine_busy_ticks_of(stat), Some(1000 + 20 + 300 + 5 + 60));
        assert_eq!(machine_busy_ticks_of("cpu0 1 2 3 4 5 6 7\n"), None);
        assert_eq!(machine_busy_ticks_of("cpu  1 2 x 4 5 6 7\n"), None);
        assert_eq!(machine_busy_ticks_of("cpu  1 2 3\n"), None);
    }

    #[test]
    fn raw_during_follows_drift_between_slices() {
        // One slice: the mean of its two ends.
        assert_eq!(raw_during(&[100.0, 80.0], 1), Some(90.0));
        // A machine that slows down, then recovers: each slice weighs the
        // rates at its own ends, so the dip counts for the slices it touched.
        assert_eq!(raw_during(&[100.0, 80.0, 100.0], 2), Some(90.0));
        assert_eq!(raw_during(&[100.0, 100.0, 100.0, 70.0], 3), Some(95.0));
        // The brackets must match the slices.
        assert_eq!(raw_during(&[100.0], 1), None);
        assert_eq!(raw_during(&[100.0, 90.0, 80.0], 1), None);
        assert_eq!(raw_during(&[], 0), None);
    }

    proptest::proptest! {
        #[test]
        fn raw_during_lies_between_the_slowest_and_fastest_measurement(
            raw in proptest::collection::vec(1.0f64..10_000.0, 2..12),
        ) {
            let during = raw_during(&raw, raw.len() - 1).unwrap();
            let (low, high) = raw.iter().fold((f64::MAX, f64::MIN), |(l, h), r| (l.min(*r), h.max(*r)));
            proptest::prop_assert!(during >= low - 1e-9 && during <= high + 1e-9);
            // A steady machine gives its own rate back.
            let steady = vec![raw[0]; raw.len()];
            proptest::prop_assert!((raw_during(&steady, raw.len() - 1).unwrap() - raw[0]).abs() < 1e-9);
        }
    }

    #[test]
    fn ratio_guards_against_a_zero_limit() {
        assert_eq!(ratio(90.0, 100.0), Some(0.9));
        assert_eq!(ratio(1.0, 0.0), None);
        assert_eq!(ratio(f64::NAN, 1.0), None);
        assert!((millis(Duration::from_micros(1500)) - 1.5).abs() < 1e-12);
    }
}
