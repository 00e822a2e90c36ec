//! UDP sockets: bind, send_to/recv_from, connect/send/recv, sharing.

use std::io::ErrorKind;
use std::rc::Rc;
use std::time::Duration;

use boucle::net::UdpSocket;

#[test]
fn send_to_and_recv_from() {
    boucle::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        assert_eq!(a.send_to(b"hello", ba).await.unwrap(), 5);
        let mut buf = [0u8; 64];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"hello"[..], aa));
        b.send_to(b"back", from).await.unwrap();
        let (n, from) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"back"[..], ba));
        // A datagram longer than the buffer is truncated.
        a.send_to(&[9u8; 100], ba).await.unwrap();
        let mut small = [0u8; 10];
        let (n, _) = b.recv_from(&mut small).await.unwrap();
        assert_eq!(n, 10);
    });
}

#[test]
fn connect_send_and_recv() {
    boucle::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(a.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        for i in 0..50u8 {
            a.send(&[i; 3]).await.unwrap();
            let mut buf = [0u8; 8];
            let n = b.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &[i; 3]);
        }
        // A connected socket ignores datagrams from others.
        let c = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        c.send_to(b"stranger", b.local_addr().unwrap())
            .await
            .unwrap();
        a.send(b"friend").await.unwrap();
        let mut buf = [0u8; 16];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"friend");
    });
}

#[test]
fn send_to_a_closed_port_reports_refused_on_a_connected_socket() {
    boucle::run(async {
        // Its own loopback address: no parallel test can take the port.
        let gone = std::net::UdpSocket::bind("127.0.0.5:0").unwrap();
        let addr = gone.local_addr().unwrap();
        drop(gone);
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.connect(addr).await.unwrap();
        a.send(b"anyone?").await.unwrap();
        let mut buf = [0u8; 8];
        let r = boucle::timeout(Duration::from_secs(5), a.recv(&mut buf)).await;
        let err = r.expect("the ICMP error arrives").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn bind_resolves_names_and_options_work() {
    boucle::run(async {
        let a = UdpSocket::bind(("localhost", 0)).await.unwrap();
        assert!(a.local_addr().unwrap().ip().is_loopback());
        a.set_broadcast(true).unwrap();
        assert!(a.broadcast().unwrap());
        a.set_ttl(7).unwrap();
        assert_eq!(a.ttl().unwrap(), 7);
        assert!(a.take_error().unwrap().is_none());
        assert!(format!("{a:?}").contains("UdpSocket"));
    });
}

#[test]
fn try_variants_do_not_wait() {
    boucle::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            b.try_recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        a.try_send_to(b"now", b.local_addr().unwrap()).unwrap();
        // The readiness cache was cleared by WouldBlock: recv_from waits
        // for the event, then reads.
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"now");
    });
}

#[test]
fn a_shared_socket_sends_from_one_task_and_receives_in_another() {
    boucle::run(async {
        let echo = Rc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let echo_addr = echo.local_addr().unwrap();
        let server = {
            let echo = echo.clone();
            boucle::spawn(async move {
                let mut buf = [0u8; 1500];
                for _ in 0..200 {
                    let (n, from) = echo.recv_from(&mut buf).await.unwrap();
                    echo.send_to(&buf[..n], from).await.unwrap();
                }
            })
        };
        let client = Rc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        client.connect(echo_addr).await.unwrap();
        let receiver = {
            let client = client.clone();
            boucle::spawn(async move {
                let mut got = Vec::new();
                let mut buf = [0u8; 16];
                while got.len() < 200 {
                    let n = client.recv(&mut buf).await.unwrap();
                    got.push(u32::from_le_bytes(buf[..n].try_into().unwrap()));
                }
                got
            })
        };
        for i in 0..200u32 {
            client.send(&i.to_le_bytes()).await.unwrap();
            if i % 16 == 0 {
                boucle::yield_now().await; // let the receive buffer drain
            }
        }
        let got = receiver.await.unwrap();
        assert_eq!(got, (0..200).collect::<Vec<_>>());
        server.await.unwrap();
    });
}

#[test]
fn ipv6_loopback_when_available() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("note: no IPv6 loopback here; skipping");
        return;
    }
    boucle::run(async {
        let a = UdpSocket::bind("[::1]:0").await.unwrap();
        let b = UdpSocket::bind("[::1]:0").await.unwrap();
        a.send_to(b"six", b.local_addr().unwrap()).await.unwrap();
        let mut buf = [0u8; 8];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"six");
        assert!(from.is_ipv6());
    });
}

#[test]
fn from_std_keeps_the_binding() {
    boucle::run(async {
        let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = std_socket.local_addr().unwrap();
        let s = UdpSocket::from_std(std_socket).unwrap();
        assert_eq!(s.local_addr().unwrap(), addr);
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        peer.send_to(b"x", addr).await.unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(s.recv_from(&mut buf).await.unwrap().0, 1);
    });
}
