//! HTTPS with a CA and a server certificate made at test time (rcgen):
//! success with HTTP/2 or HTTP/1.1 by ALPN, and clear failures for a wrong
//! host name and an unknown CA.

mod common;

use std::net::SocketAddr;

use boucle::net::TcpListener;
use boucle_http::server::{hello, serve};
use boucle_http::{Client, ErrorKind};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

/// A CA, and a certificate it signs for `names` (DNS names).
fn make_pki(names: &[&str]) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "boucle test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

async fn tls_server(pki: &Pki, bind: &str) -> SocketAddr {
    let config =
        boucle_http::tls::server_config(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes()).unwrap();
    let listener = TcpListener::bind(bind).await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(boucle::spawn(
        serve(listener, hello("secret hello")).tls(config).run(),
    ));
    addr
}

#[boucle::test]
async fn https_with_a_trusted_ca_speaks_h2_by_alpn() {
    let pki = make_pki(&["localhost"]);
    let addr = tls_server(&pki, "127.0.0.1:0").await;
    let client = Client::builder()
        .add_root_certificate(pki.ca_pem.as_bytes())
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/", addr.port());
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.version(), http::Version::HTTP_2);
    assert_eq!(r.text().await.unwrap(), "secret hello");
    // Many requests share the one HTTP/2 connection.
    let jobs = (0..10).map(|_| {
        let (client, url) = (client.clone(), url.clone());
        async move { client.get(&url).send().await?.text().await }
    });
    for r in boucle::gather(jobs).await {
        assert_eq!(r.unwrap(), "secret hello");
    }
    assert_eq!(client.pool_stats().open, 1);
    // HTTP/1.1 when the client offers only that.
    let h1 = Client::builder()
        .add_root_certificate(pki.ca_pem.as_bytes())
        .http1_only()
        .build()
        .unwrap();
    let r = h1.get(&url).send().await.unwrap();
    assert_eq!(r.version(), http::Version::HTTP_11);
    assert_eq!(r.text().await.unwrap(), "secret hello");
}

#[boucle::test]
async fn https_over_ipv6_loopback() {
    if !common::has_ipv6_loopback() {
        return;
    }
    let pki = make_pki(&["localhost"]);
    let addr = tls_server(&pki, "[::1]:0").await;
    // The certificate names "localhost": reach ::1 by that name when the
    // resolver maps it there (each address is tried in turn).
    use std::net::ToSocketAddrs;
    let maps_to_v6 = ("localhost", 0)
        .to_socket_addrs()
        .map(|mut a| a.any(|a| a.is_ipv6()))
        .unwrap_or(false);
    if maps_to_v6 {
        let client = Client::builder()
            .add_root_certificate(pki.ca_pem.as_bytes())
            .build()
            .unwrap();
        let r = client
            .get(format!("https://localhost:{}/", addr.port()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap(), "secret hello");
    } else {
        eprintln!("note: localhost does not resolve to ::1 here; only the by-address case runs");
    }
    let insecure = Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let r = insecure
        .get(format!("https://[::1]:{}/", addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "secret hello");
}

#[boucle::test]
async fn a_wrong_host_name_fails_clearly() {
    let pki = make_pki(&["good.example"]);
    let addr = tls_server(&pki, "127.0.0.1:0").await;
    let client = Client::builder()
        .add_root_certificate(pki.ca_pem.as_bytes())
        .build()
        .unwrap();
    let err = client
        .get(format!("https://127.0.0.1:{}/", addr.port()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{}", addr.port())),
        "{text}"
    );
    assert!(text.contains("not valid for"), "{text}");
    assert!(
        text.contains("good.example"),
        "names what the certificate is for: {text}"
    );
}

#[boucle::test]
async fn an_unknown_ca_fails_clearly_unless_checks_are_off() {
    let pki = make_pki(&["localhost"]);
    let addr = tls_server(&pki, "127.0.0.1:0").await;
    let url = format!("https://localhost:{}/", addr.port());
    // Mozilla's roots only: this CA is unknown.
    let err = Client::new().get(&url).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    let text = err.to_string();
    assert!(text.contains("unknown certificate authority"), "{text}");
    assert!(
        text.contains(&format!("localhost:{}", addr.port())),
        "{text}"
    );
    // Another CA's root does not help.
    let other = make_pki(&["localhost"]);
    let wrong = Client::builder()
        .add_root_certificate(other.ca_pem.as_bytes())
        .build()
        .unwrap();
    assert_eq!(
        wrong.get(&url).send().await.unwrap_err().kind(),
        ErrorKind::Tls
    );
    // The loudly named switch turns every check off.
    let insecure = Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert_eq!(
        insecure
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "secret hello"
    );
}

#[boucle::test]
async fn plain_http_to_a_tls_port_is_an_error_not_a_hang() {
    let pki = make_pki(&["localhost"]);
    let addr = tls_server(&pki, "127.0.0.1:0").await;
    let client = Client::builder()
        .timeout(boucle_http::ClientTimeout::new().total(std::time::Duration::from_secs(5)))
        .build()
        .unwrap();
    let err = client
        .get(format!("http://127.0.0.1:{}/", addr.port()))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Request | ErrorKind::Connect),
        "{err}"
    );
}
