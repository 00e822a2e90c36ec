//! `--trace-out FILE.json|FILE.svg` on every command (and the older
//! `--chrome-trace FILE`): the run's trace, written whole when the command
//! ends, as Chrome trace JSON (Perfetto) or as a standalone SVG timeline.

use std::path::{Path, PathBuf};

use boucle::trace::Trace;
use clap::Args;

use crate::args::{Failure, PendingFile};
use crate::output;

/// Pixels across an SVG timeline.
const SVG_WIDTH: usize = 1200;

/// The trace options every command takes.
#[derive(Args, Debug, Clone, Default)]
pub struct TraceArgs {
    /// Write the run's trace to FILE: Chrome trace JSON for FILE.json (open
    /// it in Perfetto, or `boucle trace FILE.json`), an SVG timeline for
    /// FILE.svg (open it in a browser)
    #[arg(long, value_name = "FILE")]
    pub trace_out: Option<PathBuf>,
    /// Write the run's trace as Chrome trace JSON to FILE, whatever its name
    /// (the older spelling of --trace-out FILE.json)
    #[arg(long, value_name = "FILE", conflicts_with = "trace_out")]
    pub chrome_trace: Option<PathBuf>,
}

/// What a trace file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Chrome,
    Svg,
}

impl Format {
    fn what(self) -> &'static str {
        match self {
            Format::Chrome => "Chrome trace",
            Format::Svg => "SVG timeline",
        }
    }
}

/// A trace file to write when the run ends; opened (as a temporary file)
/// before the run, so that a bad path is a usage error up front.
#[derive(Debug)]
pub struct TraceFile {
    file: PendingFile,
    format: Format,
}

impl TraceFile {
    /// The file `args` asks for, if any (usage errors, exit 2).
    pub fn open(args: &TraceArgs) -> Result<Option<TraceFile>, Failure> {
        let (path, format) = match (&args.trace_out, &args.chrome_trace) {
            (Some(path), _) => (path, format_of(path)?),
            (None, Some(path)) => (path, Format::Chrome),
            (None, None) => return Ok(None),
        };
        let file = PendingFile::create(path, format.what())?;
        Ok(Some(TraceFile { file, format }))
    }

    /// Writes `traces` (one per runtime, labelled) and returns the line
    /// that says where they went.
    pub fn write(self, traces: &[(String, Trace)]) -> Result<String, Failure> {
        let path = self.file.target().to_path_buf();
        let (body, hint) = match self.format {
            Format::Chrome => (output::merge_chrome(traces), "open it in Perfetto"),
            Format::Svg => (merge_svg(traces, SVG_WIDTH), "open it in a browser"),
        };
        let what = self.format.what();
        self.file.commit(body.as_bytes()).map_err(|e| {
            Failure::runtime(format!(
                "cannot write the {what} to {}: {e}",
                path.display()
            ))
        })?;
        Ok(format!("{what} written to {} ({hint})", path.display()))
    }
}

/// A long-running command's loop: traced when a trace file is asked for,
/// and with the task tree dumped on SIGUSR1 (`boucle ps PID`).
pub fn long_running(file: &Option<TraceFile>) -> boucle::Builder {
    boucle::Runtime::builder()
        .trace(file.is_some())
        .dump_on_signal(true)
}

/// Writes `trace` under `label` to `file`, if one was asked for, and says
/// where on stderr (stdout may be a stream of JSON lines).
pub fn finish(file: Option<TraceFile>, label: &str, trace: Option<Trace>) -> Result<(), Failure> {
    if let Some(file) = file {
        let traces: Vec<(String, Trace)> =
            trace.map(|t| (label.to_string(), t)).into_iter().collect();
        let line = file.write(&traces)?;
        output::complain(format_args!("{line}"));
    }
    Ok(())
}

fn format_of(path: &Path) -> Result<Format, Failure> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("json") => Ok(Format::Chrome),
        Some("svg") => Ok(Format::Svg),
        _ => Err(Failure::usage(format!(
            "--trace-out {}: the name must end in .json (Chrome trace, for Perfetto) or .svg \
             (a timeline for a browser)",
            path.display()
        ))),
    }
}

/// Several traces as one SVG: each trace's own document, stacked, under a
/// caption with its label. Nested `<svg>` elements keep each part's
/// coordinates as `Trace::to_svg` drew them.
pub fn merge_svg(parts: &[(String, Trace)], width: usize) -> String {
    const CAPTION: usize = 22;
    let mut body = String::new();
    let mut y = 0;
    let mut outer_width = width;
    for (label, trace) in parts {
        let svg = trace.to_svg(width);
        let w = attribute(&svg, "width").unwrap_or(width);
        let h = attribute(&svg, "height").unwrap_or(0);
        outer_width = outer_width.max(w);
        body.push_str(&format!(
            "<text x=\"4\" y=\"{}\" font-weight=\"bold\">{}</text>",
            y + CAPTION - 6,
            xml(label)
        ));
        y += CAPTION;
        // The part keeps its own root element; only its position is added.
        body.push_str(&svg.replacen("<svg ", &format!("<svg y=\"{y}\" "), 1));
        y += h;
    }
    let height = y.max(1);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{outer_width}\" height=\"{height}\" \
         viewBox=\"0 0 {outer_width} {height}\" font-family=\"monospace\" font-size=\"12\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>{body}</svg>\n"
    )
}

/// The numeric attribute `name` of the document's root element.
fn attribute(svg: &str, name: &str) -> Option<usize> {
    let head = &svg[..svg.find('>')?];
    let key = format!(" {name}=\"");
    let start = head.find(&key)? + key.len();
    let len = head[start..].find('"')?;
    head[start..start + len].parse().ok()
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_the_extension() {
        assert_eq!(format_of(Path::new("t.json")).unwrap(), Format::Chrome);
        assert_eq!(format_of(Path::new("dir/T.SVG")).unwrap(), Format::Svg);
        let err = format_of(Path::new("trace.txt")).unwrap_err();
        assert_eq!(err.code, crate::args::USAGE);
        assert!(err.message.contains(".json"), "{}", err.message);
        assert!(format_of(Path::new("trace")).is_err());
    }

    #[test]
    fn root_attributes_are_read() {
        let svg = "<svg xmlns=\"x\" width=\"800\" height=\"58\" viewBox=\"0 0 800 58\"><g width=\"9\"/></svg>";
        assert_eq!(attribute(svg, "width"), Some(800));
        assert_eq!(attribute(svg, "height"), Some(58));
        assert_eq!(attribute(svg, "depth"), None);
    }

    #[test]
    fn merged_parts_are_stacked_with_their_labels() {
        let parts = [
            ("a <1>".to_string(), Trace::default()),
            ("b".to_string(), Trace::default()),
        ];
        let one = Trace::default().to_svg(600);
        let h = attribute(&one, "height").unwrap();
        let svg = merge_svg(&parts, 600);
        assert!(svg.contains(">a &lt;1&gt;</text>"), "{svg}");
        assert_eq!(svg.matches("<svg ").count(), 3);
        assert!(
            svg.contains(&format!("<svg y=\"{}\" ", 22 + h + 22)),
            "{svg}"
        );
        assert_eq!(attribute(&svg, "height"), Some(2 * (22 + h)));
    }
}
