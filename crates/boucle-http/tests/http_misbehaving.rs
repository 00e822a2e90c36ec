//! The client against servers that misbehave, written here on raw
//! boucle::net sockets: headers that never come, a body that stalls or is
//! reset, garbage, bodies over the cap with no length, and servers that
//! close keep-alive connections (the pool must retry when it is safe).

mod common;

use std::cell::Cell;
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use boucle::net::{TcpListener, TcpStream};
use boucle_http::{Client, ClientTimeout, ErrorKind, TimeoutKind};

/// Accepts forever; runs `handler(stream, n)` for the n-th connection.
async fn raw_server<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(TcpStream, usize) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(boucle::spawn(async move {
        let mut n = 0;
        while let Ok((stream, _)) = listener.accept().await {
            drop(boucle::spawn(handler(stream, n)));
            n += 1;
        }
    }));
    addr
}

/// Reads one request head (and its Content-Length body); `None` at EOF.
async fn read_request(s: &mut TcpStream) -> Option<String> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    while data.len() < head_end + len {
        let n = s.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
    Some(head)
}

const OK_HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

#[test]
fn headers_that_never_come_time_out() {
    let rt = boucle::Runtime::builder()
        .virtual_time(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let addr = raw_server(|mut s, _| async move {
            read_request(&mut s).await;
            boucle::sleep(Duration::from_secs(3600)).await;
        })
        .await;
        let client = Client::builder()
            .timeout(ClientTimeout::new().read(Duration::from_millis(250)))
            .build()
            .unwrap();
        let start = boucle::now();
        let err = client
            .get(format!("http://{addr}/"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout(TimeoutKind::Read), "{err}");
        assert_eq!(boucle::now() - start, Duration::from_millis(250));
        let text = err.to_string();
        assert!(
            text.contains("response headers") && text.contains(&addr.to_string()),
            "{text}"
        );
    });
}

#[test]
fn a_body_that_stalls_times_out_between_reads() {
    let rt = boucle::Runtime::builder()
        .virtual_time(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let addr = raw_server(|mut s, _| async move {
            read_request(&mut s).await;
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
                .await
                .unwrap();
            // Ten more bytes every 100 ms, then nothing.
            for _ in 0..3 {
                boucle::sleep(Duration::from_millis(100)).await;
                s.write_all(b"0123456789").await.unwrap();
            }
            boucle::sleep(Duration::from_secs(3600)).await;
        })
        .await;
        let client = Client::builder()
            .timeout(ClientTimeout::new().read(Duration::from_millis(150)))
            .build()
            .unwrap();
        let start = boucle::now();
        let mut r = client.get(format!("http://{addr}/")).send().await.unwrap();
        let mut got = 0;
        let err = loop {
            match r.chunk().await {
                Ok(Some(c)) => got += c.len(),
                Ok(None) => panic!("the body cannot end: only 40 of 100 bytes come"),
                Err(e) => break e,
            }
        };
        // 100 ms gaps pass under a 150 ms read timeout; the last wait does not.
        assert_eq!(got, 40);
        assert_eq!(err.kind(), ErrorKind::Timeout(TimeoutKind::Read), "{err}");
        assert_eq!(boucle::now() - start, Duration::from_millis(450));
        assert!(err.to_string().contains("reading the body"), "{err}");
    });
}

#[boucle::test]
async fn a_reset_in_mid_body_is_a_body_error() {
    let addr = raw_server(|mut s, _| async move {
        // Read only part of the request: closing with unread bytes makes
        // the kernel send a RST instead of a FIN.
        let mut some = [0u8; 8];
        let _ = s.read(&mut some).await;
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            .await
            .unwrap();
        s.write_all(&[b'x'; 1000]).await.unwrap();
        boucle::sleep(Duration::from_millis(20)).await;
        drop(s);
    })
    .await;
    let r = boucle_http::get(format!("http://{addr}/a-request-longer-than-8-bytes"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let err = r.bytes().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Body, "{err}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[boucle::test]
async fn a_body_cut_short_by_a_close_is_a_body_error() {
    let addr = raw_server(|mut s, _| async move {
        read_request(&mut s).await;
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nonly twenty bytes...")
            .await
            .unwrap();
    })
    .await;
    let err = boucle_http::get(format!("http://{addr}/"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Body, "{err}");
    assert!(
        err.to_string()
            .contains("closed the connection in the middle of the body"),
        "{err}"
    );
}

#[boucle::test]
async fn garbage_instead_of_a_response() {
    let addr = raw_server(|mut s, _| async move {
        read_request(&mut s).await;
        s.write_all(b"HELLO THERE\r\n\r\n").await.unwrap();
    })
    .await;
    let err = boucle_http::get(format!("http://{addr}/"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Request, "{err}");
    assert!(err.to_string().contains("invalid response"), "{err}");
}

#[boucle::test]
async fn a_body_over_the_cap_without_a_length_is_cut_off() {
    let addr = raw_server(|mut s, _| async move {
        read_request(&mut s).await;
        // No Content-Length: the body runs until the close.
        s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        for _ in 0..100 {
            if s.write_all(&[b'y'; 10_000]).await.is_err() {
                return;
            }
        }
    })
    .await;
    let client = Client::builder().max_body_size(50_000).build().unwrap();
    let err = client
        .get(format!("http://{addr}/"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BodyTooLarge, "{err}");
    let client = Client::builder().max_body_size(2_000_000).build().unwrap();
    let all = client
        .get(format!("http://{addr}/"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(all.len(), 1_000_000);
}

/// Answers the first request of each connection, then closes it as soon
/// as a second request arrives, unanswered: the race of a server closing
/// an idle keep-alive connection just as the client reuses it.
async fn closes_on_reuse(connections: Rc<Cell<usize>>) -> SocketAddr {
    raw_server(move |mut s, _| {
        connections.set(connections.get() + 1);
        async move {
            if read_request(&mut s).await.is_some() {
                s.write_all(OK_HELLO).await.unwrap();
                let _ = read_request(&mut s).await;
            }
        }
    })
    .await
}

#[boucle::test]
async fn a_get_on_a_connection_closed_while_idle_is_retried_on_a_fresh_one() {
    let connections = Rc::new(Cell::new(0));
    let addr = closes_on_reuse(connections.clone()).await;
    let client = Client::new();
    for i in 0..5 {
        let r = client.get(format!("http://{addr}/{i}")).send().await;
        assert_eq!(r.unwrap().text().await.unwrap(), "hello", "request {i}");
    }
    // Each reuse met a closing server: four retries, five connections.
    assert_eq!(connections.get(), 5);
}

#[boucle::test]
async fn a_post_that_may_have_reached_the_server_is_not_retried() {
    let connections = Rc::new(Cell::new(0));
    let addr = closes_on_reuse(connections.clone()).await;
    let client = Client::new();
    let first = client
        .post(format!("http://{addr}/"))
        .body("one")
        .send()
        .await
        .unwrap();
    assert_eq!(first.text().await.unwrap(), "hello");
    let err = client
        .post(format!("http://{addr}/"))
        .body("two")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Request, "{err}");
    assert!(
        err.to_string()
            .contains("closed the connection before responding"),
        "{err}"
    );
    assert_eq!(connections.get(), 1, "a POST is not sent twice");
}

#[boucle::test]
async fn connections_the_server_closed_while_idle_are_not_used() {
    let connections = Rc::new(Cell::new(0));
    let c = connections.clone();
    let addr = raw_server(move |mut s, _| {
        c.set(c.get() + 1);
        async move {
            // Keep-alive, but only 10 ms of idle.
            while boucle::timeout(Duration::from_millis(10), read_request(&mut s))
                .await
                .ok()
                .flatten()
                .is_some()
            {
                s.write_all(OK_HELLO).await.unwrap();
            }
        }
    })
    .await;
    let client = Client::new();
    for _ in 0..3 {
        let r = client.get(format!("http://{addr}/")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "hello");
        boucle::sleep(Duration::from_millis(40)).await;
    }
    assert_eq!(connections.get(), 3);
    // Back to back, one connection serves them all.
    for _ in 0..3 {
        let r = client.get(format!("http://{addr}/")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "hello");
    }
    assert_eq!(connections.get(), 4);
}

#[boucle::test]
async fn status_codes_are_responses_with_their_headers() {
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    let addr = raw_server(move |mut s, _| {
        let c = c.clone();
        async move {
            while read_request(&mut s).await.is_some() {
                c.set(c.get() + 1);
                let reply: &[u8] = match c.get() {
                    1 => b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
                    2 => b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n",
                    _ => OK_HELLO,
                };
                s.write_all(reply).await.unwrap();
            }
        }
    })
    .await;
    let client = Client::new();
    assert_eq!(
        client
            .get(format!("http://{addr}/"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    let r = client.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(
        client
            .get(format!("http://{addr}/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "hello"
    );
}
