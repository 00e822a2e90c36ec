//! The client against independent servers: Python's http.server and
//! nginx (from Debian; scripts/install-test-tools.sh installs it), each
//! started as a child process on a free loopback port, serving a tree
//! generated here.

mod common;

use std::path::Path;

use boucle_http::Client;
use common::{body_of_size, nginx_server, python_server, TempDir};

/// The two servers start one at a time: each gets its port from
/// `free_port` (bind to port 0, then release), and two tests doing that at
/// once on a loaded machine can be handed the same port, so that one server
/// fails to bind and the test talks to the other one (seen as a refused
/// connection in CI-like runs).
static ONE_SERVER_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Files `f0.txt` ... of sizes 0, 1, 1000, ... in `root`.
fn generate_tree(root: &Path) -> Vec<(String, usize)> {
    let sizes = [
        0usize, 1, 100, 1000, 4096, 10_000, 65_537, 250_000, 1_000_000,
    ];
    let mut files = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let name = format!("f{i}.txt");
        std::fs::write(root.join(&name), body_of_size(n)).unwrap();
        files.push((name, n));
    }
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/index.html"), "<h1>sub</h1>").unwrap();
    files
}

#[test]
fn python_http_server() {
    let _one = ONE_SERVER_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let tmp = TempDir::new("py");
    let files = generate_tree(tmp.path());
    let (_child, addr) = python_server(tmp.path());
    boucle::run(async move {
        let client = Client::new();
        let jobs = files.iter().cloned().map(|(name, size)| {
            let client = client.clone();
            let url = format!("http://{addr}/{name}");
            async move {
                let r = client.get(&url).send().await?;
                assert_eq!(r.status(), 200, "{url}");
                let body = r.bytes().await?;
                Ok::<_, boucle_http::Error>((body, size))
            }
        });
        for r in boucle::gather(jobs).await {
            let (body, size) = r.unwrap();
            assert_eq!(body, body_of_size(size));
        }
        // A directory without its slash: Python redirects (301) to it.
        let r = client
            .get(format!("http://{addr}/sub"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.url().path(), "/sub/");
        assert_eq!(r.text().await.unwrap(), "<h1>sub</h1>");
        let r = client
            .get(format!("http://{addr}/missing"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    });
}

#[test]
fn nginx_keep_alive_gzip_and_ipv6() {
    let _one = ONE_SERVER_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let tmp = TempDir::new("nginx");
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let files = generate_tree(&root);
    let ipv6 = common::has_ipv6_loopback();
    let (_child, port) = nginx_server(tmp.path(), &root, ipv6);
    boucle::run(async move {
        let client = Client::builder().limit_per_host(4).build().unwrap();
        for round in 0..3 {
            let jobs = files.iter().cloned().map(|(name, size)| {
                let client = client.clone();
                let url = format!("http://127.0.0.1:{port}/{name}");
                async move {
                    let body = client.get(&url).send().await?.bytes().await?;
                    Ok::<_, boucle_http::Error>((body, size))
                }
            });
            for r in boucle::gather(jobs).await {
                let (body, size) = r.unwrap();
                assert_eq!(body.len(), size, "round {round}");
                assert_eq!(body, body_of_size(size));
            }
        }
        // Three rounds of nine files on at most four kept-alive connections.
        assert!(client.pool_stats().open <= 4, "{:?}", client.pool_stats());
        // nginx compresses text/plain for clients that accept gzip: the
        // body read is the decoded one.
        let raw = Client::builder().decompress(false).build().unwrap();
        let r = raw
            .get(format!("http://127.0.0.1:{port}/f5.txt"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.headers().get("content-encoding").map(|v| v.as_bytes()),
            None,
            "not asked"
        );
        let r = raw
            .get(format!("http://127.0.0.1:{port}/f5.txt"))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-encoding"], "gzip");
        let packed = r.bytes().await.unwrap();
        assert!(packed.len() < 10_000, "gzip made {} bytes", packed.len());
        let decoded = client
            .get(format!("http://127.0.0.1:{port}/f5.txt"))
            .send()
            .await
            .unwrap();
        assert!(decoded.headers().get("content-encoding").is_none());
        assert_eq!(decoded.bytes().await.unwrap(), body_of_size(10_000));
        if ipv6 {
            let r = client
                .get(format!("http://[::1]:{port}/f3.txt"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.bytes().await.unwrap(), body_of_size(1000));
        }
    });
}
