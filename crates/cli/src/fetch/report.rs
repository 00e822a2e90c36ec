//! What `boucle fetch` prints: one line per URL (`✓ URL: SIZE bytes
//! (STATUS, TIME ms)` / `✗ URL: ERROR`, or one JSON object), and the
//! totals on stderr.

use std::fmt::Write as _;
use std::time::Duration;

/// The result of one URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub url: String,
    pub ok: bool,
    pub status: Option<u16>,
    pub bytes: u64,
    pub ms: f64,
    pub attempts: u32,
    pub error: Option<String>,
}

impl Outcome {
    /// The seed's line.
    pub fn line(&self) -> String {
        match (&self.error, self.ok) {
            (None, true) => format!(
                "✓ {}: {} bytes ({}, {:.0} ms)",
                self.url,
                self.bytes,
                self.status.unwrap_or(0),
                self.ms
            ),
            (Some(e), _) => format!("✗ {}: {e}", self.url),
            (None, false) => format!("✗ {}: failed", self.url),
        }
    }

    /// One JSON object with exactly the fields url, ok, status, bytes, ms,
    /// attempts, error.
    pub fn json(&self) -> String {
        let mut s = String::with_capacity(128);
        s.push_str("{\"url\":");
        json_str(&mut s, &self.url);
        let _ = write!(s, ",\"ok\":{}", self.ok);
        match self.status {
            Some(code) => {
                let _ = write!(s, ",\"status\":{code}");
            }
            None => s.push_str(",\"status\":null"),
        }
        let _ = write!(
            s,
            ",\"bytes\":{},\"ms\":{:.3},\"attempts\":{}",
            self.bytes, self.ms, self.attempts
        );
        s.push_str(",\"error\":");
        match &self.error {
            Some(e) => json_str(&mut s, e),
            None => s.push_str("null"),
        }
        s.push('}');
        s
    }
}

fn json_str(out: &mut String, s: &str) {
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
}

/// Running totals.
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    pub ok: u64,
    pub failed: u64,
    pub bytes: u64,
}

impl Totals {
    pub fn add(&mut self, o: &Outcome) {
        if o.ok {
            self.ok += 1;
        } else {
            self.failed += 1;
        }
        self.bytes += o.bytes;
    }

    /// `totals: 998 ok, 2 failed, 1,234,567 bytes in 1.234 s`, with
    /// `interrupted after N of M URLs` when cut short.
    pub fn line(&self, wall: Duration, interrupted: Option<(u64, usize)>) -> String {
        let head = match interrupted {
            Some((done, all)) => format!(
                "interrupted after {} of {} URLs; partial totals",
                crate::args::group(done),
                crate::args::group(all as u64)
            ),
            None => "totals".to_string(),
        };
        format!(
            "{head}: {} ok, {} failed, {} bytes in {:.3} s",
            crate::args::group(self.ok),
            crate::args::group(self.failed),
            crate::args::group(self.bytes),
            wall.as_secs_f64()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(ok: bool, error: Option<&str>) -> Outcome {
        Outcome {
            url: "http://h/a\"b".into(),
            ok,
            status: ok.then_some(200),
            bytes: 13,
            ms: 1.5,
            attempts: 1,
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn lines_as_the_seed_prints_them() {
        assert_eq!(
            outcome(true, None).line(),
            "✓ http://h/a\"b: 13 bytes (200, 2 ms)"
        );
        assert_eq!(outcome(false, Some("boom")).line(), "✗ http://h/a\"b: boom");
    }

    #[test]
    fn json_has_exactly_the_fields() {
        assert_eq!(
            outcome(true, None).json(),
            r#"{"url":"http://h/a\"b","ok":true,"status":200,"bytes":13,"ms":1.500,"attempts":1,"error":null}"#
        );
        assert_eq!(
            outcome(false, Some("a\nb")).json(),
            r#"{"url":"http://h/a\"b","ok":false,"status":null,"bytes":13,"ms":1.500,"attempts":1,"error":"a\nb"}"#
        );
    }

    #[test]
    fn totals_line() {
        let mut t = Totals::default();
        t.add(&outcome(true, None));
        t.add(&outcome(false, Some("x")));
        assert_eq!(
            t.line(Duration::from_millis(1500), None),
            "totals: 1 ok, 1 failed, 26 bytes in 1.500 s"
        );
        assert!(t
            .line(Duration::ZERO, Some((2, 10)))
            .starts_with("interrupted after 2 of 10 URLs"));
    }
}
