//! `boucle trace FILE.json`: a trace saved by `--trace-out FILE.json` (or
//! `Trace::to_chrome_json`) drawn in the terminal as the ASCII timeline
//! `--timeline` prints, one per traced runtime in the file.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use boucle::trace::{End, Row};
use serde_json::Value;

use crate::args::Failure;
use crate::output;
use crate::say;

/// The rows of one traced runtime (one Chrome "process").
#[derive(Debug, Default)]
struct Part {
    label: Option<String>,
    rows: Vec<Row>,
    /// Row of each task id.
    index: HashMap<u64, usize>,
    polls: Vec<(u64, Duration, Duration)>,
    last: Duration,
}

/// The latest time a trace may hold, in microseconds (about 31 years):
/// past it a value is not a loop time but a damaged file.
const MAX_MICROS: f64 = 1e15;

/// Runs `boucle trace FILE [--width N]`.
pub fn run(path: &Path, width: Option<usize>) -> Result<(), Failure> {
    let bad = |why: String| Failure::usage(format!("{}: {why}", path.display()));
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"))
    {
        return Err(bad(
            "an SVG timeline is drawn by a browser; `boucle trace` reads the .json trace".into(),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let parts = parse(&text).map_err(bad)?;
    let many = parts.len() > 1;
    for (i, part) in parts.iter().enumerate() {
        if many {
            if i > 0 {
                say!();
            }
            let label = part.label.as_deref().unwrap_or("(unnamed runtime)");
            say!("timeline of {label}:");
        }
        let label_width = part
            .rows
            .iter()
            .map(|r| boucle::trace::printable_label(&r.label).chars().count())
            .max()
            .unwrap_or(0);
        // The line is `LABEL |AXIS| 12.345s`: the axis gets what is left.
        let axis = width
            .unwrap_or_else(|| terminal_width().saturating_sub(label_width + 12))
            .max(10);
        let text = boucle::trace::timeline(&part.rows, part.last, axis);
        for line in output::elide_rows(&text).lines() {
            say!("{line}");
        }
    }
    Ok(())
}

/// The parts of a Chrome trace written by boucle, in the file's order.
fn parse(text: &str) -> Result<Vec<Part>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not a JSON trace ({e})"))?;
    let events = match &doc {
        Value::Object(o) => o.get("traceEvents").and_then(Value::as_array),
        Value::Array(a) => Some(a),
        _ => None,
    }
    .ok_or("not a Chrome trace: no traceEvents list")?;
    let mut parts: Vec<(u64, Part)> = Vec::new();
    let part_of = |pid: u64, parts: &mut Vec<(u64, Part)>| -> usize {
        match parts.iter().position(|(p, _)| *p == pid) {
            Some(i) => i,
            None => {
                parts.push((pid, Part::default()));
                parts.len() - 1
            }
        }
    };
    for (n, e) in events.iter().enumerate() {
        let field = |k: &str| e.get(k);
        let pid = field("pid").and_then(Value::as_u64).unwrap_or(0);
        let tid = field("tid").and_then(Value::as_u64).unwrap_or(0);
        let ph = field("ph").and_then(Value::as_str).unwrap_or("");
        let cat = field("cat").and_then(Value::as_str).unwrap_or("");
        match (ph, cat) {
            ("M", _) if field("name").and_then(Value::as_str) == Some("process_name") => {
                let i = part_of(pid, &mut parts);
                parts[i].1.label = e
                    .pointer("/args/name")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
            ("X", "task") | ("X", "poll") => {
                let at = |k: &str| -> Result<Duration, String> {
                    let us = field(k)
                        .and_then(Value::as_f64)
                        .filter(|v| v.is_finite() && (0.0..=MAX_MICROS).contains(v))
                        .ok_or_else(|| {
                            format!("event {n}: `{k}` is not a time in microseconds (0 to 10^15)")
                        })?;
                    Ok(Duration::from_nanos((us * 1000.0).round() as u64))
                };
                let (start, dur) = (at("ts")?, at("dur")?);
                let i = part_of(pid, &mut parts);
                let part = &mut parts[i].1;
                part.last = part.last.max(start + dur);
                if cat == "poll" {
                    part.polls.push((tid, start, start + dur));
                    continue;
                }
                let outcome = match e.pointer("/args/outcome").and_then(Value::as_str) {
                    Some("done") => Some(End::Done),
                    Some("cancelled") => Some(End::Cancelled),
                    Some("panicked") => Some(End::Panicked),
                    _ => None,
                };
                let label = field("name")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("Task-{tid}"));
                part.index.insert(tid, part.rows.len());
                part.rows.push(Row {
                    label,
                    start,
                    // A task alive when the trace was taken ends at the edge.
                    end: outcome.map(|_| start + dur),
                    outcome,
                    polls: Vec::new(),
                });
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (_, mut part) in parts {
        for (tid, s, e) in std::mem::take(&mut part.polls) {
            if let Some(&row) = part.index.get(&tid) {
                part.rows[row].polls.push((s, e));
            }
        }
        if !part.rows.is_empty() {
            out.push(part);
        }
    }
    if out.is_empty() {
        return Err(
            "no boucle tasks in this trace (was it written by --trace-out FILE.json?)".into(),
        );
    }
    Ok(out)
}

/// Columns of the terminal: `$COLUMNS`, else the size of the terminal on
/// stdout, else 80.
fn terminal_width() -> usize {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return n;
    }
    rustix::termios::tcgetwinsize(std::io::stdout())
        .ok()
        .map(|w| usize::from(w.ws_col))
        .filter(|&n| n > 0)
        .unwrap_or(80)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traced_run() -> boucle::trace::Trace {
        let rt = boucle::Runtime::builder()
            .virtual_time(true)
            .trace(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let a = boucle::task::Builder::new()
                .name("a")
                .spawn(boucle::sleep(Duration::from_secs(1)));
            let b = boucle::task::Builder::new()
                .name("b")
                .spawn(boucle::sleep(Duration::from_secs(2)));
            let _ = a.await;
            b.cancel();
            let _ = b.await;
        });
        rt.trace().unwrap()
    }

    #[test]
    fn a_saved_trace_draws_as_the_live_one() {
        let trace = traced_run();
        let parts = parse(&trace.to_chrome_json()).unwrap();
        assert_eq!(parts.len(), 1);
        let read = boucle::trace::timeline(&parts[0].rows, parts[0].last, 40);
        assert_eq!(read, trace.timeline(40));
    }

    #[test]
    fn merged_traces_keep_their_labels() {
        let parts = [
            ("first".to_string(), traced_run()),
            ("second".to_string(), traced_run()),
        ];
        let parsed = parse(&output::merge_chrome(&parts)).unwrap();
        let labels: Vec<_> = parsed.iter().map(|p| p.label.as_deref()).collect();
        assert_eq!(labels, [Some("first"), Some("second")]);
        let b = parsed[1].rows.iter().find(|r| r.label == "b").unwrap();
        assert_eq!(b.outcome, Some(End::Cancelled));
        assert_eq!(b.end, Some(Duration::from_secs(1)));
    }

    #[test]
    fn bad_files_say_why() {
        assert!(parse("{").unwrap_err().contains("not a JSON trace"));
        assert!(parse("{\"x\":1}").unwrap_err().contains("no traceEvents"));
        assert!(parse("{\"traceEvents\":[]}")
            .unwrap_err()
            .contains("no boucle tasks"));
        let bad_ts =
            r#"{"traceEvents":[{"ph":"X","cat":"task","pid":1,"tid":1,"ts":"soon","dur":1}]}"#;
        assert!(parse(bad_ts).unwrap_err().contains("`ts`"));
    }
}
