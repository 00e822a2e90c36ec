//! `boucle::io::AsyncFd`: any readiness-capable fd on the loop's reactor,
//! with no mio type in sight.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use boucle::io::{AsyncFd, Interest};

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

#[test]
fn readable_then_try_io_until_would_block() {
    boucle::run(async {
        let (a, mut b) = pair();
        let a = AsyncFd::with_interest(a, Interest::READABLE).unwrap();
        b.write_all(b"hello world").unwrap();
        let mut got = Vec::new();
        loop {
            let mut guard = a.readable().await;
            let mut buf = [0u8; 4];
            match guard.try_io(|fd| fd.get_ref().read(&mut buf)) {
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    if got.len() == 11 {
                        break;
                    }
                }
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::WouldBlock),
            }
        }
        assert_eq!(got, b"hello world");
    });
}

#[test]
fn a_reader_waits_until_a_task_writes() {
    let rt = boucle::Runtime::builder()
        .virtual_time(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let (a, b) = pair();
        let a = AsyncFd::new(a).unwrap();
        let b = AsyncFd::new(b).unwrap();
        let writer = boucle::spawn(async move {
            boucle::sleep(Duration::from_secs(5)).await;
            b.async_io(Interest::WRITABLE, |s| (&*s).write(b"late"))
                .await
                .unwrap();
            b
        });
        let mut buf = [0u8; 8];
        let n = a
            .async_io(Interest::READABLE, |s| (&*s).read(&mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"late");
        drop(writer.await.unwrap());
        // The peer is gone: readable at once, with end of stream.
        let n = a
            .async_io(Interest::READABLE, |s| (&*s).read(&mut buf))
            .await
            .unwrap();
        assert_eq!(n, 0);
    });
}

#[test]
fn writable_until_the_buffer_is_full_then_readable_space_returns() {
    boucle::run(async {
        let (a, b) = pair();
        let a = AsyncFd::new(a).unwrap();
        let chunk = [7u8; 64 * 1024];
        let mut sent = 0usize;
        // Fill the socket buffer: try_io reports WouldBlock and clears.
        loop {
            let mut guard = a.writable().await;
            match guard.try_io(|fd| fd.get_ref().write(&chunk)) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(sent > 0);
        // A thread drains the peer; the writer becomes writable again.
        let drain = std::thread::spawn(move || {
            let mut b = b;
            b.set_nonblocking(false).unwrap();
            let mut buf = vec![0u8; sent];
            b.read_exact(&mut buf).unwrap();
            b
        });
        let n = a
            .async_io(Interest::WRITABLE, |s| (&*s).write(b"more"))
            .await
            .unwrap();
        assert_eq!(n, 4);
        drop(drain.join().unwrap());
    });
}

#[test]
fn a_regular_file_is_refused_with_an_error() {
    boucle::run(async {
        let file = std::fs::File::open("/proc/self/status").unwrap();
        let err = AsyncFd::new(file).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
        assert!(err.to_string().contains("use boucle::fs"), "{err}");
    });
}

#[test]
fn into_inner_deregisters_so_the_fd_can_be_registered_again() {
    boucle::run(async {
        let (a, mut b) = pair();
        let fd = AsyncFd::new(a).unwrap();
        let a = fd.into_inner();
        let fd = AsyncFd::with_interest(a, Interest::READABLE).unwrap();
        b.write_all(b"x").unwrap();
        let mut buf = [0u8; 1];
        let n = fd
            .async_io(Interest::READABLE, |s| (&*s).read(&mut buf))
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert!(format!("{:?}", Interest::READABLE | Interest::WRITABLE).contains("WRITABLE"));
    });
}
