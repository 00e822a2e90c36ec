//! start_server and Server: per-connection handlers, close / wait_closed /
//! serve_forever, resets that end one connection only, back-pressure
//! against slow readers, 2,000 connections at once, and an accept loop
//! that survives running out of file descriptors (in a child process).

use std::cell::{Cell, RefCell};
use std::io::{BufRead, BufReader, ErrorKind, Write as _};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::Duration;

use boucle::net::{
    open_connection, start_server, ReadError, Server, StreamReader, StreamWriter, TcpStream,
};
use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

async fn echo_lines(mut r: StreamReader, w: StreamWriter) -> Result<(), ReadError> {
    loop {
        let line = r.readline().await?;
        if line.is_empty() {
            return Ok(());
        }
        w.write(&line);
        w.drain().await?;
    }
}

async fn echo_server() -> (Server, u16) {
    echo_server_on("127.0.0.1").await
}

/// Tests that check "nothing listens there any more" use their own
/// loopback address, so no listener of a test running in parallel can take
/// the freed port.
async fn echo_server_on(host: &str) -> (Server, u16) {
    let server = start_server(echo_lines, host, 0).await.unwrap();
    let port = server.local_addrs()[0].port().unwrap();
    (server, port)
}

/// Asserts that nothing listens on `host:port` any more. A child process
/// that another test forks holds copies of our descriptors until it
/// execs, so a closed listener may take a last connection for a moment:
/// retry for a while.
async fn assert_refused(host: &str, port: u16) {
    for _ in 0..200 {
        match TcpStream::connect((host, port)).await {
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
                return;
            }
            Ok(_) => boucle::sleep(Duration::from_millis(1)).await,
        }
    }
    panic!("{host}:{port} still accepts connections");
}

#[test]
fn each_connection_gets_its_own_handler_task() {
    boucle::run(async {
        let (server, port) = echo_server_on("127.0.0.2").await;
        assert!(server.is_serving());
        assert_eq!(server.sockets().len(), 1);
        assert!(server.sockets()[0].as_tcp().is_some());
        let clients: Vec<_> = (0..50)
            .map(|i| {
                boucle::spawn(async move {
                    let (mut r, w) = open_connection("127.0.0.2", port).await.unwrap();
                    for j in 0..5 {
                        w.write(format!("{i}-{j}\n").as_bytes());
                        w.drain().await.unwrap();
                        let line = r.readline().await.unwrap();
                        assert_eq!(line, format!("{i}-{j}\n").as_bytes());
                    }
                    (r, w)
                })
            })
            .collect();
        let mut held = Vec::new();
        for c in clients {
            held.push(c.await.unwrap());
        }
        assert_eq!(server.active_connections(), 50);
        server.close();
        assert!(!server.is_serving());
        assert!(server.local_addrs().is_empty());
        // Closing stops listening but lets the connections go on.
        let (r, w) = &mut held[0];
        w.write(b"after close\n");
        assert_eq!(r.readline().await.unwrap(), b"after close\n");
        assert_refused("127.0.0.2", port).await;
        // wait_closed waits for the handlers.
        let done = Rc::new(Cell::new(false));
        let d = done.clone();
        let server = Rc::new(server);
        let s = server.clone();
        let waiter = boucle::spawn(async move {
            s.wait_closed().await;
            d.set(true);
        });
        boucle::sleep(Duration::from_millis(5)).await;
        assert!(!done.get());
        for (_r, w) in held {
            w.close();
        }
        waiter.await.unwrap();
        assert_eq!(server.active_connections(), 0);
    });
}

#[test]
fn serve_forever_ends_on_close_and_dropping_it_closes_the_server() {
    boucle::run(async {
        let (server, port) = echo_server_on("127.0.0.3").await;
        let server = Rc::new(server);
        let s = server.clone();
        boucle::spawn(async move {
            let (mut r, w) = open_connection("127.0.0.3", port).await.unwrap();
            w.write(b"x\n");
            r.readline().await.unwrap();
            s.close();
        })
        .await
        .unwrap();
        server.serve_forever().await.unwrap();

        let (server, port) = echo_server_on("127.0.0.3").await;
        let r = boucle::timeout(Duration::from_millis(5), server.serve_forever()).await;
        assert!(r.is_err());
        assert!(!server.is_serving(), "cancelling serve_forever closes");
        assert_refused("127.0.0.3", port).await;

        let (server, port) = echo_server_on("127.0.0.3").await;
        drop(server);
        assert_refused("127.0.0.3", port).await;
    });
}

#[test]
fn a_peer_reset_ends_only_that_connection() {
    boucle::run(async {
        let outcomes: Rc<RefCell<Vec<Result<(), String>>>> = Rc::default();
        let o = outcomes.clone();
        let server = start_server(
            move |r: StreamReader, w: StreamWriter| {
                let o = o.clone();
                async move {
                    let result = echo_lines(r, w).await.map_err(|e| e.to_string());
                    o.borrow_mut().push(result);
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let port = server.local_addrs()[0].port().unwrap();
        let (mut good_r, good_w) = open_connection("127.0.0.1", port).await.unwrap();
        good_w.write(b"one\n");
        assert_eq!(good_r.readline().await.unwrap(), b"one\n");
        // A client that sends half a line, then resets.
        let mut bad = boucle::spawn_blocking(move || {
            std::net::TcpStream::connect(("127.0.0.1", port)).unwrap()
        })
        .await
        .unwrap();
        bad.write_all(b"half a li").unwrap();
        boucle::sleep(Duration::from_millis(5)).await;
        rustix::net::sockopt::set_socket_linger(&bad, Some(Duration::ZERO)).unwrap();
        drop(bad);
        for _ in 0..200 {
            if !outcomes.borrow().is_empty() {
                break;
            }
            boucle::sleep(Duration::from_millis(1)).await;
        }
        let first = outcomes.borrow()[0].clone();
        let err = first.unwrap_err();
        assert!(err.contains("reset"), "{err}");
        // The other connection and the server go on.
        good_w.write(b"two\n");
        assert_eq!(good_r.readline().await.unwrap(), b"two\n");
        let (mut r3, w3) = open_connection("127.0.0.1", port).await.unwrap();
        w3.write(b"three\n");
        assert_eq!(r3.readline().await.unwrap(), b"three\n");
        assert!(server.is_serving());
    });
}

#[test]
fn a_slow_reader_cannot_make_the_server_buffer_without_bound() {
    boucle::run(async {
        let max_queued = Rc::new(Cell::new(0usize));
        let m = max_queued.clone();
        const TOTAL: usize = 16 << 20;
        let server = start_server(
            move |_r: StreamReader, w: StreamWriter| {
                let m = m.clone();
                async move {
                    let chunk = vec![b'x'; 32 * 1024];
                    let mut sent = 0;
                    while sent < TOTAL {
                        w.write(&chunk);
                        sent += chunk.len();
                        m.set(m.get().max(w.write_buffer_size()));
                        w.drain().await?;
                    }
                    w.close();
                    w.wait_closed().await
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let port = server.local_addrs()[0].port().unwrap();
        let mut c = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        // Read slowly: 4 KiB at a time, pausing now and then.
        let mut buf = [0u8; 4096];
        let mut got = 0;
        let mut reads = 0;
        loop {
            let n = c.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got += n;
            reads += 1;
            if reads % 512 == 0 {
                boucle::sleep(Duration::from_millis(1)).await;
            }
        }
        assert_eq!(got, TOTAL);
        let max = max_queued.get();
        assert!(
            max <= 64 * 1024 + 32 * 1024,
            "the server queued {max} bytes"
        );
        server.close();
        server.wait_closed().await;
    });
}

/// Raises the soft fd limit to the hard one; returns the new soft limit.
fn raise_fd_limit() -> u64 {
    let lim = getrlimit(Resource::Nofile);
    let hard = lim.maximum.unwrap_or(1 << 20);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(hard),
            maximum: lim.maximum,
        },
    );
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

#[test]
fn two_thousand_connections_held_at_once() {
    const N: usize = 2000;
    let limit = raise_fd_limit();
    if limit < 4100 {
        eprintln!("note: RLIMIT_NOFILE is {limit} (< 4100): skipping the 2,000-connection test");
        return;
    }
    boucle::run(async {
        let (server, port) = echo_server().await;
        let mut held = Vec::with_capacity(N);
        // Connect in waves of 500 (the listen backlog is 1,024).
        for wave in 0..N / 500 {
            let conns = boucle::gather((0..500).map(|i| async move {
                let (mut r, w) = open_connection("127.0.0.1", port).await.unwrap();
                let msg = format!("conn {}\n", wave * 500 + i);
                w.write(msg.as_bytes());
                assert_eq!(r.readline().await.unwrap(), msg.as_bytes());
                (r, w)
            }))
            .await;
            held.extend(conns);
        }
        assert_eq!(held.len(), N);
        assert_eq!(server.active_connections(), N);
        // All still alive: one more round trip on each.
        for (i, (r, w)) in held.iter_mut().enumerate() {
            w.write(format!("again {i}\n").as_bytes());
            assert_eq!(
                r.readline().await.unwrap(),
                format!("again {i}\n").as_bytes()
            );
        }
        drop(held);
        server.close();
        server.wait_closed().await;
        assert_eq!(server.active_connections(), 0);
    });
}

/// The child's side of `the_accept_loop_survives_running_out_of_fds`: an
/// echo server under a file-descriptor limit a few above what is open.
fn emfile_child() {
    boucle::run(async {
        let (server, port) = echo_server().await;
        let stdin_closed = boucle::spawn_blocking(|| {
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
        });
        // RLIMIT_NOFILE bounds descriptor numbers: allow the 4 lowest free
        // numbers and no more (existing descriptors above stay open).
        let open: Vec<u64> = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
            .collect();
        let fourth_free = (0..).filter(|n| !open.contains(n)).nth(3).unwrap();
        let lim = getrlimit(Resource::Nofile);
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(fourth_free + 1),
                maximum: lim.maximum,
            },
        )
        .unwrap();
        println!("\nPORT {port}");
        std::io::stdout().flush().unwrap();
        // The parent closes our stdin when done; never outlive a lost parent.
        let _ = boucle::timeout(Duration::from_secs(60), stdin_closed).await;
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn child_entry() {
    if std::env::var("BOUCLE_TEST_CHILD").as_deref() == Ok("emfile") {
        emfile_child();
    }
}

#[test]
fn the_accept_loop_survives_running_out_of_fds() {
    const N: usize = 24;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env("BOUCLE_TEST_CHILD", "emfile")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let port: u16 = loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the child said no port"
        );
        // libtest may print "test child_entry ... " before it.
        if let Some(p) = line.split("PORT ").nth(1) {
            break p.trim().parse().unwrap();
        }
    };
    // More connections than the child has descriptors for: they wait in
    // the backlog while the accept loop backs off.
    let mut conns: Vec<_> = (0..N)
        .map(|i| {
            let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            c.write_all(format!("ping {i}\n").as_bytes()).unwrap();
            c
        })
        .collect();
    // Served one after the other as earlier ones close and free a descriptor.
    for (i, c) in conns.drain(..).enumerate() {
        let mut line = String::new();
        BufReader::new(&c).read_line(&mut line).unwrap();
        assert_eq!(line, format!("ping {i}\n"));
    }
    drop(child.stdin.take()); // the child closes its server and exits
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let reports: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("accept failed"))
        .collect();
    assert_eq!(reports.len(), 1, "logged once: {stderr}");
    assert!(
        reports[0].contains("Too many open files") && reports[0].starts_with("boucle: "),
        "{}",
        reports[0]
    );
}

#[test]
fn localhost_listens_on_each_of_its_addresses() {
    boucle::run(async {
        let server = start_server(echo_lines, "localhost", 0).await.unwrap();
        let addrs = server.local_addrs();
        assert!(!addrs.is_empty());
        for a in &addrs {
            let a = a.as_inet().unwrap();
            assert!(a.ip().is_loopback());
            let (mut r, w) = open_connection(&a.ip().to_string(), a.port())
                .await
                .unwrap();
            w.write(b"hi\n");
            assert_eq!(r.readline().await.unwrap(), b"hi\n");
        }
        assert!(format!("{server:?}").contains("Server"));
        let err = start_server(echo_lines, "127.0.0.1", addrs[0].port().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
    });
}
