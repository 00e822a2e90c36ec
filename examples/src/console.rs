//! `Console`: where the examples print (stdout, or a capture for tests).

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Where an example prints its lines: Python's `print`, made shareable.
///
/// A `Console` is a cheap handle (clone it freely) around one writer, so
/// that tasks made with `boucle::spawn` (which must be `'static`) can print
/// too. Each [`println`](Console::println) writes one line and flushes, so a
/// real-time run shows each line when it happens.
#[derive(Clone)]
pub struct Console {
    out: Rc<RefCell<dyn Write>>,
}

impl Console {
    /// A console printing to standard output (what the example binaries
    /// use).
    pub fn stdout() -> Console {
        Console::new(io::stdout())
    }

    /// A console printing to `out`.
    pub fn new(out: impl Write + 'static) -> Console {
        Console {
            out: Rc::new(RefCell::new(out)),
        }
    }

    /// A console that records each line with the loop time
    /// ([`boucle::now`]) at which it was printed.
    pub fn capture() -> (Console, Captured) {
        let captured = Captured::default();
        let writer = CaptureWriter {
            lines: captured.clone(),
            partial: Vec::new(),
        };
        (Console::new(writer), captured)
    }

    /// Prints `line` and a newline, then flushes (Python's `print(line)`).
    ///
    /// # Errors
    /// If the underlying writer fails (for stdout: a closed pipe).
    pub fn println(&self, line: impl fmt::Display) -> io::Result<()> {
        let mut out = self.out.borrow_mut();
        writeln!(out, "{line}")?;
        out.flush()
    }
}

impl fmt::Debug for Console {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Console").finish_non_exhaustive()
    }
}

/// One printed line and the loop time at which its newline was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// `boucle::now()` when the line was printed.
    pub at: Instant,
    /// The text, without the newline.
    pub text: String,
}

/// The lines printed to a [`Console::capture`] console. Cloning shares the
/// same record.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    lines: Rc<RefCell<Vec<Line>>>,
}

impl Captured {
    /// The texts of the lines printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.borrow().iter().map(|l| l.text.clone()).collect()
    }

    /// Each line with the loop time at which it was printed, counted from
    /// `start` (take it with `boucle::now()` before the example starts).
    pub fn stamped_since(&self, start: Instant) -> Vec<(Duration, String)> {
        self.lines
            .borrow()
            .iter()
            .map(|l| (l.at.saturating_duration_since(start), l.text.clone()))
            .collect()
    }

    /// Each line with its time stamp.
    pub fn all(&self) -> Vec<Line> {
        self.lines.borrow().clone()
    }
}

/// The writer behind [`Console::capture`]: splits the bytes into lines.
struct CaptureWriter {
    lines: Captured,
    partial: Vec<u8>,
}

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for &byte in buf {
            if byte == b'\n' {
                let text = String::from_utf8_lossy(&self.partial).into_owned();
                self.partial.clear();
                self.lines.lines.borrow_mut().push(Line {
                    at: boucle::now(),
                    text,
                });
            } else {
                self.partial.push(byte);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Formats strings as Python prints a list of them: `['a', 'b']`.
///
/// ```
/// assert_eq!(
///     boucle_examples::py_list(["Résultat 1", "Résultat 2"]),
///     "['Résultat 1', 'Résultat 2']"
/// );
/// ```
pub fn py_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let items: Vec<String> = items.into_iter().map(|s| py_str_repr(s.as_ref())).collect();
    format!("[{}]", items.join(", "))
}

/// Python's `repr` of a str: single quotes unless the text holds a single
/// quote and no double quote; backslashes and the chosen quote escaped.
fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn py_list_matches_python_repr() {
        assert_eq!(py_list(Vec::<&str>::new()), "[]");
        assert_eq!(py_list(["a"]), "['a']");
        assert_eq!(py_list(["l'eau"]), "[\"l'eau\"]");
        assert_eq!(py_list(["a'b\"c"]), "['a\\'b\"c']");
        assert_eq!(py_list(["x\\y"]), "['x\\\\y']");
    }

    #[test]
    fn capture_splits_lines() {
        let (console, captured) = Console::capture();
        console.println("un").unwrap();
        console.println("deux\n").unwrap();
        assert_eq!(captured.lines(), ["un", "deux", ""]);
    }
}
