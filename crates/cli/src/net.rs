//! `boucle echo-server` and `boucle echo-client`: the TCP echo of the
//! network issue, to try `boucle::net` by hand. Line-based: the server sends
//! every line back; the client sends its messages and prints the replies.

use std::rc::Rc;
use std::time::{Duration, Instant};

use boucle::net::{open_connection, start_server, StreamReader, StreamWriter};
use boucle::shutdown::{Outcome, Shutdown};

use crate::args::Failure;
use crate::trace_out::{self, TraceArgs, TraceFile};

/// Serves on HOST:PORT until SIGINT or SIGTERM (or after
/// `max_connections`). A signal stops the accepting at once; the
/// connections in flight get `grace` to finish, then are cancelled; the
/// exit code is 0 either way. A second signal during the grace period exits
/// at once with 128 + its number (130 for a second Ctrl-C).
pub fn echo_server(
    host: &str,
    port: u16,
    max_connections: Option<u64>,
    grace: Duration,
    trace: &TraceArgs,
) -> Result<(), Failure> {
    let file = TraceFile::open(trace)?;
    let rt = trace_out::long_running(&file)
        .build()
        .map_err(|e| Failure::runtime(format!("event loop: {e}")))?;
    let served = rt.block_on(async move {
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
        // Listen to the signals before saying we serve: a signal sent right
        // after the banner is then never lost.
        let shutdown = Shutdown::new()
            .map_err(|e| Failure::runtime(format!("cannot handle signals: {e}")))?
            .grace(grace)
            .on_signal(move |signal| {
                crate::say!(
                    "{signal}: no longer accepting; waiting up to {:.1} s for open connections \
                     (again to exit now)",
                    grace.as_secs_f64()
                );
            });
        let server = start_server(handler, host, port)
            .await
            .map_err(|e| Failure::runtime(format!("cannot listen on {host}:{port}: {e}")))?;
        let server = Rc::new(server);
        let addrs: Vec<String> = server.local_addrs().iter().map(|a| a.to_string()).collect();
        crate::say!("Serving on {} (Ctrl-C to stop)", addrs.join(", "));
        let s = server.clone();
        let serve = async move {
            if max_connections.is_some() {
                limit_reached.wait().await;
                Ok(())
            } else {
                s.serve_forever().await
            }
        };
        let s = server.clone();
        let drain = move |_| async move {
            s.close();
            s.wait_closed().await;
        };
        let outcome = shutdown.run(serve, drain).await;
        match outcome {
            Outcome::Finished(r) => {
                r.map_err(|e| Failure::runtime(format!("server: {e}")))?;
                server.close();
                server.wait_closed().await;
                crate::say!("{} connection(s) served", done.get());
            }
            Outcome::Drained { signal } => {
                crate::say!("{signal}: stopped; {} connection(s) served", done.get())
            }
            Outcome::TimedOut { signal } => crate::say!(
                "{signal}: {} connection(s) still open after {:.1} s: cancelled; {} served",
                server.active_connections(),
                grace.as_secs_f64(),
                done.get()
            ),
            Outcome::Forced { .. } => {} // exit_on_second_signal is on
        }
        Ok(())
    });
    trace_out::finish(file, "echo-server", rt.trace())?;
    served
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
pub fn echo_client(
    host: &str,
    port: u16,
    messages: &[String],
    repeat: u32,
    trace: &TraceArgs,
) -> Result<(), Failure> {
    if messages.iter().any(|m| m.contains('\n')) {
        return Err(Failure::usage("a message cannot contain a newline"));
    }
    let file = TraceFile::open(trace)?;
    let rt = trace_out::long_running(&file)
        .build()
        .map_err(|e| Failure::runtime(format!("event loop: {e}")))?;
    let talked = rt.block_on(async move {
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
    });
    trace_out::finish(file, "echo-client", rt.trace())?;
    talked
}
