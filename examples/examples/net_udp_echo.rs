//! UDP echo (the Python docs' "UDP echo server/client protocols", ported to
//! `boucle::net::UdpSocket`): a server task sends every datagram back to
//! its sender; the client sends a few messages and prints the answers.
//!
//! ```text
//! cargo run -p boucle-examples --example net_udp_echo                 # server and client, in one loop
//! cargo run -p boucle-examples --example net_udp_echo -- serve 9999   # only the server, until Ctrl-C
//! ```

use std::rc::Rc;
use std::time::Duration;

use boucle::net::UdpSocket;

/// Sends every datagram back to whoever sent it.
async fn echo_server(socket: Rc<UdpSocket>) -> std::io::Result<()> {
    let mut buf = [0u8; 65_535];
    loop {
        let (n, peer) = socket.recv_from(&mut buf).await?;
        println!(
            "Received {:?} from {peer}",
            String::from_utf8_lossy(&buf[..n])
        );
        socket.send_to(&buf[..n], peer).await?;
    }
}

async fn client(server: std::net::SocketAddr) -> std::io::Result<()> {
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    socket.connect(server).await?;
    let mut buf = [0u8; 1024];
    for message in ["Hello World!", "Bonjour le monde !", "Hallo Welt!"] {
        println!("Send: {message:?}");
        socket.send(message.as_bytes()).await?;
        // UDP may lose datagrams: wait a bounded time for the answer.
        match boucle::timeout(Duration::from_secs(1), socket.recv(&mut buf)).await {
            Ok(n) => println!("Received: {:?}", String::from_utf8_lossy(&buf[..n?])),
            Err(_) => println!("No answer within 1 s"),
        }
    }
    println!("Close the socket");
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    boucle::run(async move {
        if args.first().map(String::as_str) == Some("serve") {
            let port = args.get(1).map(String::as_str).unwrap_or("9999");
            let socket = Rc::new(UdpSocket::bind(format!("127.0.0.1:{port}")).await?);
            println!("Serving on {}", socket.local_addr()?);
            return echo_server(socket).await;
        }
        let socket = Rc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let addr = socket.local_addr()?;
        println!("Serving on {addr}");
        let server = boucle::spawn(echo_server(socket));
        let result = client(addr).await;
        server.cancel();
        result
    })
}
