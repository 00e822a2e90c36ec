//! The pure parts of the harness: summary statistics, pairwise ratios, inversion counting,
//! the seeded generator that draws `wait_n`'s delays, and the worker's result line.
//!
//! Nothing here reads a clock or touches the system, so all of it is unit-tested.

use std::fmt;
use std::time::Duration;

/// The median of `xs` (mean of the two middle values for an even count), `None` when empty.
/// NaNs sort last and so only matter when they are the majority.
pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// Median, minimum and maximum of one metric over the counted rounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// How many values it summarises.
    pub count: usize,
}

impl Summary {
    /// Summarises `xs`; `None` when there is nothing to summarise.
    pub fn of(xs: &[f64]) -> Option<Summary> {
        let median = median(xs)?;
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Summary {
            median,
            min,
            max,
            count: xs.len(),
        })
    }
}

/// Ratios `a[i] / b[i]` for the rounds where both runs succeeded and the ratio is finite.
///
/// Pairing by round (rather than dividing two medians) cancels drifts of the machine that
/// hit both runtimes of one round alike.
pub fn paired_ratios(a: &[Option<f64>], b: &[Option<f64>]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .filter_map(|(x, y)| match (x, y) {
            (Some(x), Some(y)) if *y != 0.0 => Some(x / y).filter(|r| r.is_finite()),
            _ => None,
        })
        .collect()
}

/// The `p`-th percentile of `sorted` (ascending) by nearest rank, with `p` in basis points
/// (`9900` is p99): the smallest value that at least `p`/10,000 of the values do not exceed.
/// Integer arithmetic, so `python/worker.py` computes exactly the same index.
pub fn percentile_sorted<T: Copy>(sorted: &[T], p_bp: u64) -> Option<T> {
    let n = sorted.len() as u64;
    if n == 0 {
        return None;
    }
    let rank = (p_bp.min(10_000) * n).div_ceil(10_000).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

/// p50, p99 and max of signed nanosecond samples, in microseconds, and how many are < 0.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Spread {
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub negative: usize,
}

impl Spread {
    pub fn of(samples_ns: &[i64]) -> Spread {
        let mut v = samples_ns.to_vec();
        v.sort_unstable();
        let us = |x: Option<i64>| x.map_or(0.0, |ns| ns as f64 / 1e3);
        Spread {
            p50_us: us(percentile_sorted(&v, 5_000)),
            p99_us: us(percentile_sorted(&v, 9_900)),
            max_us: us(v.last().copied()),
            negative: v.iter().take_while(|&&x| x < 0).count(),
        }
    }
}

/// Out-of-order pairs in a sequence that should be sorted ascending.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Inversions {
    /// Adjacent pairs with `xs[i] > xs[i + 1]`.
    pub count: usize,
    /// The largest `xs[i] - xs[i + 1]` over those pairs (0 when there is none).
    pub max_gap: f64,
}

/// Counts adjacent inversions of `xs` and the largest gap among them.
pub fn adjacent_inversions(xs: &[f64]) -> Inversions {
    xs.windows(2)
        .filter(|w| w[0] > w[1])
        .fold(Inversions::default(), |acc, w| Inversions {
            count: acc.count + 1,
            max_gap: acc.max_gap.max(w[0] - w[1]),
        })
}

/// splitmix64 (Steele, Lea, Flood 2014): tiny, seedable, and identical for every runtime.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// `n` delays uniform in `[0, max)` in whole nanoseconds, drawn from splitmix64 seeded with
/// `seed` (Lemire's multiply-shift maps each 64-bit draw onto the range).
pub fn uniform_delays(seed: u64, n: usize, max: Duration) -> Vec<Duration> {
    let mut rng = SplitMix64::new(seed);
    let range = u64::try_from(max.as_nanos()).expect("max fits in u64 nanoseconds");
    (0..n)
        .map(|_| {
            let ns = (u128::from(rng.next_u64()) * u128::from(range)) >> 64;
            Duration::from_nanos(ns as u64)
        })
        .collect()
}

/// The first word of the worker's result line, so the parent can find it among other output.
pub const RESULT_TAG: &str = "boucle-bench-result";

/// The first word of the line a worker prints instead when its runtime cannot run the
/// workload on this machine or in this build; the rest of the line says why.
pub const UNAVAILABLE_TAG: &str = "boucle-bench-unavailable";

/// What a worker answered: its result, or why its runtime cannot run the workload here.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Result(Record),
    Unavailable(String),
}

impl Reply {
    /// Finds the last result or unavailable line in a worker's whole stdout.
    pub fn find_in(output: &str) -> Result<Reply, ParseError> {
        let line = output
            .lines()
            .rev()
            .find(|l| {
                matches!(
                    l.split_whitespace().next(),
                    Some(RESULT_TAG | UNAVAILABLE_TAG)
                )
            })
            .ok_or(ParseError::NoResultLine)?;
        match line.trim().strip_prefix(UNAVAILABLE_TAG) {
            Some(why) => Ok(Reply::Unavailable(why.trim().to_owned())),
            None => Record::parse_line(line).map(Reply::Result),
        }
    }
}

/// One worker's result: ordered `key=value` pairs, printed on one line after [`RESULT_TAG`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    fields: Vec<(String, String)>,
}

/// Why a result line could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// No line of the output starts with [`RESULT_TAG`].
    NoResultLine,
    /// A word of the result line is not `key=value`.
    BadField(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::NoResultLine => write!(f, "no `{RESULT_TAG}` line in the worker's output"),
            ParseError::BadField(w) => write!(f, "`{w}` in the result line is not key=value"),
        }
    }
}

impl std::error::Error for ParseError {}

impl Record {
    pub fn new() -> Self {
        Record::default()
    }

    /// Appends `key=value`. Keys and values must not contain whitespace or `=`.
    pub fn push(&mut self, key: &str, value: impl fmt::Display) -> &mut Self {
        let value = value.to_string();
        assert!(
            is_word(key) && is_word(&value),
            "result fields must be single words without '=': {key}={value}"
        );
        self.fields.push((key.to_owned(), value));
        self
    }

    /// The value of `key`, as written.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key` as a number, `None` when missing or not a number.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.get(key)?.parse().ok()
    }

    /// Parses one line `boucle-bench-result key=value key=value ...`.
    pub fn parse_line(line: &str) -> Result<Record, ParseError> {
        let mut words = line.split_whitespace();
        if words.next() != Some(RESULT_TAG) {
            return Err(ParseError::NoResultLine);
        }
        let fields = words
            .map(|w| match w.split_once('=') {
                Some((k, v)) if !k.is_empty() && !v.contains('=') => {
                    Ok((k.to_owned(), v.to_owned()))
                }
                _ => Err(ParseError::BadField(w.to_owned())),
            })
            .collect::<Result<_, _>>()?;
        Ok(Record { fields })
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(RESULT_TAG)?;
        for (k, v) in &self.fields {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && !s.contains('=') && !s.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[5.0, 5.0, 1.0, 9.0, 5.0]), Some(5.0));
    }

    #[test]
    fn summary_has_min_and_max() {
        let s = Summary::of(&[3.0, 10.0, 1.0, 4.0, 2.0]).unwrap();
        assert_eq!(
            s,
            Summary {
                median: 3.0,
                min: 1.0,
                max: 10.0,
                count: 5
            }
        );
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn ratios_pair_rounds_and_skip_failures() {
        let a = [Some(10.0), Some(20.0), None, Some(30.0), Some(1.0)];
        let b = [Some(5.0), Some(40.0), Some(1.0), None, Some(0.0)];
        assert_eq!(paired_ratios(&a, &b), vec![2.0, 0.5]);
        // The median of per-round ratios is not the ratio of medians.
        let a = [Some(1.0), Some(10.0), Some(10.0)];
        let b = [Some(1.0), Some(1.0), Some(100.0)];
        assert_eq!(median(&paired_ratios(&a, &b)), Some(1.0));
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile_sorted(&v, 5_000), Some(50));
        assert_eq!(percentile_sorted(&v, 9_900), Some(99));
        assert_eq!(percentile_sorted(&v, 10_000), Some(100));
        assert_eq!(percentile_sorted(&v, 0), Some(1));
        assert_eq!(percentile_sorted::<i64>(&[], 5_000), None);
        assert_eq!(percentile_sorted(&[7], 9_900), Some(7));
        // 1,000 values: p99 is the 990th.
        let v: Vec<i64> = (1..=1000).collect();
        assert_eq!(percentile_sorted(&v, 9_900), Some(990));
        assert_eq!(percentile_sorted(&[1, 2, 3], 5_000), Some(2));
        assert_eq!(percentile_sorted(&[1, 2, 3, 4], 5_000), Some(2));
    }

    #[test]
    fn spread_counts_early_samples() {
        let mut samples: Vec<i64> = (0..1000).map(|i| i * 1000).collect();
        samples[3] = -2_500;
        samples[7] = -1;
        let s = Spread::of(&samples);
        assert_eq!(s.negative, 2);
        assert_eq!(s.max_us, 999.0);
        assert_eq!(s.p99_us, 989.0);
        assert_eq!(s.p50_us, 499.0);
        assert_eq!(Spread::of(&[]), Spread::default());
    }

    #[test]
    fn inversions_count_adjacent_pairs_and_largest_gap() {
        assert_eq!(adjacent_inversions(&[]), Inversions::default());
        assert_eq!(adjacent_inversions(&[1.0]), Inversions::default());
        assert_eq!(
            adjacent_inversions(&[0.1, 0.2, 0.2, 0.9]),
            Inversions::default()
        );
        let inv = adjacent_inversions(&[0.1, 0.5, 0.2, 0.3, 0.25, 0.8]);
        assert_eq!(inv.count, 2);
        assert!((inv.max_gap - 0.3).abs() < 1e-12);
        // Only adjacent pairs count: [3, 1, 2] has one adjacent inversion.
        assert_eq!(adjacent_inversions(&[3.0, 1.0, 2.0]).count, 1);
    }

    #[test]
    fn splitmix64_is_deterministic_and_in_range() {
        // First output for seed 0, as published with the reference implementation.
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
        let second = Duration::from_secs(1);
        let a = uniform_delays(42, 1000, second);
        assert_eq!(a, uniform_delays(42, 1000, second));
        assert_ne!(a, uniform_delays(43, 1000, second));
        assert!(a.iter().all(|d| *d < second));
        let mean = a.iter().sum::<Duration>().as_secs_f64() / a.len() as f64;
        assert!((mean - 0.5).abs() < 0.05, "mean {mean}");
    }

    #[test]
    fn record_round_trips_through_its_line() {
        let mut r = Record::new();
        r.push("runtime", "tokio")
            .push("workload", "wait_n")
            .push("overhead_ms", 12.5)
            .push("inversions", 0);
        let line = r.to_string();
        assert_eq!(
            line,
            "boucle-bench-result runtime=tokio workload=wait_n overhead_ms=12.5 inversions=0"
        );
        let back = Record::parse_line(&line).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.get("runtime"), Some("tokio"));
        assert_eq!(back.number("overhead_ms"), Some(12.5));
        assert_eq!(back.number("runtime"), None);
        assert_eq!(back.number("missing"), None);
    }

    #[test]
    fn record_is_found_among_other_output() {
        let out = "some log line\nboucle-bench-result a=1 b=x\ntrailing noise\n";
        let Ok(Reply::Result(r)) = Reply::find_in(out) else {
            panic!("no result in {out:?}");
        };
        assert_eq!(r.number("a"), Some(1.0));
        assert_eq!(
            Reply::find_in("nothing here"),
            Err(ParseError::NoResultLine)
        );
        assert_eq!(
            Record::parse_line("boucle-bench-result a=1 oops"),
            Err(ParseError::BadField("oops".into()))
        );
        assert_eq!(
            Record::parse_line("boucle-bench-result a=1=2"),
            Err(ParseError::BadField("a=1=2".into()))
        );
        assert_eq!(
            Record::parse_line("boucle-bench-resultx a=1"),
            Err(ParseError::NoResultLine)
        );
    }

    #[test]
    fn replies_are_results_or_reasons() {
        let out = "noise\nboucle-bench-unavailable no io_uring here: EPERM\n";
        assert_eq!(
            Reply::find_in(out),
            Ok(Reply::Unavailable("no io_uring here: EPERM".into()))
        );
        let out = "boucle-bench-result a=1\n";
        assert!(matches!(Reply::find_in(out), Ok(Reply::Result(r)) if r.number("a") == Some(1.0)));
        assert_eq!(Reply::find_in("x"), Err(ParseError::NoResultLine));
    }

    #[test]
    #[should_panic(expected = "single words")]
    fn record_rejects_values_with_spaces() {
        Record::new().push("msg", "two words");
    }
}
