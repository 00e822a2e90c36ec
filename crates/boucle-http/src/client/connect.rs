//! Opening a connection: TCP (boucle::net), TLS (futures-rustls) and the
//! HTTP handshake (hyper's `client::conn`), the connection task spawned on
//! the loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use boucle::net::TcpStream;
use hyper::client::conn::{http1, http2};

use super::pool::{Key, Sender};
use super::Config;
use crate::error::{Error, ErrorKind, TimeoutKind};
use crate::rt::{BoucleIo, BoucleTimer, LocalExecutor};
use crate::tls::{self, ALPN_H2};

/// Opens a connection to `key` within the connect timeout.
pub(crate) async fn connect(config: &Config, key: &Key) -> Result<Sender, Error> {
    let open = open(config, key);
    match config.timeout.connect_limit() {
        Some(limit) => match boucle::timeout(limit, open).await {
            Ok(r) => r,
            Err(_) => Err(Error::timeout(
                TimeoutKind::Connect,
                limit,
                format_args!("connecting to {key}"),
            )),
        },
        None => open.await,
    }
}

async fn open(config: &Config, key: &Key) -> Result<Sender, Error> {
    let tcp = tcp(key).await?;
    // Small requests and responses: no Nagle delay (asyncio sets it too).
    let _ = tcp.set_nodelay(true);
    if !key.https {
        return if config.http2_prior_knowledge {
            handshake_h2(config, key, BoucleIo::new(tcp)).await
        } else {
            handshake_h1(key, BoucleIo::new(tcp)).await
        };
    }
    let host = url::Host::parse(&key.host)
        .or_else(|_| url::Host::parse(&format!("[{}]", key.host)))
        .map_err(|e| {
            Error::new(ErrorKind::InvalidUrl, format!("bad host {:?}", key.host)).with_source(e)
        })?;
    let name = tls::server_name(&match &host {
        url::Host::Domain(d) => url::Host::Domain(d.as_str()),
        url::Host::Ipv4(a) => url::Host::Ipv4(*a),
        url::Host::Ipv6(a) => url::Host::Ipv6(*a),
    })?;
    let connector = futures_rustls::TlsConnector::from(Arc::clone(&config.tls));
    let stream = connector
        .connect(name, tcp)
        .await
        .map_err(|e| tls_error(key, e))?;
    let h2 = stream.get_ref().1.alpn_protocol() == Some(ALPN_H2);
    // rustls makes one record per write: let hyper flatten its buffers.
    let io = BoucleIo::without_vectored_writes(stream);
    if h2 {
        handshake_h2(config, key, io).await
    } else {
        handshake_h1(key, io).await
    }
}

async fn tcp(key: &Key) -> Result<TcpStream, Error> {
    let fail = |e: std::io::Error| {
        Error::new(ErrorKind::Connect, format!("cannot connect to {key}")).with_source(e)
    };
    // An IP literal needs no resolver trip to the blocking pool.
    if let Ok(ip) = key.host.parse::<std::net::IpAddr>() {
        return TcpStream::connect(SocketAddr::new(ip, key.port))
            .await
            .map_err(fail);
    }
    TcpStream::connect((key.host.as_str(), key.port))
        .await
        .map_err(fail)
}

/// A TLS failure, with rustls's reason (unknown issuer, name mismatch...).
fn tls_error(key: &Key, e: std::io::Error) -> Error {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    let what = match inner {
        Some(rustls::Error::InvalidCertificate(cert)) => {
            format!(
                "TLS handshake with {key} failed: invalid certificate: {}",
                describe(cert)
            )
        }
        Some(other) => format!("TLS handshake with {key} failed: {other}"),
        None => {
            return Error::new(ErrorKind::Tls, format!("TLS handshake with {key} failed"))
                .with_source(e)
        }
    };
    Error::new(ErrorKind::Tls, what)
}

fn describe(e: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    match e {
        C::UnknownIssuer => "issued by an unknown certificate authority".into(),
        C::NotValidForName => "not valid for this host name".into(),
        C::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "not valid for {} (it names {})",
            expected.to_str(),
            presented.join(", ")
        ),
        C::Expired | C::ExpiredContext { .. } => "expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "not valid yet".into(),
        C::BadSignature => "bad signature".into(),
        other => format!("{other:?}"),
    }
}

async fn handshake_h1<T>(key: &Key, io: BoucleIo<T>) -> Result<Sender, Error>
where
    BoucleIo<T>: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
{
    let (tx, conn) = http1::Builder::new()
        .handshake(io)
        .await
        .map_err(|e| handshake_error(key, e))?;
    LocalExecutor.spawn(conn);
    Ok(Sender::H1(tx))
}

async fn handshake_h2<T>(config: &Config, key: &Key, io: BoucleIo<T>) -> Result<Sender, Error>
where
    BoucleIo<T>: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
{
    let mut builder = http2::Builder::new(LocalExecutor);
    builder.timer(BoucleTimer);
    if let Some(interval) = config.http2_keep_alive {
        builder
            .keep_alive_interval(interval)
            .keep_alive_timeout(interval.max(Duration::from_secs(1)) * 2);
    }
    let (tx, conn) = builder
        .handshake(io)
        .await
        .map_err(|e| handshake_error(key, e))?;
    LocalExecutor.spawn(conn);
    Ok(Sender::H2(tx))
}

fn handshake_error(key: &Key, e: hyper::Error) -> Error {
    Error::new(
        ErrorKind::Connect,
        format!("HTTP handshake with {key} failed"),
    )
    .with_source(e)
}
