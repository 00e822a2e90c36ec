//! `fs::hash_tree`: size, line count and SHA-256 of 10,000 files of 4-64 KiB
//! in the page cache, by `boucle files --jobs 64` and its peers, each run a
//! fresh process, rounds interleaved (A B C ... A B C ...), the first round
//! a warm-up that is thrown away.
//!
//! ```text
//! boucle-bench fs_hash_tree [--runs N] [--files N] [--jobs N]
//! ```
//!
//! Peers: `sha256sum` over the files in one sequential process;
//! `find ... -print0 | xargs -0 -P 2 sha256sum`; the same program on
//! tokio::fs (`fs_tokio.rs`, two flavours). Every peer's output is checked
//! once against `sha256sum` before timing. The physical limit printed with
//! the table is this machine's single-core SHA-256 speed (sha2, in memory)
//! times its cores.
//!
//! `boucle files` is looked up next to this binary (build both with
//! `cargo build --release -p boucle-cli -p boucle-bench`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::stats::{median, SplitMix64};

struct Tree {
    root: PathBuf,
    files: Vec<PathBuf>,
    bytes: u64,
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// `n` files of 4-64 KiB (uniform), 100 per directory, text with lines.
fn make_tree(n: usize) -> Result<Tree, String> {
    let root = std::env::temp_dir().join(format!("boucle-bench-hash-tree-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let mut rng = SplitMix64::new(7);
    let mut files = Vec::with_capacity(n);
    let mut bytes = 0;
    for i in 0..n {
        let dir = root.join(format!("d{:03}", i / 100));
        if i % 100 == 0 {
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let len = 4096 + (rng.next_u64() % (60 * 1024 + 1)) as usize;
        let data: Vec<u8> = (0..len)
            .map(|_| match rng.next_u64() % 64 {
                0 => b'\n',
                x => b' ' + x as u8,
            })
            .collect();
        let path = dir.join(format!("f{i:05}.txt"));
        std::fs::write(&path, &data).map_err(|e| format!("{}: {e}", path.display()))?;
        bytes += len as u64;
        files.push(path);
    }
    Ok(Tree { root, files, bytes })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Peer {
    Boucle,
    Sha256sum,
    XargsP2,
    TokioFs,
    TokioBlocking,
}

impl Peer {
    const ALL: [Peer; 5] = [
        Peer::Boucle,
        Peer::Sha256sum,
        Peer::XargsP2,
        Peer::TokioFs,
        Peer::TokioBlocking,
    ];

    fn name(self, jobs: usize) -> String {
        match self {
            Peer::Boucle => format!("boucle files --jobs {jobs}"),
            Peer::Sha256sum => "sha256sum (1 process, sequential)".into(),
            Peer::XargsP2 => "find \\| xargs -0 -P 2 sha256sum".into(),
            Peer::TokioFs => format!("tokio::fs File::read loop, {jobs} at once"),
            Peer::TokioBlocking => format!("tokio spawn_blocking per file, {jobs} at once"),
        }
    }

    fn command(self, tree: &Tree, jobs: usize, boucle: &Path) -> Command {
        match self {
            Peer::Boucle => {
                let mut c = Command::new(boucle);
                c.arg("files")
                    .arg("--jobs")
                    .arg(jobs.to_string())
                    .arg(&tree.root);
                c
            }
            Peer::Sha256sum => {
                let mut c = Command::new("sha256sum");
                c.args(&tree.files);
                c
            }
            Peer::XargsP2 => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg("find \"$1\" -type f -print0 | xargs -0 -P 2 sha256sum")
                    .arg("sh")
                    .arg(&tree.root);
                c
            }
            Peer::TokioFs | Peer::TokioBlocking => {
                let exe = std::env::current_exe().expect("own path");
                let flavour = if self == Peer::TokioFs {
                    "tokio-fs"
                } else {
                    "tokio-blocking"
                };
                let mut c = Command::new(exe);
                c.arg("fs-tokio-worker")
                    .arg(flavour)
                    .arg(&tree.root)
                    .arg(jobs.to_string());
                c
            }
        }
    }
}

/// `path -> hash` from sha256sum-like output (the hash first).
fn hashes(stdout: &[u8]) -> HashMap<String, String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| {
            let (hash, rest) = l.split_once("  ")?;
            // boucle and the tokio program print SIZE  LINES  PATH after it.
            let path = rest.rsplit("  ").next()?;
            Some((path.to_string(), hash.to_string()))
        })
        .collect()
}

/// Single-core SHA-256 of a buffer in memory, in MB/s (median of 5).
fn sha256_single_core() -> f64 {
    let buf = vec![0x5au8; 64 << 20];
    let mut rates = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let h = Sha256::digest(&buf);
        std::hint::black_box(h);
        rates.push(buf.len() as f64 / 1e6 / start.elapsed().as_secs_f64());
    }
    median(&rates).unwrap_or(0.0)
}

pub fn main(args: &[String]) -> Result<(), String> {
    let (mut runs, mut files, mut jobs) = (7usize, 10_000usize, 64usize);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |flag: &str| -> Result<usize, String> {
            let v = it.next().ok_or(format!("{flag} needs a value"))?;
            v.parse().map_err(|_| format!("{flag}: bad number `{v}`"))
        };
        match a.as_str() {
            "--runs" => runs = num("--runs")?.max(3),
            "--files" => files = num("--files")?.max(1),
            "--jobs" => jobs = num("--jobs")?.max(1),
            other => return Err(format!("fs_hash_tree: unknown option `{other}`")),
        }
    }
    let boucle = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("boucle");
    if !boucle.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p boucle-cli -p boucle-bench`",
            boucle.display()
        ));
    }
    eprintln!("fs::hash_tree: writing {files} files of 4-64 KiB...");
    let tree = make_tree(files)?;
    let mb = tree.bytes as f64 / 1e6;
    // Correctness first, and the page cache warm: every peer against sha256sum.
    let reference = Command::new("sha256sum")
        .args(&tree.files)
        .output()
        .map_err(|e| format!("sha256sum: {e}"))?;
    let want = hashes(&reference.stdout);
    if want.len() != files {
        return Err(format!(
            "sha256sum printed {} hashes for {files} files",
            want.len()
        ));
    }
    for peer in Peer::ALL {
        let out = peer
            .command(&tree, jobs, &boucle)
            .stderr(Stdio::null())
            .output()
            .map_err(|e| format!("{}: {e}", peer.name(jobs)))?;
        if !out.status.success() || hashes(&out.stdout) != want {
            return Err(format!(
                "{} gave wrong hashes (or failed: {})",
                peer.name(jobs),
                out.status
            ));
        }
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); Peer::ALL.len()];
    for round in 0..=runs {
        for (i, peer) in Peer::ALL.into_iter().enumerate() {
            let start = Instant::now();
            let status = peer
                .command(&tree, jobs, &boucle)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(|e| format!("{}: {e}", peer.name(jobs)))?;
            let secs = start.elapsed().as_secs_f64();
            if !status.success() {
                return Err(format!("{} failed: {status}", peer.name(jobs)));
            }
            if round > 0 {
                times[i].push(secs);
            }
        }
        eprintln!(
            "round {round}/{runs} done{}",
            if round == 0 { " (warm-up)" } else { "" }
        );
    }
    let single = sha256_single_core();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let boucle_median = median(&times[0]).unwrap_or(f64::NAN);
    println!(
        "fs::hash_tree: {files} files, {mb:.1} MB in the page cache, {runs} rounds (+1 warm-up), medians"
    );
    println!();
    println!("| program | median s | min s | MB/s | boucle speed-up |");
    println!("|---|---:|---:|---:|---:|");
    for (i, peer) in Peer::ALL.into_iter().enumerate() {
        let m = median(&times[i]).unwrap_or(f64::NAN);
        let min = times[i].iter().copied().fold(f64::INFINITY, f64::min);
        let ratio = if peer == Peer::Boucle {
            "1.00x".to_string()
        } else {
            format!("{:.2}x", m / boucle_median)
        };
        println!(
            "| {} | {m:.3} | {min:.3} | {:.0} | {ratio} |",
            peer.name(jobs),
            mb / m
        );
    }
    println!();
    println!(
        "physical limit: single-core SHA-256 (sha2, in memory) {single:.0} MB/s x {cores} cores = {:.0} MB/s; \
         boucle files reaches {:.0}% of it",
        single * cores as f64,
        100.0 * (mb / boucle_median) / (single * cores as f64)
    );
    Ok(())
}
