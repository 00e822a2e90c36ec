//! Turns the kept runs into tables: one per workload and size, one row per runtime, rendered
//! as aligned text for the terminal and as markdown for BENCHMARKS.md.

use std::fmt::Write as _;

use crate::harness::{Plan, RunError, RunResult};
use crate::rt::Runtime;
use crate::stats::{self, Summary};
use crate::workload::{Better, Size, Workload};

/// Every counted run of one workload: `runs[i][round]` belongs to `runtimes[i]`.
#[derive(Debug)]
pub struct WorkloadResults {
    pub workload: Workload,
    pub size: Size,
    pub runtimes: Vec<Runtime>,
    pub runs: Vec<Vec<RunResult>>,
}

impl WorkloadResults {
    /// `key` of each round of runtime `slot`, `None` where that run failed.
    pub fn values(&self, slot: usize, key: &str) -> Vec<Option<f64>> {
        self.runs[slot]
            .iter()
            .map(|r| r.as_ref().ok().and_then(|rec| rec.number(key)))
            .collect()
    }

    pub fn summary(&self, slot: usize, key: &str) -> Option<Summary> {
        let kept: Vec<f64> = self.values(slot, key).into_iter().flatten().collect();
        Summary::of(&kept)
    }

    pub fn slot(&self, rt: Runtime) -> Option<usize> {
        self.runtimes.iter().position(|&r| r == rt)
    }

    /// Median over rounds of `key`'s per-round ratio `a / b`.
    pub fn ratio(&self, a: Runtime, b: Runtime, key: &str) -> Option<f64> {
        let ratios = stats::paired_ratios(
            &self.values(self.slot(a)?, key),
            &self.values(self.slot(b)?, key),
        );
        stats::median(&ratios)
    }

    /// Why runtime `slot` has no numbers, when every run of it was unavailable.
    pub fn unavailable(&self, slot: usize) -> Option<&str> {
        let runs = &self.runs[slot];
        let why = runs.iter().find_map(|r| match r {
            Err(RunError::Unavailable(why)) => Some(why.as_str()),
            _ => None,
        })?;
        runs.iter().all(Result::is_err).then_some(why)
    }
}

/// A titled grid of cells; the first `left` columns are left-aligned, the others
/// right-aligned.
#[derive(Debug)]
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub notes: Vec<String>,
    pub left: usize,
}

/// The lines that say how the numbers were taken, printed first.
pub fn header(plan: &Plan) -> String {
    let background = match plan.background_timers {
        0 => String::new(),
        n => format!(" Background load: {n} timers armed 1 h ahead through every run."),
    };
    format!(
        "boucle-bench ({} sizes): {} counted rounds after 1 warm-up round, runtimes interleaved \
         ({}), one fresh process per run.\n\
         machine: {}.\n\
         boucle/peer is the median over rounds of the per-round ratio of the table's metric \
         (lower is better except for round trips/s).{background}",
        if plan.quick { "quick" } else { "full" },
        plan.runs,
        plan.runtimes
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>()
            .join(", "),
        machine(),
    )
}

/// `CPU model (N cores), Linux x.y.z`.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{} ({cores} cores), Linux {}", cpu_model(), kernel.trim())
}

fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or_else(|| "unknown cpu".to_owned(), |(_, m)| m.trim().to_owned())
}

/// The table of one workload.
pub fn table(res: &WorkloadResults) -> Table {
    let w = res.workload;
    let primary = w.primary();
    let boucle = res.runtimes.iter().position(|&r| r == Runtime::Boucle);
    let compare = boucle.is_some() && res.runtimes.len() > 1;

    let mut headers = vec![
        "runtime".to_owned(),
        format!("{} median", primary.label),
        "min".to_owned(),
        "max".to_owned(),
    ];
    headers.extend(w.extras().iter().map(|m| m.label.to_owned()));
    headers.push("peak RSS MiB".to_owned());
    if compare {
        headers.push("boucle/peer".to_owned());
    }
    headers.push("ok runs".to_owned());

    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for (slot, &rt) in res.runtimes.iter().enumerate() {
        let mut row = vec![rt.name().to_owned()];
        let unavailable = res.unavailable(slot);
        match (res.summary(slot, primary.key), unavailable) {
            (Some(s), _) => row.extend([fmt_num(s.median), fmt_num(s.min), fmt_num(s.max)]),
            (None, Some(_)) => row.extend(["unavailable".into(), "-".into(), "-".into()]),
            (None, None) => row.extend(["failed".into(), "-".into(), "-".into()]),
        }
        for m in w.extras() {
            row.push(median_cell(res, slot, m.key, 1.0));
        }
        row.push(median_cell(res, slot, "peak_rss_kb", 1.0 / 1024.0));
        if compare {
            row.push(ratio_cell(res, boucle, slot, primary.key));
        }
        let ok = res.runs[slot].iter().filter(|r| r.is_ok()).count();
        row.push(format!("{ok}/{}", res.runs[slot].len()));
        rows.push(row);

        if let Some(why) = unavailable {
            notes.push(format!("{}: unavailable: {why}", rt.name()));
            continue;
        }
        let failures: Vec<&RunError> = res.runs[slot]
            .iter()
            .filter_map(|r| r.as_ref().err())
            .collect();
        if let Some(first) = failures.first() {
            notes.push(format!(
                "{}: {} of {} runs failed, first: {first}",
                rt.name(),
                failures.len(),
                res.runs[slot].len()
            ));
        }
    }
    notes.extend(w.note().map(str::to_owned));
    let better = match primary.better {
        Better::Lower => "lower is better",
        Better::Higher => "higher is better",
    };
    Table {
        title: format!("{}: {} ({better})", w.bench_name(), w.describe(res.size)),
        headers,
        rows,
        notes,
        left: 1,
    }
}

fn median_cell(res: &WorkloadResults, slot: usize, key: &str, scale: f64) -> String {
    res.summary(slot, key)
        .map_or_else(|| "-".to_owned(), |s| fmt_num(s.median * scale))
}

fn ratio_cell(res: &WorkloadResults, boucle: Option<usize>, slot: usize, key: &str) -> String {
    match boucle {
        Some(b) if b == slot => "-".to_owned(),
        Some(_) => res
            .ratio(Runtime::Boucle, res.runtimes[slot], key)
            .map_or_else(|| "n/a".to_owned(), |r| format!("{r:.2}")),
        None => "n/a".to_owned(),
    }
}

/// Enough digits to compare, no more: 12,345 / 123 / 12.3 / 1.23 / 0.012 / 4.2e-4.
pub fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if !x.is_finite() {
        x.to_string()
    } else if a >= 1000.0 {
        let rounded = x.round();
        let sign = if rounded < 0.0 { "-" } else { "" };
        format!("{sign}{}", crate::workload::group(rounded.abs() as usize))
    } else if a >= 100.0 || x.fract() == 0.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 0.1 {
        format!("{x:.2}")
    } else if a >= 0.01 {
        format!("{x:.3}")
    } else {
        // Tiny but not zero (a sub-microsecond gap, say): keep two significant digits.
        format!("{x:.1e}")
    }
}

impl Table {
    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        widths
    }

    /// Aligned plain text for the terminal.
    pub fn to_text(&self) -> String {
        let widths = self.widths();
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
                let sep = if i == 0 { "" } else { "  " };
                if i < self.left {
                    let _ = write!(out, "{sep}{cell:<w$}");
                } else {
                    let _ = write!(out, "{sep}{cell:>w$}");
                }
            }
            out.trim_end().to_owned()
        };
        let mut out = format!("\n{}\n", self.title);
        out += &line(&self.headers);
        out.push('\n');
        let total = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
        out += &"-".repeat(total);
        out.push('\n');
        for row in &self.rows {
            out += &line(row);
            out.push('\n');
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        out
    }

    /// A markdown section: heading, table, notes.
    pub fn to_markdown(&self) -> String {
        format!("### {}\n\n{}", self.title, self.markdown_body())
    }

    /// The table and its notes, without the heading.
    pub fn markdown_body(&self) -> String {
        let cells = |cells: &[String]| {
            let escaped: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
            format!("| {} |\n", escaped.join(" | "))
        };
        let mut out = cells(&self.headers);
        let align: Vec<String> = (0..self.headers.len())
            .map(|i| if i < self.left { ":--" } else { "--:" }.to_owned())
            .collect();
        out += &format!("|{}|\n", align.join("|"));
        for row in &self.rows {
            out += &cells(row);
        }
        for note in &self.notes {
            let _ = write!(out, "\n- {}", note.replace('|', "\\|"));
        }
        if !self.notes.is_empty() {
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Record;

    fn rec(pairs: &[(&str, f64)]) -> RunResult {
        let mut r = Record::new();
        for (k, v) in pairs {
            r.push(k, v);
        }
        Ok(r)
    }

    #[test]
    fn numbers_keep_a_sensible_precision() {
        assert_eq!(fmt_num(123_456.7), "123,457");
        assert_eq!(fmt_num(304.4), "304");
        assert_eq!(fmt_num(42.0), "42");
        assert_eq!(fmt_num(33.94), "33.9");
        assert_eq!(fmt_num(1.234), "1.23");
        assert_eq!(fmt_num(0.0123), "0.012");
        assert_eq!(fmt_num(0.000_42), "4.2e-4");
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(-2500.0), "-2,500");
    }

    #[test]
    fn table_has_ratios_against_boucle_and_notes_failures() {
        let k = "ns_per_task";
        let res = WorkloadResults {
            workload: Workload::SpawnJoin,
            size: Size::n(10),
            runtimes: vec![Runtime::Boucle, Runtime::Tokio],
            runs: vec![
                vec![rec(&[(k, 50.0)]), rec(&[(k, 60.0)]), rec(&[(k, 40.0)])],
                vec![
                    rec(&[(k, 100.0), ("peak_rss_kb", 2048.0)]),
                    Err(RunError::Failed("boom".into())),
                    rec(&[(k, 200.0), ("peak_rss_kb", 4096.0)]),
                ],
            ],
        };
        let t = table(&res);
        let ratio_col = t.headers.iter().position(|h| h == "boucle/peer").unwrap();
        assert_eq!(t.rows[0][ratio_col], "-");
        // Rounds 1 and 3 pair up: 50/100 and 40/200.
        assert_eq!(t.rows[1][ratio_col], "0.35");
        assert_eq!(t.rows[1][1], "150");
        assert_eq!(t.rows[1].last().unwrap(), "2/3");
        assert_eq!(t.rows[1][ratio_col - 1], "3");
        assert_eq!(t.notes.len(), 2, "the failure, then how to read the table");
        assert!(t.notes[0].contains("tokio: 1 of 3 runs failed, first: failed: boom"));
        assert!(t.to_text().contains("task::spawn_join"));
        assert!(t.to_markdown().contains("| runtime |"));
    }
}
