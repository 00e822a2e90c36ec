//! TLS with rustls (the `ring` provider): the client's configuration
//! (Mozilla's roots compiled in, extra roots, the loudly named way to turn
//! checks off) and a server configuration from PEM files.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, ErrorKind};

/// ALPN protocol ids, most preferred first.
pub(crate) const ALPN_H2: &[u8] = b"h2";
pub(crate) const ALPN_H1: &[u8] = b"http/1.1";

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every certificate in a PEM text (`-----BEGIN CERTIFICATE-----` blocks).
///
/// # Errors
/// `Builder` when the text holds no certificate or a malformed one.
pub(crate) fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            Error::new(ErrorKind::Builder, "malformed PEM certificate").with_source(e.to_string())
        })?;
    if certs.is_empty() {
        return Err(Error::new(
            ErrorKind::Builder,
            "no certificate found in the PEM text (expected -----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(certs)
}

/// The client's rustls configuration.
pub(crate) fn client_config(
    extra_roots: &[CertificateDer<'static>],
    accept_invalid_certs: bool,
    alpn: Vec<Vec<u8>>,
) -> Result<Arc<rustls::ClientConfig>, Error> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Builder, "TLS setup").with_source(e))?;
    let mut config = if accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in extra_roots {
            roots.add(cert.clone()).map_err(|e| {
                Error::new(ErrorKind::Builder, "cannot use the added root certificate")
                    .with_source(e)
            })?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = alpn;
    Ok(Arc::new(config))
}

/// The server name to check the certificate against.
pub(crate) fn server_name(host: &url::Host<&str>) -> Result<ServerName<'static>, Error> {
    match host {
        url::Host::Domain(d) => ServerName::try_from(d.to_string()).map_err(|e| {
            Error::new(
                ErrorKind::InvalidUrl,
                format!("{d:?} is not a valid TLS server name"),
            )
            .with_source(e)
        }),
        url::Host::Ipv4(ip) => Ok(ServerName::IpAddress(std::net::IpAddr::V4(*ip).into())),
        url::Host::Ipv6(ip) => Ok(ServerName::IpAddress(std::net::IpAddr::V6(*ip).into())),
    }
}

/// A rustls server configuration from a PEM certificate chain and a PEM
/// private key (PKCS#8, PKCS#1 or SEC1), offering HTTP/2 and HTTP/1.1 by
/// ALPN: what [`Server::tls`](crate::server::Server::tls) takes.
///
/// # Examples
///
/// ```
/// let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
/// let config = boucle_http::tls::server_config(
///     cert.cert.pem().as_bytes(),
///     cert.key_pair.serialize_pem().as_bytes(),
/// )
/// .unwrap();
/// assert_eq!(config.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
/// assert!(boucle_http::tls::server_config(b"junk", b"junk").is_err());
/// ```
///
/// # Errors
/// `Builder` when the PEM texts hold no certificate or no key, or the key
/// does not match the certificate.
pub fn server_config(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<rustls::ServerConfig>, Error> {
    let chain = certs_from_pem(cert_chain_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
        Error::new(ErrorKind::Builder, "no usable private key in the PEM text")
            .with_source(e.to_string())
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Builder, "TLS setup").with_source(e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| {
            Error::new(ErrorKind::Builder, "the key does not fit the certificate").with_source(e)
        })?;
    config.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_H1.to_vec()];
    Ok(Arc::new(config))
}

/// The verifier of `danger_accept_invalid_certs(true)`: any certificate,
/// any name. Handshake signatures are still checked, so the connection is
/// encrypted to whoever holds the certificate's key, but anyone can be
/// that.
struct AcceptAnyCert(Arc<CryptoProvider>);

impl fmt::Debug for AcceptAnyCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AcceptAnyCert")
    }
}

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
