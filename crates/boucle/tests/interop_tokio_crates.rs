//! "Can I use my tokio-based crates?": yes, through `async-compat`, which
//! runs a tokio runtime on a thread beside the loop and enters it while the
//! wrapped future is polled. Here reqwest (tokio-only) fetches pages from a
//! local server inside boucle tasks. The cost: one extra thread (tokio's
//! I/O driver), and each I/O wake-up crosses from it to the loop.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use async_compat::Compat;

/// A tiny HTTP/1.1 server on 127.0.0.1: answers `n` requests with the path
/// echoed in the body, then stops.
fn serve(n: usize) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        for stream in listener.incoming().take(n) {
            // A client that goes away early is not the server's failure.
            let _ = answer(stream);
        }
    });
    (port, server)
}

fn answer(stream: std::io::Result<std::net::TcpStream>) -> std::io::Result<()> {
    let mut stream = stream?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        if header == "\r\n" || header.is_empty() {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("?")
        .to_owned();
    let body = format!("page {path}");
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn reqwest_runs_inside_boucle_tasks_through_async_compat() {
    let (port, server) = serve(3);
    let bodies = boucle::run(async move {
        let client = reqwest::Client::new();
        let fetches = (1..=3).map(|i| {
            let client = client.clone();
            let url = format!("http://127.0.0.1:{port}/{i}");
            // A boucle task around a tokio-only future.
            boucle::spawn(Compat::new(async move {
                let response = client.get(&url).send().await?;
                assert_eq!(response.status(), 200);
                response.text().await
            }))
        });
        let mut bodies = Vec::new();
        for task in fetches.collect::<Vec<_>>() {
            bodies.push(task.await.unwrap().unwrap());
        }
        bodies
    });
    server.join().unwrap();
    assert_eq!(bodies, ["page /1", "page /2", "page /3"]);
}

#[test]
fn without_async_compat_a_tokio_only_crate_says_why_it_fails() {
    // reqwest outside any tokio context panics with tokio's message: the
    // panic stays in its boucle task, and the fix is one wrapper away.
    let (port, server) = serve(1);
    let err = boucle::run(async move {
        let url = format!("http://127.0.0.1:{port}/");
        boucle::spawn(async move { reqwest::get(&url).await.map(|_| ()) })
            .await
            .unwrap_err()
    });
    assert!(err.is_panic());
    let msg = err.panic_message().unwrap_or_default().to_owned();
    assert!(
        msg.contains("no reactor running") || msg.contains("Tokio"),
        "{msg}"
    );
    // Unblock the server thread.
    let _ = std::net::TcpStream::connect(("127.0.0.1", port));
    server.join().unwrap();
}
