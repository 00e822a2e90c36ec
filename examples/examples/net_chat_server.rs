//! A line-based chat server: every line a client sends goes to every other
//! client. Each client has a `boucle::sync::Queue` of lines to send and a
//! writer task that empties it, so a slow client only fills its own queue
//! (bounded: when it is full, that client is dropped) and never slows the
//! others down.
//!
//! ```text
//! cargo run -p boucle-examples --example net_chat_server            # 127.0.0.1:8765
//! nc 127.0.0.1 8765                                                 # in two or more terminals
//! ```
//!
//! The first line a client sends is its name; `/quit` leaves.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use boucle::net::{start_server, StreamReader, StreamWriter};
use boucle::sync::Queue;

/// How many lines may wait for one client before it is dropped.
const QUEUE_SIZE: usize = 100;

type Line = Rc<str>;

#[derive(Default)]
struct Room {
    next_id: u64,
    clients: HashMap<u64, (String, Queue<Line>)>,
}

impl Room {
    fn join(&mut self, name: String, queue: Queue<Line>) -> u64 {
        self.next_id += 1;
        self.clients.insert(self.next_id, (name, queue));
        self.next_id
    }

    fn leave(&mut self, id: u64) {
        if let Some((_, queue)) = self.clients.remove(&id) {
            queue.shutdown(false); // the writer task sends what is queued, then ends
        }
    }

    /// Queues `line` for everyone but `from`; drops clients that are full.
    fn broadcast(&mut self, from: u64, line: &str) {
        let line: Line = Rc::from(line);
        let mut full = Vec::new();
        for (&id, (_, queue)) in &self.clients {
            if id != from && queue.put_nowait(line.clone()).is_err() {
                full.push(id);
            }
        }
        for id in full {
            if let Some((name, queue)) = self.clients.remove(&id) {
                println!("{name} is too slow: dropped");
                queue.shutdown(true);
            }
        }
    }
}

async fn client_writer(queue: Queue<Line>, writer: StreamWriter) -> std::io::Result<()> {
    while let Ok(line) = queue.get().await {
        writer.write(line.as_bytes());
        writer.drain().await?;
    }
    writer.close();
    writer.wait_closed().await
}

async fn handle_client(
    room: Rc<RefCell<Room>>,
    mut reader: StreamReader,
    writer: StreamWriter,
) -> Result<(), boucle::net::ReadError> {
    let peer = writer.peer_addr()?;
    writer.write(b"Welcome! Your name?\n");
    let name = String::from_utf8_lossy(&reader.readline().await?)
        .trim()
        .to_owned();
    if name.is_empty() {
        return Ok(());
    }
    let queue = Queue::new(QUEUE_SIZE);
    let id = room.borrow_mut().join(name.clone(), queue.clone());
    let sender = boucle::spawn(client_writer(queue, writer));
    println!("{name} ({peer}) joined");
    room.borrow_mut()
        .broadcast(id, &format!("* {name} joined\n"));
    let result = loop {
        let line = match reader.readline().await {
            Ok(line) => line,
            Err(e) => break Err(e),
        };
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if line.is_empty() || text == "/quit" {
            break Ok(());
        }
        room.borrow_mut()
            .broadcast(id, &format!("<{name}> {text}\n"));
    };
    room.borrow_mut().leave(id);
    room.borrow_mut().broadcast(id, &format!("* {name} left\n"));
    println!("{name} left");
    // Let the writer send what was queued for this client.
    let _ = sender.await;
    result
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8765);
    boucle::run(async move {
        let room = Rc::new(RefCell::new(Room::default()));
        let server = start_server(
            move |reader, writer| handle_client(room.clone(), reader, writer),
            "127.0.0.1",
            port,
        )
        .await?;
        for addr in server.local_addrs() {
            println!("Chat server on {addr} (a name, then lines; /quit to leave)");
        }
        server.serve_forever().await
    })
}
