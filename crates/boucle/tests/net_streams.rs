//! asyncio's streams: StreamReader (read, readline, readexactly, readuntil,
//! at_eof, limits), StreamWriter (write, writelines, drain with water marks,
//! close, wait_closed, write_eof), and their futures-io traits.

use std::io::{ErrorKind, Write as _};
use std::rc::Rc;
use std::time::Duration;

use boucle::net::{
    open_connection, streams_from_tcp, ReadError, StreamReader, StreamWriter, TcpListener,
    TcpStream, DEFAULT_HIGH_WATER, DEFAULT_LIMIT, DEFAULT_LOW_WATER,
};

/// A streams pair on one end, a raw `TcpStream` on the other.
async fn streams_and_peer() -> (StreamReader, StreamWriter, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (r, w) = open_connection("127.0.0.1", port).await.unwrap();
    let (peer, _) = listener.accept().await.unwrap();
    (r, w, peer)
}

/// The same with small kernel buffers, so that big writes queue in the
/// writer.
async fn streams_and_peer_small_buffers() -> (StreamReader, StreamWriter, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ours = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (peer, _) = listener.accept().await.unwrap();
    rustix::net::sockopt::set_socket_send_buffer_size(&ours, 16 * 1024).unwrap();
    rustix::net::sockopt::set_socket_recv_buffer_size(&peer, 16 * 1024).unwrap();
    let (r, w) = streams_from_tcp(ours);
    (r, w, peer)
}

#[test]
fn readline_gives_lines_then_the_rest_then_empty() {
    boucle::run(async {
        let (mut r, _w, mut peer) = streams_and_peer().await;
        let writer = boucle::spawn(async move {
            // Lines split across writes, with pauses between them.
            for piece in [&b"fir"[..], b"st\nsec", b"ond\n\nthi", b"rd"] {
                peer.write_all(piece).await.unwrap();
                boucle::sleep(Duration::from_millis(1)).await;
            }
        });
        assert_eq!(r.readline().await.unwrap(), b"first\n");
        assert_eq!(r.readline().await.unwrap(), b"second\n");
        assert_eq!(r.readline().await.unwrap(), b"\n");
        writer.await.unwrap(); // peer dropped: end of stream
        assert!(!r.at_eof());
        assert_eq!(r.readline().await.unwrap(), b"third");
        assert!(r.at_eof());
        assert_eq!(r.readline().await.unwrap(), b"");
        assert_eq!(r.read(10).await.unwrap(), b"");
    });
}

#[test]
fn read_n_returns_what_is_there_up_to_n() {
    boucle::run(async {
        let (mut r, _w, mut peer) = streams_and_peer().await;
        assert_eq!(r.read(0).await.unwrap(), b"");
        peer.write_all(b"0123456789").await.unwrap();
        let first = r.read(4).await.unwrap();
        assert_eq!(first, b"0123");
        assert_eq!(r.buffer(), b"456789");
        assert_eq!(r.read(100).await.unwrap(), b"456789");
        peer.write_all(b"tail").await.unwrap();
        drop(peer);
        assert_eq!(r.read_to_eof().await.unwrap(), b"tail");
        assert!(r.at_eof());
    });
}

#[test]
fn readexactly_short_read_gives_the_partial_data() {
    boucle::run(async {
        let (mut r, _w, mut peer) = streams_and_peer().await;
        peer.write_all(b"abcdefgh").await.unwrap();
        assert_eq!(r.readexactly(3).await.unwrap(), b"abc");
        assert_eq!(r.readexactly(0).await.unwrap(), b"");
        drop(peer);
        let err = r.readexactly(10).await.unwrap_err();
        let ReadError::IncompleteRead(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.partial, b"defgh");
        assert_eq!(e.expected, Some(10));
        assert_eq!(err.partial(), Some(&b"defgh"[..]));
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        assert_eq!(
            err.to_string(),
            "5 bytes read on a total of 10 expected bytes"
        );
        let io: std::io::Error = err.into();
        assert_eq!(io.kind(), ErrorKind::UnexpectedEof);
        assert!(r.at_eof());
    });
}

#[test]
fn readexactly_larger_than_the_buffer_and_cancel_safe() {
    boucle::run(async {
        let (mut r, _w, mut peer) = streams_and_peer().await;
        peer.write_all(&[1u8; 5]).await.unwrap();
        // Cancelled after 5 of 10 bytes: nothing is lost.
        let t = boucle::timeout(Duration::from_millis(5), r.readexactly(10)).await;
        assert!(t.is_err());
        peer.write_all(&[2u8; 5]).await.unwrap();
        let got = r.readexactly(10).await.unwrap();
        assert_eq!(got, [[1u8; 5], [2u8; 5]].concat());
        // A message far larger than the reader's buffer and its limit.
        let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let big2 = big.clone();
        let w = boucle::spawn(async move { peer.write_all(&big2).await.unwrap() });
        assert!(r.readexactly(big.len()).await.unwrap() == big);
        w.await.unwrap();
    });
}

#[test]
fn readuntil_finds_separators_across_reads() {
    boucle::run(async {
        let (mut r, _w, mut peer) = streams_and_peer().await;
        let w = boucle::spawn(async move {
            for piece in [&b"HEAD"[..], b"ER\r", b"\n\r", b"\nbody|end|x"] {
                peer.write_all(piece).await.unwrap();
                boucle::sleep(Duration::from_millis(1)).await;
            }
        });
        assert_eq!(r.readuntil(b"\r\n\r\n").await.unwrap(), b"HEADER\r\n\r\n");
        assert_eq!(r.readuntil(b"|").await.unwrap(), b"body|");
        assert_eq!(r.readuntil(b"end|").await.unwrap(), b"end|");
        w.await.unwrap();
        let err = r.readuntil(b"|").await.unwrap_err();
        match err {
            ReadError::IncompleteRead(e) => {
                assert_eq!(e.partial, b"x");
                assert_eq!(e.expected, None);
            }
            other => panic!("{other:?}"),
        }
        let err = r.readuntil(b"").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    });
}

#[test]
fn readuntil_limit_overrun_consumes_nothing() {
    boucle::run(async {
        let (mut r, _w, mut peer) = streams_and_peer().await;
        assert_eq!(r.limit(), DEFAULT_LIMIT);
        assert_eq!(DEFAULT_LIMIT, 65536);
        r.set_limit(16);
        peer.write_all(&[b'a'; 40]).await.unwrap();
        let err = r.readuntil(b"\n").await.unwrap_err();
        let ReadError::LimitOverrun(e) = &err else {
            panic!("{err:?}")
        };
        assert!(!e.found);
        assert!(e.consumed > 16);
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert!(err.to_string().contains("not found"));
        // Nothing was consumed: the bytes are still there.
        assert_eq!(r.readexactly(40).await.unwrap(), [b'a'; 40]);
        // Found, but beyond the limit.
        peer.write_all(&[b'b'; 30]).await.unwrap();
        peer.write_all(b"\nok\n").await.unwrap();
        boucle::sleep(Duration::from_millis(2)).await;
        let err = r.readuntil(b"\n").await.unwrap_err();
        match err {
            ReadError::LimitOverrun(e) => {
                assert!(e.found);
                assert_eq!(e.consumed, 30);
            }
            other => panic!("{other:?}"),
        }
        r.set_limit(DEFAULT_LIMIT);
        assert_eq!(
            r.readline().await.unwrap(),
            [[b'b'; 30].as_slice(), b"\n"].concat()
        );
        assert_eq!(r.readline().await.unwrap(), b"ok\n");
    });
}

#[test]
fn readline_over_the_limit_discards_the_line_as_asyncio() {
    boucle::run(async {
        let (mut r, _w, mut peer) = streams_and_peer().await;
        r.set_limit(8);
        peer.write_all(b"0123456789abcdef\nnext\n").await.unwrap();
        boucle::sleep(Duration::from_millis(2)).await;
        let err = r.readline().await.unwrap_err();
        assert!(matches!(err, ReadError::LimitOverrun(_)), "{err:?}");
        // The long line is gone (it was in the buffer with its newline).
        assert_eq!(r.readline().await.unwrap(), b"next\n");
        // A line with no newline in sight: the searched bytes are dropped.
        peer.write_all(&[b'z'; 20]).await.unwrap();
        boucle::sleep(Duration::from_millis(2)).await;
        assert!(r.readline().await.is_err());
        peer.write_all(b"end\n").await.unwrap();
        let line = r.readline().await.unwrap();
        assert!(line.ends_with(b"end\n") && line.len() <= 9, "{line:?}");
    });
}

#[test]
fn write_writelines_and_addresses() {
    boucle::run(async {
        let (r, w, mut peer) = streams_and_peer().await;
        w.write(b"");
        w.write(b"a");
        w.writelines([b"b".to_vec(), b"cd".to_vec()]);
        w.writelines(Vec::<Vec<u8>>::new());
        w.drain().await.unwrap();
        let mut buf = [0u8; 4];
        peer.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"abcd");
        assert_eq!(w.peer_addr().unwrap(), peer.local_addr().unwrap());
        assert_eq!(w.local_addr().unwrap(), peer.peer_addr().unwrap());
        assert_eq!(r.peer_addr().unwrap(), peer.local_addr().unwrap());
        assert_eq!(r.local_addr().unwrap(), peer.peer_addr().unwrap());
        assert!(w.can_write_eof());
        assert_eq!(
            w.write_buffer_limits(),
            (DEFAULT_LOW_WATER, DEFAULT_HIGH_WATER)
        );
        assert_eq!((DEFAULT_LOW_WATER, DEFAULT_HIGH_WATER), (16384, 65536));
        w.set_write_buffer_limits(1000, 5000);
        assert_eq!(w.write_buffer_limits(), (1000, 1000));
        assert!(format!("{w:?} {r:?}").contains("StreamWriter"));
    });
}

/// Writes `chunk`s until the writer is paused (its queue passed the
/// high-water mark); returns the bytes written.
fn fill_until_paused(w: &StreamWriter, chunk: &[u8]) -> usize {
    let (_, high) = w.write_buffer_limits();
    let mut total = 0;
    while w.write_buffer_size() <= high {
        w.write(chunk);
        total += chunk.len();
        assert!(total < 512 << 20, "the socket never pushed back");
    }
    total
}

#[test]
fn drain_blocks_past_the_high_water_mark_and_resumes_when_the_reader_reads() {
    boucle::run(async {
        let (_r, w, mut peer) = streams_and_peer().await;
        let w = Rc::new(w);
        let chunk = vec![7u8; 16 * 1024];
        let written = fill_until_paused(&w, &chunk);
        let queued = w.write_buffer_size();
        assert!(queued > DEFAULT_HIGH_WATER);
        assert!(queued <= DEFAULT_HIGH_WATER + chunk.len());
        // The peer does not read: drain must not complete.
        let w2 = w.clone();
        let drain = boucle::spawn(async move {
            w2.drain().await.unwrap();
            w2.write_buffer_size()
        });
        boucle::sleep(Duration::from_millis(20)).await;
        assert!(
            !drain.is_done(),
            "drain returned while the peer was not reading"
        );
        assert!(w.write_buffer_size() > DEFAULT_LOW_WATER);
        // The peer reads: the queue drains below the low-water mark.
        let mut got = vec![0u8; written];
        peer.read_exact(&mut got).await.unwrap();
        let at_resume = drain.await.unwrap();
        assert!(at_resume <= DEFAULT_LOW_WATER, "{at_resume}");
        assert!(got.iter().all(|&b| b == 7));
        assert_eq!(w.write_buffer_size(), 0);
        w.drain().await.unwrap(); // not paused: immediate
    });
}

#[test]
fn two_concurrent_drains_on_one_writer_both_resume() {
    boucle::run(async {
        let (_r, w, mut peer) = streams_and_peer().await;
        let w = Rc::new(w);
        let written = fill_until_paused(&w, &[1u8; 8192]);
        let drains: Vec<_> = (0..2)
            .map(|_| {
                let w = w.clone();
                boucle::spawn(async move { w.drain().await })
            })
            .collect();
        // A third one that gives up (cancelled) must not disturb the others.
        let gave_up = boucle::timeout(Duration::from_millis(2), w.drain()).await;
        assert!(gave_up.is_err());
        boucle::sleep(Duration::from_millis(5)).await;
        assert!(drains.iter().all(|d| !d.is_done()));
        let mut got = vec![0u8; written];
        peer.read_exact(&mut got).await.unwrap();
        for d in drains {
            d.await.unwrap().unwrap();
        }
    });
}

#[test]
fn a_write_drain_loop_never_queues_past_the_high_water_mark_plus_one_write() {
    boucle::run(async {
        let (_r, w, mut peer) = streams_and_peer().await;
        w.set_write_buffer_limits(32 * 1024, 8 * 1024);
        let total = 8 << 20;
        let writer = boucle::spawn(async move {
            let chunk = [3u8; 4096];
            let mut max_queued = 0;
            for _ in 0..total / chunk.len() {
                w.write(&chunk);
                max_queued = max_queued.max(w.write_buffer_size());
                w.drain().await.unwrap();
            }
            max_queued
        });
        // A slow reader: small reads with pauses.
        let mut read = 0;
        let mut buf = [0u8; 65536];
        let mut turns = 0;
        while read < total {
            read += peer.read(&mut buf).await.unwrap();
            turns += 1;
            if turns % 64 == 0 {
                boucle::sleep(Duration::from_millis(1)).await;
            }
        }
        let max_queued = writer.await.unwrap();
        assert!(max_queued <= 32 * 1024 + 4096, "{max_queued}");
    });
}

#[test]
fn close_wait_closed_and_is_closing() {
    boucle::run(async {
        let (mut r, w, mut peer) = streams_and_peer().await;
        assert!(!w.is_closing());
        w.write(b"last words");
        w.close();
        assert!(w.is_closing());
        w.close(); // twice is fine
        w.wait_closed().await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let n = peer.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"last words");
        // Our reading side is shut too, as asyncio's transport close.
        assert_eq!(r.read(10).await.unwrap(), b"");
        // Writing after close is dropped and drain reports it.
        w.write(b"too late");
        let err = w.drain().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
        assert!(w.write_eof().is_ok());
    });
}

#[test]
fn close_flushes_a_large_queue_first() {
    boucle::run(async {
        let (_r, w, mut peer) = streams_and_peer_small_buffers().await;
        let data: Vec<u8> = (0..3_000_000u32).map(|i| i as u8).collect();
        w.write(&data);
        assert!(w.write_buffer_size() > 0, "the kernel took 3 MB at once?");
        w.close();
        let reader = boucle::spawn(async move {
            let mut got = vec![0u8; 3_000_000];
            peer.read_exact(&mut got).await.unwrap();
            let mut end = [0u8; 1];
            assert_eq!(peer.read(&mut end).await.unwrap(), 0);
            got
        });
        w.wait_closed().await.unwrap();
        assert!(reader.await.unwrap() == data);
    });
}

#[test]
fn write_eof_half_closes_after_the_queue() {
    boucle::run(async {
        let (mut r, w, mut peer) = streams_and_peer_small_buffers().await;
        let data = vec![5u8; 2_000_000];
        w.write(&data);
        assert!(w.write_buffer_size() > 0);
        w.write_eof().unwrap(); // queued: sent after the data
        w.write_eof().unwrap();
        let mut got = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            let n = peer.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got.len(), data.len());
        // The other direction still works.
        peer.write_all(b"answer\n").await.unwrap();
        assert_eq!(r.readline().await.unwrap(), b"answer\n");
        assert!(!w.is_closing());
    });
}

#[test]
fn dropping_the_writer_flushes_then_sends_end_of_stream() {
    boucle::run(async {
        let (mut r, w, mut peer) = streams_and_peer_small_buffers().await;
        let data = vec![9u8; 1_500_000];
        w.write(&data);
        assert!(w.write_buffer_size() > 0);
        drop(w);
        let mut got = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            let n = peer.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got.len(), data.len());
        peer.write_all(b"still reading\n").await.unwrap();
        assert_eq!(r.readline().await.unwrap(), b"still reading\n");
    });
}

#[test]
fn a_reset_peer_fails_reads_and_drains_with_errors() {
    boucle::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = boucle::spawn_blocking(move || std::net::TcpStream::connect(addr).unwrap());
        let (s, _) = listener.accept().await.unwrap();
        let (mut r, w) = streams_from_tcp(s);
        let mut peer = peer.await.unwrap();
        peer.write_all(b"partial line").unwrap();
        rustix::net::sockopt::set_socket_linger(&peer, Some(Duration::ZERO)).unwrap();
        drop(peer);
        let err = r.readline().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
        // Writes fail too; drain and wait_closed report it.
        let chunk = vec![0u8; 65536];
        let mut err = None;
        for _ in 0..64 {
            w.write(&chunk);
            if let Err(e) = w.drain().await {
                err = Some(e);
                break;
            }
            boucle::yield_now().await;
        }
        let err = err.expect("drain reports the failed connection");
        assert!(
            matches!(
                err.kind(),
                ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
            ),
            "{err}"
        );
        assert!(w.is_closing());
        assert!(w.wait_closed().await.is_err());
    });
}

#[test]
fn futures_io_traits_on_the_streams() {
    use futures_util::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    boucle::run(async {
        let (mut r, mut w, mut peer) = streams_and_peer().await;
        AsyncWriteExt::write_all(&mut w, b"via AsyncWrite")
            .await
            .unwrap();
        AsyncWriteExt::flush(&mut w).await.unwrap();
        AsyncWriteExt::close(&mut w).await.unwrap(); // write_eof
        let mut got = Vec::new();
        let mut buf = [0u8; 32];
        loop {
            let n = peer.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"via AsyncWrite");
        peer.write_all(b"l1\nl2\nrest").await.unwrap();
        drop(peer);
        let mut line = String::new();
        AsyncBufReadExt::read_line(&mut r, &mut line).await.unwrap();
        assert_eq!(line, "l1\n");
        let mut two = [0u8; 2];
        AsyncReadExt::read_exact(&mut r, &mut two).await.unwrap();
        assert_eq!(&two, b"l2");
        let mut rest = String::new();
        AsyncReadExt::read_to_string(&mut r, &mut rest)
            .await
            .unwrap();
        assert_eq!(rest, "\nrest");
    });
}
