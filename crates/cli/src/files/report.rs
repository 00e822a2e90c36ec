//! What `boucle files` prints: one line per file on stdout (text or JSON),
//! errors, the totals and the progress bar on stderr.

use std::io::{self, IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::hash::{hex, Summary};

/// A path as text, never dropped: valid UTF-8 as is, except that `\` is
/// doubled and control characters are escaped (`\n`, `\t`, `\xHH`); bytes
/// that are not UTF-8 become `\xHH`. The escaping is reversible.
pub fn escape_path(path: &Path) -> String {
    let bytes = path.as_os_str().as_bytes();
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => {
                    let mut b = [0u8; 4];
                    for byte in c.encode_utf8(&mut b).bytes() {
                        out.push_str(&format!("\\x{byte:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// `s` as a JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The stdout line for a processed file.
pub fn ok_line(path: &Path, s: &Summary, json: bool) -> String {
    if json {
        format!(
            "{{\"path\":{},\"bytes\":{},\"lines\":{},\"sha256\":\"{}\",\"error\":null}}",
            json_string(&escape_path(path)),
            s.bytes,
            s.lines,
            hex(&s.sha256)
        )
    } else {
        format!(
            "{}  {}  {}  {}",
            hex(&s.sha256),
            s.bytes,
            s.lines,
            escape_path(path)
        )
    }
}

/// The JSON line for a file that failed.
pub fn error_json(path: &Path, error: &str) -> String {
    format!(
        "{{\"path\":{},\"bytes\":null,\"lines\":null,\"sha256\":null,\"error\":{}}}",
        json_string(&escape_path(path)),
        json_string(error)
    )
}

/// Stdout, buffered; a closed stdout (`boucle files . | head`) ends the
/// program quietly, as `say!` does.
pub struct Out {
    w: io::BufWriter<io::Stdout>,
    /// Flush after each line (stdout is a terminal).
    eager: bool,
}

impl Out {
    pub fn new() -> Out {
        Out {
            w: io::BufWriter::with_capacity(64 * 1024, io::stdout()),
            eager: io::stdout().is_terminal(),
        }
    }

    pub fn line(&mut self, text: &str) {
        let r = self
            .w
            .write_all(text.as_bytes())
            .and_then(|()| self.w.write_all(b"\n"));
        let r = if self.eager {
            r.and_then(|()| self.w.flush())
        } else {
            r
        };
        quiet_exit_on_error(r);
    }

    pub fn flush(&mut self) {
        quiet_exit_on_error(self.w.flush());
    }
}

fn quiet_exit_on_error(r: io::Result<()>) {
    if let Err(e) = r {
        if e.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("boucle: error: cannot write to stdout: {e}");
        std::process::exit(crate::args::FAILURE);
    }
}

/// Counts, the progress bar (only when stderr is a terminal), and the
/// totals line.
pub struct Tally {
    pub files: u64,
    pub errors: u64,
    pub bytes: u64,
    pub skipped_links: u64,
    pub skipped_special: u64,
    start: Instant,
    bar: Option<ProgressBar>,
}

impl Tally {
    pub fn new() -> Tally {
        let bar = io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
            bar.set_style(
                ProgressStyle::with_template("{spinner} {pos} files, {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        });
        Tally {
            files: 0,
            errors: 0,
            bytes: 0,
            skipped_links: 0,
            skipped_special: 0,
            start: Instant::now(),
            bar,
        }
    }

    pub fn done(&mut self, bytes: u64) {
        self.files += 1;
        self.bytes += bytes;
        if let Some(bar) = &self.bar {
            bar.set_position(self.files);
            if self.files % 64 == 1 {
                bar.set_message(format!(
                    "{} MB, {} errors",
                    self.bytes / 1_000_000,
                    self.errors
                ));
            }
        }
    }

    pub fn failed(&mut self) {
        self.errors += 1;
    }

    /// An error line on stderr (text mode), above the bar.
    pub fn error_line(&self, path: &Path, error: &str) {
        let line = format!("boucle: {}: {error}", escape_path(path));
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// The totals line (stderr), `interrupted` after a Ctrl-C.
    pub fn finish(&self, interrupted: bool) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let secs = self.elapsed().as_secs_f64();
        let rate = if secs > 0.0 {
            self.bytes as f64 / 1e6 / secs
        } else {
            0.0
        };
        let mut line = format!(
            "{}{} files, {} errors, {} bytes in {secs:.3} s ({rate:.1} MB/s)",
            if interrupted { "interrupted: " } else { "" },
            self.files,
            self.errors,
            self.bytes,
        );
        if self.skipped_links > 0 {
            line.push_str(&format!(
                "; {} symlinked directories not followed (--follow-links)",
                self.skipped_links
            ));
        }
        if self.skipped_special > 0 {
            line.push_str(&format!(
                "; {} FIFOs, sockets or devices skipped",
                self.skipped_special
            ));
        }
        eprintln!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn paths_are_escaped_reversibly_and_never_dropped() {
        let p = |b: &[u8]| escape_path(Path::new(OsStr::from_bytes(b)));
        assert_eq!(p(b"plain/caf\xc3\xa9.txt"), "plain/café.txt");
        assert_eq!(p(b"caf\xe9"), "caf\\xe9");
        assert_eq!(p(b"a\\b"), "a\\\\b");
        assert_eq!(p(b"two\nlines"), "two\\nlines");
        assert_eq!(p(b"bell\x07"), "bell\\x07");
        // `\xe9` in a name is told apart from the byte 0xe9.
        assert_ne!(p(b"\\xe9"), p(b"\xe9"));
    }

    #[test]
    fn json_lines_have_exactly_the_five_fields() {
        let s = Summary {
            bytes: 3,
            lines: 1,
            sha256: [0xab; 32],
        };
        let line = ok_line(Path::new("a\"b"), &s, true);
        assert!(line.starts_with("{\"path\":\"a\\\"b\",\"bytes\":3,\"lines\":1,\"sha256\":\"abab"));
        assert!(line.ends_with("\"error\":null}"));
        let e = error_json(Path::new("x"), "No such file");
        assert_eq!(
            e,
            "{\"path\":\"x\",\"bytes\":null,\"lines\":null,\"sha256\":null,\"error\":\"No such file\"}"
        );
    }
}
