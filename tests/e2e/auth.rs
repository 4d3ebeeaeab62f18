//! Sign-in against a real OpenID Connect provider (PyPI's `oidc-provider-mock`, started
//! here): the whole flow for `ferry serve` and `ferry run`, sessions, sign-out, and the
//! attacks a relying party must refuse.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::support::{Ferry, run_app};

/// A running `oidc-provider-mock`; killed when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Provider {
    /// Starts the provider with `extra` arguments on a free port and waits until its
    /// discovery document answers.
    fn start(extra: &[&str]) -> Provider {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let program = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/python/.venv/bin/oidc-provider-mock"
        ));
        assert!(
            program.exists(),
            "{} is missing: run scripts/install-test-tools",
            program.display()
        );
        let child = Command::new(program)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--user-claims",
                r#"{"sub":"alice","email":"alice@example.com","email_verified":true,"name":"Alice"}"#,
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let issuer = format!("http://127.0.0.1:{port}");
        let provider = Provider { child, issuer };
        let deadline = Instant::now() + Duration::from_secs(30);
        let discovery = format!("{}/.well-known/openid-configuration", provider.issuer);
        while std::process::Command::new("curl")
            .args(["-sf", "-o", "/dev/null", &discovery])
            .status()
            .map_or(true, |status| !status.success())
        {
            assert!(Instant::now() < deadline, "the OIDC provider did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        provider
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that follows no redirect and keeps no cookie: each step is looked at.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location in {response:?}"))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The `name=value` of the response's session cookie, and the whole header.
fn session_cookie(response: &reqwest::Response) -> (String, String) {
    let header = response
        .headers()
        .get(SET_COOKIE)
        .unwrap_or_else(|| panic!("no Set-Cookie in {response:?}"))
        .to_str()
        .unwrap()
        .to_owned();
    let pair = header.split(';').next().unwrap().to_owned();
    (pair, header)
}

/// The provider's authorization URL for a sign-in started at Ferry with `redirect`.
async fn start_sign_in(ferry: &Ferry, redirect: &str) -> String {
    let url = format!(
        "{}auth/login/oidc?redirect={}",
        ferry.url,
        form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
    );
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    location(&response)
}

/// Signs in as alice at the provider: the callback URL it sends the browser to.
async fn approve(authorization: &str) -> String {
    let response = client()
        .post(authorization)
        .form(&[("sub", "alice")])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{response:?}");
    location(&response)
}

/// A complete sign-in: the session cookie pair and where the callback sent the browser.
async fn sign_in(ferry: &Ferry, redirect: &str) -> (String, String) {
    let callback = approve(&start_sign_in(ferry, redirect).await).await;
    let response = client().get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{response:?}");
    let (cookie, _) = session_cookie(&response);
    (cookie, location(&response))
}

pub(crate) async fn json(response: reqwest::Response) -> serde_json::Value {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}"))
}

fn query_value(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "public page").unwrap();
    std::fs::create_dir(dir.path().join("private")).unwrap();
    std::fs::write(dir.path().join("private/index.html"), "secret page").unwrap();
    dir
}

fn serve_behind_sign_in(site: &Path, data: &Path, provider: &Provider, extra: &[&str]) -> Ferry {
    let data = data.to_str().unwrap();
    let mut args = vec![
        "--oidc-issuer",
        &provider.issuer,
        "--oidc-client-id",
        "ferry-test",
        "--oidc-client-secret",
        "secret",
        "--protect",
        "/private",
        "--data-dir",
        data,
    ];
    args.extend_from_slice(extra);
    Ferry::serve(site, &args)
}

#[tokio::test]
async fn a_static_site_behind_sign_in_lets_the_user_in_and_out() {
    let provider = Provider::start(&[]);
    let site = site();
    let data = tempfile::tempdir().unwrap();
    let ferry = serve_behind_sign_in(site.path(), data.path(), &provider, &[]);
    let client = client();
    let private = format!("{}private/", ferry.url);

    // Anonymous: the public page is open, the private one sends a browser to sign in and
    // answers other clients 401.
    let public = client.get(&ferry.url).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::OK);
    let navigation = client
        .get(&private)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(navigation.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&navigation), "/auth/login?redirect=%2Fprivate%2F");
    let api = client.get(&private).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert!(
        api.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );

    // The sign-in page offers the provider; starting sends the browser to it with PKCE,
    // state and nonce.
    let page = client
        .get(format!("{}auth/login?redirect=/private/", ferry.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("/auth/login/oidc?redirect=%2Fprivate%2F"),
        "{page}"
    );
    let authorization = start_sign_in(&ferry, "/private/").await;
    assert!(authorization.starts_with(&format!("{}/oauth2/authorize?", provider.issuer)));
    assert_eq!(query_value(&authorization, "code_challenge_method"), "S256");
    assert_eq!(query_value(&authorization, "code_challenge").len(), 43);
    assert_eq!(query_value(&authorization, "nonce").len(), 43);
    assert_eq!(
        query_value(&authorization, "redirect_uri"),
        format!("{}auth/callback/oidc", ferry.url)
    );

    // The provider sends the browser back; Ferry opens a session and goes on to the page.
    let callback = approve(&authorization).await;
    let finished = client.get(&callback).send().await.unwrap();
    assert_eq!(finished.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&finished), "/private/");
    let (cookie, header) = session_cookie(&finished);
    assert!(cookie.starts_with("ferry_session=") && cookie.len() == "ferry_session=".len() + 43);
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(header.contains(attribute), "{header}");
    }
    let inside = client
        .get(&private)
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(inside.status(), StatusCode::OK);
    assert_eq!(inside.text().await.unwrap(), "secret page");
    let status = json(
        client
            .get(format!("{}auth/status", ferry.url))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status["authenticated"], true);
    assert_eq!(status["user"]["email"], "alice@example.com");
    assert_eq!(status["user"]["name"], "Alice");
    assert_eq!(status["user"]["role"], "authenticated");

    // The session id works as a bearer token; a tampered one does not.
    let id = cookie.split_once('=').unwrap().1.to_owned();
    let bearer = client.get(&private).bearer_auth(&id).send().await.unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
    let mut tampered = id.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    let tampered = format!("ferry_session={}", String::from_utf8(tampered).unwrap());
    let refused = client
        .get(&private)
        .header(COOKIE, tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    // The callback cannot be used twice.
    let replay = client.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(replay.headers().get(SET_COOKIE).is_none());

    // Signing out ends the session on the server: the old cookie opens nothing.
    let out = client
        .post(format!("{}auth/logout", ferry.url))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(session_cookie(&out).1.contains("Max-Age=0"));
    let after = client
        .get(&private)
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);

    // Neither the code nor the state reached the log.
    let log = ferry
        .stderr_until(Duration::from_secs(5), |line| line.contains("/auth/logout"))
        .join("\n");
    assert!(
        log.contains("/auth/callback/oidc?code=REDACTED&state=REDACTED"),
        "{log}"
    );
    assert!(!log.contains(&query_value(&callback, "code")), "{log}");
}

#[tokio::test]
async fn forged_and_mixed_up_answers_are_refused() {
    let provider = Provider::start(&[]);
    let site = site();
    let data = tempfile::tempdir().unwrap();
    let ferry = serve_behind_sign_in(site.path(), data.path(), &provider, &[]);
    let client = client();
    let callback = |query: &str| format!("{}auth/callback/oidc?{query}", ferry.url);

    // An answer to no sign-in of ours.
    let unknown = client
        .get(callback("code=x&state=forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("expired or was already used")
    );

    // Denied consent at the provider.
    let authorization = start_sign_in(&ferry, "/").await;
    let denied = client
        .post(&authorization)
        .form(&[("sub", "alice"), ("action", "deny")])
        .send()
        .await
        .unwrap();
    let back = client.get(location(&denied)).send().await.unwrap();
    assert_eq!(back.status(), StatusCode::FORBIDDEN);
    assert!(back.headers().get(SET_COOKIE).is_none());

    // Code injection: the code of one sign-in with the state of another. The ID token
    // carries the other sign-in's nonce.
    let first = start_sign_in(&ferry, "/").await;
    let second = approve(&start_sign_in(&ferry, "/").await).await;
    let injected = callback(&format!(
        "code={}&state={}",
        query_value(&second, "code"),
        query_value(&first, "state")
    ));
    let refused = client.get(injected).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.text().await.unwrap().contains("nonce"));

    // A replayed code under a fresh state: the provider refuses it.
    let used = approve(&start_sign_in(&ferry, "/").await).await;
    assert_eq!(
        client.get(&used).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let fresh = approve(&start_sign_in(&ferry, "/").await).await;
    let replayed = callback(&format!(
        "code={}&state={}",
        query_value(&used, "code"),
        query_value(&fresh, "state")
    ));
    let replay = client.get(replayed).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(
        replay
            .text()
            .await
            .unwrap()
            .contains("refused the sign-in code")
    );

    // An RFC 9207 `iss` naming another issuer: a mix-up.
    let mixed = approve(&start_sign_in(&ferry, "/").await).await;
    let mixed = format!("{mixed}&iss=https%3A%2F%2Fevil.example");
    let mix_up = client.get(mixed).send().await.unwrap();
    assert_eq!(mix_up.status(), StatusCode::BAD_REQUEST);

    // Redirects leave nobody on another site.
    for target in ["https://evil.example/", "//evil.example", "/\\evil.example"] {
        let (_, landed) = sign_in(&ferry, target).await;
        assert_eq!(landed, "/", "{target}");
    }
}

/// A discovery document served by the test itself, for provider behaviour the mock cannot
/// show; returns its issuer URL (where the document is found).
async fn discovery_document(document: serde_json::Value) -> String {
    let body = document.to_string();
    let server =
        ferry_core::App::new()
            .get("/.well-known/openid-configuration", move |_request| {
                let body = body.clone();
                async move {
                    ferry_core::Json(serde_json::from_str::<serde_json::Value>(&body).unwrap())
                }
            })
            .bind("127.0.0.1:0")
            .await
            .unwrap();
    let url = format!("http://{}", server.local_addr());
    tokio::spawn(server.run_until(std::future::pending()));
    url
}

#[tokio::test]
async fn a_provider_whose_document_names_another_issuer_is_not_trusted() {
    let issuer = discovery_document(serde_json::json!({
        "issuer": "https://impostor.example",
        "authorization_endpoint": "https://impostor.example/authorize",
        "token_endpoint": "https://impostor.example/token",
        "jwks_uri": "https://impostor.example/jwks",
    }))
    .await;
    let site = site();
    let data = tempfile::tempdir().unwrap();
    let ferry = Ferry::serve(
        site.path(),
        &[
            "--oidc-issuer",
            &issuer,
            "--oidc-client-id",
            "c",
            "--oidc-client-secret",
            "s",
            "--data-dir",
            data.path().to_str().unwrap(),
        ],
    );
    let response = client()
        .get(format!("{}auth/login/oidc", ferry.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("names the issuer https://impostor.example"),
        "{page}"
    );
}

#[tokio::test]
async fn scripts_see_who_signed_in_and_cross_site_changes_are_anonymous() {
    let provider = Provider::start(&[]);
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("who.js"),
        r#"
        register("/who", (c) => JSON.stringify({ email: c.request.auth.userEmail, role: c.request.auth.role }));
        register("/change", (c) => JSON.stringify({ signedIn: c.request.auth.isAuthenticated }), "POST");
        register("/hook", (c) => JSON.stringify({ signedIn: auth.isAuthenticated }), "POST", { allowCrossSite: true });
        register("/headers", (c) => JSON.stringify({ cookie: c.request.headers.cookie ?? null, authorization: c.request.headers.authorization ?? null }));
        "#,
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let ferry = run_app(
        app.path(),
        data.path(),
        &[
            "--oidc-issuer",
            &provider.issuer,
            "--oidc-client-id",
            "ferry-test",
            "--oidc-client-secret",
            "secret",
            "--bootstrap-admin",
            "alice@example.com",
        ],
    );
    assert!(
        ferry.banner.iter().any(|line| line.contains("Sign-in:")),
        "{:?}",
        ferry.banner
    );
    let (cookie, _) = sign_in(&ferry, "/who").await;
    let client = client();
    let who = json(
        client
            .get(format!("{}who", ferry.url))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        who,
        serde_json::json!({ "email": "alice@example.com", "role": "administrator" })
    );
    let post = |path: &'static str, origin: Option<String>| {
        let mut request = client
            .post(format!("{}{path}", ferry.url))
            .header(COOKIE, &cookie);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        async move {
            json(request.send().await.unwrap()).await["signedIn"]
                .as_bool()
                .unwrap()
        }
    };
    // The session id never reaches the script: not in Cookie, not in Authorization.
    let seen = json(
        client
            .get(format!("{}headers", ferry.url))
            .header(COOKIE, format!("theme=dark; {cookie}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        seen,
        serde_json::json!({ "cookie": "theme=dark", "authorization": null })
    );
    let id = cookie.split_once('=').unwrap().1;
    let seen = json(
        client
            .get(format!("{}headers", ferry.url))
            .bearer_auth(id)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        seen,
        serde_json::json!({ "cookie": null, "authorization": null })
    );
    let change = |origin| post("change", origin);
    let own_origin = ferry.url.trim_end_matches('/').to_owned();
    assert!(change(Some(own_origin)).await, "same origin");
    assert!(
        change(None).await,
        "no Origin: not a browser's cross-site request"
    );
    assert!(
        !change(Some("https://evil.example".into())).await,
        "cross-site"
    );
    // A route that opts out keeps the user of a cross-site change.
    assert!(
        post("hook", Some("https://partner.example".into())).await,
        "allowCrossSite"
    );
}

#[tokio::test]
async fn the_development_sign_in_works_on_loopback_only_and_says_so() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("who.js"),
        r#"register("/who", (c) => JSON.stringify({ name: c.request.auth.userName, role: c.request.auth.role }));"#,
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let ferry = run_app(app.path(), data.path(), &["--dev"]);
    let client = client();
    let page = client
        .get(format!("{}auth/login", ferry.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Development sign-in"), "{page}");
    let form = [
        ("name", "Dee"),
        ("email", "dee@example.com"),
        ("role", "editor"),
        ("redirect", "/who"),
    ];
    let signed_in = client
        .post(format!("{}auth/login/dev", ferry.url))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_in), "/who");
    let (cookie, _) = session_cookie(&signed_in);
    let who = json(
        client
            .get(format!("{}who", ferry.url))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(who, serde_json::json!({ "name": "Dee", "role": "editor" }));
    // Through a proxy, the request may come from anywhere: refused.
    let proxied = client
        .post(format!("{}auth/login/dev", ferry.url))
        .header("x-forwarded-for", "203.0.113.9")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), StatusCode::FORBIDDEN);
    let log = ferry
        .stderr_until(Duration::from_secs(5), |line| {
            line.contains("development sign-in:")
        })
        .join("\n");
    assert!(
        log.contains("anyone on this machine can sign in as anyone"),
        "{log}"
    );
}

/// panva's `oidc-provider` (npm, certified), strict: PKCE required, RFC 9207 `iss` in every
/// answer, e-mail and name only from the userinfo endpoint. Killed when dropped.
struct StrictProvider {
    child: Child,
}

impl StrictProvider {
    /// Starts it on `port`, accepting only `callback` as redirect URI.
    fn start(port: u16, callback: &str) -> StrictProvider {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/oidc"));
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "tests/oidc/node_modules is missing: run scripts/install-test-tools"
        );
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .arg(port.to_string())
            .arg(callback)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (ready, wait) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("ready") {
                    let _ = ready.send(());
                }
            }
        });
        wait.recv_timeout(Duration::from_secs(30))
            .expect("the strict OIDC provider started");
        StrictProvider { child }
    }
}

impl Drop for StrictProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser's way through the strict provider's login and consent pages, cookies kept:
/// from the authorization URL to the callback URL it sends the browser back to.
async fn through_strict_provider(authorization: &str, login: &str) -> String {
    let client = client();
    let mut cookies: std::collections::BTreeMap<String, String> = Default::default();
    let mut url = authorization.to_owned();
    let mut form: Option<Vec<(&str, &str)>> = None;
    for _ in 0..12 {
        if url.contains("/auth/callback/") {
            return url;
        }
        let cookie_header = cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = match form.take() {
            Some(fields) => client.post(&url).form(&fields),
            None => client.get(&url),
        };
        let response = request.header(COOKIE, cookie_header).send().await.unwrap();
        for value in response.headers().get_all(SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        if response.status().is_redirection() {
            let next = location(&response);
            url = if next.starts_with('/') {
                // Relative to the provider's origin.
                let origin_end = url.find("://").map_or(0, |at| at + 3);
                let host_end = url[origin_end..]
                    .find('/')
                    .map_or(url.len(), |at| origin_end + at);
                format!("{}{next}", &url[..host_end])
            } else {
                next
            };
            continue;
        }
        let page = response.text().await.unwrap();
        form = Some(if page.contains(r#"value="login""#) {
            vec![("prompt", "login"), ("login", login), ("password", "any")]
        } else if page.contains(r#"value="consent""#) {
            vec![("prompt", "consent")]
        } else {
            panic!("unexpected page at {url}: {page}");
        });
    }
    panic!("the provider never sent the browser back");
}

#[tokio::test]
async fn a_strict_certified_provider_signs_in_with_pkce_iss_and_userinfo_claims() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let issuer = format!("http://127.0.0.1:{port}");
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("who.js"),
        r#"register("/who", (c) => JSON.stringify({ email: c.request.auth.userEmail, name: c.request.auth.userName }));"#,
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let ferry = run_app(
        app.path(),
        data.path(),
        &[
            "--oidc-issuer",
            &issuer,
            "--oidc-client-id",
            "ferry",
            "--oidc-client-secret",
            "conformance-secret",
        ],
    );
    let _provider = StrictProvider::start(port, &format!("{}auth/callback/oidc", ferry.url));

    let callback = through_strict_provider(&start_sign_in(&ferry, "/who").await, "ada").await;
    assert_eq!(query_value(&callback, "iss"), issuer);
    let response = client().get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (cookie, _) = session_cookie(&response);
    let who = json(
        client()
            .get(format!("{}who", ferry.url))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    // The ID token has only `sub`: e-mail and name came from the userinfo endpoint.
    assert_eq!(
        who,
        serde_json::json!({ "email": "ada@example.com", "name": "User ada" })
    );

    // The provider promises `iss`: an answer without it is refused.
    let callback = through_strict_provider(&start_sign_in(&ferry, "/who").await, "bob").await;
    let without_iss: String = callback
        .split('&')
        .filter(|part| !part.starts_with("iss="))
        .collect::<Vec<_>>()
        .join("&");
    let refused = client().get(&without_iss).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn a_browser_signs_in_at_the_providers_page_and_out_again() {
    let provider = Provider::start(&[]);
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("data.js"),
        r#"register("/app/data", (c) => ({ status: 200, contentType: "application/json", body: JSON.stringify({ email: c.request.auth.userEmail }) }));"#,
    )
    .unwrap();
    let files = tempfile::tempdir().unwrap();
    std::fs::create_dir(files.path().join("private")).unwrap();
    std::fs::write(
        files.path().join("private/doc.html"),
        "<!doctype html><p>the private document</p>",
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let ferry = run_app(
        app.path(),
        data.path(),
        &[
            "--static",
            files.path().to_str().unwrap(),
            "--oidc-issuer",
            &provider.issuer,
            "--oidc-client-id",
            "ferry-test",
            "--oidc-client-secret",
            "secret",
            "--protect",
            "/private",
            "--protect",
            "/app",
        ],
    );
    let result = crate::browser::browser("sign-in", &[&ferry.url]);
    assert_eq!(
        result["signInPage"],
        format!("{}auth/login?redirect=%2Fprivate%2Fdoc.html", ferry.url)
    );
    assert_eq!(result["file"], "the private document");
    assert_eq!(result["script"]["email"], "alice@example.com");
    assert_eq!(
        result["cookie"],
        serde_json::json!([{ "name": "ferry_session", "httpOnly": true, "sameSite": "Lax" }])
    );
    assert_eq!(result["afterSignOut"], ferry.url);
    assert!(
        result["fileAgain"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}auth/login", ferry.url)),
        "{result}"
    );
}

/// Signs in with the development form as `name` with `role`: the cookie and the user's id.
pub(crate) async fn dev_sign_in(ferry: &Ferry, name: &str, role: &str) -> (String, String) {
    let client = client();
    let email = format!("{name}@example.com");
    let response = client
        .post(format!("{}auth/login/dev", ferry.url))
        .form(&[("name", name), ("email", &email), ("role", role)])
        .send()
        .await
        .unwrap();
    let (cookie, _) = session_cookie(&response);
    let status = json(
        client
            .get(format!("{}auth/status", ferry.url))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    (cookie, status["user"]["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn the_management_api_follows_roles_and_ownership_and_audits_every_decision() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("site.js"),
        r#"register("/", () => "home");"#,
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let ferry = run_app(
        app.path(),
        data.path(),
        &["--dev", "--admin-token", "break-glass-token"],
    );
    let client = client();
    let (ed, ed_id) = dev_sign_in(&ferry, "ed", "editor").await;
    let (ted, ted_id) = dev_sign_in(&ferry, "ted", "editor").await;
    let (uma, uma_id) = dev_sign_in(&ferry, "uma", "authenticated").await;
    let upsert = |cookie: &str, uri: &str| {
        client
            .post(format!("{}engine/upsert_script", ferry.url))
            .header(COOKIE, cookie)
            .form(&[
                ("uri", uri),
                ("content", r#"register("/ed", () => "ed's");"#),
            ])
            .send()
    };
    let status_of = |response: reqwest::Response| response.status();

    // An editor uploads a new script and owns it; another editor may not touch it.
    assert_eq!(
        status_of(upsert(&ed, "ed.js").await.unwrap()),
        StatusCode::OK
    );
    assert_eq!(
        status_of(upsert(&ted, "ed.js").await.unwrap()),
        StatusCode::FORBIDDEN
    );
    let read = |cookie: &str| {
        client
            .get(format!("{}engine/read_script?uri=ed.js", ferry.url))
            .header(COOKIE, cookie)
            .send()
    };
    assert_eq!(status_of(read(&ed).await.unwrap()), StatusCode::OK);
    assert_eq!(status_of(read(&ted).await.unwrap()), StatusCode::FORBIDDEN);
    let owners = json(
        client
            .get(format!("{}engine/script_owners?uri=ed.js", ferry.url))
            .header(COOKIE, &ed)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(owners["owners"], serde_json::json!([ed_id]));
    // The app's own files belong to nobody: editors cannot replace them.
    let all = json(
        client
            .get(format!("{}engine/scripts", ferry.url))
            .bearer_auth("break-glass-token")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let app_script = all
        .as_array()
        .unwrap()
        .iter()
        .map(|script| script["uri"].as_str().unwrap().to_owned())
        .find(|uri| uri.ends_with("site.js"))
        .unwrap();
    assert_eq!(
        status_of(upsert(&ed, &app_script).await.unwrap()),
        StatusCode::FORBIDDEN
    );
    // A plain user and a stranger get nothing.
    assert_eq!(
        status_of(upsert(&uma, "uma.js").await.unwrap()),
        StatusCode::FORBIDDEN
    );
    let anonymous = client
        .get(format!("{}engine/scripts", ferry.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    // Editors list what they may manage.
    let listed = json(
        client
            .get(format!("{}engine/scripts", ferry.url))
            .header(COOKIE, &ted)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed, serde_json::json!([]));

    // Nobody below administrator changes roles, their own least of all.
    let promote = |credential: (&str, &str), user: &str, role: &str| {
        let request = client
            .post(format!("{}engine/user_roles", ferry.url))
            .form(&[("user_id", user), ("role", role)]);
        match credential {
            ("cookie", cookie) => request.header(COOKIE, cookie),
            (_, token) => request.bearer_auth(token),
        }
        .send()
    };
    for (cookie, user) in [(&ed, &ed_id), (&uma, &uma_id)] {
        let escalation = promote(("cookie", cookie), user, "administrator")
            .await
            .unwrap();
        assert_eq!(escalation.status(), StatusCode::FORBIDDEN);
    }
    // The break-glass token makes ted an administrator; ted's session sees it at once.
    let promoted = promote(("bearer", "break-glass-token"), &ted_id, "administrator")
        .await
        .unwrap();
    assert_eq!(promoted.status(), StatusCode::OK);
    assert_eq!(
        status_of(upsert(&ted, "ed.js").await.unwrap()),
        StatusCode::OK
    );
    let users = json(
        client
            .get(format!("{}engine/users", ferry.url))
            .header(COOKIE, &ted)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(users.as_array().unwrap().len(), 3);

    let log = ferry
        .stderr_until(Duration::from_secs(5), |line| {
            line.contains("gave") && line.contains("administrator")
        })
        .join("\n");
    assert!(
        log.contains("upsert ed.js: denied (neither an owner of the script nor granted it)"),
        "{log}"
    );
    assert!(
        log.contains("grant a role: denied (only administrators may)"),
        "{log}"
    );
    assert!(log.contains("admin token grant a role: allowed"), "{log}");
}

#[tokio::test]
async fn the_roles_example_app_admits_each_role_to_its_pages() {
    let data = tempfile::tempdir().unwrap();
    let ferry = run_app(
        &crate::support::examples().join("auth"),
        data.path(),
        &["--dev"],
    );
    let client = client();
    let get = |path: &str, cookie: Option<&str>| {
        let mut request = client.get(format!("{}{path}", ferry.url));
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send()
    };
    assert_eq!(
        get("me", None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let (editor, _) = dev_sign_in(&ferry, "eve", "editor").await;
    let home = get("", Some(&editor)).await.unwrap().text().await.unwrap();
    assert!(home.contains("role <b>editor</b>"), "{home}");
    assert_eq!(
        json(get("me", Some(&editor)).await.unwrap()).await["role"],
        "editor"
    );
    assert_eq!(
        get("editor", Some(&editor)).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        get("admin", Some(&editor)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let (admin, _) = dev_sign_in(&ferry, "ada", "administrator").await;
    assert_eq!(
        get("admin", Some(&admin)).await.unwrap().status(),
        StatusCode::OK
    );
    // Each user's note is theirs alone.
    let saved = client
        .post(format!("{}note", ferry.url))
        .header(COOKIE, &editor)
        .header("origin", ferry.url.trim_end_matches('/'))
        .form(&[("text", "eve's <secret>")])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let eves = get("note", Some(&editor))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        eves.contains("eve's note: <b>eve&#39;s &lt;secret&gt;</b>"),
        "{eves}"
    );
    let adas = get("note", Some(&admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(adas.contains("(none yet)"), "{adas}");
}

#[tokio::test]
async fn api_tokens_act_for_their_owner_until_revoked_or_expired() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("who.js"),
        r#"register("/who", (c) => JSON.stringify({ role: c.request.auth.role, authorization: c.request.headers.authorization ?? null }));"#,
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let ferry = run_app(app.path(), data.path(), &["--dev"]);
    let client = client();
    let (cookie, _) = dev_sign_in(&ferry, "dee", "editor").await;
    let make = |credential: (&'static str, String), name: &'static str| {
        let request = client
            .post(format!("{}auth/tokens", ferry.url))
            .form(&[("name", name), ("expires_in_days", "30")]);
        match credential {
            ("cookie", cookie) => request.header(COOKIE, cookie),
            (_, token) => request.bearer_auth(token),
        }
        .send()
    };
    let made = make(("cookie", cookie.clone()), "deploy").await.unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let made = json(made).await;
    let token = made["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("ferry_") && token.len() == 49, "{token}");

    // The token acts as its owner — an editor — for scripts and the management API, and
    // never reaches the script itself.
    let who = json(
        client
            .get(format!("{}who", ferry.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        who,
        serde_json::json!({ "role": "editor", "authorization": null })
    );
    let upsert = client
        .post(format!("{}engine/upsert_script", ferry.url))
        .bearer_auth(&token)
        .form(&[
            ("uri", "deployed.js"),
            ("content", r#"register("/d", () => "d");"#),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(upsert.status(), StatusCode::OK);
    // Listed without the secret; a token cannot make tokens.
    let listed = client
        .get(format!("{}auth/tokens", ferry.url))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("deploy") && !listed.contains(&token[6..]),
        "{listed}"
    );
    assert_eq!(
        make(("bearer", token.clone()), "more")
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );

    // Revoked: nobody any more.
    let revoked = client
        .delete(format!(
            "{}auth/tokens?id={}",
            ferry.url,
            made["id"].as_str().unwrap()
        ))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let after = client
        .get(format!("{}engine/scripts", ferry.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);

    // Expired: a token past its date opens nothing.
    let second = json(make(("cookie", cookie.clone()), "short").await.unwrap()).await;
    let database = rusqlite::Connection::open(data.path().join("ferry.db")).unwrap();
    database
        .execute(
            "UPDATE api_tokens SET expires = 1 WHERE id = ?1",
            [second["id"].as_str().unwrap()],
        )
        .unwrap();
    let expired = client
        .get(format!("{}engine/scripts", ferry.url))
        .bearer_auth(second["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
}
