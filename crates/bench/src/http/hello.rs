//! `http::hello`: the hello server under wrk (HTTP/1.1) and h2load (HTTP/2).

use std::process::Command;
use std::time::Duration;

use super::{free_port, median, start_server, table, tool, Opts};

/// One load run's numbers.
#[derive(Clone, Copy, Debug, Default)]
struct Load {
    rps: f64,
    /// wrk: p99 latency; h2load: mean time per request.
    latency_us: f64,
}

/// `12.34ms`, `850.00us`, `1.20s` in microseconds.
fn parse_duration_us(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1e6)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|v| v * mult)
}

fn parse_wrk(out: &str) -> Option<Load> {
    let rps = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))?
        .trim()
        .parse()
        .ok()?;
    let p99 = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .and_then(parse_duration_us)?;
    if out.contains("Non-2xx")
        || out.contains("Socket errors")
            && !out.contains("Socket errors: connect 0, read 0, write 0, timeout 0")
    {
        return None;
    }
    Some(Load {
        rps,
        latency_us: p99,
    })
}

fn parse_h2load(out: &str) -> Option<Load> {
    let finished = out.lines().find(|l| l.starts_with("finished in"))?;
    let rps = finished
        .split(',')
        .nth(1)?
        .trim()
        .strip_suffix("req/s")?
        .trim()
        .parse()
        .ok()?;
    let req = out
        .lines()
        .find(|l| l.trim_start().starts_with("time for request:"))?;
    let cols: Vec<&str> = req.split(':').nth(1)?.split_whitespace().collect();
    let mean = parse_duration_us(cols.get(2)?)?;
    let status = out.lines().find(|l| l.starts_with("requests:"))?;
    if !status.contains(" 0 failed, 0 errored") {
        return None;
    }
    Some(Load {
        rps,
        latency_us: mean,
    })
}

const SERVERS: [(&str, &str); 4] = [
    ("boucle-http", "hello-boucle"),
    (
        "boucle-http, header_read_timeout(None)",
        "hello-boucle-notimer",
    ),
    ("hyper on tokio current_thread", "hello-tokio-ct"),
    ("hyper on tokio multi_thread (1 worker)", "hello-tokio-mt1"),
];

/// Runs the rounds and returns the table.
pub fn run(opts: &Opts) -> Result<String, String> {
    let wrk = tool("wrk")?;
    let h2load = tool("h2load")?;
    let secs = if opts.quick { 2 } else { 5 };
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut h1: Vec<Vec<Load>> = vec![Vec::new(); SERVERS.len()];
    let mut h2: Vec<Vec<Load>> = vec![Vec::new(); SERVERS.len()];
    for round in 0..=opts.runs {
        for (i, (name, worker)) in SERVERS.iter().enumerate() {
            let port = free_port()?;
            let _server = start_server(
                Command::new(&exe).args(["http-worker", worker, &port.to_string()]),
                port,
            )?;
            let url = format!("http://127.0.0.1:{port}/");
            let out = Command::new(&wrk)
                .args([
                    "-t",
                    "1",
                    "-c",
                    "256",
                    "-d",
                    &format!("{secs}s"),
                    "--latency",
                    &url,
                ])
                .output()
                .map_err(|e| format!("wrk: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            let w = parse_wrk(&text)
                .ok_or_else(|| format!("{name}: wrk failed or saw errors:\n{text}"))?;
            std::thread::sleep(Duration::from_millis(200));
            let out = Command::new(&h2load)
                .args([
                    "-t",
                    "1",
                    "-c",
                    "64",
                    "-m",
                    "10",
                    "-D",
                    &secs.to_string(),
                    &url,
                ])
                .output()
                .map_err(|e| format!("h2load: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            let h = parse_h2load(&text)
                .ok_or_else(|| format!("{name}: h2load failed or saw errors:\n{text}"))?;
            let which = if round == 0 {
                "warm-up".into()
            } else {
                format!("round {round}")
            };
            eprintln!(
                "  http::hello {name:<40} {which:<9} h1 {:9.0} req/s p99 {:7.0} us | h2 {:9.0} req/s mean {:7.0} us",
                w.rps, w.latency_us, h.rps, h.latency_us
            );
            if round > 0 {
                h1[i].push(w);
                h2[i].push(h);
            }
        }
    }
    let med = |v: &[Load], f: fn(&Load) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
    let (b1, b2) = (med(&h1[0], |l| l.rps), med(&h2[0], |l| l.rps));
    let rows = SERVERS
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let (r1, r2) = (med(&h1[i], |l| l.rps), med(&h2[i], |l| l.rps));
            vec![
                name.to_string(),
                format!("{r1:.0}"),
                format!("{:.0}", med(&h1[i], |l| l.latency_us)),
                format!("{:.2}", b1 / r1),
                format!("{r2:.0}"),
                format!("{:.0}", med(&h2[i], |l| l.latency_us)),
                format!("{:.2}", b2 / r2),
            ]
        })
        .collect::<Vec<_>>();
    Ok(table(
        &format!(
            "http::hello  \"Hello, World!\" server; wrk -t 1 -c 256 -d {secs}s (HTTP/1.1) and h2load -t 1 -c 64 -m 10 -D {secs} (HTTP/2 prior knowledge); median of {} rounds",
            opts.runs
        ),
        &["server", "h1 req/s", "h1 p99 us", "boucle/peer", "h2 req/s", "h2 mean us", "boucle/peer"],
        &rows,
        "each server is a fresh process per round, one thread serving; the load generator gets the other core. \
boucle-http serves with its defaults (30 s header-read timeout on BoucleTimer: one timer task per request that waits for its head), and without that timeout; the tokio servers use hyper-util's auto builder (no timer, so no header-read timeout).",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wrk_and_h2load() {
        let wrk = "Running 5s test\n  Latency Distribution\n     50%    1.00ms\n     99%    2.50ms\n  1000 requests in 5.00s\nRequests/sec:  12345.67\n";
        let l = parse_wrk(wrk).unwrap();
        assert_eq!((l.rps, l.latency_us), (12345.67, 2500.0));
        let h2 = "finished in 5.00s, 98765.43 req/s, 1.2MB/s\nrequests: 100 total, 100 started, 100 done, 100 succeeded, 0 failed, 0 errored, 0 timeout\n                     min         max         mean         sd        +/- sd\ntime for request:      100us     20.00ms      6.50ms      1.00ms    80.00%\n";
        let l = parse_h2load(h2).unwrap();
        assert_eq!((l.rps, l.latency_us), (98765.43, 6500.0));
        assert!(parse_wrk("nothing").is_none());
    }
}
