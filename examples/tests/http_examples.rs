//! The HTTP examples against local servers: the seed's scraper (as a
//! function and as the binary, with local URLs on its command line) and
//! the hello server (as the binary, driven by boucle-http's client).

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use boucle_examples::scraper_web::{self, Resultat};
use boucle_examples::Console;
use boucle_http::server::{serve, service_fn, text};

/// Pages: `/a` ("abc"), `/e` ("é" twice: 2 characters, 4 bytes),
/// `/big` (10,000 x), anything else a 404 page "introuvable".
async fn pages() -> SocketAddr {
    let listener = boucle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = serve(
        listener,
        service_fn(|req: http::Request<hyper::body::Incoming>| async move {
            let mut r = match req.uri().path() {
                "/a" => text("abc"),
                "/e" => text("éé"),
                "/big" => text("x".repeat(10_000)),
                _ => text("introuvable"),
            };
            if !["/a", "/e", "/big"].contains(&req.uri().path()) {
                *r.status_mut() = http::StatusCode::NOT_FOUND;
            }
            Ok::<_, Infallible>(r)
        }),
    );
    drop(boucle::spawn(server.run()));
    addr
}

/// An address nothing listens on, so that connecting is refused: port 1
/// (tcpmux, unused) on a loopback address no other test binds. A port freed
/// by binding port 0 was refused only most of the time: the client's own
/// ephemeral port can be that same number (a connection to itself), or a
/// server of a test running beside this one can take it, and either resets
/// the connection instead.
const CLOSED_HOST: &str = "127.0.0.6";
const CLOSED_PORT: u16 = 1;

#[test]
fn scraper_web_gathers_a_result_per_url_in_order() {
    let (console, captured) = Console::capture();
    let port = CLOSED_PORT;
    let results = boucle::run(async move {
        let addr = pages().await;
        let urls = vec![
            format!("http://{addr}/a"),
            format!("http://{addr}/big"),
            format!("http://{CLOSED_HOST}:{port}/"),
            format!("http://{addr}/e"),
            "pas une url".to_string(),
            format!("http://{addr}/manquante"),
        ];
        scraper_web::main(console, urls, Instant::now)
            .await
            .unwrap()
    });
    assert_eq!(results.len(), 6);
    assert!(matches!(&results[0], Resultat::Succes { taille: 3, .. }));
    assert!(matches!(
        &results[1],
        Resultat::Succes { taille: 10_000, .. }
    ));
    assert!(
        matches!(&results[2], Resultat::Erreur { erreur, .. } if erreur.contains("cannot connect")),
        "{:?}",
        results[2]
    );
    // len(contenu) counts characters, not bytes.
    assert!(matches!(&results[3], Resultat::Succes { taille: 2, .. }));
    assert!(
        matches!(&results[4], Resultat::Erreur { erreur, .. } if erreur.contains("invalid URL"))
    );
    // No raise_for_status in the seed: a 404 page is a page.
    assert!(matches!(&results[5], Resultat::Succes { taille: 11, .. }));
    let lines = captured.lines();
    assert_eq!(lines[0], "Téléchargement des pages...");
    assert_eq!(lines[1], "");
    assert_eq!(lines[2], "=== Résultats ===");
    assert!(
        lines[3].starts_with("✓ http://") && lines[3].ends_with("/a: 3 bytes"),
        "{}",
        lines[3]
    );
    assert!(
        lines[5].starts_with(&format!("✗ http://{CLOSED_HOST}:{port}/: cannot connect")),
        "{}",
        lines[5]
    );
    assert_eq!(lines[9], "");
    let total = lines[10]
        .strip_prefix("Temps total: ")
        .and_then(|t| t.strip_suffix('s'))
        .unwrap();
    let secs: f64 = total.parse().unwrap();
    assert!(secs < 5.0, "{}", lines[10]);
    assert_eq!(lines.len(), 11);
}

/// A cargo example's binary: `cargo test` builds them beside the tests.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(name);
    assert!(path.exists(), "{} not built: run `cargo test -p boucle-examples` (it builds the examples; `--test http_examples` alone does not)", path.display());
    path
}

#[test]
fn the_scraper_binary_takes_its_urls_from_the_command_line() {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        boucle::run(async move {
            tx.send(pages().await).unwrap();
            // Serve until told (bounded: 20 s).
            for _ in 0..2000 {
                if stop_rx.try_recv().is_ok() {
                    break;
                }
                boucle::sleep(Duration::from_millis(10)).await;
            }
        })
    });
    let addr: SocketAddr = rx.recv().unwrap();
    let out = Command::new(example("004_scraper_web"))
        .args([format!("http://{addr}/a"), format!("http://{addr}/big")])
        .output()
        .unwrap();
    stop_tx.send(()).unwrap();
    server.join().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[..3],
        ["Téléchargement des pages...", "", "=== Résultats ==="]
    );
    assert_eq!(lines[3], format!("✓ http://{addr}/a: 3 bytes"));
    assert_eq!(lines[4], format!("✓ http://{addr}/big: 10000 bytes"));
    assert!(lines[6].starts_with("Temps total: "), "{stdout}");
}

#[test]
fn the_hello_server_serves_http1_and_h2c_then_stops_gracefully() {
    let mut child = Command::new(example("http_hello_server"))
        .args(["0", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    boucle::run(async move {
        let h1 = boucle_http::Client::new();
        let r = h1.get(&url).send().await.unwrap();
        assert_eq!(r.version(), http::Version::HTTP_11);
        assert_eq!(r.text().await.unwrap(), "Hello, World!");
        let h2 = boucle_http::Client::builder()
            .http2_prior_knowledge()
            .build()
            .unwrap();
        for _ in 0..2 {
            let r = h2.get(&url).send().await.unwrap();
            assert_eq!(r.version(), http::Version::HTTP_2);
            assert_eq!(r.text().await.unwrap(), "Hello, World!");
        }
    });
    let mut last = String::new();
    out.read_line(&mut last).unwrap();
    assert!(last.starts_with("served 3 requests;"), "{last}");
    let status = child.wait().unwrap();
    assert!(status.success());
}
