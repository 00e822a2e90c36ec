//! Address resolution: [`ToSocketAddrs`] and [`lookup_host`].
//!
//! Literal addresses (`"127.0.0.1:8080"`, `("::1", 80)`, a `SocketAddr`)
//! resolve on the spot. Host names go to the blocking pool, where the
//! system resolver (`getaddrinfo`) runs, as asyncio's `loop.getaddrinfo`
//! does with its default executor.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::runtime::spawn_blocking;

/// Something that names one or more socket addresses: a `SocketAddr`, an
/// `(ip, port)` pair, a `"host:port"` string or a `(host, port)` pair, or a
/// slice of `SocketAddr`s.
///
/// Host names are resolved on the blocking pool (the system resolver
/// blocks), literal addresses without leaving the loop. The trait is sealed:
/// its method is internal.
///
/// # Examples
///
/// ```
/// boucle::run(async {
///     let addrs = boucle::net::lookup_host("127.0.0.1:80").await.unwrap();
///     assert_eq!(addrs, ["127.0.0.1:80".parse().unwrap()]);
///     let addrs = boucle::net::lookup_host(("localhost", 80)).await.unwrap();
///     assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
/// });
/// ```
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

#[doc(hidden)]
pub(crate) mod sealed {
    use std::net::SocketAddr;

    /// How an address argument resolves.
    #[derive(Debug)]
    pub enum Resolve {
        /// Already known.
        Done(Vec<SocketAddr>),
        /// A host name (and port, unless the string holds it) to look up.
        Lookup(String, Option<u16>),
    }

    /// The internal half of [`super::ToSocketAddrs`].
    pub trait ToSocketAddrsPriv {
        /// Resolves literals; names what needs a lookup.
        fn to_resolve(&self) -> Resolve;
    }
}

use sealed::{Resolve, ToSocketAddrsPriv};

macro_rules! literal {
    ($($t:ty => |$s:ident| $e:expr;)*) => {$(
        impl ToSocketAddrs for $t {}
        impl ToSocketAddrsPriv for $t {
            fn to_resolve(&self) -> Resolve {
                let $s = self;
                Resolve::Done(vec![$e])
            }
        }
    )*};
}

literal! {
    SocketAddr => |s| *s;
    SocketAddrV4 => |s| SocketAddr::V4(*s);
    SocketAddrV6 => |s| SocketAddr::V6(*s);
    (IpAddr, u16) => |s| SocketAddr::new(s.0, s.1);
    (Ipv4Addr, u16) => |s| SocketAddr::new(IpAddr::V4(s.0), s.1);
    (Ipv6Addr, u16) => |s| SocketAddr::new(IpAddr::V6(s.0), s.1);
}

impl ToSocketAddrs for str {}
impl ToSocketAddrsPriv for str {
    fn to_resolve(&self) -> Resolve {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Resolve::Done(vec![addr]),
            Err(_) => Resolve::Lookup(self.to_owned(), None),
        }
    }
}

impl ToSocketAddrs for String {}
impl ToSocketAddrsPriv for String {
    fn to_resolve(&self) -> Resolve {
        self.as_str().to_resolve()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl ToSocketAddrsPriv for (&str, u16) {
    fn to_resolve(&self) -> Resolve {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Resolve::Done(vec![SocketAddr::new(ip, self.1)]),
            Err(_) => Resolve::Lookup(self.0.to_owned(), Some(self.1)),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl ToSocketAddrsPriv for (String, u16) {
    fn to_resolve(&self) -> Resolve {
        (self.0.as_str(), self.1).to_resolve()
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl ToSocketAddrsPriv for [SocketAddr] {
    fn to_resolve(&self) -> Resolve {
        Resolve::Done(self.to_vec())
    }
}

impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {}
impl<const N: usize> ToSocketAddrsPriv for [SocketAddr; N] {
    fn to_resolve(&self) -> Resolve {
        Resolve::Done(self.to_vec())
    }
}

impl ToSocketAddrs for Vec<SocketAddr> {}
impl ToSocketAddrsPriv for Vec<SocketAddr> {
    fn to_resolve(&self) -> Resolve {
        Resolve::Done(self.clone())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrsPriv + ?Sized> ToSocketAddrsPriv for &T {
    fn to_resolve(&self) -> Resolve {
        (**self).to_resolve()
    }
}

/// Resolves `host` to its socket addresses (asyncio's `loop.getaddrinfo`,
/// tokio's `lookup_host`), in the order the system resolver gives them.
/// Host names are looked up on the blocking pool; literals are parsed on
/// the loop.
///
/// # Examples
///
/// ```
/// boucle::run(async {
///     let addrs = boucle::net::lookup_host("localhost:8080").await.unwrap();
///     assert!(!addrs.is_empty());
///     assert!(addrs.iter().all(|a| a.port() == 8080));
/// });
/// ```
///
/// # Cancel safety
/// Cancel-safe: dropping the future abandons the lookup (the pool thread
/// finishes it and its result is dropped).
///
/// # Errors
/// The resolver's error (unknown host, malformed `"host:port"`), or
/// `Other` if the loop shut down before the lookup ran.
///
/// # Panics
/// Outside a running loop, when a name must be looked up.
pub async fn lookup_host(host: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    resolve(&host).await
}

/// Resolves an address argument (the future does not borrow it).
pub(crate) fn resolve<A: ToSocketAddrs + ?Sized>(
    addr: &A,
) -> impl std::future::Future<Output = io::Result<Vec<SocketAddr>>> + 'static {
    let how = addr.to_resolve();
    async move {
        match how {
            Resolve::Done(addrs) => Ok(addrs),
            Resolve::Lookup(host, port) => spawn_blocking(move || {
                use std::net::ToSocketAddrs as _;
                match port {
                    Some(port) => (host.as_str(), port)
                        .to_socket_addrs()
                        .map(Iterator::collect),
                    None => host.as_str().to_socket_addrs().map(Iterator::collect),
                }
            })
            .await
            .unwrap_or_else(|e| Err(io::Error::other(format!("address lookup failed: {e}")))),
        }
    }
}

/// The error when an address argument names no address at all.
pub(crate) fn no_addresses() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any address",
    )
}

/// Tries `op` on each address in turn; returns the first success, else
/// the last error.
pub(crate) async fn each_addr<T, F, Fut>(addrs: Vec<SocketAddr>, mut op: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for addr in addrs {
        match op(addr).await {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(no_addresses))
}
