//! TCP echo client on asyncio's streams API (the Python docs' "TCP echo
//! client using streams", ported): connect, send a message, print the
//! answer, close. Start `net_tcp_echo_server` first.
//!
//! ```text
//! cargo run -p boucle-examples --example net_tcp_echo_client                        # port 8888
//! cargo run -p boucle-examples --example net_tcp_echo_client -- 8888 "Hello World!"
//! ```

use boucle::net::open_connection;

async fn tcp_echo_client(port: u16, message: String) -> std::io::Result<()> {
    let (mut reader, writer) = open_connection("127.0.0.1", port).await?;

    println!("Send: {message:?}");
    writer.write(message.as_bytes());
    writer.drain().await?;

    let data = reader.read(100).await?;
    println!("Received: {:?}", String::from_utf8_lossy(&data));

    println!("Close the connection");
    writer.close();
    writer.wait_closed().await
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = match args.next() {
        Some(p) => p.parse().map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("port {p:?}: {e}"))
        })?,
        None => 8888,
    };
    let message = args.next().unwrap_or_else(|| "Hello World!".to_owned());
    boucle::run(tcp_echo_client(port, message))
}
