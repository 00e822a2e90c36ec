//! Rendering a [`Trace`]: an ASCII timeline like the course's diagrams, and
//! Chrome trace JSON (opens in Perfetto or chrome://tracing).

use std::fmt::Write;
use std::time::Duration;

use super::{End, EventKind, Trace};

impl Trace {
    /// An ASCII timeline, one row per task in creation order:
    ///
    /// ```text
    /// A  |#---------#>                   | 1.000s
    /// B  |#----------------------------#>| 2.000s
    ///     0s                          2.000s
    /// ```
    ///
    /// `#` where the task ran (a poll in that column), `-` while it waited,
    /// then `>` where it returned, `x` where it was cancelled, `!` where it
    /// panicked; a row that runs off the right edge is still alive. `width`
    /// is the number of columns for the time axis (at least 10).
    pub fn timeline(&self, width: usize) -> String {
        self.timeline_until(width, Duration::ZERO)
    }

    /// Like [`Trace::timeline`], with the time axis running to at least
    /// `until`: two runs drawn with the same `until` share one scale, so
    /// the shorter one looks shorter (sequential vs concurrent, say).
    pub fn timeline_until(&self, width: usize, until: Duration) -> String {
        let mut polls: std::collections::HashMap<u64, Vec<(Duration, Duration)>> =
            Default::default();
        let mut open: std::collections::HashMap<u64, Duration> = Default::default();
        for e in &self.events {
            match e.kind {
                EventKind::PollStart => {
                    open.insert(e.task.as_u64(), e.time);
                }
                EventKind::PollEnd => {
                    if let Some(start) = open.remove(&e.task.as_u64()) {
                        polls
                            .entry(e.task.as_u64())
                            .or_default()
                            .push((start, e.time));
                    }
                }
                _ => {}
            }
        }
        let rows: Vec<Row> = self
            .tasks()
            .into_iter()
            .map(|span| Row {
                label: span.label(),
                start: span.start,
                end: span.end,
                outcome: span.outcome,
                polls: polls.remove(&span.id.as_u64()).unwrap_or_default(),
            })
            .collect();
        timeline(&rows, self.taken_at.max(until), width)
    }

    /// The trace as Chrome trace-event JSON: one row per task, a slice for
    /// its whole life and one for each poll, and instant events for its
    /// wake-ups (`scheduled`, with who woke it), waits (`waits`, with what
    /// it waits for), fired timers and ready I/O. Times are loop times in
    /// microseconds.
    pub fn to_chrome_json(&self) -> String {
        let spans = self.tasks();
        let last = self.taken_at;
        let mut out = String::from("{\"traceEvents\":[");
        let mut first = true;
        let mut push = |s: String| {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&s);
        };
        for span in &spans {
            let tid = span.id.as_u64();
            push(format!(
                "{{\"ph\":\"M\",\"pid\":1,\"tid\":{tid},\"name\":\"thread_name\",\"args\":{{\"name\":{}}}}}",
                json_string(&span.label())
            ));
            let end = span.end.unwrap_or(last);
            push(format!(
                "{{\"ph\":\"X\",\"pid\":1,\"tid\":{tid},\"name\":{},\"cat\":\"task\",\"ts\":{},\"dur\":{},\"args\":{{\"spawned_at\":{},\"outcome\":\"{}\"}}}}",
                json_string(&span.label()),
                micros(span.start),
                micros(end.saturating_sub(span.start)),
                json_string(&span.location.to_string()),
                match span.outcome {
                    Some(End::Done) => "done",
                    Some(End::Cancelled) => "cancelled",
                    Some(End::Panicked) => "panicked",
                    None => "running",
                }
            ));
        }
        let mut open: std::collections::HashMap<u64, Duration> = Default::default();
        for e in &self.events {
            match e.kind {
                EventKind::PollStart => {
                    open.insert(e.task.as_u64(), e.time);
                }
                EventKind::PollEnd => {
                    if let Some(start) = open.remove(&e.task.as_u64()) {
                        push(format!(
                            "{{\"ph\":\"X\",\"pid\":1,\"tid\":{},\"name\":\"poll\",\"cat\":\"poll\",\"ts\":{},\"dur\":{}}}",
                            e.task.as_u64(),
                            micros(start),
                            micros(e.time.saturating_sub(start))
                        ));
                    }
                }
                ref other => {
                    let (name, detail) = match other {
                        EventKind::Scheduled { by } => ("scheduled", format!("{by:?}")),
                        EventKind::Waits { on } => ("waits", format!("{on:?}")),
                        EventKind::TimerFired => ("timer fired", String::new()),
                        EventKind::IoReady => ("io ready", String::new()),
                        _ => continue,
                    };
                    push(format!(
                        "{{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":{},\"name\":\"{name}\",\"cat\":\"event\",\"ts\":{},\"args\":{{\"detail\":{}}}}}",
                        e.task.as_u64(),
                        micros(e.time),
                        json_string(&detail)
                    ));
                }
            }
        }
        out.push_str("],\"displayTimeUnit\":\"ms\"}");
        out
    }
}

/// One row of a timeline: a task's life and its polls. A [`Trace`] makes
/// them from its events; a saved trace read back (`boucle trace FILE.json`)
/// makes them from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The task's name, or `Task-<id>`.
    pub label: String,
    /// When it was created.
    pub start: Duration,
    /// When it ended (`None`: still alive at the right edge).
    pub end: Option<Duration>,
    /// How it ended.
    pub outcome: Option<End>,
    /// Its polls, as (start, end) loop times.
    pub polls: Vec<(Duration, Duration)>,
}

/// Draws `rows` as an ASCII timeline whose axis runs from 0 to `last`, in
/// `width` columns (at least 10): see [`Trace::timeline`] for the symbols.
/// Labels are shown as [`printable_label`] gives them: at most
/// [`LABEL_WIDTH`] characters, control characters escaped.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use boucle::trace::{timeline, End, Row};
///
/// let rows = [Row {
///     label: "A".into(),
///     start: Duration::ZERO,
///     end: Some(Duration::from_secs(1)),
///     outcome: Some(End::Done),
///     polls: vec![(Duration::ZERO, Duration::ZERO)],
/// }];
/// assert_eq!(timeline(&rows, Duration::from_secs(2), 11).lines().next(), Some("A |#---->     | 1.000s"));
/// ```
pub fn timeline(rows: &[Row], last: Duration, width: usize) -> String {
    let width = width.max(10);
    if rows.is_empty() {
        return String::from("(no tasks)\n");
    }
    let total = last.as_nanos().max(1);
    let col = |t: Duration| -> usize {
        ((t.as_nanos() * (width as u128 - 1)) / total).min(width as u128 - 1) as usize
    };
    let labels: Vec<String> = rows.iter().map(|r| printable_label(&r.label)).collect();
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (r, label) in rows.iter().zip(&labels) {
        // Columns in which the task was polled (running, not waiting).
        let mut ran = vec![false; width];
        for &(s, e) in &r.polls {
            for c in &mut ran[col(s)..=col(e).max(col(s))] {
                *c = true;
            }
        }
        let start = col(r.start);
        let end = r.end.map(col);
        let mut line = String::with_capacity(width);
        for (c, &busy) in ran.iter().enumerate() {
            let ch = match end {
                _ if c < start => ' ',
                Some(e) if c < e && busy => '#',
                Some(e) if c < e => '-',
                Some(e) if c == e => match r.outcome {
                    Some(End::Cancelled) => 'x',
                    Some(End::Panicked) => '!',
                    _ => '>',
                },
                Some(_) => ' ',
                None if busy => '#',
                None => '-',
            };
            line.push(ch);
        }
        let lifetime = match r.end {
            Some(e) => format_secs(e.saturating_sub(r.start)),
            None => String::from("running"),
        };
        let _ = writeln!(out, "{label:<label_width$} |{line}| {lifetime}");
    }
    let end_label = format_secs(last);
    let pad = width.saturating_sub(end_label.len() + 2);
    let _ = writeln!(out, "{:label_width$}  0s{:pad$}{end_label}", "", "");
    out
}

/// The widest label a timeline row shows, in characters; a longer one is
/// cut with `…`.
pub const LABEL_WIDTH: usize = 40;

/// A task's label as a timeline row shows it: control characters (an
/// escape sequence, a newline) written out as `\u{1b}`, so that a name
/// cannot move the cursor or break a row, and cut to [`LABEL_WIDTH`]
/// characters with `…`.
///
/// # Examples
///
/// ```
/// use boucle::trace::printable_label;
///
/// assert_eq!(printable_label("fetch\x1b[2J"), "fetch\\u{1b}[2J");
/// assert_eq!(printable_label(&"x".repeat(50)).chars().count(), 40);
/// ```
pub fn printable_label(label: &str) -> String {
    printable(label, LABEL_WIDTH)
}

/// [`printable_label`] cut to `max` characters.
pub(super) fn printable(label: &str, max: usize) -> String {
    let mut out = String::with_capacity(label.len().min(max.saturating_mul(4)));
    let mut shown = 0;
    let mut chars = label.chars().peekable();
    while let Some(c) = chars.next() {
        let piece: String = if c.is_control() {
            c.escape_unicode().collect()
        } else {
            c.into()
        };
        let n = piece.chars().count();
        // Room for this piece, and for the `…` if more follows.
        let more = chars.peek().is_some();
        if shown + n > max || (more && shown + n == max) {
            out.push('…');
            return out;
        }
        out.push_str(&piece);
        shown += n;
    }
    out
}

fn micros(d: Duration) -> String {
    format!("{:.3}", d.as_nanos() as f64 / 1000.0)
}

fn format_secs(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::TaskId;
    use crate::trace::Event;

    fn ev(ms: u64, task: u64, kind: EventKind) -> Event {
        Event {
            time: Duration::from_millis(ms),
            task: TaskId(task),
            kind,
        }
    }

    fn created(name: &str) -> EventKind {
        EventKind::Created {
            name: Some(name.into()),
            parent: None,
            location: std::panic::Location::caller(),
        }
    }

    #[test]
    fn timeline_draws_lifetimes_and_endings() {
        let trace = Trace {
            dropped: 0,
            taken_at: Duration::from_secs(2),
            events: vec![
                ev(0, 1, created("A")),
                ev(0, 2, created("B\"q")),
                ev(0, 1, EventKind::PollStart),
                ev(0, 1, EventKind::PollEnd),
                ev(1000, 1, EventKind::Done),
                ev(2000, 2, EventKind::Cancelled),
            ],
        };
        let text = trace.timeline(21);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows[0], "A   |#--------->          | 1.000s");
        assert_eq!(rows[1], "B\"q |--------------------x| 2.000s");
        let scaled = trace.timeline_until(21, Duration::from_secs(4));
        let rows: Vec<&str> = scaled.lines().collect();
        assert_eq!(rows[0], "A   |#---->               | 1.000s");
        assert_eq!(rows[1], "B\"q |----------x          | 2.000s");
        assert!(rows[2].ends_with("4.000s"), "{scaled}");
        let json = trace.to_chrome_json();
        assert!(json.contains("\"name\":\"B\\\"q\""), "{json}");
        let mut hostile = trace.clone();
        hostile.events[0] = ev(0, 1, created(&format!("a\nb{}", "y".repeat(60))));
        let text = hostile.timeline(21);
        let row = text.lines().next().unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            row.starts_with(&format!("a\\u{{a}}b{}… |#", "y".repeat(32))),
            "{row}"
        );
        assert!(json.contains("\"outcome\":\"cancelled\""));
        assert!(json.contains("\"name\":\"poll\""));
    }
}
