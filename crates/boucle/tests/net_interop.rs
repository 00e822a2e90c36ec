//! Interop with CPython's asyncio: a Python client against a boucle
//! server, and a boucle client against a Python server (TCP and Unix).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use boucle::net::{
    open_connection, start_server, start_unix_server, ReadError, StreamReader, StreamWriter,
};

/// Kills the Python child if the test fails before it exits.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The boucle server: upper-cases lines; at the client's end of stream,
/// says "bye" and closes.
async fn upper(mut r: StreamReader, w: StreamWriter) -> Result<(), ReadError> {
    r.set_limit(1 << 20);
    loop {
        let line = r.readline().await?;
        if line.is_empty() {
            break;
        }
        w.write(&line.to_ascii_uppercase());
        w.drain().await?;
    }
    w.write(b"bye\n");
    w.close();
    w.wait_closed().await?;
    Ok(())
}

const PY_CLIENT: &str = r#"
import asyncio, sys
async def main(target):
    if target.startswith('/'):
        r, w = await asyncio.open_unix_connection(target)
    else:
        r, w = await asyncio.open_connection('127.0.0.1', int(target))
    out = []
    for i in range(3):
        w.write(f'line {i}\n'.encode())
        await w.drain()
        out.append((await r.readline()).decode())
    w.write(b'x' * 200000 + b'\n')
    await w.drain()
    big = await r.readexactly(200001)
    assert big == b'X' * 200000 + b'\n', len(big)
    w.write_eof()
    out.append((await r.read()).decode())
    w.close()
    await w.wait_closed()
    print('|'.join(out), end='')
asyncio.run(main(sys.argv[1]))
"#;

fn run_python_client(target: String) -> std::process::Output {
    Command::new("python3")
        .args(["-c", PY_CLIENT, &target])
        .output()
        .expect("python3 runs")
}

#[test]
fn a_python_asyncio_client_talks_to_a_boucle_server() {
    boucle::run(async {
        let server = start_server(upper, "127.0.0.1", 0).await.unwrap();
        let port = server.local_addrs()[0].port().unwrap();
        // The client blocks its thread: run it on the blocking pool while
        // the loop serves it.
        let out = boucle::spawn_blocking(move || run_python_client(port.to_string()))
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "python failed: {stderr}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "LINE 0\n|LINE 1\n|LINE 2\n|bye\n"
        );
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn a_python_asyncio_unix_client_talks_to_a_boucle_unix_server() {
    let path = std::env::temp_dir().join(format!("boucle-net-interop-{}.sock", std::process::id()));
    let p = path.clone();
    boucle::run(async move {
        let server = start_unix_server(upper, &p).unwrap();
        let target = p.to_str().unwrap().to_owned();
        let out = boucle::spawn_blocking(move || run_python_client(target))
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "python failed: {stderr}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "LINE 0\n|LINE 1\n|LINE 2\n|bye\n"
        );
        server.close();
    });
    assert!(!path.exists());
}

const PY_SERVER: &str = r#"
import asyncio
async def main():
    done = asyncio.Event()
    async def handle(r, w):
        n = 0
        while True:
            line = await r.readline()
            if not line:
                break
            n += len(line)
            w.write(line[:-1][::-1] + b'\n')
            await w.drain()
        w.write(f'{n} bytes, peer {w.get_extra_info("peername")[0]}\n'.encode())
        await w.drain()
        w.close()
        await w.wait_closed()
        done.set()
    server = await asyncio.start_server(handle, '127.0.0.1', 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await done.wait()
asyncio.run(main())
"#;

#[test]
fn a_boucle_client_talks_to_a_python_asyncio_server() {
    let mut child = Reap(
        Command::new("python3")
            .args(["-c", PY_SERVER])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs"),
    );
    let mut first = String::new();
    BufReader::new(child.0.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port: u16 = first.trim().parse().expect("the server prints its port");
    let sent = boucle::run(async move {
        let (mut r, w) = open_connection("127.0.0.1", port).await.unwrap();
        assert_eq!(w.peer_addr().unwrap().port(), Some(port));
        let mut sent = 0;
        for word in ["stressed", "drawer", "boucle"] {
            let line = format!("{word}\n");
            sent += line.len();
            w.write(line.as_bytes());
            w.drain().await.unwrap();
            let back = r.readline().await.unwrap();
            let expected: String = word.chars().rev().collect();
            assert_eq!(back, format!("{expected}\n").as_bytes());
        }
        // A 50 KB line, written in pieces under back-pressure.
        let big = vec![b'q'; 50_000];
        for piece in big.chunks(1000) {
            w.write(piece);
            w.drain().await.unwrap();
        }
        w.write(b"\n");
        sent += big.len() + 1;
        assert_eq!(r.readexactly(50_001).await.unwrap().len(), 50_001);
        w.write_eof().unwrap();
        let tail = r.read_to_eof().await.unwrap();
        assert_eq!(
            String::from_utf8_lossy(&tail),
            format!("{sent} bytes, peer 127.0.0.1\n")
        );
        sent
    });
    assert!(sent > 50_000);
    let status = child.0.wait().unwrap();
    let mut err = String::new();
    use std::io::Read as _;
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "python server failed: {err}");
}
