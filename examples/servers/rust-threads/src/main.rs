//! Thread per connection in Rust, std only: the main thread accepts (std::net::TcpListener), each
//! connection gets an OS thread that reads a frame (4-byte big-endian length + payload) and writes the
//! identical frame back, until the peer closes. The same design as threads.py without a GIL: threads run
//! in parallel on every core. Per message: one read (through a 64 KiB BufReader, so header and payload of
//! a small frame come in one syscall) and one write, about one context switch (the thread sleeps in read
//! between messages). Memory per connection: a thread stack (2 MiB reserved, a few pages resident), the
//! 64 KiB read buffer and a reply buffer as large as the largest frame seen (shrunk back after big ones).
//!
//! Usage: rust-threads PORT (0 for any); prints "listening on <port>". SIGTERM keeps its default action
//! (the process is killed by the signal, so a shell sees status 143, not 0); nothing needs cleaning up.

use std::io::{self, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

fn serve(stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut frame: Vec<u8> = Vec::with_capacity(4 + 64 * 1024);
    loop {
        let mut header = [0u8; 4];
        match reader.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()), // peer closed
            Err(e) => return Err(e),
        }
        let length = u32::from_be_bytes(header) as usize;
        if length > MAX_PAYLOAD {
            return Ok(()); // protocol error: close the connection
        }
        frame.clear();
        frame.extend_from_slice(&header);
        frame.resize(4 + length, 0);
        reader.read_exact(&mut frame[4..])?;
        writer.write_all(&frame)?;
        if frame.capacity() > 1024 * 1024 {
            frame = Vec::with_capacity(4 + 64 * 1024); // do not keep 64 MiB per idle connection
        }
    }
}

fn main() {
    let port: u16 = match std::env::args().nth(1).and_then(|p| p.parse().ok()) {
        Some(p) => p,
        None => {
            eprintln!("usage: rust-threads PORT");
            std::process::exit(2);
        }
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
    let port = listener.local_addr().expect("local_addr").port();
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {port}").and_then(|_| out.flush()).expect("stdout");
    drop(out);
    for stream in listener.incoming() {
        match stream {
            // ECONNRESET/EPIPE end that connection's thread only.
            Ok(stream) => {
                thread::spawn(move || {
                    let _ = serve(stream);
                });
            }
            // A connection reset before accept returned it, or EMFILE: skip it, without spinning.
            Err(_) => thread::sleep(Duration::from_millis(1)),
        }
    }
}
