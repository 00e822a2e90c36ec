//! `boucle echo-server` shuts down gracefully: run as a child process,
//! stopped with real signals sent by `kill`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    out: BufReader<ChildStdout>,
    port: u16,
}

impl Server {
    fn start(grace: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_boucle"))
            .args(["echo-server", "--port", "0", "--grace", grace])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let port = line
            .strip_prefix("Serving on 127.0.0.1:")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected banner {line:?}"));
        Server { child, out, port }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    fn kill(&self, sig: &str) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
            .success());
    }

    /// Reads stdout lines until one contains `want`.
    fn expect_line(&mut self, want: &str) -> String {
        loop {
            let mut line = String::new();
            let n = self.out.read_line(&mut line).unwrap();
            assert!(n > 0, "stdout ended before a line with {want:?}");
            if line.contains(want) {
                return line;
            }
        }
    }

    /// Waits (at most `limit`) for the exit; returns the code and the time.
    fn wait_exit(&mut self, limit: Duration) -> (Option<i32>, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.code(), start.elapsed());
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!("the server did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn echo(s: &mut TcpStream, line: &str) {
    s.write_all(line.as_bytes()).unwrap();
    let mut back = vec![0u8; line.len()];
    s.read_exact(&mut back).unwrap();
    assert_eq!(back, line.as_bytes());
}

#[test]
fn sigterm_stops_accepting_lets_open_connections_finish_and_exits_0() {
    let mut server = Server::start("20");
    let mut client = server.connect();
    echo(&mut client, "avant\n");
    server.kill("-TERM");
    server.expect_line("SIGTERM: no longer accepting");
    // New connections are refused now...
    assert!(
        TcpStream::connect(("127.0.0.1", server.port)).is_err(),
        "the listener is closed"
    );
    // ...but the open one is still served.
    echo(&mut client, "pendant\n");
    drop(client);
    let (code, took) = server.wait_exit(Duration::from_secs(10));
    assert_eq!(code, Some(0));
    assert!(
        took < Duration::from_secs(5),
        "exited as soon as drained: {took:?}"
    );
    server.expect_line("SIGTERM: stopped; 1 connection(s) served");
}

#[test]
fn connections_still_open_after_the_grace_period_are_cancelled() {
    let mut server = Server::start("0.3");
    let mut idle = server.connect();
    echo(&mut idle, "x\n");
    let start = Instant::now();
    server.kill("-TERM");
    let (code, _) = server.wait_exit(Duration::from_secs(10));
    let took = start.elapsed();
    assert_eq!(code, Some(0), "exits 0 within the deadline");
    assert!(
        took >= Duration::from_millis(290),
        "waited the grace period: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    server.expect_line("still open after 0.3 s: cancelled");
    // The cancelled connection is closed.
    let mut buf = [0u8; 1];
    assert_eq!(idle.read(&mut buf).unwrap_or(0), 0);
}

#[test]
fn a_second_ctrl_c_exits_at_once_with_130() {
    let mut server = Server::start("600");
    let mut idle = server.connect();
    echo(&mut idle, "x\n");
    server.kill("-INT");
    server.expect_line("SIGINT: no longer accepting");
    let start = Instant::now();
    server.kill("-INT");
    let (code, _) = server.wait_exit(Duration::from_secs(10));
    assert_eq!(code, Some(130));
    assert!(start.elapsed() < Duration::from_secs(5));
    let mut err = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("SIGINT again"), "{err}");
}
