//! The server helper: HTTP/1.1 and h2c from other clients (curl, raw
//! sockets), the header-read timeout, graceful shutdown with its deadline.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use boucle::net::{TcpListener, TcpStream};
use boucle_http::server::{serve, service_fn, text, ShutdownHandle};
use boucle_http::{Client, ErrorKind};

/// A server whose handler sleeps `/N` milliseconds of loop time.
async fn sleepy_server() -> (
    SocketAddr,
    ShutdownHandle,
    boucle::Task<std::io::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = serve(
        listener,
        service_fn(|req: http::Request<hyper::body::Incoming>| async move {
            let ms: u64 = req
                .uri()
                .path()
                .trim_start_matches('/')
                .parse()
                .unwrap_or(0);
            boucle::sleep(Duration::from_millis(ms)).await;
            Ok::<_, Infallible>(text(format!("slept {ms}")))
        }),
    )
    .header_read_timeout(Some(Duration::from_secs(1)));
    let handle = server.shutdown_handle();
    let task = boucle::spawn(server.run());
    (addr, handle, task)
}

#[test]
fn graceful_shutdown_lets_requests_in_flight_finish() {
    let rt = boucle::Runtime::builder()
        .virtual_time(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let (addr, handle, task) = sleepy_server().await;
        let client = Client::new();
        // An idle keep-alive connection, and a request in flight on another.
        let idle = client.get(format!("http://{addr}/0")).send().await.unwrap();
        assert_eq!(idle.text().await.unwrap(), "slept 0");
        let c2 = Client::new();
        let in_flight = boucle::spawn(async move {
            c2.get(format!("http://{addr}/2000"))
                .send()
                .await?
                .text()
                .await
        });
        boucle::sleep(Duration::from_millis(500)).await;
        assert_eq!(handle.connections(), 2);
        let start = boucle::now();
        let report = handle.shutdown(Duration::from_secs(5)).await;
        // Returned when the slow request finished: 1.5 s later, not 5 s.
        assert_eq!(boucle::now() - start, Duration::from_millis(1500));
        assert_eq!(
            report,
            boucle_http::server::ShutdownReport {
                finished: 2,
                dropped: 0
            }
        );
        assert_eq!(in_flight.await.unwrap().unwrap(), "slept 2000");
        task.await.unwrap().unwrap();
        // No longer accepting.
        let err = Client::new()
            .get(format!("http://{addr}/0"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    });
}

#[test]
fn graceful_shutdown_drops_what_outlives_the_deadline() {
    let rt = boucle::Runtime::builder()
        .virtual_time(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let (addr, handle, task) = sleepy_server().await;
        let slow = boucle::spawn(async move {
            boucle_http::get(format!("http://{addr}/60000"))
                .await
                .map(|r| r.status())
        });
        boucle::sleep(Duration::from_millis(10)).await;
        let start = boucle::now();
        let report = handle.shutdown(Duration::from_secs(1)).await;
        assert_eq!(boucle::now() - start, Duration::from_secs(1));
        assert_eq!(
            report,
            boucle_http::server::ShutdownReport {
                finished: 0,
                dropped: 1
            }
        );
        let err = slow.await.unwrap().unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::Request,
            "the client sees the close: {err}"
        );
        task.await.unwrap().unwrap();
    });
}

#[test]
fn a_client_that_sends_nothing_is_closed_after_the_header_timeout() {
    let rt = boucle::Runtime::builder()
        .virtual_time(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let (addr, _handle, _task) = sleepy_server().await;
        let start = boucle::now();
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(
            silent.read(&mut buf).await.unwrap(),
            0,
            "closed, nothing sent"
        );
        assert_eq!(boucle::now() - start, Duration::from_secs(1));
        // Half a request line, then silence: the same.
        let start = boucle::now();
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET / HT").await.unwrap();
        let n = slow.read(&mut buf).await.unwrap();
        assert_eq!(boucle::now() - start, Duration::from_secs(1));
        // hyper may answer 408 before it closes; either way the wait is bounded.
        assert!(
            n == 0 || buf.starts_with(b"HTTP/1.1 408"),
            "{:?}",
            &buf[..n]
        );
    });
}

#[boucle::test]
async fn http_1_0_and_raw_http_1_1_clients() {
    let (addr, _h) = common::test_server("127.0.0.1:0").await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /hello HTTP/1.0\r\n\r\n").await.unwrap();
    let mut all = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = s.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        all.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(all).unwrap();
    assert!(text.starts_with("HTTP/1.0 200 OK"), "{text}");
    assert!(text.ends_with("Hello, World!"), "{text}");
    // Two pipelined HTTP/1.1 requests on one connection.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /size/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut all = Vec::new();
    loop {
        let n = s.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        all.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(all).unwrap();
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
    assert!(
        text.contains("Hello, World!") && text.ends_with("abc"),
        "{text}"
    );
}

fn curl() -> &'static str {
    if Command::new("curl").arg("--version").output().is_err() {
        panic!("curl is not installed: run scripts/install-test-tools.sh");
    }
    "curl"
}

#[test]
fn curl_speaks_http1_and_h2c_prior_knowledge_to_it() {
    // The server runs on its own thread's loop; curl is a child process.
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        boucle::run(async move {
            let (addr, handle) = common::test_server("127.0.0.1:0").await;
            tx.send(addr).unwrap();
            // Serve until the test has run curl twice (bounded: 20 s).
            for _ in 0..2000 {
                boucle::sleep(Duration::from_millis(10)).await;
                if std::path::Path::new(&format!("/tmp/boucle-http-curl-done-{}", addr.port()))
                    .exists()
                {
                    break;
                }
            }
            handle.shutdown(Duration::from_secs(1)).await;
        });
    });
    let addr: SocketAddr = rx.recv().unwrap();
    let out = Command::new(curl())
        .args(["-sS", "-i", &format!("http://{addr}/hello")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.ends_with("Hello, World!"), "{text}");
    let out = Command::new(curl())
        .args([
            "-sS",
            "-i",
            "--http2-prior-knowledge",
            &format!("http://{addr}/version"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("HTTP/2 200"),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.ends_with("HTTP/2.0"), "{text}");
    let flag = format!("/tmp/boucle-http-curl-done-{}", addr.port());
    std::fs::write(&flag, b"").unwrap();
    server.join().unwrap();
    let _ = std::fs::remove_file(flag);
}
