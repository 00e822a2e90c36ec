//! TCP sockets: listener, stream, halves, resolution, half-close, reset,
//! timeouts, futures-io traits.

use std::cell::RefCell;
use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use boucle::net::{lookup_host, TcpListener, TcpStream};

/// An address nobody listens on: port 1 (tcpmux, unused) on a loopback
/// address of its own. Not a freed ephemeral port: a listener of a test
/// running in parallel could take it, or the client's own ephemeral port
/// be the same number (a connection to itself), and connecting would not
/// be refused.
fn closed_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 4], 1))
}

/// Closes `s` with a reset (SO_LINGER 0).
fn reset(s: std::net::TcpStream) {
    rustix::net::sockopt::set_socket_linger(&s, Some(Duration::ZERO)).unwrap();
    drop(s);
}

#[test]
fn echo_round_trips_with_every_read_and_write_method() {
    boucle::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = boucle::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                let mut rest = &buf[..n];
                while !rest.is_empty() {
                    let k = s.write(rest).await.unwrap();
                    rest = &rest[k..];
                }
            }
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        for i in 0..100u32 {
            let msg = i.to_le_bytes().repeat(16);
            c.write_all(&msg).await.unwrap();
            let mut back = vec![0u8; msg.len()];
            c.read_exact(&mut back).await.unwrap();
            assert_eq!(back, msg);
        }
        // A large message crosses the socket buffers several times.
        let big: Vec<u8> = (0..4_000_000u32).map(|i| i as u8).collect();
        let (mut rd, mut wr) = c.into_split();
        let big2 = big.clone();
        let writer = boucle::spawn(async move {
            wr.write_all(&big2).await.unwrap();
            wr.shutdown().unwrap();
        });
        let mut back = vec![0u8; big.len()];
        rd.read_exact(&mut back).await.unwrap();
        assert!(back == big);
        let mut end = [0u8; 1];
        assert_eq!(rd.read(&mut end).await.unwrap(), 0);
        writer.await.unwrap();
        server.await.unwrap();
    });
}

#[test]
fn addresses_nodelay_and_ttl() {
    boucle::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(addr.ip().is_loopback() && addr.port() != 0);
        let c = TcpStream::connect(addr).await.unwrap();
        let (s, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
        assert_eq!(c.peer_addr().unwrap(), addr);
        assert_eq!(s.local_addr().unwrap(), addr);
        assert_eq!(s.peer_addr().unwrap(), peer);
        c.set_nodelay(true).unwrap();
        assert!(c.nodelay().unwrap());
        c.set_nodelay(false).unwrap();
        assert!(!c.nodelay().unwrap());
        c.set_ttl(42).unwrap();
        assert_eq!(c.ttl().unwrap(), 42);
        assert!(format!("{c:?}").contains("TcpStream"));
    });
}

#[test]
fn host_names_resolve_on_the_blocking_pool() {
    boucle::run(async {
        let listener = TcpListener::bind("localhost:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accept = boucle::spawn(async move {
            for _ in 0..2 {
                listener.accept().await.unwrap();
            }
        });
        // "localhost" may give ::1 first while the listener is on one
        // family only: addresses are tried in turn.
        let a = TcpStream::connect(format!("localhost:{port}"))
            .await
            .unwrap();
        let b = TcpStream::connect(("localhost", port)).await.unwrap();
        assert_eq!(a.peer_addr().unwrap().port(), port);
        assert_eq!(b.peer_addr().unwrap().port(), port);
        accept.await.unwrap();
        let addrs = lookup_host(("localhost", 7)).await.unwrap();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 7));
        assert_eq!(
            lookup_host("10.1.2.3:4").await.unwrap(),
            ["10.1.2.3:4".parse::<SocketAddr>().unwrap()]
        );
        let err = TcpStream::connect("not an address").await.unwrap_err();
        assert!(!err.to_string().is_empty());
        let none: &[SocketAddr] = &[];
        let err = TcpStream::connect(none).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    });
}

#[test]
fn connect_tries_each_address_in_turn_and_reports_the_last_error() {
    boucle::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good = listener.local_addr().unwrap();
        let bad = closed_port();
        let s = TcpStream::connect([bad, good]).await.unwrap();
        assert_eq!(s.peer_addr().unwrap(), good);
        let err = TcpStream::connect(bad).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        let err = TcpStream::connect(vec![bad, bad]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn connect_timeout_expires_when_the_backlog_is_full() {
    // A listener with a backlog of 0 that never accepts: the kernel queues
    // one connection, then drops SYNs, so the next connect hangs.
    let fd = rustix::net::socket(
        rustix::net::AddressFamily::INET,
        rustix::net::SocketType::STREAM,
        None,
    )
    .unwrap();
    rustix::net::bind(&fd, &"127.0.0.1:0".parse::<SocketAddr>().unwrap()).unwrap();
    rustix::net::listen(&fd, 0).unwrap();
    let full = std::net::TcpListener::from(fd);
    let addr = full.local_addr().unwrap();
    let _queued = std::net::TcpStream::connect(addr).unwrap();
    boucle::run(async move {
        let start = std::time::Instant::now();
        let err = TcpStream::connect_timeout(addr, Duration::from_millis(30))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert!(start.elapsed() >= Duration::from_millis(30));
        // A reachable address connects well within the timeout.
        let ok = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let s = TcpStream::connect_timeout(ok.local_addr().unwrap(), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(s.peer_addr().unwrap(), ok.local_addr().unwrap());
    });
    drop(full);
}

#[test]
fn half_close_lets_the_other_direction_go_on() {
    boucle::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut c = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        c.write_all(b"request").await.unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 3];
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"request");
        s.write_all(b"response").await.unwrap();
        drop(s);
        let mut back = [0u8; 8];
        c.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"response");
        assert_eq!(c.read(&mut buf).await.unwrap(), 0);
        // Writing after our own shutdown fails with an error, not a panic.
        let err = c.write_all(b"late").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    });
}

#[test]
fn a_peer_reset_mid_read_is_an_error() {
    boucle::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = boucle::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 100];
            // 10 bytes come, then a reset: read_exact fails mid-way.
            s.read_exact(&mut buf).await.unwrap_err()
        });
        let mut peer = boucle::spawn_blocking(move || std::net::TcpStream::connect(addr).unwrap())
            .await
            .unwrap();
        peer.write_all(&[7u8; 10]).unwrap();
        boucle::sleep(Duration::from_millis(5)).await;
        reset(peer);
        let err = reader.await.unwrap();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    });
}

#[test]
fn writing_to_a_reset_peer_is_an_error() {
    boucle::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = boucle::spawn_blocking(move || std::net::TcpStream::connect(addr).unwrap());
        let (mut s, _) = listener.accept().await.unwrap();
        reset(peer.await.unwrap());
        boucle::sleep(Duration::from_millis(5)).await;
        let chunk = [1u8; 65536];
        let mut failed = None;
        for _ in 0..100 {
            if let Err(e) = s.write_all(&chunk).await {
                failed = Some(e);
                break;
            }
        }
        let e = failed.expect("writes to a reset peer fail");
        assert!(
            matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
            "{e}"
        );
    });
}

#[test]
fn owned_halves_serve_two_tasks_and_reunite() {
    boucle::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (s, _) = listener.accept().await.unwrap();
        let (mut srd, mut swr) = s.into_split();
        // Server: echo through the two halves in two tasks.
        let seen = Rc::new(RefCell::new(Vec::<u8>::new()));
        let pipe = seen.clone();
        let echo = boucle::spawn(async move {
            let mut buf = [0u8; 256];
            loop {
                let n = srd.read(&mut buf).await.unwrap();
                if n == 0 {
                    return srd;
                }
                pipe.borrow_mut().extend_from_slice(&buf[..n]);
                swr.write_all(&buf[..n]).await.unwrap();
            }
        });
        let (mut rd, mut wr) = c.into_split();
        assert_eq!(rd.peer_addr().unwrap(), wr.peer_addr().unwrap());
        assert_eq!(rd.local_addr().unwrap(), wr.local_addr().unwrap());
        let reader = boucle::spawn(async move {
            let mut buf = [0u8; 5];
            rd.read_exact(&mut buf).await.unwrap();
            (rd, buf)
        });
        wr.write_all(b"hel").await.unwrap();
        boucle::yield_now().await;
        wr.write_all(b"lo").await.unwrap();
        let (rd, buf) = reader.await.unwrap();
        assert_eq!(&buf, b"hello");
        assert_eq!(&*seen.borrow(), b"hello");
        let c = rd.reunite(wr).unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let srd = echo.await.unwrap();
        // Halves of different streams do not reunite.
        let other = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (_ord, owr) = other.into_split();
        let err = srd.reunite(owr).unwrap_err();
        assert!(err.to_string().contains("not from the same socket"));
    });
}

#[test]
fn dropping_the_write_half_sends_end_of_stream() {
    boucle::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        let (mut rd, wr) = c.into_split();
        drop(wr);
        let mut buf = [0u8; 4];
        assert_eq!(s.read(&mut buf).await.unwrap(), 0);
        s.write_all(b"more").await.unwrap();
        rd.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"more");
        // `forget` keeps the write direction open.
        let c2 = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut s2, _) = listener.accept().await.unwrap();
        let (_rd2, wr2) = c2.into_split();
        wr2.forget();
        let r = boucle::timeout(Duration::from_millis(20), s2.read(&mut buf)).await;
        assert!(r.is_err(), "no end of stream after forget");
    });
}

#[test]
fn futures_io_traits_work_with_futures_util() {
    use futures_util::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    boucle::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut c = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (s, _) = listener.accept().await.unwrap();
        AsyncWriteExt::write_all(&mut c, b"one\ntwo\nthree")
            .await
            .unwrap();
        AsyncWriteExt::flush(&mut c).await.unwrap();
        AsyncWriteExt::close(&mut c).await.unwrap(); // shutdown(Write)
        let mut lines = Vec::new();
        let mut r = BufReader::new(s);
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).await.unwrap() == 0 {
                break;
            }
            lines.push(line);
        }
        assert_eq!(lines, ["one\n", "two\n", "three"]);
        let mut s = r.into_inner();
        AsyncWriteExt::write_all(&mut s, b"reply").await.unwrap();
        drop(s);
        let mut all = Vec::new();
        AsyncReadExt::read_to_end(&mut c, &mut all).await.unwrap();
        assert_eq!(all, b"reply");
    });
}

#[test]
fn std_sockets_come_and_go() {
    boucle::run(async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let listener = TcpListener::from_std(std_listener).unwrap();
        let std_client = boucle::spawn_blocking(move || {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            c.write_all(b"std").unwrap();
            let mut back = [0u8; 5];
            c.read_exact(&mut back).unwrap();
            back
        });
        let (s, _) = listener.accept().await.unwrap();
        let std_stream = s.into_std().unwrap();
        let mut s = TcpStream::from_std(std_stream).unwrap();
        let mut buf = [0u8; 3];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"std");
        s.write_all(b"boucl").await.unwrap();
        assert_eq!(&std_client.await.unwrap(), b"boucl");
        let back = listener.into_std().unwrap();
        assert_eq!(back.local_addr().unwrap(), addr);
    });
}

#[test]
fn try_read_and_try_write_do_not_wait() {
    boucle::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut c = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            c.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert_eq!(c.try_write(b"now").unwrap(), 3);
        s.read_exact(&mut buf[..3]).await.unwrap();
        assert_eq!(&buf[..3], b"now");
    });
}

#[test]
fn ipv6_loopback_when_available() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("note: no IPv6 loopback here; skipping");
        return;
    }
    boucle::run(async {
        let listener = TcpListener::bind("[::1]:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(addr.is_ipv6());
        let mut c = TcpStream::connect(addr).await.unwrap();
        let (mut s, peer) = listener.accept().await.unwrap();
        assert!(peer.is_ipv6());
        c.write_all(b"v6").await.unwrap();
        let mut buf = [0u8; 2];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"v6");
    });
}

#[test]
fn accept_is_cancel_safe() {
    boucle::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = boucle::timeout(Duration::from_millis(5), listener.accept()).await;
        assert!(r.is_err());
        let c = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (_s, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
    });
}

#[test]
fn address_in_use_is_an_error() {
    boucle::run(async {
        let a = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = TcpListener::bind(a.local_addr().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
    });
}

#[test]
fn bytes_read_ahead_follow_the_stream_into_halves_and_streams() {
    boucle::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut c = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        let data: Vec<u8> = (0..200u8).collect();
        s.write_all(&data).await.unwrap();
        // A small read takes everything from the socket, hands out 10.
        let mut ten = [0u8; 10];
        c.read_exact(&mut ten).await.unwrap();
        assert_eq!(&ten, &data[..10]);
        assert_eq!(c.try_read(&mut ten).unwrap(), 10);
        assert_eq!(&ten, &data[10..20]);
        // The halves keep the bytes read ahead, and give them back.
        let (mut rd, wr) = c.into_split();
        rd.read_exact(&mut ten).await.unwrap();
        assert_eq!(&ten, &data[20..30]);
        let c = rd.reunite(wr).unwrap();
        // into_std refuses to lose them.
        let err = c.into_std().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);

        let mut c = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        s.write_all(b"head\nline two\n").await.unwrap();
        let mut four = [0u8; 4];
        c.read_exact(&mut four).await.unwrap();
        assert_eq!(&four, b"head");
        // So do the streams made from the stream.
        let (mut r, _w) = boucle::net::streams_from_tcp(c);
        assert_eq!(r.readline().await.unwrap(), b"\n");
        assert_eq!(r.readline().await.unwrap(), b"line two\n");
    });
}

#[test]
fn large_reads_bypass_the_read_ahead_buffer() {
    boucle::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut c = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        s.write_all(&[1u8; 100]).await.unwrap();
        let mut big = vec![0u8; boucle::net::READ_AHEAD];
        assert_eq!(c.read(&mut big).await.unwrap(), 100);
        drop(s);
        assert_eq!(c.read(&mut big).await.unwrap(), 0);
        let std_stream = c.into_std().unwrap();
        assert!(std_stream.peer_addr().is_err() || std_stream.local_addr().is_ok());
    });
}
