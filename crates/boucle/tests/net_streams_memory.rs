//! `StreamReader`'s memory follows the bytes received, never a length the
//! peer announces (hardening issue, bug 1). This file is its own process
//! so that the peak-RSS reading is not shared with other tests.

use std::time::Duration;

use boucle::net::{streams_from_unix, ReadError, UnixStream};

/// The process's peak resident set (VmHWM), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmHWM value");
    kib * 1024
}

#[test]
fn readexactly_of_a_terabyte_ends_with_what_came() {
    // Before the fix this reserved and zero-filled 2^40 bytes: the
    // allocation failed and the process aborted.
    boucle::run(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let (mut reader, _writer) = streams_from_unix(a);
        b.write_all(b"hello").await.unwrap();
        drop(b);
        match reader.readexactly(1 << 40).await {
            Err(ReadError::IncompleteRead(e)) => {
                assert_eq!(e.partial, b"hello");
                assert_eq!(e.expected, Some(1 << 40));
            }
            other => panic!("expected IncompleteRead, got {other:?}"),
        }
    });
}

#[test]
fn memory_grows_with_bytes_received_not_with_the_length_asked() {
    const SENT: usize = 1 << 20;
    let before = peak_rss();
    boucle::run(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let (mut reader, _writer) = streams_from_unix(a);
        // A length-prefixed server told "4 GiB follow" by a peer that then
        // sends 1 MiB and waits.
        let waiting =
            boucle::spawn(async move { reader.readexactly(1 << 32).await.map(|v| v.len()) });
        let chunk = vec![7u8; 64 * 1024];
        for _ in 0..SENT / chunk.len() {
            b.write_all(&chunk).await.unwrap();
        }
        // Let the reader take in everything that was sent.
        for _ in 0..100 {
            boucle::sleep(Duration::from_millis(1)).await;
        }
        assert!(!waiting.is_done());
        waiting.cancel();
        assert!(waiting.await.unwrap_err().is_cancelled());
    });
    let grown = peak_rss().saturating_sub(before);
    // The buffer holds 1 MiB and at most doubles: a few MiB, where zero-filling
    // the announced length would have touched 4 GiB.
    assert!(
        grown < 32 << 20,
        "peak RSS grew by {} MiB for 1 MiB received",
        grown >> 20
    );
}

#[test]
fn a_large_message_is_read_whole() {
    boucle::run(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let (mut reader, _writer) = streams_from_unix(a);
        let n = 3 * 1024 * 1024 + 17;
        let sender = boucle::spawn(async move {
            let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            b.write_all(&data).await.unwrap();
            b
        });
        let got = reader.readexactly(n).await.unwrap();
        assert_eq!(got.len(), n);
        assert!(got.iter().enumerate().all(|(i, &v)| v == (i % 251) as u8));
        let _b = sender.await.unwrap();
        // The buffer was released; the reader keeps working afterwards.
        assert!(reader.buffer().is_empty());
    });
}
