//! TCP echo server on asyncio's streams API (the Python docs' "TCP echo
//! server using streams", ported): each connection gets a task that reads
//! a message, prints it, sends it back and closes.
//!
//! ```text
//! cargo run -p boucle-examples --example net_tcp_echo_server            # 127.0.0.1:8888
//! cargo run -p boucle-examples --example net_tcp_echo_server -- 9000    # another port
//! cargo run -p boucle-examples --example net_tcp_echo_client -- 8888 "Hello World!"
//! ```

use boucle::net::{start_server, StreamReader, StreamWriter};

async fn handle_echo(mut reader: StreamReader, writer: StreamWriter) -> std::io::Result<()> {
    let data = reader.read(100).await?;
    let message = String::from_utf8_lossy(&data);
    let addr = writer.peer_addr()?;
    println!("Received {message:?} from {addr}");

    println!("Send: {message:?}");
    writer.write(&data);
    writer.drain().await?;

    println!("Close the connection");
    writer.close();
    writer.wait_closed().await
}

fn main() -> std::io::Result<()> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse().map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("port {p:?}: {e}"))
        })?,
        None => 8888,
    };
    boucle::run(async move {
        let server = start_server(handle_echo, "127.0.0.1", port).await?;
        let addrs: Vec<String> = server.local_addrs().iter().map(|a| a.to_string()).collect();
        println!("Serving on {}", addrs.join(", "));
        server.serve_forever().await
    })
}
