//! Helpers shared by the HTTP tests: a boucle-http test server, raw
//! misbehaving servers, and external servers (Python's http.server, nginx)
//! started as child processes on free loopback ports.

#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use boucle::net::TcpListener;
use boucle_http::bytes::Bytes;
use boucle_http::server::{serve, ShutdownHandle};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};

/// A boucle-http server with routes for the tests:
/// `/hello`, `/size/N` (N bytes of 'x'), `/echo` (the request body),
/// `/redirect/N` (N redirects, then /hello), `/status/N`, `/headers`
/// (the request headers, one per line), `/gzip`, `/deflate`, `/br`
/// (a compressed `/size/10000`), `/see-other` (303 to /method),
/// `/method` (the method), `/to-other/PORT` (302 to 127.0.0.1:PORT/headers),
/// `/slow/MS` (waits MS ms before answering).
pub async fn test_server(addr: &str) -> (SocketAddr, ShutdownHandle) {
    let listener = TcpListener::bind(addr).await.unwrap();
    let local = listener.local_addr().unwrap();
    let server = serve(listener, hyper::service::service_fn(route));
    let handle = server.shutdown_handle();
    drop(boucle::spawn(server.run()));
    (local, handle)
}

pub fn body_of_size(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz"[i % 26])
        .collect()
}

async fn route(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut resp = Response::new(Full::new(Bytes::new()));
    match parts.as_slice() {
        ["hello"] => *resp.body_mut() = Full::new(Bytes::from("Hello, World!")),
        ["size", n] => {
            let n: usize = n.parse().unwrap_or(0);
            *resp.body_mut() = Full::new(Bytes::from(body_of_size(n)));
        }
        ["echo"] => {
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            *resp.body_mut() = Full::new(body);
        }
        ["method"] => *resp.body_mut() = Full::new(Bytes::from(req.method().to_string())),
        ["redirect", n] => {
            let n: usize = n.parse().unwrap_or(0);
            let to = if n <= 1 {
                "/hello".to_string()
            } else {
                format!("/redirect/{}", n - 1)
            };
            *resp.status_mut() = http::StatusCode::FOUND;
            resp.headers_mut().insert("location", to.parse().unwrap());
        }
        ["loop"] => {
            *resp.status_mut() = http::StatusCode::FOUND;
            resp.headers_mut()
                .insert("location", "/loop".parse().unwrap());
        }
        ["see-other"] => {
            *resp.status_mut() = http::StatusCode::SEE_OTHER;
            resp.headers_mut()
                .insert("location", "/method".parse().unwrap());
        }
        ["keep-method"] => {
            *resp.status_mut() = http::StatusCode::TEMPORARY_REDIRECT;
            resp.headers_mut()
                .insert("location", "/echo".parse().unwrap());
        }
        ["to-other", port] => {
            *resp.status_mut() = http::StatusCode::FOUND;
            let to = format!("http://127.0.0.1:{port}/headers");
            resp.headers_mut().insert("location", to.parse().unwrap());
        }
        ["same-host-headers"] => {
            *resp.status_mut() = http::StatusCode::FOUND;
            resp.headers_mut()
                .insert("location", "/headers".parse().unwrap());
        }
        ["headers"] => {
            let mut text = String::new();
            for (k, v) in req.headers() {
                text.push_str(&format!("{k}: {}\n", v.to_str().unwrap_or("?")));
            }
            *resp.body_mut() = Full::new(Bytes::from(text));
        }
        ["status", n] => {
            *resp.status_mut() = n
                .parse::<u16>()
                .ok()
                .and_then(|s| http::StatusCode::from_u16(s).ok())
                .unwrap_or(http::StatusCode::BAD_REQUEST);
        }
        ["version"] => *resp.body_mut() = Full::new(Bytes::from(format!("{:?}", req.version()))),
        [coding @ ("gzip" | "deflate" | "br")] => {
            let plain = body_of_size(10_000);
            let packed = compress(coding, &plain);
            resp.headers_mut()
                .insert("content-encoding", coding.parse().unwrap());
            *resp.body_mut() = Full::new(Bytes::from(packed));
        }
        ["bad-gzip"] => {
            resp.headers_mut()
                .insert("content-encoding", "gzip".parse().unwrap());
            *resp.body_mut() = Full::new(Bytes::from_static(b"this is not gzip at all"));
        }
        ["slow", ms] => {
            let ms: u64 = ms.parse().unwrap_or(0);
            boucle::sleep(Duration::from_millis(ms)).await;
            *resp.body_mut() = Full::new(Bytes::from("slow"));
        }
        _ => *resp.status_mut() = http::StatusCode::NOT_FOUND,
    }
    Ok(resp)
}

pub fn compress(coding: &str, plain: &[u8]) -> Vec<u8> {
    use std::io::Write;
    match coding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(plain).unwrap();
            e.finish().unwrap()
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(plain).unwrap();
            e.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                w.write_all(plain).unwrap();
            }
            out
        }
        _ => unreachable!(),
    }
}

/// Whether this machine has an IPv6 loopback; prints a note when not.
pub fn has_ipv6_loopback() -> bool {
    match std::net::TcpListener::bind("[::1]:0") {
        Ok(_) => true,
        Err(e) => {
            eprintln!("note: no IPv6 loopback here ({e}); the ::1 case is skipped");
            false
        }
    }
}

/// A free TCP port on 127.0.0.1 (bound then released: a child process
/// will bind it).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A child process killed when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (10 s at most, in 10 ms steps) until something accepts on `addr`.
pub fn wait_listening(addr: SocketAddr, child: &mut Child) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited early ({status}) before listening on {addr}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("nothing listened on {addr} within 10 s");
}

/// A fresh temp directory (removed by the caller's `TempDir` drop).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "boucle-http-{name}-{}-{}",
            std::process::id(),
            fastrand_like()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fastrand_like() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Python's http.server serving `dir` on 127.0.0.1 (a second, independent
/// HTTP implementation).
pub fn python_server(dir: &Path) -> (ChildGuard, SocketAddr) {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
            "--directory",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs (it is on every machine of this project)");
    wait_listening(addr, &mut child);
    (ChildGuard(child), addr)
}

/// The nginx binary, or a failure naming the install script.
pub fn nginx_binary() -> PathBuf {
    for p in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("nginx is not installed: run scripts/install-test-tools.sh (it apt-get installs nginx, wrk, nghttp2-client and curl)");
}

/// nginx serving `root` on 127.0.0.1 and (when there is one) [::1], from a
/// config written in `dir`, in the foreground; killed on drop.
pub fn nginx_server(dir: &Path, root: &Path, ipv6: bool) -> (ChildGuard, u16) {
    let nginx = nginx_binary();
    let port = free_port();
    let listen6 = if ipv6 {
        format!("listen [::1]:{port};")
    } else {
        String::new()
    };
    let conf = format!(
        "daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{port};
        {listen6}
        root {root};
        gzip on;
        gzip_types text/plain;
        gzip_min_length 100;
    }}
}}
",
        dir = dir.display(),
        root = root.display()
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let mut child = Command::new(nginx)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nginx starts");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_listening(addr, &mut child);
    (ChildGuard(child), port)
}
