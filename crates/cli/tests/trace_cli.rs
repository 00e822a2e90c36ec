//! `--trace-out FILE.json|FILE.svg`, `boucle trace FILE.json` and
//! `boucle ps PID`, end to end. Virtual time for the course commands; the
//! server `ps` asks listens on 127.0.0.1 with a port of the system's choice.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn boucle() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_boucle"));
    cmd.env_remove("BOUCLE_SEED").env_remove("BOUCLE_DUMP");
    cmd
}

fn run(args: &[&str]) -> Output {
    boucle()
        .args(args)
        .output()
        .expect("the boucle binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("boucle-trace-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn svg_trace_out_is_one_well_formed_document_with_a_row_per_task() {
    let path = temp("wait.svg");
    let out = run(&[
        "task-wait-n",
        "3",
        "1",
        "--virtual",
        "--seed",
        "2",
        "--trace-out",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text(&out.stdout).contains("SVG timeline written to"),
        "{out:?}"
    );
    let svg = std::fs::read_to_string(&path).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("the SVG parses as XML");
    let titles: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("title"))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(titles.len(), 3, "{titles:?}");
    assert!(titles.iter().all(|t| t.starts_with("Task-")), "{titles:?}");
    // The caption of the one runtime, above its timeline.
    assert!(doc
        .descendants()
        .any(|n| n.has_tag_name("text") && n.text() == Some("task_wait_n(3, 1)")));
}

#[test]
fn the_demo_as_svg_stacks_one_timeline_per_part() {
    let path = temp("demo.svg");
    let out = run(&["demo", "--seed", "1", "--trace-out", path.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let svg = std::fs::read_to_string(&path).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("the SVG parses as XML");
    let root = doc.root_element();
    let parts: Vec<_> = root.children().filter(|n| n.has_tag_name("svg")).collect();
    assert!(parts.len() >= 5, "{} parts", parts.len());
    let ys: Vec<f64> = parts
        .iter()
        .map(|p| p.attribute("y").unwrap().parse().unwrap())
        .collect();
    assert!(ys.windows(2).all(|w| w[0] < w[1]), "{ys:?}");
    let height: f64 = root.attribute("height").unwrap().parse().unwrap();
    let last = parts.last().unwrap();
    let last_h: f64 = last.attribute("height").unwrap().parse().unwrap();
    assert_eq!(ys.last().unwrap() + last_h, height);
}

#[test]
fn a_saved_trace_is_drawn_as_the_run_drew_it() {
    let path = temp("wait.json");
    let args = [
        "wait-n",
        "4",
        "2",
        "--virtual",
        "--seed",
        "5",
        "--timeline",
        "--trace-out",
        path.to_str().unwrap(),
    ];
    let out = run(&args);
    assert!(out.status.success(), "{out:?}");
    let live = text(&out.stdout);
    let live_rows: Vec<&str> = live
        .lines()
        .filter(|l| l.starts_with("Task-") || l.trim_start().starts_with("0s"))
        .collect();
    assert_eq!(live_rows.len(), 5, "{live}");
    // `--timeline` draws 50 columns: ask `boucle trace` for the same.
    let out = run(&["trace", path.to_str().unwrap(), "--width", "50"]);
    assert!(out.status.success(), "{out:?}");
    let saved = text(&out.stdout);
    assert_eq!(saved.lines().collect::<Vec<_>>(), live_rows, "{saved}");
}

#[test]
fn boucle_trace_fits_the_terminal() {
    let path = temp("fit.json");
    let out = run(&[
        "wait-n",
        "2",
        "1",
        "--virtual",
        "--trace-out",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    for cols in [40, 120] {
        let out = boucle()
            .args(["trace", path.to_str().unwrap()])
            .env("COLUMNS", cols.to_string())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let widest = text(&out.stdout)
            .lines()
            .map(|l| l.chars().count())
            .max()
            .unwrap();
        assert!(widest <= cols && widest + 10 >= cols, "{cols}: {widest}");
    }
}

#[test]
fn task_names_cannot_drive_the_terminal_or_overflow_the_row() {
    // A saved trace is a file from anywhere: names with an escape
    // sequence, a newline and 5,000 characters.
    let names = ["red\\u001b[31mtext", "two\\nlines", &"x".repeat(5000)];
    let mut events = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let tid = i + 1;
        events.push(format!(
            "{{\"ph\":\"X\",\"pid\":1,\"tid\":{tid},\"name\":\"{name}\",\"cat\":\"task\",\"ts\":0,\"dur\":{},\"args\":{{\"outcome\":\"done\"}}}}",
            1000 * tid
        ));
    }
    let path = temp("names.json");
    std::fs::write(&path, format!("{{\"traceEvents\":[{}]}}", events.join(","))).unwrap();
    let out = boucle()
        .args(["trace", path.to_str().unwrap()])
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let shown = text(&out.stdout);
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 4, "three rows and the axis: {shown}");
    assert!(lines[0].starts_with("red\\u{1b}[31mtext "), "{shown}");
    assert!(lines[1].starts_with("two\\u{a}lines "), "{shown}");
    assert!(
        lines[2].starts_with(&format!("{}… |", "x".repeat(39))),
        "{shown}"
    );
    for line in &lines {
        assert!(line.chars().count() <= 100, "{line}");
    }
    let huge = temp("huge.json");
    std::fs::write(&huge, events[0].replace("\"dur\":1000", "\"dur\":1e300")).unwrap();
    std::fs::write(
        &huge,
        format!("[{}]", std::fs::read_to_string(&huge).unwrap()),
    )
    .unwrap();
    let out = run(&["trace", huge.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains("`dur` is not a time"), "{out:?}");
}

#[test]
fn bad_trace_files_are_clear_usage_errors() {
    let bad = temp("bad.json");
    std::fs::write(&bad, "{\"traceEvents\": [").unwrap();
    let missing = temp("missing.json");
    let svg = temp("pic.svg");
    std::fs::write(&svg, "<svg/>").unwrap();
    for (file, says) in [
        (&bad, "not a JSON trace"),
        (&missing, "cannot read it"),
        (&svg, "drawn by a browser"),
    ] {
        let out = run(&["trace", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let err = text(&out.stderr);
        assert!(err.starts_with("boucle: error: "), "{err}");
        assert!(err.contains(says), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let out = run(&["wait-n", "1", "1", "--virtual", "--trace-out", "t.txt"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains("must end in .json"), "{out:?}");
    assert!(!std::path::Path::new("t.txt").exists());
    let out = run(&[
        "wait-n",
        "1",
        "1",
        "--trace-out",
        "a.json",
        "--chrome-trace",
        "b.json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// An echo server on a free port, its address read from its banner.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut child = boucle()
            .args(["echo-server", "--port", "0", "--grace", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut banner = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut banner)
            .unwrap();
        let port = banner
            .split("127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {banner:?}"));
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn ps_shows_the_tasks_of_a_running_server_and_what_they_await() {
    let server = Server::start(&[]);
    // One client connected and idle: its handler waits on a socket read.
    let mut client = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    client.write_all(b"ping\n").unwrap();
    let mut reply = String::new();
    BufReader::new(client.try_clone().unwrap())
        .read_line(&mut reply)
        .unwrap();
    assert_eq!(reply, "ping\n");
    let out = run(&["ps", &server.child.id().to_string()]);
    assert!(out.status.success(), "{out:?}");
    let tree = text(&out.stdout);
    let pid = server.child.id();
    assert!(
        tree.starts_with(&format!("boucle task tree of process {pid} ")),
        "{tree}"
    );
    let accept = tree
        .lines()
        .find(|l| l.contains("boucle server accept loop"))
        .unwrap_or_else(|| panic!("no accept loop in\n{tree}"));
    assert!(accept.contains("waiting on socket read"), "{accept}");
    let handlers = tree
        .lines()
        .filter(|l| l.contains("waiting on socket read") && !l.contains("accept loop"))
        .count();
    assert!(handlers >= 1, "the connection's task is missing:\n{tree}");
    assert!(tree.contains(" polls"), "{tree}");
    drop(client);
}

#[test]
fn ps_refuses_a_process_that_would_die_of_the_signal() {
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    // Wait until the exec is done: before it, the child is a fork of us.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(format!("/proc/{}/comm", sleeper.id()))
        .map_or(true, |c| c.trim() != "sleep")
    {
        assert!(Instant::now() < deadline, "sleep never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = run(&["ps", &sleeper.id().to_string()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stderr).contains("does not handle SIGUSR1"),
        "{out:?}"
    );
    assert!(
        sleeper.try_wait().unwrap().is_none(),
        "ps signalled a process it should have left alone"
    );
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();

    let out = run(&["ps", "999999999"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stderr).contains("no process 999999999"),
        "{out:?}"
    );
    let out = run(&["ps", "0"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn a_server_stopped_by_sigterm_writes_its_trace() {
    let path = temp("server.json");
    let mut server = Server::start(&["--trace-out", path.to_str().unwrap()]);
    let mut client = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    client.write_all(b"one\n").unwrap();
    let mut reply = String::new();
    BufReader::new(client.try_clone().unwrap())
        .read_line(&mut reply)
        .unwrap();
    drop(client);
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut err = String::new();
    std::io::Read::read_to_string(server.child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(err.contains("Chrome trace written to"), "{err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let names: Vec<&str> = json["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["cat"] == "task")
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(names.contains(&"boucle server accept loop"), "{names:?}");
    // The one connection's handler, ended.
    assert!(names.len() >= 3, "{names:?}");
}

#[test]
fn files_json_output_stays_pure_when_traced() {
    let dir = temp("tree");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..3 {
        std::fs::write(dir.join(format!("f{i}")), format!("line {i}\n")).unwrap();
    }
    let path = temp("files.svg");
    let out = run(&[
        "files",
        dir.to_str().unwrap(),
        "--json",
        "--jobs",
        "2",
        "--trace-out",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each stdout line is JSON"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(
        text(&out.stderr).contains("SVG timeline written to"),
        "{out:?}"
    );
    let svg = std::fs::read_to_string(&path).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    // The walker and the two workers, at least.
    let rows = doc
        .descendants()
        .filter(|n| n.has_tag_name("title"))
        .count();
    assert!(rows >= 3, "{rows} rows");
}
