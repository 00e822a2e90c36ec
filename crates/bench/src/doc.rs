//! BENCHMARKS.md and the README's headline table, generated from one run: machine, versions,
//! date, command, one table per workload, the targets with met/missed, and the instruction
//! counts. Everything but `RunInfo::collect` is pure and unit-tested.

use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::harness::{Launcher, Plan};
use crate::instructions::Counts;
use crate::report::{self, fmt_num, Table, WorkloadResults};
use crate::rt::Runtime;
use crate::targets::{self, Verdict};

pub const BEGIN: &str = "<!-- bench:begin -->";
pub const END: &str = "<!-- bench:end -->";

/// The crates whose versions BENCHMARKS.md lists, read from Cargo.lock.
const CRATES: [&str; 9] = [
    "boucle",
    "tokio",
    "smol",
    "async-executor",
    "async-io",
    "async-channel",
    "async-net",
    "monoio",
    "local-sync",
];

/// How, where and when the numbers were taken.
#[derive(Clone, Debug, Default)]
pub struct RunInfo {
    pub machine: String,
    pub rustc: String,
    pub crates: Vec<(String, String)>,
    pub python: String,
    pub date: String,
    pub command: String,
    pub minutes: f64,
    pub quick: bool,
    pub runs: usize,
    pub runtimes: Vec<Runtime>,
    pub background_timers: usize,
}

impl RunInfo {
    pub fn collect(plan: &Plan, launcher: &Launcher, elapsed: Duration) -> RunInfo {
        let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .arg("--version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "rustc (unknown version)".to_owned());
        let lock = std::fs::read_to_string(crate::python::repo_root().join("Cargo.lock"));
        let python = match launcher.python() {
            Some(py) => format!(
                "{}, uvloop {}",
                py.version,
                py.uvloop.as_deref().unwrap_or("unavailable")
            ),
            None => "not run".to_owned(),
        };
        let days = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 86_400);
        RunInfo {
            machine: report::machine(),
            rustc,
            crates: lock_versions(&lock.unwrap_or_default(), &CRATES),
            python,
            date: civil_date(days),
            command: plan.command.clone(),
            minutes: elapsed.as_secs_f64() / 60.0,
            quick: plan.quick,
            runs: plan.runs,
            runtimes: plan.runtimes.clone(),
            background_timers: plan.background_timers,
        }
    }
}

/// `name version` of each of `names` found in a Cargo.lock (the first version of each).
pub fn lock_versions(lock: &str, names: &[&str]) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut name: Option<&str> = None;
    for line in lock.lines() {
        let value = |l: &str, key: &str| {
            let rest = l.strip_prefix(key)?.trim_start().strip_prefix('=')?;
            Some(rest.trim().trim_matches('"').to_owned())
        };
        if line.starts_with("[[package]]") {
            name = None;
        } else if let Some(n) = value(line, "name") {
            name = names.iter().copied().find(|x| *x == n);
        } else if let (Some(n), Some(v)) = (name, value(line, "version")) {
            if !found.iter().any(|(f, _)| f == n) {
                found.push((n.to_owned(), v));
            }
            name = None;
        }
    }
    found.sort_by_key(|(n, _)| names.iter().position(|x| x == n));
    found
}

/// The UTC date `YYYY-MM-DD` of a day count since 1970-01-01 (Hinnant's civil_from_days).
pub fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The hand-written analysis of missed targets (from profiles), included
/// verbatim after the targets table.
const ANALYSIS: &str = include_str!("../ANALYSIS.md");

/// The hand-written results of the whole-program benchmarks (fs_hash_tree,
/// http), which have their own harness; included after the results.
const PROGRAMS: &str = include_str!("../PROGRAMS.md");

/// The hand-written cost of the instrument hooks (boucle, boucle-count,
/// boucle-rec).
const INSTRUMENTS: &str = include_str!("../INSTRUMENTS.md");

/// The hand-written results of the `shards` command (its own harness).
const SHARDS: &str = include_str!("../SHARDS.md");

/// The hand-written results of `python/loops.py` (the Python loops side by
/// side); included after the shards.
const PYTHON_LOOPS: &str = include_str!("../PYTHON-LOOPS.md");

/// The hand-written results of `python/io.py` (the Python loops on I/O:
/// tcp_echo, accept_storm, aiohttp under wrk); included last.
const PYTHON_IO: &str = include_str!("../PYTHON-IO.md");

/// The whole BENCHMARKS.md.
pub fn benchmarks_md(
    info: &RunInfo,
    results: &[WorkloadResults],
    verdicts: &[Verdict],
    counts: Option<&Counts>,
) -> String {
    let mut out = String::from("# boucle benchmarks\n\n");
    out += "<!-- Generated by boucle-bench (crates/bench): do not edit by hand; rerun it. -->\n\n";
    let crates: Vec<String> = info
        .crates
        .iter()
        .map(|(n, v)| format!("{n} {v}"))
        .collect();
    let _ = writeln!(out, "- **Machine:** {}", info.machine);
    let _ = writeln!(
        out,
        "- **Versions:** {}; {}; {}",
        info.rustc,
        crates.join(", "),
        info.python
    );
    let _ = writeln!(out, "- **Date:** {} (UTC)", info.date);
    let _ = writeln!(
        out,
        "- **Command:** `{}` ({:.1} min)",
        info.command, info.minutes
    );
    let _ = writeln!(
        out,
        "- **Method:** {} sizes; {} counted rounds after 1 warm-up round, the runtimes \
         interleaved within each round, one fresh process per run; median, min and max over \
         the rounds; boucle/peer is the median of the per-round ratios, so a slow spell of \
         the machine hits both sides of a ratio alike. Peak RSS is the process's VmHWM \
         (ru_maxrss for Python).",
        if info.quick {
            "quick (reduced)"
        } else {
            "full"
        },
        info.runs
    );
    if info.background_timers > 0 {
        let _ = writeln!(
            out,
            "- **Background load:** every run first armed {} timers 1 h ahead and kept them \
             armed, unfired, through its workload (bytes/task includes them).",
            info.background_timers
        );
    }
    out += "\n## Runtimes\n\n| runtime | what runs |\n|:--|:--|\n";
    for rt in &info.runtimes {
        let _ = writeln!(out, "| {} | {} |", rt.name(), rt.describe());
    }
    out += "\n## Targets\n\n";
    out += "Computed by boucle-bench from the runs below, for boucle, at the largest size run.\n\n";
    out += &targets::table(verdicts, info.quick).markdown_body();
    out.push('\n');
    out += ANALYSIS;
    out += "\n## Results\n";
    for r in results {
        out.push('\n');
        out += &report::table(r).to_markdown();
    }
    if let Some(counts) = counts {
        out += "\n## Instructions per operation (callgrind; lower is better)\n\n";
        out += &counts.table().markdown_body();
    }
    out += PROGRAMS;
    out += INSTRUMENTS;
    out += SHARDS;
    out += PYTHON_LOOPS;
    out += PYTHON_IO;
    out
}

/// One row per workload at its largest measured size: each runtime's median.
pub fn headline_table(results: &[WorkloadResults]) -> Table {
    let mut runtimes: Vec<Runtime> = Vec::new();
    for r in results {
        for &rt in &r.runtimes {
            if !runtimes.contains(&rt) {
                runtimes.push(rt);
            }
        }
    }
    let mut headers = vec!["benchmark".to_owned(), "metric".to_owned()];
    headers.extend(runtimes.iter().map(|r| r.name().to_owned()));
    let mut rows = Vec::new();
    let mut done = Vec::new();
    for r in results {
        if done.contains(&r.workload) {
            continue;
        }
        done.push(r.workload);
        let head = results
            .iter()
            .filter(|x| x.workload == r.workload)
            .max_by_key(|x| x.size.n * x.size.m.max(1))
            .unwrap_or(r);
        let metric = head.workload.primary();
        let mut row = vec![
            format!("{} {}", head.workload.bench_name(), head.size.short()),
            metric.label.to_owned(),
        ];
        for &rt in &runtimes {
            let cell = match head.slot(rt) {
                Some(s) => match (head.summary(s, metric.key), head.unavailable(s)) {
                    (Some(sum), _) => fmt_num(sum.median),
                    (None, Some(_)) => "n/a".to_owned(),
                    (None, None) => "failed".to_owned(),
                },
                None => "-".to_owned(),
            };
            row.push(cell);
        }
        rows.push(row);
    }
    Table {
        title: "Headline (medians; details in BENCHMARKS.md)".to_owned(),
        headers,
        rows,
        notes: Vec::new(),
        left: 2,
    }
}

/// `text` with everything strictly between the markers replaced by `body`, or `None` when
/// the markers are missing or out of order.
pub fn replace_between(text: &str, body: &str) -> Option<String> {
    let begin = text.find(BEGIN)? + BEGIN.len();
    let end = begin + text[begin..].find(END)?;
    Some(format!(
        "{}\n{}\n{}",
        &text[..begin],
        body.trim(),
        &text[end..]
    ))
}

/// The README's headline block: the table and a pointer to BENCHMARKS.md.
pub fn readme_block(results: &[WorkloadResults], verdicts: &[Verdict]) -> String {
    let t = headline_table(results);
    let met = verdicts
        .iter()
        .filter(|v| v.status == targets::Status::Met)
        .count();
    let mut body = String::new();
    body += &t.markdown_body();
    let _ = write!(
        body,
        "\n{met} of {} targets met. Machine, versions, method and every table: \
         [BENCHMARKS.md](BENCHMARKS.md) (generated by `cargo run --release -p boucle-bench -- all`).",
        verdicts.len()
    );
    body
}

/// Puts the headline block between the README's markers; without markers, prints it.
pub fn update_readme(
    path: &Path,
    results: &[WorkloadResults],
    verdicts: &[Verdict],
) -> io::Result<()> {
    let block = readme_block(results, verdicts);
    let text = std::fs::read_to_string(path)?;
    match replace_between(&text, &block) {
        Some(new) => {
            if new != text {
                std::fs::write(path, new)?;
            }
            eprintln!("updated the headline table in {}", path.display());
        }
        None => {
            println!("\n{block}\n");
            eprintln!(
                "{} has no `{BEGIN}` ... `{END}` markers: the headline table is printed above; \
                 add the markers where it belongs and rerun to fill them",
                path.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::RunError;
    use crate::stats::Record;
    use crate::workload::{Size, Workload};

    fn results() -> Vec<WorkloadResults> {
        let rec = |v: f64| {
            let mut r = Record::new();
            r.push("ns_per_task", v).push("overhead_ms", v);
            Ok(r)
        };
        let wait = |n| WorkloadResults {
            workload: Workload::WaitN,
            size: Size::over(n, 1000),
            runtimes: vec![Runtime::Boucle, Runtime::Tokio],
            runs: vec![vec![rec(n as f64)], vec![rec(9.0)]],
        };
        vec![
            WorkloadResults {
                workload: Workload::SpawnJoin,
                size: Size::n(1_000_000),
                runtimes: vec![Runtime::Boucle, Runtime::Uvloop],
                runs: vec![
                    vec![rec(50.0), rec(52.0)],
                    vec![Err(RunError::Unavailable("no pip".into())); 2],
                ],
            },
            wait(10_000),
            wait(1_000_000),
        ]
    }

    #[test]
    fn cargo_lock_versions_are_read() {
        let lock = "[[package]]\nname = \"tokio\"\nversion = \"1.54.1\"\n\n[[package]]\n\
                    name = \"other\"\nversion = \"9\"\n\n[[package]]\nname = \"boucle\"\n\
                    version = \"0.1.0\"\ndependencies = [\n \"tokio\",\n]\n";
        assert_eq!(
            lock_versions(lock, &["boucle", "tokio", "smol"]),
            vec![
                ("boucle".into(), "0.1.0".into()),
                ("tokio".into(), "1.54.1".into())
            ]
        );
    }

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(civil_date(19_723), "2024-01-01");
        assert_eq!(civil_date(20_240), "2025-06-01");
    }

    #[test]
    fn markers_bound_the_replaced_text() {
        let text = format!("intro\n{BEGIN}\nold table\n{END}\noutro\n");
        let new = replace_between(&text, "new table\n").unwrap();
        assert_eq!(new, format!("intro\n{BEGIN}\nnew table\n{END}\noutro\n"));
        assert_eq!(replace_between(&new, "new table"), Some(new.clone()));
        assert_eq!(replace_between("no markers", "x"), None);
        assert_eq!(replace_between(&format!("{END} {BEGIN}"), "x"), None);
    }

    #[test]
    fn headline_takes_the_largest_size_and_marks_unavailable() {
        let t = headline_table(&results());
        assert_eq!(
            t.headers,
            ["benchmark", "metric", "boucle", "uvloop", "tokio"]
        );
        assert_eq!(t.rows.len(), 2);
        assert_eq!(
            t.rows[0],
            ["task::spawn_join 10^6", "ns/task", "51", "n/a", "-"]
        );
        assert_eq!(t.rows[1][0], "time::wait_n 10^6");
        assert_eq!(t.rows[1][2], "1,000,000");
        assert_eq!(t.rows[1][3], "-");
    }

    #[test]
    fn benchmarks_md_has_every_section() {
        let info = RunInfo {
            machine: "Some CPU (2 cores), Linux 6.1".into(),
            rustc: "rustc 1.85.0".into(),
            crates: vec![("tokio".into(), "1.54.1".into())],
            python: "Python 3.11.7, uvloop 0.23.0".into(),
            date: "2025-06-01".into(),
            command: "cargo run --release -p boucle-bench -- all".into(),
            minutes: 12.5,
            runs: 5,
            runtimes: vec![Runtime::Boucle, Runtime::Tokio],
            ..RunInfo::default()
        };
        let res = results();
        let verdicts = targets::evaluate(&res);
        let md = benchmarks_md(&info, &res, &verdicts, None);
        for needle in [
            "# boucle benchmarks",
            "do not edit by hand",
            "Some CPU (2 cores)",
            "rustc 1.85.0; tokio 1.54.1; Python 3.11.7",
            "2025-06-01",
            "`cargo run --release -p boucle-bench -- all` (12.5 min)",
            "## Targets",
            "## Analysis of the missed targets",
            "| spawn_join <= 60 ns/task | 51 ns (spawn_join 10^6) | met |",
            "### time::wait_n: 10,000 tasks",
            "### time::wait_n: 1,000,000 tasks",
            "- uvloop: unavailable: no pip",
        ] {
            assert!(md.contains(needle), "missing {needle:?} in\n{md}");
        }
        let block = readme_block(&res, &verdicts);
        assert!(block.starts_with("| benchmark |"), "{block}");
        // The five targets that read spawn_join or wait_n (two on bytes per
        // task, the core issue's among them): only spawn_join <= 60 ns is met.
        assert!(block.contains("1 of 5 targets met"), "{block}");
    }
}
