//! monoio thread-per-core for the in-process tables (tcp_echo, hello_load):
//! n threads pinned one per core, each its own runtime (legacy epoll
//! driver) with a `reuse_port` listener on one port and its share of the
//! clients, as monoio's users run it.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use monoio::net::{ListenerOpts, TcpListener, TcpStream};

/// A monoio runtime (legacy epoll driver, timer on) on this thread, pinned
/// to core `core` as monoio's thread-per-core users pin it.
pub(super) fn runtime(
    core: usize,
) -> monoio::Runtime<monoio::time::TimeDriver<monoio::LegacyDriver>> {
    let mut set = rustix::thread::CpuSet::new();
    set.set(core);
    let _ = rustix::thread::sched_setaffinity(None, &set);
    monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
        .enable_timer()
        .build()
        .expect("monoio runtime")
}

/// Runs `threads` monoio threads: each serves the accepted connections with
/// `serve` and runs its share of `conns` clients, `client(port, index)`.
/// With `cpu`, each listener is marked with its thread's core
/// (`SO_INCOMING_CPU`). The wall time from the start signal to the end of
/// the last thread (which serve the others' clients until all are done).
pub(super) fn run<S, SF, C, CF>(
    threads: usize,
    cpu: bool,
    conns: usize,
    serve: S,
    client: C,
) -> Result<Duration, String>
where
    S: Fn(TcpStream) -> SF + Copy + Send + 'static,
    SF: Future<Output = ()> + 'static,
    C: Fn(u16, usize) -> CF + Copy + Send + 'static,
    CF: Future<Output = ()> + 'static,
{
    let (probe, port) = super::echo::reserve_port()?;
    let bound = Arc::new(Barrier::new(threads + 1));
    let start_at = Arc::new(Barrier::new(threads + 1));
    let done = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (bound, start_at, done) = (bound.clone(), start_at.clone(), done.clone());
            std::thread::spawn(move || {
                runtime(t).block_on(async move {
                    let listener = if cpu {
                        // monoio has no option for it: the socket is made,
                        // marked with the thread's core, then handed over.
                        let std = reuseport_on_cpu(port, t).expect("SO_INCOMING_CPU");
                        TcpListener::from_std(std).expect("monoio from_std")
                    } else {
                        let opts = ListenerOpts::new().reuse_port(true);
                        TcpListener::bind_with_config(("127.0.0.1", port), &opts)
                            .expect("monoio bind")
                    };
                    monoio::spawn(async move {
                        while let Ok((s, _)) = listener.accept().await {
                            monoio::spawn(serve(s));
                        }
                    });
                    // The threads meet (blocking briefly, before any work).
                    bound.wait();
                    start_at.wait();
                    let mine = conns / threads + usize::from(t < conns % threads);
                    let clients: Vec<_> =
                        (0..mine).map(|c| monoio::spawn(client(port, c))).collect();
                    for c in clients {
                        c.await;
                    }
                    // Keep serving the other threads' clients until they are done.
                    done.fetch_add(1, Ordering::AcqRel);
                    while done.load(Ordering::Acquire) < threads {
                        monoio::time::sleep(Duration::from_micros(100)).await;
                    }
                });
            })
        })
        .collect();
    bound.wait();
    drop(probe);
    let start = Instant::now();
    start_at.wait();
    for h in handles {
        h.join()
            .map_err(|_| "a monoio thread panicked".to_owned())?;
    }
    Ok(start.elapsed())
}

/// A std `SO_REUSEPORT` listener on `port` marked with core `cpu`
/// (`SO_INCOMING_CPU`).
fn reuseport_on_cpu(port: u16, cpu: usize) -> Result<std::net::TcpListener, String> {
    #[cfg(feature = "boucle")]
    {
        let l = boucle::net::bind_reuseport_std(([127, 0, 0, 1], port).into(), 1024)
            .map_err(|e| e.to_string())?;
        let cpu = u32::try_from(cpu).map_err(|e| e.to_string())?;
        rustix::net::sockopt::set_socket_incoming_cpu(&l, cpu).map_err(|e| e.to_string())?;
        Ok(l)
    }
    #[cfg(not(feature = "boucle"))]
    Err(format!("built without boucle (port {port}, core {cpu})"))
}
