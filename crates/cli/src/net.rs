//! `boucle echo-server` and `boucle echo-client`: the TCP echo of the
//! network issue, to try `boucle::net` by hand. Line-based: the server sends
//! every line back; the client sends its messages and prints the replies.

use std::rc::Rc;
use std::time::{Duration, Instant};

use boucle::net::{open_connection, start_server, StreamReader, StreamWriter};

use crate::args::Failure;

/// Serves on HOST:PORT until interrupted (or after `max_connections`).
pub fn echo_server(host: &str, port: u16, max_connections: Option<u64>) -> Result<(), Failure> {
    let rt = boucle::Runtime::new().map_err(|e| Failure::runtime(format!("event loop: {e}")))?;
    rt.block_on(async move {
        let done = Rc::new(std::cell::Cell::new(0u64));
        let limit_reached = Rc::new(boucle::sync::Event::new());
        let (d, l) = (done.clone(), limit_reached.clone());
        let handler = move |reader: StreamReader, writer: StreamWriter| {
            let (d, l) = (d.clone(), l.clone());
            async move {
                let peer = writer
                    .peer_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_else(|_| "?".into());
                let result = echo_lines(reader, &writer).await;
                match &result {
                    Ok(lines) => crate::say!("{peer}: {lines} line(s) echoed, closed"),
                    Err(e) => crate::say!("{peer}: ended with an error: {e}"),
                }
                d.set(d.get() + 1);
                if max_connections.is_some_and(|m| d.get() >= m) {
                    l.set();
                }
            }
        };
        let server = start_server(handler, host, port)
            .await
            .map_err(|e| Failure::runtime(format!("cannot listen on {host}:{port}: {e}")))?;
        let addrs: Vec<String> = server.local_addrs().iter().map(|a| a.to_string()).collect();
        crate::say!("Serving on {} (Ctrl-C to stop)", addrs.join(", "));
        if max_connections.is_some() {
            limit_reached.wait().await;
            server.close();
            server.wait_closed().await;
            crate::say!("{} connection(s) served", done.get());
            Ok(())
        } else {
            server
                .serve_forever()
                .await
                .map_err(|e| Failure::runtime(format!("server: {e}")))
        }
    })
}

async fn echo_lines(mut reader: StreamReader, writer: &StreamWriter) -> std::io::Result<u64> {
    let mut lines = 0;
    loop {
        let line = reader.readline().await?;
        if line.is_empty() {
            break;
        }
        writer.write(&line);
        writer.drain().await?;
        lines += 1;
    }
    writer.close();
    writer.wait_closed().await?;
    Ok(lines)
}

/// Sends each message as a line, `repeat` times, and prints the replies and
/// the round-trip times.
pub fn echo_client(host: &str, port: u16, messages: &[String], repeat: u32) -> Result<(), Failure> {
    if messages.iter().any(|m| m.contains('\n')) {
        return Err(Failure::usage("a message cannot contain a newline"));
    }
    let rt = boucle::Runtime::new().map_err(|e| Failure::runtime(format!("event loop: {e}")))?;
    rt.block_on(async move {
        let (mut reader, writer) = open_connection(host, port)
            .await
            .map_err(|e| Failure::runtime(format!("cannot connect to {host}:{port}: {e}")))?;
        let mut times = Vec::new();
        for round in 0..repeat {
            for m in messages {
                let start = Instant::now();
                writer.write(format!("{m}\n").as_bytes());
                writer
                    .drain()
                    .await
                    .map_err(|e| Failure::runtime(format!("send: {e}")))?;
                let reply = reader
                    .readline()
                    .await
                    .map_err(|e| Failure::runtime(format!("receive: {e}")))?;
                times.push(start.elapsed());
                if reply.is_empty() {
                    return Err(Failure::runtime("the server closed the connection"));
                }
                if round == 0 {
                    crate::output::emit_raw(&String::from_utf8_lossy(&reply));
                }
            }
        }
        writer.close();
        let _ = writer.wait_closed().await;
        times.sort();
        let median = times
            .get(times.len() / 2)
            .copied()
            .unwrap_or(Duration::ZERO);
        crate::say!(
            "{} round trip(s), median {:.1} us",
            times.len(),
            median.as_secs_f64() * 1e6
        );
        Ok(())
    })
}
