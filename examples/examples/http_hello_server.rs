//! An HTTP hello server on boucle-http: HTTP/1.1 and HTTP/2 (h2c prior
//! knowledge) on 127.0.0.1, graceful shutdown after N requests if asked.
//!
//! ```text
//! cargo run --release -p boucle-examples --example http_hello_server [-- PORT [MAX_REQUESTS]]
//! curl http://127.0.0.1:8080/
//! curl --http2-prior-knowledge http://127.0.0.1:8080/
//! wrk -c 256 -d 10 http://127.0.0.1:8080/
//! ```
//!
//! It prints `listening on http://ADDR/` once it accepts (PORT 0 picks a
//! free port). With MAX_REQUESTS it stops after that many requests,
//! letting those in flight finish (1 s at most).

use std::cell::Cell;
use std::convert::Infallible;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

use boucle_http::server::{serve, service_fn, text};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = match args.next().map(|p| p.parse()) {
        None => 8080,
        Some(Ok(p)) => p,
        Some(Err(_)) => {
            eprintln!("http_hello_server: PORT must be a number from 0 to 65535");
            std::process::exit(2);
        }
    };
    let max: Option<u64> = match args.next().map(|n| n.parse()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            eprintln!("http_hello_server: MAX_REQUESTS must be a whole number");
            std::process::exit(2);
        }
    };
    boucle::run(async move {
        let listener = boucle::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let served = Rc::new(Cell::new(0u64));
        let done = Rc::new(boucle::sync::Event::new());
        let (s, d) = (Rc::clone(&served), Rc::clone(&done));
        let server = serve(
            listener,
            service_fn(move |_req| {
                s.set(s.get() + 1);
                if max.is_some_and(|m| s.get() >= m) {
                    d.set();
                }
                async { Ok::<_, Infallible>(text("Hello, World!")) }
            }),
        );
        println!("listening on http://{}/", server.local_addr()?);
        std::io::stdout().flush()?;
        let handle = server.shutdown_handle();
        let running = boucle::spawn(server.run());
        if max.is_some() {
            done.wait().await;
            let report = handle.shutdown(Duration::from_secs(1)).await;
            println!(
                "served {} requests; {} connections finished, {} dropped",
                served.get(),
                report.finished,
                report.dropped
            );
        }
        running
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
    })
}
