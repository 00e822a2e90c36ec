//! `boucle fetch` run as a process against local servers: a boucle-http
//! server written here (on its own thread), and nginx for the 10,000-URL
//! run.

use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use boucle_http::bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::Value;

fn boucle() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_boucle"));
    c.env_remove("BOUCLE_SEED");
    c
}

fn run(args: &[&str]) -> Output {
    boucle()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the boucle binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).expect("UTF-8 output")
}

fn body_of(n: usize) -> Vec<u8> {
    (0..n).map(|i| b"0123456789"[i % 10]).collect()
}

/// A boucle-http server on its own thread, stopped on drop. Routes:
/// `/size/N`, `/flaky/KEY` (503 once per KEY, then 200), `/limited/KEY`
/// (429 with Retry-After: 0 once per KEY, then 200), `/down` (always 503),
/// `/loop` (redirects to itself), `/slow/MS`.
struct TestServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    fn start() -> TestServer {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            boucle::run(async move {
                let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let seen: Rc<RefCell<HashMap<String, usize>>> = Rc::default();
                let server = boucle_http::serve(
                    listener,
                    hyper::service::service_fn(move |req| route(req, Rc::clone(&seen))),
                );
                let handle = server.shutdown_handle();
                drop(boucle::spawn(server.run()));
                // Bounded: a test never runs longer than ten minutes.
                for _ in 0..60_000 {
                    if flag.load(Ordering::SeqCst) {
                        break;
                    }
                    boucle::sleep(Duration::from_millis(10)).await;
                }
                handle.shutdown(Duration::from_millis(100)).await;
            });
        });
        let addr = rx.recv().unwrap();
        TestServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn route(
    req: Request<Incoming>,
    seen: Rc<RefCell<HashMap<String, usize>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let count = {
        let mut seen = seen.borrow_mut();
        let c = seen.entry(path.clone()).or_insert(0);
        *c += 1;
        *c
    };
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut resp = Response::new(Full::new(Bytes::new()));
    match parts.as_slice() {
        ["size", n] => *resp.body_mut() = Full::new(Bytes::from(body_of(n.parse().unwrap_or(0)))),
        ["flaky", _] if count == 1 => *resp.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE,
        ["limited", _] if count == 1 => {
            *resp.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
            resp.headers_mut()
                .insert("retry-after", "0".parse().unwrap());
        }
        ["flaky" | "limited", _] => *resp.body_mut() = Full::new(Bytes::from("finally")),
        ["down"] => *resp.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE,
        ["loop"] => {
            *resp.status_mut() = http::StatusCode::FOUND;
            resp.headers_mut()
                .insert("location", "/loop".parse().unwrap());
        }
        ["slow", ms] => {
            boucle::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
            *resp.body_mut() = Full::new(Bytes::from("slow"));
        }
        _ => *resp.status_mut() = http::StatusCode::NOT_FOUND,
    }
    Ok(resp)
}

fn json_lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn by_url(lines: &[Value]) -> HashMap<String, Value> {
    lines
        .iter()
        .map(|v| (v["url"].as_str().unwrap().to_string(), v.clone()))
        .collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("boucle-fetch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn lines_as_the_seed_prints_them_and_totals_on_stderr() {
    let s = TestServer::start();
    let out = run(&[
        "fetch",
        &s.url("/size/13"),
        &s.url("/size/0"),
        &s.url("/nope"),
        "not a url",
    ]);
    assert_eq!(out.status.code(), Some(1), "some failed");
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    let ok13 = lines.iter().find(|l| l.contains("/size/13")).unwrap();
    assert!(
        ok13.starts_with(&format!("✓ {}: 13 bytes (200, ", s.url("/size/13"))),
        "{ok13}"
    );
    assert!(ok13.ends_with(" ms)"), "{ok13}");
    let missing = lines.iter().find(|l| l.contains("/nope")).unwrap();
    assert_eq!(
        *missing,
        format!("✗ {}: HTTP 404 Not Found", s.url("/nope"))
    );
    let bad = lines.iter().find(|l| l.contains("not a url")).unwrap();
    assert!(bad.starts_with("✗ not a url: invalid URL"), "{bad}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("totals: 2 ok, 2 failed, 13 bytes in "),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "no progress bar when stderr is not a terminal"
    );
    // All good: exit 0.
    let out = run(&["fetch", &s.url("/size/5")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn json_has_exactly_the_contract_fields() {
    let s = TestServer::start();
    let out = run(&[
        "fetch",
        "--json",
        &s.url("/size/1000"),
        &s.url("/down"),
        "--retries",
        "0",
    ]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    for v in &lines {
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            ["attempts", "bytes", "error", "ms", "ok", "status", "url"],
            "{v}"
        );
        assert!(v["ms"].is_number() && v["attempts"].is_u64());
    }
    let m = by_url(&lines);
    let ok = &m[&s.url("/size/1000")];
    assert_eq!(
        (
            ok["ok"].as_bool(),
            ok["status"].as_u64(),
            ok["bytes"].as_u64()
        ),
        (Some(true), Some(200), Some(1000))
    );
    assert!(ok["error"].is_null());
    let down = &m[&s.url("/down")];
    assert_eq!(down["ok"], false);
    assert_eq!(down["status"], 503);
    assert_eq!(down["error"], "HTTP 503 Service Unavailable");
    let out = run(&["fetch", "--json", "http://127.0.0.1:9/", "--retries", "0"]);
    let v = &json_lines(&out)[0];
    assert!(v["status"].is_null() && v["bytes"] == 0);
    assert!(v["error"].as_str().unwrap().contains("127.0.0.1:9"), "{v}");
}

#[test]
fn retries_503_and_429_and_honours_retry_after() {
    let s = TestServer::start();
    let out = run(&[
        "fetch",
        "--json",
        &s.url("/flaky/a"),
        &s.url("/limited/b"),
        &s.url("/down"),
    ]);
    let m = by_url(&json_lines(&out));
    let flaky = &m[&s.url("/flaky/a")];
    assert_eq!(
        (
            flaky["ok"].as_bool(),
            flaky["attempts"].as_u64(),
            flaky["bytes"].as_u64()
        ),
        (Some(true), Some(2), Some(7))
    );
    // No Retry-After: a backoff of 200 ms +- 50 % before the retry.
    assert!(flaky["ms"].as_f64().unwrap() >= 100.0, "{flaky}");
    let limited = &m[&s.url("/limited/b")];
    assert_eq!(
        (limited["ok"].as_bool(), limited["attempts"].as_u64()),
        (Some(true), Some(2))
    );
    // Retry-After: 0 replaces the backoff: the retry goes at once.
    assert!(limited["ms"].as_f64().unwrap() < 100.0, "{limited}");
    // Always 503: the default 2 retries, then the failure.
    let down = &m[&s.url("/down")];
    assert_eq!(
        (
            down["ok"].as_bool(),
            down["attempts"].as_u64(),
            down["status"].as_u64()
        ),
        (Some(false), Some(3), Some(503))
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn connect_errors_are_retried_and_name_the_host() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let out = run(&["fetch", "--json", "--retries", "1", &url]);
    let v = &json_lines(&out)[0];
    assert_eq!(v["attempts"], 2);
    assert_eq!(v["ok"], false);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains(&format!("cannot connect to 127.0.0.1:{port}")),
        "{v}"
    );
}

#[test]
fn redirect_limit_body_cap_and_timeout_are_failed_lines() {
    let s = TestServer::start();
    let out = run(&[
        "fetch",
        "--json",
        "--max-redirects",
        "3",
        "--max-body",
        "100",
        "--timeout",
        "0.05",
        &s.url("/loop"),
        &s.url("/size/101"),
        &s.url("/size/100"),
        &s.url("/slow/2000"),
    ]);
    let m = by_url(&json_lines(&out));
    assert!(m[&s.url("/loop")]["error"]
        .as_str()
        .unwrap()
        .contains("too many redirects"));
    assert!(m[&s.url("/size/101")]["error"]
        .as_str()
        .unwrap()
        .contains("larger than the cap of 100 bytes"));
    assert_eq!(m[&s.url("/size/100")]["ok"], true);
    let slow = &m[&s.url("/slow/2000")];
    assert!(
        slow["error"].as_str().unwrap().contains("timeout"),
        "{slow}"
    );
    assert!(slow["ms"].as_f64().unwrap() < 1000.0, "{slow}");
}

#[test]
fn out_saves_every_body_under_a_safe_unique_name() {
    let s = TestServer::start();
    let dir = temp_dir("out");
    let urls = [
        s.url("/size/10"),
        s.url("/size/10"),
        s.url("/size/../../../etc/x"),
        s.url("/size/2000"),
    ];
    let mut args = vec!["fetch", "--out", dir.to_str().unwrap()];
    args.extend(urls.iter().map(String::as_str));
    let out = run(&args);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    // The same URL twice: two files; the 404 (../ is resolved by the URL
    // parser to /etc/x) saves nothing.
    assert_eq!(names.len(), 3, "{names:?} {}", text(&out.stdout));
    assert!(
        names[0].starts_with("00001-127.0.0.1_") && names[1].starts_with("00002-"),
        "{names:?}"
    );
    assert_eq!(std::fs::read(dir.join(&names[0])).unwrap(), body_of(10));
    assert_eq!(std::fs::read(dir.join(&names[2])).unwrap(), body_of(2000));
    for n in &names {
        assert!(!n.contains('/') && !n.starts_with('.'));
    }
    // A second run into the same directory overwrites nothing: the same
    // name is taken, so the body goes to NAME.1.
    std::fs::write(dir.join(&names[0]), b"mine").unwrap();
    let out2 = run(&["fetch", "--out", dir.to_str().unwrap(), &s.url("/size/10")]);
    assert_eq!(out2.status.code(), Some(0), "{}", text(&out2.stderr));
    assert_eq!(std::fs::read(dir.join(&names[0])).unwrap(), b"mine", "kept");
    assert_eq!(
        std::fs::read(dir.join(format!("{}.1", names[0]))).unwrap(),
        body_of(10)
    );
    assert_eq!(out.status.code(), Some(1), "the 404 failed");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn urls_from_a_file_and_from_stdin() {
    let s = TestServer::start();
    let dir = temp_dir("input");
    let list = dir.join("urls.txt");
    std::fs::write(
        &list,
        format!(
            "# a comment\n{}\n\n  {}  \n",
            s.url("/size/1"),
            s.url("/size/2")
        ),
    )
    .unwrap();
    let out = run(&["fetch", "-i", list.to_str().unwrap(), &s.url("/size/3")]);
    assert_eq!(text(&out.stdout).lines().count(), 3);
    assert_eq!(out.status.code(), Some(0));
    let mut child = boucle()
        .args(["fetch", "-i", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n{}\n", s.url("/size/4"), s.url("/size/5")).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let total: u64 = json_lines(&out)
        .iter()
        .map(|v| v["bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 9);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_arguments_are_one_line_naming_the_option_and_exit_2() {
    let dir = temp_dir("badargs");
    let file = dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    for (args, needle) in [
        (vec!["fetch"], "no URLs given"),
        (vec!["fetch", "-c", "0", "http://x/"], "--concurrency"),
        (vec!["fetch", "-c", "many", "http://x/"], "--concurrency"),
        (vec!["fetch", "--per-host", "-3", "http://x/"], "--per-host"),
        (vec!["fetch", "--timeout", "-1", "http://x/"], "--timeout"),
        (vec!["fetch", "--timeout", "0", "http://x/"], "--timeout"),
        (
            vec!["fetch", "--connect-timeout", "nan", "http://x/"],
            "--connect-timeout",
        ),
        (vec!["fetch", "--retries", "x", "http://x/"], "--retries"),
        (
            vec!["fetch", "--max-redirects", "-1", "http://x/"],
            "--max-redirects",
        ),
        (
            vec!["fetch", "--max-body", "lots", "http://x/"],
            "--max-body",
        ),
        (vec!["fetch", "-i", "/no/such/file"], "--input"),
        (
            vec!["fetch", "--ca-file", "/no/such/pem", "http://x/"],
            "--ca-file",
        ),
        (
            vec!["fetch", "--ca-file", file.to_str().unwrap(), "http://x/"],
            "--ca-file",
        ),
        (
            vec!["fetch", "--out", file.to_str().unwrap(), "http://x/"],
            "--out",
        ),
        (vec!["fetch", "--frobnicate", "http://x/"], "--frobnicate"),
    ] {
        let out = run(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("boucle: error: ") && stderr.contains(needle),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let s = TestServer::start();
    let mut args = vec!["fetch".to_string(), "-c".into(), "4".into()];
    args.extend((0..200).map(|i| s.url(&format!("/size/{i}"))));
    let mut child = boucle()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped: stdout is a broken pipe now.
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with('✓'), "{first}");
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn ctrl_c_prints_partial_totals_and_exits_130() {
    let s = TestServer::start();
    let mut args = vec!["fetch".to_string(), "-c".into(), "2".into()];
    args.push(s.url("/size/1"));
    args.extend((0..50).map(|_| s.url("/slow/200")));
    let mut child = boucle()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with('✓'), "{first}");
    let started = Instant::now();
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "exits promptly");
    assert_eq!(out.status.code(), Some(130));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("interrupted after ") && stderr.contains("of 51 URLs; partial totals:"),
        "{stderr}"
    );
}

fn nginx_binary() -> PathBuf {
    for p in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("nginx is not installed: run scripts/install-test-tools.sh");
}

/// nginx on a free 127.0.0.1 port serving `root`, killed on drop.
struct Nginx(std::process::Child, u16);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nginx(dir: &Path, root: &Path) -> Nginx {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = dir.display();
    let conf = format!(
        "daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 100000;
  client_body_temp_path {d}/b; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f; uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;
  server {{ listen 127.0.0.1:{port} backlog=4096; root {}; }} }}\n",
        root.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(nginx_binary())
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "nginx did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    Nginx(child, port)
}

#[test]
fn ten_thousand_urls_at_256_concurrent_every_body_right() {
    let dir = temp_dir("10k");
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    // 100 files of distinct sizes; 10,000 URLs over them.
    let sizes: Vec<usize> = (0..100).map(|i| i * 97 + (i % 7) * 1000).collect();
    for (i, n) in sizes.iter().enumerate() {
        std::fs::write(root.join(format!("f{i}")), body_of(*n)).unwrap();
    }
    let server = nginx(&dir, &root);
    let list = dir.join("urls.txt");
    let mut urls = String::new();
    for k in 0..10_000 {
        urls.push_str(&format!(
            "http://127.0.0.1:{}/f{}?k={k}\n",
            server.1,
            k % 100
        ));
    }
    std::fs::write(&list, urls).unwrap();
    let out_dir = dir.join("out");
    let start = Instant::now();
    let out = run(&[
        "fetch",
        "-c",
        "256",
        "--per-host",
        "256",
        "--json",
        "-i",
        list.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 10_000);
    let mut seen = std::collections::HashSet::new();
    for v in &lines {
        let url = v["url"].as_str().unwrap();
        let k: usize = url.rsplit("k=").next().unwrap().parse().unwrap();
        assert!(seen.insert(k), "each URL once: {url}");
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["bytes"].as_u64().unwrap() as usize, sizes[k % 100], "{v}");
    }
    // Every body on disk, with its size and its bytes.
    let files: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 10_000);
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        let index: usize = name[..5].parse().unwrap();
        let want = sizes[(index - 1) % 100];
        let got = std::fs::read(f).unwrap();
        assert_eq!(got.len(), want, "{name}");
        assert_eq!(got, body_of(want), "{name}");
    }
    eprintln!("10,000 URLs in {took:?}");
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}
