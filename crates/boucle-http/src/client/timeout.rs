//! `ClientTimeout`: aiohttp's `ClientTimeout`, split the same way.

use std::time::Duration;

/// How long a request may take, split as aiohttp's `ClientTimeout` is.
///
/// | field | aiohttp | what it bounds | default |
/// | --- | --- | --- | --- |
/// | [`total`](ClientTimeout::total) | `total` | the whole request: pool wait, connect, headers, every body byte | 300 s |
/// | [`connect`](ClientTimeout::connect) | `sock_connect` | opening one connection: DNS, TCP, TLS, HTTP/2 handshake | 30 s |
/// | [`read`](ClientTimeout::read) | `sock_read` | waiting for the response headers, then between two reads of the body | none |
/// | [`pool`](ClientTimeout::pool) | `connect` minus `sock_connect` | waiting for a free connection at `limit` / `limit_per_host` | none |
///
/// The timeout that expires names itself in the error
/// ([`TimeoutKind`](crate::TimeoutKind)).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use boucle_http::ClientTimeout;
///
/// let t = ClientTimeout::new()
///     .total(Duration::from_secs(10))
///     .read(Duration::from_secs(2));
/// assert_eq!(t.total_limit(), Some(Duration::from_secs(10)));
/// assert_eq!(t.connect_limit(), Some(Duration::from_secs(30)));
/// assert_eq!(ClientTimeout::none().connect_limit(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientTimeout {
    total: Option<Duration>,
    connect: Option<Duration>,
    read: Option<Duration>,
    pool: Option<Duration>,
}

impl Default for ClientTimeout {
    fn default() -> ClientTimeout {
        ClientTimeout::new()
    }
}

impl ClientTimeout {
    /// The defaults: total 300 s, connect 30 s, no read or pool limit.
    ///
    /// # Examples
    /// See [`ClientTimeout`].
    pub const fn new() -> ClientTimeout {
        ClientTimeout {
            total: Some(Duration::from_secs(300)),
            connect: Some(Duration::from_secs(30)),
            read: None,
            pool: None,
        }
    }

    /// No limit at all.
    ///
    /// # Examples
    /// See [`ClientTimeout`].
    pub const fn none() -> ClientTimeout {
        ClientTimeout {
            total: None,
            connect: None,
            read: None,
            pool: None,
        }
    }

    /// Bounds the whole request.
    ///
    /// # Examples
    /// See [`ClientTimeout`].
    pub const fn total(mut self, d: Duration) -> ClientTimeout {
        self.total = Some(d);
        self
    }

    /// Bounds opening a connection.
    ///
    /// # Examples
    /// See [`ClientTimeout`].
    pub const fn connect(mut self, d: Duration) -> ClientTimeout {
        self.connect = Some(d);
        self
    }

    /// Bounds the wait for the headers, and each wait for body bytes.
    ///
    /// # Examples
    /// See [`ClientTimeout`].
    pub const fn read(mut self, d: Duration) -> ClientTimeout {
        self.read = Some(d);
        self
    }

    /// Bounds the wait for a free connection in the pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = boucle_http::ClientTimeout::new().pool(Duration::from_secs(1));
    /// assert_eq!(t.pool_limit(), Some(Duration::from_secs(1)));
    /// ```
    pub const fn pool(mut self, d: Duration) -> ClientTimeout {
        self.pool = Some(d);
        self
    }

    /// Removes the total limit.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(boucle_http::ClientTimeout::new().no_total().total_limit(), None);
    /// ```
    pub const fn no_total(mut self) -> ClientTimeout {
        self.total = None;
        self
    }

    /// Removes the connect limit.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(boucle_http::ClientTimeout::new().no_connect().connect_limit(), None);
    /// ```
    pub const fn no_connect(mut self) -> ClientTimeout {
        self.connect = None;
        self
    }

    /// The total limit.
    ///
    /// # Examples
    /// See [`ClientTimeout`].
    pub const fn total_limit(&self) -> Option<Duration> {
        self.total
    }

    /// The connect limit.
    ///
    /// # Examples
    /// See [`ClientTimeout`].
    pub const fn connect_limit(&self) -> Option<Duration> {
        self.connect
    }

    /// The read limit.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(boucle_http::ClientTimeout::new().read_limit(), None);
    /// ```
    pub const fn read_limit(&self) -> Option<Duration> {
        self.read
    }

    /// The pool limit.
    ///
    /// # Examples
    /// See [`pool`](ClientTimeout::pool).
    pub const fn pool_limit(&self) -> Option<Duration> {
        self.pool
    }
}
