//! MCP clients sign in too: `/mcp` of `ferry run` with sign-in answers 401 naming its
//! protected-resource metadata, and Ferry is the OAuth 2.1 authorization server in front of
//! its providers — checked with the official MCP Python SDK's OAuth client, and request by
//! request for what OAuth 2.1 refuses (no PKCE, an unregistered redirect URI, a foreign
//! resource, a replayed code, a cross-site consent) and revokes (every token of a sign-in
//! whose used refresh token comes back).

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use crate::auth::{client, dev_sign_in, json};
use crate::support::{Ferry, client_json, python_clients, run_app};

/// An app with one MCP tool that says who called it, served with the development sign-in.
fn mcp_app(extra: &[&str]) -> (tempfile::TempDir, tempfile::TempDir, Ferry) {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("tools.js"),
        r#"
        registerMCPTool("whoami", "who is calling", { type: "object" }, () => auth.userName ?? "nobody");
        register("/who", () => String(auth.userName));
        "#,
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut flags = vec!["--dev"];
    flags.extend_from_slice(extra);
    let ferry = run_app(app.path(), data.path(), &flags);
    (app, data, ferry)
}

/// An MCP `initialize` with `authorization`: the status and the challenge, if any.
async fn initialize(ferry: &Ferry, authorization: Option<&str>) -> (StatusCode, String) {
    let mut request = client()
        .post(format!("{}mcp", ferry.url))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(
            json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": { "name": "e2e", "version": "1" } } })
            .to_string(),
        );
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let response = request.send().await.unwrap();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status(), challenge)
}

#[tokio::test]
async fn an_mcp_client_signs_in_through_ferrys_authorization_server_with_the_official_sdk() {
    let (_app, _data, ferry) = mcp_app(&[]);
    let (cookie, _) = dev_sign_in(&ferry, "ann", "editor").await;
    let script = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/python/mcp_oauth.py"
    ));
    let mut command = std::process::Command::new(python_clients());
    command
        .arg(script)
        .arg(format!("{}mcp", ferry.url))
        .arg(&cookie);
    let seen = client_json(command, Duration::from_secs(60)).await;
    assert_eq!(seen["whoami"], "ann", "{seen}");
    assert_eq!(seen["tools"], json!(["whoami"]), "{seen}");
    assert_eq!(seen["consent_status"], 200, "{seen}");
    assert_eq!(seen["consent_names_client"], true, "{seen}");
    assert_eq!(
        seen["authorization_url"],
        format!("{}auth/oauth2/authorize", ferry.url),
        "{seen}"
    );
    assert_eq!(seen["access_token_prefix"], "ferry_at_", "{seen}");
    assert_eq!(seen["has_refresh_token"], true, "{seen}");
}

/// A PKCE verifier and its S256 challenge.
fn pkce(seed: &str) -> (String, String) {
    let verifier = format!("{seed}-{}", "v".repeat(50));
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    (verifier, URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

/// The query fields of a redirect's `Location`.
fn answer_fields(response: &reqwest::Response) -> Vec<(String, String)> {
    let location = response.headers()[LOCATION].to_str().unwrap();
    let query = location.split_once('?').map_or("", |(_, query)| query);
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

#[tokio::test]
async fn the_authorization_server_refuses_what_oauth_2_1_refuses() {
    let (_app, _data, ferry) = mcp_app(&["--mcp-token", "static-token-0123456789"]);
    let client = client();
    let url = |path: &str| format!("{}{}", ferry.url, path.trim_start_matches('/'));
    let base = ferry.url.trim_end_matches('/').to_owned();

    // Unauthenticated, /mcp names its resource metadata; the static token still works.
    let (status, challenge) = initialize(&ferry, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let metadata_url = format!("{base}/.well-known/oauth-protected-resource/mcp");
    assert!(
        challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")),
        "{challenge}"
    );
    assert_eq!(
        initialize(&ferry, Some("Bearer static-token-0123456789"))
            .await
            .0,
        StatusCode::OK
    );
    let resource = json(client.get(&metadata_url).send().await.unwrap()).await;
    assert_eq!(resource["resource"], format!("{base}/mcp"));
    assert_eq!(
        resource["authorization_servers"],
        json!([format!("{base}/")])
    );
    let server = json(
        client
            .get(url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(server["issuer"], format!("{base}/"));
    assert_eq!(server["code_challenge_methods_supported"], json!(["S256"]));

    // Registration: loopback or https redirect URIs only.
    let register = |body: Value| {
        client
            .post(url("/auth/oauth2/register"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let refused = register(json!({ "redirect_uris": ["http://evil.example/cb"] }))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(refused).await["error"], "invalid_redirect_uri");
    let registered = register(json!({
        "redirect_uris": ["http://127.0.0.1:9/cb"],
        "client_name": "Raw client",
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
    }))
    .await
    .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);
    let registered = json(registered).await;
    let client_id = registered["client_id"].as_str().unwrap().to_owned();
    assert!(
        registered.get("client_secret").is_none(),
        "a public client has no secret"
    );

    let (cookie, _) = dev_sign_in(&ferry, "ann", "editor").await;
    let (verifier, challenge) = pkce("one");
    let authorize = |cookie: Option<&str>, extra: &[(&str, &str)]| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &client_id)
            .append_pair("redirect_uri", "http://127.0.0.1:9/cb")
            .append_pair("state", "st8");
        for (name, value) in extra {
            query.append_pair(name, value);
        }
        let request = client.get(format!(
            "{}?{}",
            url("/auth/oauth2/authorize"),
            query.finish()
        ));
        match cookie {
            Some(cookie) => request.header(COOKIE, cookie.to_owned()),
            None => request,
        }
        .send()
    };
    let pkce_fields = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    // Without a session: to the sign-in page and back.
    let anonymous = authorize(None, &pkce_fields).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert!(
        anonymous.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/auth/login?redirect=")
    );
    // Without PKCE, or for another resource: an error back to the client, with state and iss.
    let no_pkce = authorize(Some(&cookie), &[]).await.unwrap();
    let fields = answer_fields(&no_pkce);
    assert_eq!(field(&fields, "error"), Some("invalid_request"));
    assert_eq!(field(&fields, "state"), Some("st8"));
    assert_eq!(field(&fields, "iss"), Some(format!("{base}/").as_str()));
    let foreign = authorize(
        Some(&cookie),
        &[
            pkce_fields[0],
            pkce_fields[1],
            ("resource", "https://other.example/mcp"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        field(&answer_fields(&foreign), "error"),
        Some("invalid_target")
    );
    // An unregistered redirect URI is never redirected to.
    let stray = client
        .get(format!(
            "{}?response_type=code&client_id={client_id}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fother&code_challenge={challenge}&code_challenge_method=S256",
            url("/auth/oauth2/authorize")
        ))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stray.status(), StatusCode::BAD_REQUEST);
    assert!(stray.headers().get(LOCATION).is_none());
    // The consent page; consent from another site counts for nothing.
    let page = authorize(Some(&cookie), &pkce_fields).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(page.text().await.unwrap().contains("Raw client"));
    let consent = |origin: &str, challenge: &str| {
        client
            .post(url("/auth/oauth2/authorize"))
            .header(COOKIE, &cookie)
            .header("origin", origin.to_owned())
            .form(&[
                ("response_type", "code"),
                ("client_id", client_id.as_str()),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("state", "st8"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
                ("resource", &format!("{base}/mcp")),
                ("decision", "allow"),
            ])
            .send()
    };
    let forged = consent("https://evil.example", &challenge).await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let allowed = consent(&base, &challenge).await.unwrap();
    assert_eq!(allowed.status(), StatusCode::SEE_OTHER);
    let code = field(&answer_fields(&allowed), "code").unwrap().to_owned();

    // The token endpoint: the verifier must match, and a code works once.
    let exchange = |code: String, verifier: String| {
        client
            .post(url("/auth/oauth2/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("client_id", client_id.as_str()),
                ("code_verifier", verifier.as_str()),
            ])
            .send()
    };
    let wrong = exchange(code.clone(), pkce("other").0).await.unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(wrong).await["error"], "invalid_grant");
    let replayed = exchange(code, verifier.clone()).await.unwrap();
    assert_eq!(
        json(replayed).await["error"],
        "invalid_grant",
        "a code works once, even after a failure"
    );
    let allowed = consent(&base, &challenge).await.unwrap();
    let code = field(&answer_fields(&allowed), "code").unwrap().to_owned();
    let tokens = exchange(code, verifier).await.unwrap();
    assert_eq!(tokens.status(), StatusCode::OK);
    assert_eq!(tokens.headers()["cache-control"], "no-store");
    let tokens = json(tokens).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // The access token opens /mcp and nothing else.
    let bearer = format!("Bearer {access}");
    assert_eq!(initialize(&ferry, Some(&bearer)).await.0, StatusCode::OK);
    let elsewhere = client
        .get(url("/who"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(
        elsewhere.text().await.unwrap(),
        "null",
        "anonymous away from /mcp"
    );
    let status = json(
        client
            .get(url("/auth/status"))
            .header("authorization", &bearer)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status["authenticated"], false, "{status}");

    // Refresh tokens rotate: the new one works, the old one no more.
    let refresh_with = |token: String| {
        client
            .post(url("/auth/oauth2/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
                ("client_id", client_id.as_str()),
            ])
            .send()
    };
    let renewed = refresh_with(refresh.clone()).await.unwrap();
    assert_eq!(renewed.status(), StatusCode::OK);
    let renewed = json(renewed).await;
    assert_ne!(renewed["access_token"], tokens["access_token"]);
    let bearer = format!("Bearer {}", renewed["access_token"].as_str().unwrap());
    assert_eq!(initialize(&ferry, Some(&bearer)).await.0, StatusCode::OK);
    // The old refresh token coming back means a copy is out there: the whole sign-in's
    // tokens are revoked, the new ones included.
    let again = refresh_with(refresh).await.unwrap();
    assert_eq!(json(again).await["error"], "invalid_grant");
    assert_eq!(
        initialize(&ferry, Some(&bearer)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let newest = renewed["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        json(refresh_with(newest).await.unwrap()).await["error"],
        "invalid_grant"
    );

    // A named API token of a signed-in user opens /mcp too.
    let made = json(
        client
            .post(url("/auth/tokens"))
            .header(COOKIE, &cookie)
            .form(&[("name", "agent")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let api_token = format!("Bearer {}", made["token"].as_str().unwrap());
    assert_eq!(initialize(&ferry, Some(&api_token)).await.0, StatusCode::OK);
}
