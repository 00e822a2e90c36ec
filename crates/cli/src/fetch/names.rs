//! `--out DIR`: a safe, unique file name for each URL's body.
//!
//! The name is the URL's position in the input (zero-padded, so names sort
//! as the input does), then its host and path with every character outside
//! `[A-Za-z0-9._-]` replaced by `_`: `00042-127.0.0.1_8080_files_a.txt`.
//! No `/`, no `..` component can survive, so nothing is written outside
//! DIR; the position makes names unique within a run, and a file already
//! there (from an earlier run) is never overwritten: `.1`, `.2`... are
//! tried instead.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// The longest name part taken from the URL.
const MAX_STEM: usize = 120;

/// The file name for URL number `index` (0-based) of `total`.
pub fn file_name(index: usize, total: usize, url: &str) -> String {
    let width = total.max(1).to_string().len().max(5);
    let rest = url
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(url)
        .split(['?', '#'])
        .next()
        .unwrap_or("");
    let mut stem: String = rest
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // Dots alone could still read as `..`: a name never starts with one.
    while stem.starts_with('.') {
        stem.replace_range(..1, "_");
    }
    let stem = stem.trim_end_matches('_');
    let stem: String = stem.chars().take(MAX_STEM).collect();
    let stem = if stem.is_empty() {
        "index".to_string()
    } else {
        stem
    };
    format!("{:0width$}-{stem}", index + 1)
}

/// Creates `dir/name`, or `dir/name.1`... when taken.
pub fn create_unique(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let mut path = dir.join(name);
    for n in 1..1000 {
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                path = dir.join(format!("{name}.{n}"));
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{name} and 999 numbered variants already exist in {}",
            dir.display()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_flat_safe_and_numbered() {
        assert_eq!(
            file_name(41, 100, "http://127.0.0.1:8080/files/a.txt"),
            "00042-127.0.0.1_8080_files_a.txt"
        );
        assert_eq!(file_name(0, 1, "http://h/"), "00001-h");
        for evil in [
            "http://h/../../etc/passwd",
            "http://h/%2e%2e/%2e%2e/x",
            "http://../..",
            "../../x",
            "http://h/a\\b\0c",
        ] {
            let n = file_name(0, 1, evil);
            assert!(
                !n.contains('/') && !n.contains('\\') && !n.contains('\0'),
                "{n}"
            );
            assert!(!n.starts_with('.'), "{n}");
            assert!(n.starts_with("00001-"), "{n}");
        }
        assert_eq!(file_name(0, 1, "http://h/?q=1"), "00001-h");
        assert_eq!(
            file_name(0, 1_000_000, "http://h/x").len(),
            "0000001-h_x".len()
        );
        assert!(file_name(0, 1, &format!("http://h/{}", "a".repeat(500))).len() <= 6 + MAX_STEM);
    }

    #[test]
    fn existing_files_are_never_overwritten() {
        let dir = std::env::temp_dir().join(format!("boucle-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, _) = create_unique(&dir, "x").unwrap();
        let (b, _) = create_unique(&dir, "x").unwrap();
        assert_eq!(a, dir.join("x"));
        assert_eq!(b, dir.join("x.1"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
