//! Formatting: delay lists, seconds, timelines and Chrome trace files.

use std::io::Write;
use std::time::Duration;

use boucle::trace::Trace;

/// Writes one line to stdout; a closed stdout (`boucle demo | head`) ends
/// the program quietly instead of panicking as `println!` does.
#[macro_export]
macro_rules! say {
    () => { $crate::output::emit(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::emit(format_args!($($arg)*)) };
}

/// The body of [`say!`]. Each line is flushed, so a long-running command
/// (a server) shows its lines as they happen even through a pipe.
pub fn emit(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{args}").and_then(|()| out.flush()).is_err() {
        std::process::exit(0);
    }
}

/// Writes one line to stderr, ignoring a closed stderr (`2>&1 | head`),
/// where `eprintln!` would panic.
pub fn complain(args: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{args}");
}

/// Writes `text` as it is (no newline added), with [`say!`]'s quiet exit
/// on a closed stdout.
pub fn emit_raw(text: &str) {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

/// Columns of the timeline's time axis.
pub const TIMELINE_WIDTH: usize = 50;
/// Rows of a timeline shown before eliding the middle.
pub const TIMELINE_ROWS: usize = 24;
/// Lists longer than this show only their first and last values.
pub const LIST_FULL: usize = 20;
/// Values shown at each end of a long list.
pub const LIST_ENDS: usize = 5;

/// Decimals that keep neighbouring delays apart: about one more digit
/// than the typical gap `max_delay / n`, at least 3, at most 9.
pub fn decimals_for(n: usize, max_delay: f64) -> usize {
    if n == 0 || max_delay <= 0.0 {
        return 3;
    }
    let gap = max_delay / n as f64;
    let digits = (-gap.log10()).ceil() + 1.0;
    digits.clamp(3.0, 9.0) as usize
}

/// A Python-like list: `[0.123, 1.234]`; a long one shows its ends:
/// `[0.001, 0.002, ..., 9.998, 9.999]`.
pub fn list(values: &[f64], decimals: usize) -> String {
    let fmt = |v: &f64| format!("{v:.decimals$}");
    let items: Vec<String> = if values.len() > LIST_FULL {
        let mut items: Vec<String> = values[..LIST_ENDS].iter().map(fmt).collect();
        items.push("...".into());
        items.extend(values[values.len() - LIST_ENDS..].iter().map(fmt));
        items
    } else {
        values.iter().map(fmt).collect()
    };
    format!("[{}]", items.join(", "))
}

/// Adjacent pairs in descending order: how many, and the largest drop.
pub fn inversions(values: &[f64]) -> (usize, f64) {
    values
        .windows(2)
        .filter(|w| w[0] > w[1])
        .fold((0, 0.0), |(n, worst), w| {
            (n + 1, f64::max(worst, w[0] - w[1]))
        })
}

/// The line under a delay list: count, what was shown, and the order.
pub fn list_summary(values: &[f64]) -> String {
    let n = values.len();
    let shown = if n > LIST_FULL {
        format!(" (first and last {LIST_ENDS} shown)")
    } else {
        String::new()
    };
    let noun = if n == 1 { "delay" } else { "delays" };
    let (count, worst) = inversions(values);
    let order = if n < 2 {
        String::new()
    } else if count == 0 {
        ", ascending: yes (completion order, no sort)".to_string()
    } else if worst <= 1e-9 {
        format!(
            ", ascending to the timer's 1 ns resolution ({} adjacent pairs less than 1 ns apart came out in creation order)",
            crate::args::group(count as u64)
        )
    } else {
        format!(
            ", ascending: NO ({} adjacent pairs out of order, by up to {})",
            crate::args::group(count as u64),
            secs_f64(worst)
        )
    };
    format!("{} {noun}{shown}{order}", crate::args::group(n as u64))
}

/// Seconds with three decimals: `2.000 s` (nine below a millisecond).
pub fn secs(d: Duration) -> String {
    if d > Duration::ZERO && d < Duration::from_millis(1) {
        format!("{:.9} s", d.as_secs_f64())
    } else {
        format!("{:.3} s", d.as_secs_f64())
    }
}

/// Seconds from an `f64`: three decimals, or four significant digits
/// below 1 s (at most nine decimals, the loop's nanosecond resolution).
pub fn secs_f64(s: f64) -> String {
    let decimals = if s > 0.0 && s < 1.0 {
        (3.0 - s.log10().floor()).clamp(3.0, 9.0) as usize
    } else {
        3
    };
    format!("{s:.decimals$} s")
}

/// `virtual time` or `real time`.
pub fn clock_name(virtual_time: bool) -> &'static str {
    if virtual_time {
        "virtual time"
    } else {
        "real time"
    }
}

/// The trace's ASCII timeline (one row per task), with the middle rows
/// elided when there are more than [`TIMELINE_ROWS`].
pub fn timeline(trace: &Trace, width: usize) -> String {
    elide_rows(&trace.timeline(width))
}

/// Like [`timeline`], on a fixed time scale (to compare two runs).
pub fn timeline_until(trace: &Trace, width: usize, until: Duration) -> String {
    elide_rows(&trace.timeline_until(width, until))
}

pub fn elide_rows(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    // Every line but the last (the time axis) is a task.
    let rows = lines.len().saturating_sub(1);
    if rows <= TIMELINE_ROWS {
        return text.to_string();
    }
    let head = TIMELINE_ROWS / 2;
    let tail = TIMELINE_ROWS - head;
    let mut out = String::new();
    for line in &lines[..head] {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!(
        "   ... {} more tasks ...\n",
        crate::args::group((rows - head - tail) as u64)
    ));
    for line in &lines[rows - tail..] {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Several traces (one per runtime) as one Chrome trace: each becomes a
/// process named by its label.
pub fn merge_chrome(parts: &[(String, Trace)]) -> String {
    const HEAD: &str = "{\"traceEvents\":[";
    let mut events: Vec<String> = Vec::new();
    for (i, (label, trace)) in parts.iter().enumerate() {
        let pid = i + 1;
        events.push(format!(
            "{{\"ph\":\"M\",\"pid\":{pid},\"name\":\"process_name\",\"args\":{{\"name\":{}}}}}",
            json_string(label)
        ));
        let json = trace.to_chrome_json();
        let body = json
            .strip_prefix(HEAD)
            .and_then(|rest| rest.rsplit_once(']'))
            .map(|(body, _)| body)
            .unwrap_or("");
        if !body.is_empty() {
            // Names are JSON-escaped, so `"pid":1,` occurs only as a key.
            events.push(body.replace("\"pid\":1,", &format!("\"pid\":{pid},")));
        }
    }
    format!("{HEAD}{}],\"displayTimeUnit\":\"ms\"}}", events.join(","))
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        assert_eq!(list(&[], 3), "[]");
        assert_eq!(list(&[0.5, 1.25], 3), "[0.500, 1.250]");
        let long: Vec<f64> = (0..30).map(f64::from).collect();
        assert_eq!(
            list(&long, 1),
            "[0.0, 1.0, 2.0, 3.0, 4.0, ..., 25.0, 26.0, 27.0, 28.0, 29.0]"
        );
        assert!(list_summary(&long).contains("ascending: yes"));
        assert!(list_summary(&[2.0, 1.0]).contains("ascending: NO (1 adjacent pairs"));
        assert!(list_summary(&[1.0 + 4e-10, 1.0]).contains("1 ns resolution"));
    }

    #[test]
    fn seconds() {
        assert_eq!(secs_f64(2.5), "2.500 s");
        assert_eq!(secs_f64(0.3), "0.3000 s");
        assert_eq!(secs_f64(0.002998), "0.002998 s");
        assert_eq!(secs_f64(0.0), "0.000 s");
        assert_eq!(secs_f64(1e-12), "0.000000000 s");
        assert_eq!(secs(Duration::from_millis(2500)), "2.500 s");
        assert_eq!(secs(Duration::from_nanos(700)), "0.000000700 s");
        assert_eq!(secs(Duration::ZERO), "0.000 s");
    }

    #[test]
    fn decimals() {
        assert_eq!(decimals_for(5, 10.0), 3);
        assert_eq!(decimals_for(1_000_000, 10.0), 6);
        assert_eq!(decimals_for(5, 0.001), 5);
        assert_eq!(decimals_for(0, 10.0), 3);
        assert_eq!(decimals_for(10_000_000, 1e-9), 9);
    }

    #[test]
    fn elides_long_timelines() {
        let mut text = String::new();
        for i in 0..100 {
            text.push_str(&format!("row{i}\n"));
        }
        text.push_str("axis\n");
        let out = elide_rows(&text);
        assert_eq!(out.lines().count(), TIMELINE_ROWS + 2);
        assert!(out.contains("... 76 more tasks ..."));
        assert!(out.ends_with("row99\naxis\n"));
    }
}
