//! `http::fetch`: 20,000 GETs of a 1 KiB file from nginx, 256 at a time.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::{free_port, median, start_server, table, tool, Guard, Opts, Scratch};
use crate::python;

const CONCURRENCY: usize = 256;
const BODY: usize = 1024;

/// One peer: how to start one run of it.
struct Peer {
    name: &'static str,
    cmd: Result<Command, String>,
}

/// nginx serving `root/1k` on a free port: one process (`master_process off`, so
/// that killing it leaves no worker behind).
pub fn nginx(dir: &Path) -> Result<(Guard, u16), String> {
    let nginx = tool("nginx")?;
    let port = free_port()?;
    let d = dir.display();
    let conf = format!(
        "daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log error;
events {{ worker_connections 8192; }}
http {{ access_log off; keepalive_requests 1000000; keepalive_timeout 75s;
  client_body_temp_path {d}/b; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f;
  uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;
  server {{ listen 127.0.0.1:{port} backlog=4096; root {d}/root; }} }}\n"
    );
    std::fs::create_dir_all(dir.join("root")).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("root/1k"), vec![b'x'; BODY]).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("nginx.conf"), conf).map_err(|e| e.to_string())?;
    let guard = start_server(
        Command::new(nginx)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf")),
        port,
    )?;
    Ok((guard, port))
}

/// The venv's Python with aiohttp (installed by pip on first use).
fn aiohttp_python() -> Result<PathBuf, String> {
    let venv = python::venv_dir();
    let py = venv.join("bin/python");
    if !py.is_file() {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status();
        if !matches!(ok, Ok(s) if s.success()) {
            return Err(format!("cannot create the venv {}", venv.display()));
        }
    }
    let has = |py: &Path| {
        Command::new(py)
            .args(["-c", "import aiohttp"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has(&py) {
        eprintln!("python: pip install aiohttp into {}", venv.display());
        let _ = Command::new(&py)
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "aiohttp",
            ])
            .status();
        if !has(&py) {
            return Err("aiohttp could not be installed in the bench venv".into());
        }
    }
    Ok(py)
}

fn peers(dir: &Path, urls: &Path, port: u16) -> Vec<Peer> {
    let exe = std::env::current_exe().unwrap_or_default();
    let bin_dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let boucle = bin_dir.join("boucle");
    let conc = CONCURRENCY.to_string();
    let boucle_cmd = if boucle.is_file() {
        let mut c = Command::new(&boucle);
        c.args([
            "fetch",
            "-c",
            &conc,
            "--per-host",
            &conc,
            "--retries",
            "0",
            "-i",
        ])
        .arg(urls);
        Ok(c)
    } else {
        Err(format!(
            "{} is missing: cargo build --release -p boucle-cli",
            boucle.display()
        ))
    };
    let reqwest = |flavour: &str| {
        let mut c = Command::new(&exe);
        c.args(["http-worker", flavour]).arg(urls).arg(&conc);
        Ok(c)
    };
    let aiohttp = aiohttp_python().map(|py| {
        let mut c = Command::new(py);
        c.arg(python::repo_root().join("crates/bench/python/http_fetch.py"))
            .arg(urls)
            .arg(&conc);
        c
    });
    let curl = tool("curl").and_then(|curl| {
        let config = dir.join("curl.conf");
        let n = std::fs::read_to_string(urls)
            .map_err(|e| e.to_string())?
            .lines()
            .count();
        let mut text = String::new();
        for _ in 0..n {
            text.push_str(&format!(
                "url = \"http://127.0.0.1:{port}/1k\"\noutput = \"/dev/null\"\n"
            ));
        }
        std::fs::write(&config, text).map_err(|e| e.to_string())?;
        let mut c = Command::new(curl);
        c.args(["--parallel", "--parallel-max", &conc, "--fail", "-s", "-K"])
            .arg(config);
        Ok(c)
    });
    vec![
        Peer {
            name: "boucle fetch",
            cmd: boucle_cmd,
        },
        Peer {
            name: "reqwest (tokio current_thread)",
            cmd: reqwest("reqwest-ct"),
        },
        Peer {
            name: "reqwest (tokio multi_thread)",
            cmd: reqwest("reqwest-mt"),
        },
        Peer {
            name: "aiohttp (asyncio)",
            cmd: aiohttp,
        },
        Peer {
            name: "curl --parallel",
            cmd: curl,
        },
    ]
}

/// Runs the rounds and returns the table.
pub fn run(opts: &Opts) -> Result<String, String> {
    let requests = if opts.quick { 5_000 } else { 20_000 };
    let scratch = Scratch::new("http-fetch")?;
    let (_nginx, port) = nginx(&scratch.0)?;
    let urls = scratch.0.join("urls.txt");
    let list: String = (0..requests)
        .map(|_| format!("http://127.0.0.1:{port}/1k\n"))
        .collect();
    std::fs::write(&urls, list).map_err(|e| e.to_string())?;
    let mut peers = peers(&scratch.0, &urls, port);
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); peers.len()];
    let mut failures: Vec<Option<String>> = peers
        .iter()
        .map(|p| p.cmd.as_ref().err().cloned())
        .collect();
    for round in 0..=opts.runs {
        for (i, peer) in peers.iter_mut().enumerate() {
            if failures[i].is_some() {
                continue;
            }
            let Ok(cmd) = &mut peer.cmd else { continue };
            let start = Instant::now();
            let out = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output();
            let ms = start.elapsed().as_secs_f64() * 1e3;
            match out {
                Ok(o) if o.status.success() => {
                    let which = if round == 0 {
                        "warm-up".into()
                    } else {
                        format!("round {round}")
                    };
                    eprintln!("  http::fetch {:<32} {which:<9} {ms:8.1} ms", peer.name);
                    if round > 0 {
                        times[i].push(ms);
                    }
                }
                Ok(o) => {
                    let err = String::from_utf8_lossy(&o.stderr);
                    failures[i] = Some(format!(
                        "{}: {}",
                        o.status,
                        err.lines().last().unwrap_or("")
                    ));
                }
                Err(e) => failures[i] = Some(e.to_string()),
            }
        }
    }
    let base = median(&times[0]);
    let rows = peers
        .iter()
        .enumerate()
        .map(|(i, p)| match &failures[i] {
            Some(e) => vec![
                p.name.to_string(),
                format!("unavailable: {e}"),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ],
            None => {
                let m = median(&times[i]);
                let (lo, hi) = times[i]
                    .iter()
                    .fold((f64::MAX, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
                vec![
                    p.name.to_string(),
                    format!("{m:.0}"),
                    format!("{lo:.0}"),
                    format!("{hi:.0}"),
                    format!("{:.0}", requests as f64 / (m / 1e3)),
                    format!("{:.2}", base / m),
                ]
            }
        })
        .collect::<Vec<_>>();
    Ok(table(
        &format!(
            "http::fetch  {requests} GETs of a 1 KiB file from nginx (one process), {CONCURRENCY} at a time; median of {} rounds",
            opts.runs
        ),
        &["peer", "wall ms", "min", "max", "requests/s", "boucle / peer wall (< 1: boucle faster)"],
        &rows,
        "wall = spawn to exit of the peer's process (start-up included); every peer checks each status (curl --fail).",
    ))
}
