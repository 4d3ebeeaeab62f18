//! Helpers shared by the integration tests: a server on 127.0.0.1:0 and raw TCP exchanges.

#![allow(dead_code, reason = "each test file uses a different part")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ferry_core::{App, ShutdownHandle, ShutdownReport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

pub(crate) struct Running {
    pub addr: SocketAddr,
    pub shutdown: ShutdownHandle,
    pub task: JoinHandle<ShutdownReport>,
}

impl Running {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) async fn stop(self) -> ShutdownReport {
        self.shutdown.shutdown();
        self.task.await.unwrap()
    }
}

pub(crate) async fn start(app: App) -> Running {
    let server = app.bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr();
    let shutdown = server.shutdown_handle();
    let task = tokio::spawn(server.run_until(std::future::pending()));
    Running {
        addr,
        shutdown,
        task,
    }
}

/// Sends raw bytes and reads until the server closes or `wait` passes.
pub(crate) async fn raw_exchange(addr: SocketAddr, request: &[u8], wait: Duration) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_for(&mut stream, wait).await
}

pub(crate) async fn read_for(stream: &mut TcpStream, wait: Duration) -> String {
    let mut received = Vec::new();
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

/// Whether the server closed `stream` within `wait`.
pub(crate) async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}
