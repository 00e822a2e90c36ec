//! The client against a boucle-http server on loopback: bodies, methods,
//! keep-alive and the pool's caps, redirects, decoding, the body cap,
//! HTTP/2 prior knowledge, IPv6, errors that name what failed.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use boucle_http::{Client, ClientTimeout, ErrorKind, TimeoutKind};
use common::{body_of_size, has_ipv6_loopback, test_server};
use futures_util::StreamExt;

#[boucle::test]
async fn get_text_bytes_and_status() {
    let (addr, _h) = test_server("127.0.0.1:0").await;
    let client = Client::new();
    let r = client
        .get(format!("http://{addr}/hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.version(), http::Version::HTTP_11);
    assert_eq!(r.content_length(), Some(13));
    assert_eq!(r.text().await.unwrap(), "Hello, World!");
    let big = client
        .get(format!("http://{addr}/size/300000"))
        .send()
        .await
        .unwrap();
    assert_eq!(big.bytes().await.unwrap(), body_of_size(300_000));
    // A 404 is a response, not an error.
    let missing = client
        .get(format!("http://{addr}/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let err = missing.error_for_status().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Status(http::StatusCode::NOT_FOUND));
}

#[boucle::test]
async fn body_stream_gives_every_byte() {
    let (addr, _h) = test_server("127.0.0.1:0").await;
    let r = boucle_http::get(format!("http://{addr}/size/1000000"))
        .await
        .unwrap();
    let mut stream = r.bytes_stream();
    let mut all = Vec::new();
    let mut chunks = 0;
    while let Some(c) = stream.next().await {
        all.extend_from_slice(&c.unwrap());
        chunks += 1;
    }
    assert!(chunks > 1, "a 1 MB body comes in several chunks");
    assert_eq!(all, body_of_size(1_000_000));
}

#[boucle::test]
async fn methods_and_request_bodies() {
    let (addr, _h) = test_server("127.0.0.1:0").await;
    let client = Client::new();
    let body = body_of_size(70_000);
    let r = client
        .post(format!("http://{addr}/echo"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap(), body);
    for (method, name) in [
        (client.put(format!("http://{addr}/method")), "PUT"),
        (client.delete(format!("http://{addr}/method")), "DELETE"),
        (client.patch(format!("http://{addr}/method")), "PATCH"),
    ] {
        assert_eq!(method.send().await.unwrap().text().await.unwrap(), name);
    }
    let head = client
        .head(format!("http://{addr}/size/500"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(500));
    assert!(head.bytes().await.unwrap().is_empty());
    let form = client
        .post(format!("http://{addr}/echo"))
        .form(&[("q", "a b"), ("x", "é")]);
    assert_eq!(
        form.send().await.unwrap().text().await.unwrap(),
        "q=a+b&x=%C3%A9"
    );
    let q = client
        .get(format!("http://{addr}/headers"))
        .query(&[("k", "v")])
        .header("x-test", "1");
    assert!(q
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("x-test: 1"));
}

#[boucle::test]
async fn keep_alive_reuses_one_connection() {
    let (addr, _h) = test_server("127.0.0.1:0").await;
    let client = Client::new();
    for _ in 0..20 {
        let r = client
            .get(format!("http://{addr}/hello"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap(), "Hello, World!");
    }
    let stats = client.pool_stats();
    assert_eq!((stats.open, stats.idle), (1, 1), "{stats:?}");
    // A response dropped unread closes its connection instead.
    let r = client
        .get(format!("http://{addr}/size/100000"))
        .send()
        .await
        .unwrap();
    drop(r);
    assert_eq!(client.pool_stats().open, 0);
}

#[boucle::test]
async fn per_host_and_total_caps_hold_and_waiters_all_finish() {
    let (a, _ha) = test_server("127.0.0.1:0").await;
    let (b, _hb) = test_server("127.0.0.1:0").await;
    let client = Client::builder()
        .limit(3)
        .limit_per_host(2)
        .build()
        .unwrap();
    let most = Rc::new(Cell::new(0));
    let mut jobs = Vec::new();
    for i in 0..40 {
        let (client, most) = (client.clone(), most.clone());
        let addr = if i % 2 == 0 { a } else { b };
        jobs.push(async move {
            let r = client.get(format!("http://{addr}/slow/5")).send().await?;
            most.set(most.get().max(client.pool_stats().open));
            r.text().await
        });
    }
    let watcher = {
        let (client, most) = (client.clone(), most.clone());
        boucle::spawn(async move {
            for _ in 0..200 {
                most.set(most.get().max(client.pool_stats().open));
                boucle::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    for r in boucle::gather(jobs).await {
        assert_eq!(r.unwrap(), "slow");
    }
    watcher.cancel();
    assert!(
        most.get() <= 3,
        "at most 3 connections in all, saw {}",
        most.get()
    );
    assert!(most.get() >= 2, "the two hosts were served at once");
    assert_eq!(client.pool_stats().waiting, 0);
}

#[boucle::test]
async fn redirects_are_followed_and_limited() {
    let (addr, _h) = test_server("127.0.0.1:0").await;
    let client = Client::new();
    let r = client
        .get(format!("http://{addr}/redirect/3"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.url().path(), "/hello");
    assert_eq!(r.text().await.unwrap(), "Hello, World!");
    // A loop ends at the limit, with an error naming the URL.
    let err = Client::builder()
        .max_redirects(4)
        .build()
        .unwrap()
        .get(format!("http://{addr}/loop"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RedirectLimit);
    let text = err.to_string();
    assert!(
        text.contains("4") && text.contains(&format!("http://{addr}/loop")),
        "{text}"
    );
    // max_redirects(0): the redirect is the response.
    let r = client
        .get(format!("http://{addr}/redirect/1"))
        .max_redirects(0)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/hello");
    // The redirects' connections were reused: one connection in all.
    assert_eq!(client.pool_stats().open, 1);
}

#[boucle::test]
async fn redirect_method_and_header_rules() {
    let (addr, _h) = test_server("127.0.0.1:0").await;
    let (other, _h2) = test_server("127.0.0.1:0").await;
    let client = Client::new();
    // 303 after a POST: a GET, without the body.
    let r = client
        .post(format!("http://{addr}/see-other"))
        .body("data")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "GET");
    // 307 keeps the method and the body.
    let r = client
        .post(format!("http://{addr}/keep-method"))
        .body("kept")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "kept");
    // Authorization goes along to the same origin...
    let same = client
        .get(format!("http://{addr}/same-host-headers"))
        .header("authorization", "Bearer secret")
        .send()
        .await
        .unwrap();
    assert!(same
        .text()
        .await
        .unwrap()
        .contains("authorization: Bearer secret"));
    // ...and is dropped when the redirect leaves it.
    let across = client
        .get(format!("http://{addr}/to-other/{}", other.port()))
        .header("authorization", "Bearer secret")
        .header("x-keep", "yes")
        .send()
        .await
        .unwrap();
    let seen = across.text().await.unwrap();
    assert!(!seen.contains("authorization"), "{seen}");
    assert!(seen.contains("x-keep: yes"), "{seen}");
}

#[boucle::test]
async fn gzip_deflate_and_brotli_are_decoded() {
    let (addr, _h) = test_server("127.0.0.1:0").await;
    let client = Client::new();
    for coding in ["gzip", "deflate", "br"] {
        let r = client
            .get(format!("http://{addr}/{coding}"))
            .send()
            .await
            .unwrap();
        assert!(r.headers().get("content-encoding").is_none(), "{coding}");
        assert_eq!(r.bytes().await.unwrap(), body_of_size(10_000), "{coding}");
    }
    // The request said what it accepts.
    let h = client
        .get(format!("http://{addr}/headers"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(h.contains("accept-encoding: gzip, deflate, br"), "{h}");
    // Off: the compressed bytes as they came.
    let raw = Client::builder().decompress(false).build().unwrap();
    let r = raw.get(format!("http://{addr}/gzip")).send().await.unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(
        r.bytes().await.unwrap(),
        common::compress("gzip", &body_of_size(10_000))
    );
    // Corrupt data: a Decode error, not a panic.
    let err = client
        .get(format!("http://{addr}/bad-gzip"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
}

#[boucle::test]
async fn the_body_cap_holds_for_plain_and_compressed_bodies() {
    let (addr, _h) = test_server("127.0.0.1:0").await;
    let client = Client::builder().max_body_size(5_000).build().unwrap();
    assert_eq!(
        client
            .get(format!("http://{addr}/size/5000"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .len(),
        5_000
    );
    let err = client
        .get(format!("http://{addr}/size/5001"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BodyTooLarge);
    assert!(
        err.to_string().contains("5000 bytes") && err.to_string().contains("/size/5001"),
        "{err}"
    );
    // 10,000 bytes once decoded, far less on the wire: still refused.
    let err = client
        .get(format!("http://{addr}/gzip"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BodyTooLarge, "{err}");
}

#[boucle::test]
async fn http2_prior_knowledge_on_plain_tcp() {
    let (addr, _h) = test_server("127.0.0.1:0").await;
    let client = Client::builder().http2_prior_knowledge().build().unwrap();
    let jobs = (0..20).map(|_| {
        let client = client.clone();
        async move {
            client
                .get(format!("http://{addr}/version"))
                .send()
                .await?
                .text()
                .await
        }
    });
    for r in boucle::gather(jobs).await {
        assert_eq!(r.unwrap(), "HTTP/2.0");
    }
    // Twenty requests, multiplexed on one shared connection.
    assert_eq!(client.pool_stats().open, 1);
    let r = client
        .post(format!("http://{addr}/echo"))
        .body("h2 body")
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), http::Version::HTTP_2);
    assert_eq!(r.text().await.unwrap(), "h2 body");
}

#[boucle::test]
async fn ipv6_loopback() {
    if !has_ipv6_loopback() {
        return;
    }
    let (addr, _h) = test_server("[::1]:0").await;
    assert!(addr.is_ipv6());
    let r = boucle_http::get(format!("http://[::1]:{}/hello", addr.port()))
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "Hello, World!");
}

#[boucle::test]
async fn bad_urls_and_refused_connections_are_clear_errors() {
    let client = Client::new();
    for bad in [
        "not a url",
        "ftp://127.0.0.1/x",
        "http://",
        "file:///etc/passwd",
    ] {
        let err = client.get(bad).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidUrl, "{bad}: {err}");
        assert!(!err.to_string().is_empty());
    }
    let err = client
        .get("http://127.0.0.1/")
        .header("bad header", "x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Builder);
    // Nobody listens on port 1 of a loopback address of its own. (A freed
    // ephemeral port of 127.0.0.1 could be taken by a test running beside
    // this one, or be the client's own port: a connection to itself.)
    let err = client.get("http://127.0.0.4:1/").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect);
    assert!(err.is_connect());
    assert!(err.to_string().contains("127.0.0.4:1"), "{err}");
    assert!(err.to_string().to_lowercase().contains("refused"), "{err}");
}

#[test]
fn timeouts_in_virtual_time() {
    let rt = boucle::Runtime::builder()
        .virtual_time(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let (addr, _h) = test_server("127.0.0.1:0").await;
        // Headers that take 10 s: the 1 s read timeout fires at 1 s of loop time.
        let client = Client::builder()
            .timeout(ClientTimeout::new().read(Duration::from_secs(1)))
            .build()
            .unwrap();
        let start = boucle::now();
        let err = client
            .get(format!("http://{addr}/slow/10000"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout(TimeoutKind::Read), "{err}");
        assert_eq!(boucle::now() - start, Duration::from_secs(1));
        assert!(
            err.to_string().contains("1 s") && err.to_string().contains(&addr.to_string()),
            "{err}"
        );
        // The total timeout, per request.
        let start = boucle::now();
        let err = client
            .get(format!("http://{addr}/slow/10000"))
            .timeout(ClientTimeout::new().total(Duration::from_secs(3)))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout(TimeoutKind::Total), "{err}");
        assert_eq!(boucle::now() - start, Duration::from_secs(3));
        // Slow but within the limit.
        let r = client
            .get(format!("http://{addr}/slow/900"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap(), "slow");
    });
}
