//! `ferry run --database-url`: Ferry nodes on one real PostgreSQL (a throwaway cluster of
//! the tests' own) share what scripts store, uploaded scripts, users and sessions.

use reqwest::StatusCode;
use reqwest::header::COOKIE;

use crate::auth::{client, dev_sign_in, json};
use crate::support::{Ferry, run_app, run_to_end};
use ferry_store::testing::{PASSWORD, PostgresCluster};

const ADMIN_TOKEN: &str = "break-glass-token";

/// `ferry run APP` on the database at `url` (the data directory unused but given, so that
/// nothing lands in the working directory).
fn node(app: &std::path::Path, data: &std::path::Path, url: &str) -> Ferry {
    run_app(
        app,
        data,
        &["--database-url", url, "--dev", "--admin-token", ADMIN_TOKEN],
    )
}

#[tokio::test]
async fn nodes_on_one_database_share_storage_scripts_and_sessions() {
    let url = PostgresCluster::shared().create_database();
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("counter.js"),
        r#"
        register("/count", () => {
            const next = Number(sharedStorage.getItem("count") || "0") + 1;
            sharedStorage.setItem("count", String(next));
            return String(next);
        });
        register("/who", () => auth.userName || "nobody");
        "#,
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let first = node(app.path(), &data.path().join("first"), &url);
    let client = client();

    // A script uploaded on the first node and a user signed in there...
    let uploaded = client
        .post(first.url("/engine/upsert_script"))
        .bearer_auth(ADMIN_TOKEN)
        .form(&[
            ("uri", "uploaded.js"),
            (
                "content",
                "register('/uploaded', () => 'kept in PostgreSQL')",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::OK);
    let (cookie, _) = dev_sign_in(&first, "ann", "editor").await;

    // ... are there for a second node, which shares the counter too.
    let second = node(app.path(), &data.path().join("second"), &url);
    let text = |ferry: &Ferry, path: &str| {
        let request = client.get(ferry.url(path)).header(COOKIE, &cookie);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    assert_eq!(text(&second, "/uploaded").await, "kept in PostgreSQL");
    assert_eq!(text(&second, "/who").await, "ann");
    let status = json(
        client
            .get(second.url("/auth/status"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status["user"]["role"], "editor");
    let counts = [
        text(&first, "/count").await,
        text(&second, "/count").await,
        text(&first, "/count").await,
        text(&second, "/count").await,
    ];
    assert_eq!(counts, ["1", "2", "3", "4"]);
    assert_eq!(text(&first, "/who").await, "ann");

    // Signing out on one node ends the session on the other.
    let signed_out = client
        .post(second.url("/auth/logout"))
        .header(COOKIE, &cookie)
        .header("origin", second.url.trim_end_matches('/'))
        .send()
        .await
        .unwrap();
    assert!(signed_out.status().is_success() || signed_out.status().is_redirection());
    // Each node remembers an identity for up to 5 s.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(text(&first, "/who").await, "nobody");

    // Nothing went into the data directories.
    assert!(!data.path().join("first").join("ferry.db").exists());
}

#[test]
fn a_database_that_cannot_be_reached_is_a_clear_error_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("app.js");
    std::fs::write(&script, "register('/a', () => 'a');\n").unwrap();
    let url = format!("postgres://ferry:{PASSWORD}@127.0.0.1:{port}/app");
    let (status, _, stderr) = run_to_end(&[
        "run",
        script.to_str().unwrap(),
        "--port",
        "0",
        "--database-url",
        &url,
    ]);
    assert!(!status.success());
    assert!(
        stderr.contains("cannot open the database of --database-url"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "postgres://ferry@127.0.0.1:{port}/app cannot be reached"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSWORD), "{stderr}");
}

/// While the database is away, sign-in cannot tell who is asking: a session it does not
/// remember, a new sign-in and the token list answer 503 with Retry-After (never a silent
/// "nobody"); when the database is back, so is everyone.
#[tokio::test]
async fn sign_in_answers_503_while_the_database_is_away() {
    let server = PostgresCluster::start().unwrap();
    server.psql("postgres", "CREATE DATABASE app");
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("who.js"),
        r#"register("/who", (c) => c.request.auth.userName ?? "nobody");"#,
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let ferry = node(app.path(), data.path(), &server.url("app"));
    let client = client();
    let (cookie, _) = dev_sign_in(&ferry, "ann", "editor").await;
    let who = |cookie: String| client.get(ferry.url("/who")).header(COOKIE, cookie).send();
    assert_eq!(
        who(cookie.clone()).await.unwrap().text().await.unwrap(),
        "ann"
    );

    server.stop().unwrap();
    // A well-formed session id this node does not remember: only the store could tell.
    let stranger = format!("ferry_session={}", "A".repeat(43));
    let response = who(stranger).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");
    let body = response.text().await.unwrap();
    assert!(body.contains("try again"), "{body}");
    // Anonymous requests still work.
    assert_eq!(
        client
            .get(ferry.url("/who"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "nobody"
    );
    let signing_in = client
        .post(ferry.url("/auth/login/dev"))
        .form(&[
            ("name", "bo"),
            ("email", "bo@example.com"),
            ("role", "editor"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signing_in.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(signing_in.headers()["retry-after"], "5");

    server.start_again().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let response = who(cookie.clone()).await.unwrap();
        if response.status() == StatusCode::OK {
            assert_eq!(response.text().await.unwrap(), "ann");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {}",
            response.status()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
