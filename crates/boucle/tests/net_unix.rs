//! Unix domain sockets: listener, stream, datagram, and the streams API
//! over them.

use std::io::ErrorKind;
use std::net::Shutdown;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use boucle::net::{
    open_unix_connection, start_unix_server, StreamReader, StreamWriter, UnixDatagram,
    UnixListener, UnixStream,
};

/// A fresh socket path under the temp dir, removed on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(tag: &str) -> TempPath {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!(
            "boucle-net-unix-{tag}-{}-{n}.sock",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&p);
        TempPath(p)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn listener_and_stream_echo() {
    let path = TempPath::new("echo");
    let p = path.0.clone();
    boucle::run(async move {
        let listener = UnixListener::bind(&p).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(p.as_path())
        );
        let server = boucle::spawn(async move {
            let (mut s, from) = listener.accept().await.unwrap();
            assert!(from.is_unnamed());
            let mut buf = [0u8; 64];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                s.write_all(&buf[..n]).await.unwrap();
            }
        });
        let mut c = UnixStream::connect(&p).await.unwrap();
        assert_eq!(c.peer_addr().unwrap().as_pathname(), Some(p.as_path()));
        for i in 0..20u8 {
            c.write_all(&[i; 40]).await.unwrap();
            let mut back = [0u8; 40];
            c.read_exact(&mut back).await.unwrap();
            assert_eq!(back, [i; 40]);
        }
        c.shutdown(Shutdown::Write).unwrap();
        server.await.unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(c.read(&mut buf).await.unwrap(), 0);
    });
}

#[test]
fn connect_to_a_missing_path_is_an_error() {
    let path = TempPath::new("missing");
    let p = path.0.clone();
    boucle::run(async move {
        let err = UnixStream::connect(&p).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        // A path that exists but where nobody listens any more.
        let l = std::os::unix::net::UnixListener::bind(&p).unwrap();
        drop(l);
        let err = UnixStream::connect(&p).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        // Binding over an existing path fails.
        let err = UnixListener::bind(&p).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
    });
}

#[test]
fn pairs_half_close_and_futures_io() {
    use futures_util::io::{AsyncReadExt, AsyncWriteExt};
    boucle::run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        AsyncWriteExt::write_all(&mut a, b"through futures-io")
            .await
            .unwrap();
        AsyncWriteExt::close(&mut a).await.unwrap();
        let mut all = String::new();
        AsyncReadExt::read_to_string(&mut b, &mut all)
            .await
            .unwrap();
        assert_eq!(all, "through futures-io");
        b.write_all(b"back").await.unwrap();
        let mut buf = [0u8; 4];
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"back");
        let (s1, _s2) = std::os::unix::net::UnixStream::pair().unwrap();
        let s1 = UnixStream::from_std(s1).unwrap();
        assert!(format!("{s1:?}").contains("UnixStream"));
    });
}

#[test]
fn datagrams_by_path_and_connected() {
    let server_path = TempPath::new("dgram-server");
    let client_path = TempPath::new("dgram-client");
    let (sp, cp) = (server_path.0.clone(), client_path.0.clone());
    boucle::run(async move {
        let server = UnixDatagram::bind(&sp).unwrap();
        let client = UnixDatagram::bind(&cp).unwrap();
        client.send_to(b"request", &sp).await.unwrap();
        let mut buf = [0u8; 32];
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"request");
        let from = from.as_pathname().unwrap().to_path_buf();
        assert_eq!(from, cp);
        server.send_to(b"reply", &from).await.unwrap();
        let n = client.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"reply");

        let unbound = UnixDatagram::unbound().unwrap();
        unbound.connect(&sp).unwrap();
        assert_eq!(
            unbound.peer_addr().unwrap().as_pathname(),
            Some(sp.as_path())
        );
        unbound.send(b"connected").await.unwrap();
        let n = server.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"connected");

        let (a, b) = UnixDatagram::pair().unwrap();
        for i in 0..10u8 {
            a.send(&[i]).await.unwrap();
        }
        for i in 0..10u8 {
            let n = b.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &[i]);
        }
        a.shutdown(Shutdown::Both).unwrap();
        let (s, _) = std::os::unix::net::UnixDatagram::pair().unwrap();
        let s = UnixDatagram::from_std(s).unwrap();
        assert!(s.local_addr().unwrap().is_unnamed());
    });
}

#[test]
fn unix_streams_api_server_and_client() {
    let path = TempPath::new("streams");
    let p = path.0.clone();
    boucle::run(async move {
        // A stale socket file from a crashed server is replaced.
        drop(std::os::unix::net::UnixListener::bind(&p).unwrap());
        assert!(p.exists());
        let server = start_unix_server(
            |mut r: StreamReader, w: StreamWriter| async move {
                loop {
                    let line = r.readline().await?;
                    if line.is_empty() {
                        return Ok::<_, boucle::net::ReadError>(());
                    }
                    w.write(&line.to_ascii_uppercase());
                    w.drain().await?;
                }
            },
            &p,
        )
        .unwrap();
        let addrs = server.local_addrs();
        assert_eq!(addrs[0].as_unix().unwrap().as_pathname(), Some(p.as_path()));
        assert_eq!(addrs[0].port(), None);
        assert!(server.sockets()[0].as_unix().is_some());
        let mut clients = Vec::new();
        for i in 0..10 {
            let (mut r, w) = open_unix_connection(&p).await.unwrap();
            assert!(w
                .peer_addr()
                .unwrap()
                .to_string()
                .contains("boucle-net-unix"));
            clients.push(boucle::spawn(async move {
                w.write(format!("client {i}\n").as_bytes());
                let line = r.readline().await.unwrap();
                assert_eq!(line, format!("CLIENT {i}\n").as_bytes());
                w.close();
                w.wait_closed().await.unwrap();
            }));
        }
        for c in clients {
            c.await.unwrap();
        }
        server.close();
        server.wait_closed().await;
        assert!(!p.exists(), "the socket file is removed on close");
        // Another process may bind the path again.
        let again = start_unix_server(|_r: StreamReader, _w: StreamWriter| async {}, &p).unwrap();
        drop(again);
        assert!(!p.exists());
    });
}
