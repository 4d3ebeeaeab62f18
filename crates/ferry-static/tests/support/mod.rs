//! Shared by the file-service integration tests: a site on disk behind a real server.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferry_core::App;
use ferry_static::{StaticFiles, StaticOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(crate) struct Site {
    _dir: tempfile::TempDir,
    _outside: tempfile::TempDir,
    pub root: PathBuf,
    pub addr: SocketAddr,
    pub client: reqwest::Client,
}

impl Site {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Sends `path` exactly as given (no client-side normalisation) and returns the status
    /// line and body.
    pub(crate) async fn raw_get(&self, path: &str) -> (String, String) {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response))
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text.lines().next().unwrap_or_default().to_owned();
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }
}

pub(crate) const SECRET: &str = "TOP-SECRET-OUTSIDE-THE-ROOT";

pub(crate) fn write(root: &Path, relative: &str, content: impl AsRef<[u8]>) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn build_tree(root: &Path, outside: &Path) {
    write(outside, "secret.txt", SECRET);
    write(root, "index.html", "<h1>home</h1>");
    write(root, "style.css", "body{}");
    write(root, "app.js", "export {}");
    write(root, "mod.mjs", "export {}");
    write(root, "data.json", "{}");
    write(root, "app.wasm", b"\0asm\x01\0\0\0");
    write(root, "app.wasm.map", "{}");
    write(root, "module.wat", "(module)");
    write(root, "site.webmanifest", "{}");
    write(root, "font.woff2", "w");
    write(root, "logo.svg", "<svg/>");
    write(root, "blob.xyz", "?");
    write(root, "ten.txt", "0123456789");
    write(root, "only-htm/index.htm", "htm index");
    write(root, "listing/plain.txt", "plain");
    write(root, "listing/sub/inner.txt", "inner");
    write(root, ".env", SECRET);
    write(root, ".git/config", SECRET);
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        symlink(outside.join("secret.txt"), root.join("escape.txt")).unwrap();
        symlink(outside, root.join("escape-dir")).unwrap();
        symlink(root.join("ten.txt"), root.join("inside-link.txt")).unwrap();
    }
}

pub(crate) async fn start_site(options: StaticOptions) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    build_tree(&root, outside.path());
    let files = StaticFiles::new(&root, options).unwrap();
    let server = App::new()
        .fallback(files)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run_until(std::future::pending()));
    Site {
        _dir: dir,
        _outside: outside,
        root,
        addr,
        client: reqwest::Client::new(),
    }
}

pub(crate) async fn default_site() -> Site {
    start_site(StaticOptions::default()).await
}
