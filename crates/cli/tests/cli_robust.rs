//! The `boucle` binary under hostile use: closed pipes, bad option values,
//! output files that must survive a failed run (hardening issue, bugs 8-9
//! and the option rough edges).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn boucle() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_boucle"));
    c.env_remove("BOUCLE_SEED").env("RUST_BACKTRACE", "0");
    c
}

/// A fresh directory for one test.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("boucle-cli-robust-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits for `child` at most `limit`, killing it (and failing) past that.
fn wait_bounded(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("the process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `echo-server --port 0 --max-connections 1`; returns it and its port.
fn echo_server() -> (Child, u16, BufReader<std::process::ChildStdout>) {
    let mut server = boucle()
        .args(["echo-server", "--port", "0", "--max-connections", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let port = first
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no address in {first:?}"));
    (server, port, out)
}

#[test]
fn echo_client_into_a_closed_pipe_exits_quietly() {
    let (mut server, port, _server_out) = echo_server();
    let mut client = boucle()
        .args(["echo-client", "a", "b", "c", "--repeat", "2000"])
        .args(["--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `| head -0`: the reader goes away before the summary line is printed.
    drop(client.stdout.take());
    let status = wait_bounded(&mut client, Duration::from_secs(30));
    let mut err = String::new();
    client
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{status}: {err}");
    assert!(err.is_empty(), "stderr: {err}");
    wait_bounded(&mut server, Duration::from_secs(30));
}

#[test]
fn echo_server_with_a_closed_stdout_exits_quietly() {
    let (mut server, port, out) = echo_server();
    drop(out); // `echo-server | head -1`
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.write_all(b"ping\n").unwrap();
    let mut reply = [0u8; 5];
    conn.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"ping\n");
    drop(conn);
    // Its next line ("... echoed, closed") meets the closed pipe.
    let status = wait_bounded(&mut server, Duration::from_secs(30));
    let mut err = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{status}: {err}");
    assert!(!err.contains("panicked"), "stderr: {err}");
    assert!(err.is_empty(), "stderr: {err}");
}

#[test]
fn a_negative_port_is_named_as_a_bad_port() {
    for cmd in [&["echo-server"][..], &["echo-client", "x"][..]] {
        let out = boucle().args(cmd).args(["--port", "-1"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("--port"), "{err}");
        assert!(err.contains("0 to 65535"), "{err}");
        assert!(!err.contains("unexpected argument"), "{err}");
    }
    let out = boucle()
        .args(["echo-server", "--port", "70000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("got 70000"));
}

#[test]
fn max_connections_zero_is_refused() {
    let out = boucle()
        .args(["echo-server", "--port", "0", "--max-connections", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--max-connections"), "{err}");
    assert!(err.contains("at least 1"), "{err}");
}

#[test]
fn a_failed_run_leaves_an_existing_trace_file_untouched() {
    let dir = temp_dir("keep");
    let keep = dir.join("keep.json");
    std::fs::write(&keep, "precious").unwrap();
    // N = 0 is refused after the options are read.
    let out = boucle()
        .args(["measure-time", "0", "1", "--virtual", "--chrome-trace"])
        .arg(&keep)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(std::fs::read_to_string(&keep).unwrap(), "precious");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["keep.json"], "temporary files left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_successful_run_replaces_the_trace_file_whole() {
    let dir = temp_dir("replace");
    let path = dir.join("t.json");
    std::fs::write(&path, "old").unwrap();
    let out = boucle()
        .args([
            "wait-n",
            "3",
            "1",
            "--virtual",
            "--seed",
            "1",
            "--chrome-trace",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let json = std::fs::read_to_string(&path).unwrap();
    assert!(json.starts_with("{\"traceEvents\":["), "{json}");
    let left = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(left, 1, "temporary files left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_trace_path_that_is_a_directory_is_a_usage_error() {
    let dir = temp_dir("isdir");
    let out = boucle()
        .args(["wait-n", "1", "1", "--virtual", "--chrome-trace"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("is a directory"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
