//! `boucle::fs::read_dir` and `BufReader::lines` on real directories and
//! files.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::ErrorKind;
use std::os::unix::ffi::OsStringExt;

use boucle::fs::{self, BufReader, File};
use boucle::stream::StreamExt;

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("boucle-fsdir-")
        .tempdir()
        .unwrap()
}

#[test]
fn read_dir_streams_every_entry_in_batches() {
    let dir = tmp();
    let mut want = BTreeSet::new();
    for i in 0..1000 {
        let name = format!("f{i:04}");
        std::fs::write(dir.path().join(&name), "").unwrap();
        want.insert(OsString::from(name));
    }
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::os::unix::fs::symlink("nowhere", dir.path().join("broken")).unwrap();
    // A name that is not UTF-8.
    let odd = OsString::from_vec(b"caf\xe9".to_vec());
    std::fs::write(dir.path().join(&odd), "").unwrap();
    let d = dir.path().to_path_buf();
    boucle::run(async move {
        let mut entries = fs::read_dir(&d).await.unwrap();
        let mut files = BTreeSet::new();
        let (mut dirs, mut links) = (0, 0);
        while let Some(e) = entries.next().await {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            assert_eq!(e.path(), d.join(e.file_name()));
            if t.is_dir() {
                dirs += 1;
            } else if t.is_symlink() {
                links += 1;
                assert!(e.metadata().await.unwrap().file_type().is_symlink());
            } else {
                files.insert(e.file_name());
            }
        }
        assert_eq!((dirs, links), (1, 1));
        assert!(files.remove(&odd), "the non-UTF-8 name is listed");
        assert_eq!(files, want);
        // The end is sticky, and next_entry says it too.
        assert!(entries.next().await.is_none());
        assert!(entries.next_entry().await.unwrap().is_none());
    });
}

#[test]
fn read_dir_of_a_file_is_an_error_naming_it() {
    let dir = tmp();
    let f = dir.path().join("plain");
    std::fs::write(&f, "").unwrap();
    boucle::run(async move {
        let e = fs::read_dir(&f).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotADirectory);
        assert!(e.to_string().contains("plain"), "{e}");
    });
}

#[test]
fn lines_split_on_lf_and_crlf_and_report_bad_utf8() {
    let dir = tmp();
    let p = dir.path().join("lines.txt");
    let mut text = Vec::new();
    text.extend_from_slice(b"un\r\ndeux\n\n");
    text.extend_from_slice(&[0xff, b'\n']);
    let long = "x".repeat(200_000); // longer than the buffer
    text.extend_from_slice(long.as_bytes());
    text.extend_from_slice(b"\nfin");
    std::fs::write(&p, &text).unwrap();
    boucle::run(async move {
        let mut lines = BufReader::with_capacity(1024, File::open(&p).await.unwrap()).lines();
        assert_eq!(lines.next_line().await.unwrap().unwrap(), "un");
        assert_eq!(lines.next_line().await.unwrap().unwrap(), "deux");
        assert_eq!(lines.next_line().await.unwrap().unwrap(), "");
        let e = lines.next_line().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidData);
        assert_eq!(lines.next().await.unwrap().unwrap(), long);
        assert_eq!(lines.next().await.unwrap().unwrap(), "fin");
        assert!(lines.next().await.is_none());

        let mut r = BufReader::new(File::open(&p).await.unwrap());
        let mut line = String::new();
        assert_eq!(r.read_line(&mut line).await.unwrap(), 4);
        assert_eq!(line, "un\r\n");
    });
}
