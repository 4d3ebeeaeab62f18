//! The portable example (`examples/portable/main.js`, `export default { fetch }`) runs
//! unchanged on `deno serve` and on `ferry run`, and both answer every request alike:
//! status, the headers the app sets, and the body.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::run_app;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `deno serve` on a free port: the process and its base URL.
struct Deno {
    child: Child,
    url: String,
}

impl Drop for Deno {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn deno_serve(app: &Path) -> Deno {
    let deno = std::env::var_os("FERRY_DENO")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("tests/webapi/node_modules/.bin/deno"));
    assert!(
        deno.exists(),
        "Deno is missing at {}: run scripts/install-test-tools",
        deno.display()
    );
    let mut child = Command::new(deno)
        .args(["serve", "--port", "0", "--host", "127.0.0.1"])
        .arg(app)
        .env("DENO_NO_UPDATE_CHECK", "1")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let streams = [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ];
    // Owned at once: a panic below still stops the process.
    let mut deno = Deno {
        child,
        url: String::new(),
    };
    let (sender, receiver) = std::sync::mpsc::channel();
    for stream in streams {
        let sender = sender.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
    }
    loop {
        let line = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("deno serve did not say where it listens");
        if let Some(at) = line.find("http://") {
            deno.url = line[at..].trim().trim_end_matches('/').to_owned();
            return deno;
        }
    }
}

/// What a request answered, as far as the app decides it.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn ask(client: &reqwest::Client, base: &str, request: &Request) -> Answer {
    let mut builder = client.request(
        request.method.parse().unwrap(),
        format!("{base}{}", request.path),
    );
    for (name, value) in request.headers {
        builder = builder.header(*name, *value);
    }
    if let Some(body) = request.body {
        builder = builder.body(body.to_vec());
    }
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = ["content-type", "location", "x-echo", "set-cookie"]
        .iter()
        .flat_map(|name| {
            response
                .headers()
                .get_all(*name)
                .iter()
                .map(|value| ((*name).to_owned(), value.to_str().unwrap().to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    let body = response.bytes().await.unwrap().to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

struct Request {
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: Option<&'static [u8]>,
}

const REQUESTS: &[Request] = &[
    Request {
        method: "GET",
        path: "/",
        headers: &[],
        body: None,
    },
    Request {
        method: "GET",
        path: "/greet?name=Ann",
        headers: &[],
        body: None,
    },
    Request {
        method: "GET",
        path: "/greet",
        headers: &[],
        body: None,
    },
    Request {
        method: "POST",
        path: "/echo",
        headers: &[("content-type", "application/json")],
        body: Some(br#"{"n":1,"list":[true,null],"text":"h\u00e9"}"#),
    },
    Request {
        method: "POST",
        path: "/digest",
        headers: &[],
        body: Some(&[0, 1, 2, 254, 255]),
    },
    Request {
        method: "POST",
        path: "/form",
        headers: &[("content-type", "application/x-www-form-urlencoded")],
        body: Some(b"a=1&b=two+words"),
    },
    Request {
        method: "GET",
        path: "/redirect",
        headers: &[],
        body: None,
    },
    Request {
        method: "GET",
        path: "/cookies",
        headers: &[],
        body: None,
    },
    Request {
        method: "GET",
        path: "/missing/page",
        headers: &[],
        body: None,
    },
    Request {
        method: "DELETE",
        path: "/",
        headers: &[],
        body: None,
    },
];

#[tokio::test]
async fn the_portable_app_answers_alike_on_deno_and_on_ferry() {
    let app = repo().join("examples/portable/main.js");
    let deno = deno_serve(&app);
    let data = tempfile::tempdir().unwrap();
    let ferry = run_app(&app, data.path(), &[]);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut statuses = Vec::new();
    for request in REQUESTS {
        let on_deno = ask(&client, &deno.url, request).await;
        statuses.push(on_deno.status);
        let mut on_ferry = ask(&client, ferry.url.trim_end_matches('/'), request).await;
        // The redirect's absolute URL names the server it came from.
        for (name, value) in &mut on_ferry.headers {
            if name == "location" {
                *value = value.replace(ferry.url.trim_end_matches('/'), &deno.url);
            }
        }
        assert_eq!(on_ferry, on_deno, "{} {}", request.method, request.path);
    }
    // The app answered, on both, what it was written to answer.
    assert_eq!(statuses, [200, 200, 200, 201, 200, 200, 302, 204, 404, 404]);
}
