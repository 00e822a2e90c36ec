//! A [`Trace`] as a standalone SVG: one row per task, its life as a bar,
//! its polls as darker marks, a time axis, and a hover title (name, spawn
//! location, times) on every row. No script, no external reference: it
//! opens in any browser.

use std::fmt::Write;
use std::time::Duration;

use super::{End, EventKind, Trace};

const ROW: usize = 18;
const LABEL: usize = 180;
const TOP: usize = 10;
const AXIS: usize = 30;

impl Trace {
    /// The trace as an SVG document `width` pixels wide (at least 400).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = boucle::Runtime::builder().virtual_time(true).trace(true).build().unwrap();
    /// rt.block_on(async {
    ///     boucle::task::Builder::new().name("nap").spawn(boucle::sleep(Duration::from_secs(1))).await.unwrap();
    /// });
    /// let svg = rt.trace().unwrap().to_svg(800);
    /// assert!(svg.starts_with("<svg "));
    /// assert!(svg.contains("<title>nap"));
    /// ```
    pub fn to_svg(&self, width: usize) -> String {
        let width = width.max(400);
        let spans = self.tasks();
        let plot = width - LABEL - 10;
        let total = self.taken_at.as_nanos().max(1);
        let x = |t: Duration| LABEL as f64 + (t.as_nanos() as f64 / total as f64) * plot as f64;
        let height = TOP + spans.len().max(1) * ROW + AXIS;
        let mut out = String::new();
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"monospace\" font-size=\"11\">"
        );
        out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        let mut polls: std::collections::HashMap<u64, Vec<(Duration, Duration)>> =
            Default::default();
        let mut open: std::collections::HashMap<u64, Duration> = Default::default();
        for e in &self.events {
            match e.kind {
                EventKind::PollStart => {
                    open.insert(e.task.as_u64(), e.time);
                }
                EventKind::PollEnd => {
                    if let Some(s) = open.remove(&e.task.as_u64()) {
                        polls.entry(e.task.as_u64()).or_default().push((s, e.time));
                    }
                }
                _ => {}
            }
        }
        for (row, span) in spans.iter().enumerate() {
            let y = TOP + row * ROW;
            let end = span.end.unwrap_or(self.taken_at);
            let (fill, how) = match span.outcome {
                Some(End::Done) => ("#8fb8de", "done"),
                Some(End::Cancelled) => ("#c8c8c8", "cancelled"),
                Some(End::Panicked) => ("#e89a9a", "panicked"),
                None => ("#b8dba0", "still running"),
            };
            let title = xml(&format!(
                "{} (id {}) spawned at {}: {:.6} s to {:.6} s, {} polls, {how}",
                span.label(),
                span.id,
                span.location,
                span.start.as_secs_f64(),
                end.as_secs_f64(),
                span.polls
            ));
            let (x0, x1) = (x(span.start), x(end));
            let _ = write!(
                out,
                "<g><title>{title}</title><text x=\"4\" y=\"{}\">{}</text>\
                 <rect x=\"{x0:.2}\" y=\"{}\" width=\"{:.2}\" height=\"{}\" fill=\"{fill}\"/>",
                y + 12,
                xml(&super::render::printable(&span.label(), 24)),
                y + 3,
                (x1 - x0).max(1.0),
                ROW - 6
            );
            for &(s, e) in polls
                .get(&span.id.as_u64())
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                let (p0, p1) = (x(s), x(e));
                let _ = write!(
                    out,
                    "<rect x=\"{p0:.2}\" y=\"{}\" width=\"{:.2}\" height=\"{}\" fill=\"#1f4e79\"/>",
                    y + 3,
                    (p1 - p0).max(1.0),
                    ROW - 6
                );
            }
            out.push_str("</g>");
        }
        let axis_y = TOP + spans.len().max(1) * ROW + 4;
        let _ = write!(
            out,
            "<line x1=\"{LABEL}\" y1=\"{axis_y}\" x2=\"{}\" y2=\"{axis_y}\" stroke=\"black\"/>",
            LABEL + plot
        );
        for i in 0..=4 {
            let t = Duration::from_nanos((total as f64 * i as f64 / 4.0) as u64);
            let tx = x(t);
            let _ = write!(
                out,
                "<line x1=\"{tx:.2}\" y1=\"{axis_y}\" x2=\"{tx:.2}\" y2=\"{}\" stroke=\"black\"/>\
                 <text x=\"{tx:.2}\" y=\"{}\" text-anchor=\"middle\">{:.3}s</text>",
                axis_y + 4,
                axis_y + 16,
                t.as_secs_f64()
            );
        }
        out.push_str("</svg>\n");
        out
    }
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}
