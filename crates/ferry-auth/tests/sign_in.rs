//! Sign-in against a provider written here, for the behaviour a ready-made test provider
//! cannot show: Apple's form POST, Microsoft's `{tenantid}` issuer, a key rotated at the
//! provider, expired and misdirected tokens, userinfo about someone else — and the provider
//! checks Ferry's PKCE verifier and client credentials on every code.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ferry_auth::{Auth, AuthSettings, Identity, ProviderSettings, ResponseMode};
use ferry_core::{App, Body, IntoResponse, Json, Request, Response};
use http::StatusCode;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

/// One signing key of the provider.
struct Key {
    kid: String,
    pair: EcdsaKeyPair,
}

impl Key {
    fn new(kid: &str) -> Key {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        Key {
            kid: kid.into(),
            pair,
        }
    }

    fn jwk(&self) -> Value {
        let public = self.pair.public_key().as_ref();
        json!({
            "kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(&public[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&public[33..65]),
        })
    }

    fn sign(&self, claims: &Value) -> String {
        let header = json!({ "alg": "ES256", "kid": self.kid, "typ": "JWT" });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}

/// What the provider will answer for one code.
struct Grant {
    id_token: Value,
    userinfo: Value,
    challenge: String,
}

#[derive(Default)]
struct ProviderState {
    issuer_in_document: String,
    /// The key that signs; the published set.
    signing: Option<Arc<Key>>,
    published: Vec<Arc<Key>>,
    grants: HashMap<String, Grant>,
    /// `iss` promised in every answer (RFC 9207).
    promises_iss: bool,
    /// What the token endpoint saw that it did not accept.
    refusals: Vec<String>,
}

/// The provider: discovery, keys, token and userinfo endpoints.
struct Provider {
    url: String,
    state: Arc<Mutex<ProviderState>>,
}

const CLIENT_ID: &str = "ferry-client";
const CLIENT_SECRET: &str = "s3cret:with/odd&chars";

impl Provider {
    /// A provider whose discovery document says `issuer` (`{url}` is replaced by its URL).
    async fn start(issuer: &str) -> Provider {
        let state = Arc::new(Mutex::new(ProviderState::default()));
        let key = Arc::new(Key::new("k1"));
        {
            let mut state = state.lock().unwrap();
            state.signing = Some(key.clone());
            state.published = vec![key];
        }
        let document = {
            let state = state.clone();
            move |_request: Request| {
                let state = state.clone();
                async move {
                    let state = state.lock().unwrap();
                    // The endpoints sit at the root, whatever the issuer's path.
                    let base = state
                        .issuer_in_document
                        .split("/{")
                        .next()
                        .unwrap_or_default();
                    Json(json!({
                        "issuer": state.issuer_in_document,
                        "authorization_endpoint": format!("{base}/authorize"),
                        "token_endpoint": format!("{base}/token"),
                        "userinfo_endpoint": format!("{base}/userinfo"),
                        "jwks_uri": format!("{base}/jwks"),
                        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                        "authorization_response_iss_parameter_supported": state.promises_iss,
                    }))
                }
            }
        };
        let jwks = {
            let state = state.clone();
            move |_request: Request| {
                let state = state.clone();
                async move {
                    let state = state.lock().unwrap();
                    let keys: Vec<Value> = state.published.iter().map(|key| key.jwk()).collect();
                    Json(json!({ "keys": keys }))
                }
            }
        };
        let token = {
            let state = state.clone();
            move |request: Request| {
                let state = state.clone();
                async move { token_endpoint(&state, request).await }
            }
        };
        let userinfo = {
            let state = state.clone();
            move |request: Request| {
                let state = state.clone();
                async move {
                    let bearer = request
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.strip_prefix("Bearer "))
                        .unwrap_or_default()
                        .to_owned();
                    let state = state.lock().unwrap();
                    match state.grants.get(&bearer) {
                        Some(grant) => Json(grant.userinfo.clone()).into_response(),
                        None => status(StatusCode::UNAUTHORIZED),
                    }
                }
            }
        };
        let mut app = App::new()
            .get("/jwks", jwks)
            .post("/token", token)
            .get("/userinfo", userinfo);
        for prefix in ["", "/common/v2.0"] {
            app = app.get(
                &format!("{prefix}/.well-known/openid-configuration"),
                document.clone(),
            );
        }
        let server = app.bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", server.local_addr());
        tokio::spawn(server.run_until(std::future::pending()));
        state.lock().unwrap().issuer_in_document = issuer.replace("{url}", &url);
        Provider { url, state }
    }

    /// Gives out `code` for the sign-in whose authorization URL is `authorization`: the ID
    /// token carries `claims` over the defaults (its nonce, audience, issuer, times).
    fn grant(&self, code: &str, authorization: &str, claims: Value) {
        let query = query(authorization);
        let now = unix_now();
        let mut id_token = json!({
            "iss": self.state.lock().unwrap().issuer_in_document,
            "aud": CLIENT_ID,
            "sub": "user-1",
            "iat": now,
            "exp": now + 300,
            "nonce": query["nonce"],
        });
        for (name, value) in claims.as_object().unwrap() {
            if value.is_null() {
                id_token.as_object_mut().unwrap().remove(name);
            } else {
                id_token[name] = value.clone();
            }
        }
        let userinfo = json!({
            "sub": id_token["sub"], "email": "ann@example.com", "email_verified": true, "name": "Ann",
        });
        self.state.lock().unwrap().grants.insert(
            code.to_owned(),
            Grant {
                id_token,
                userinfo,
                challenge: query["code_challenge"].clone(),
            },
        );
    }

    fn set_userinfo(&self, code: &str, userinfo: Value) {
        self.state
            .lock()
            .unwrap()
            .grants
            .get_mut(code)
            .unwrap()
            .userinfo = userinfo;
    }

    /// Signs with a new key, published beside the old one only when `keep_old`.
    fn rotate(&self, kid: &str, keep_old: bool) {
        let key = Arc::new(Key::new(kid));
        let mut state = self.state.lock().unwrap();
        if !keep_old {
            state.published.clear();
        }
        state.published.push(key.clone());
        state.signing = Some(key);
    }

    fn refusals(&self) -> Vec<String> {
        self.state.lock().unwrap().refusals.clone()
    }
}

fn status(code: StatusCode) -> Response {
    ferry_core::status_response(code)
}

/// Checks the client's credentials and PKCE verifier, then answers with the grant's tokens.
async fn token_endpoint(state: &Arc<Mutex<ProviderState>>, request: Request) -> Response {
    let basic = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok())
        .unwrap_or_default();
    let form = request.into_body().to_bytes(1 << 16).await.unwrap();
    let form: HashMap<String, String> = form_urlencoded::parse(&form).into_owned().collect();
    let mut state = state.lock().unwrap();
    let expected = format!(
        "{}:{}",
        form_urlencoded::byte_serialize(CLIENT_ID.as_bytes()).collect::<String>(),
        form_urlencoded::byte_serialize(CLIENT_SECRET.as_bytes()).collect::<String>()
    );
    if basic != expected {
        state.refusals.push(format!("client credentials {basic:?}"));
        return error_answer("invalid_client");
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let Some(grant) = state.grants.get(&code) else {
        state.refusals.push(format!("unknown code {code}"));
        return error_answer("invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    if URL_SAFE_NO_PAD.encode(digest.as_ref()) != grant.challenge {
        state.refusals.push("PKCE verifier".into());
        return error_answer("invalid_grant");
    }
    let id_token = state.signing.as_ref().unwrap().sign(&grant.id_token);
    let answer = json!({ "access_token": code, "token_type": "Bearer", "id_token": id_token });
    Json(answer).into_response()
}

fn error_answer(error: &str) -> Response {
    let mut response = Response::new(Body::from(json!({ "error": error }).to_string()));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
}

fn unix_now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn query(url: &str) -> HashMap<String, String> {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// A site with sign-in at `provider` (as `name`), and a `/me` route that says who asks.
struct Site {
    url: String,
    client: reqwest::Client,
}

impl Site {
    async fn start(provider: ProviderSettings) -> Site {
        let data = tempfile::tempdir().unwrap();
        let store = ferry_store::Store::sqlite(data.path()).unwrap();
        let auth = Auth::new(
            AuthSettings {
                providers: vec![provider],
                ..AuthSettings::default()
            },
            store.connect().unwrap(),
        )
        .unwrap();
        let app = auth.install(App::new().get("/me", |request: Request| async move {
            match request.extensions().get::<Identity>() {
                Some(identity) => format!(
                    "{} <{}>",
                    identity.user().name.as_deref().unwrap_or("?"),
                    identity.user().email.as_deref().unwrap_or("?")
                ),
                None => "nobody".to_owned(),
            }
        }));
        let server = app.bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", server.local_addr());
        tokio::spawn(async move {
            let _data = data;
            server.run_until(std::future::pending()).await
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        Site { url, client }
    }

    /// Starts a sign-in at provider `name`: the provider's authorization URL.
    async fn start_sign_in(&self, name: &str) -> String {
        let response = self
            .client
            .get(format!("{}/auth/login/{name}", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        response.headers()["location"].to_str().unwrap().to_owned()
    }

    /// Answers the callback of `name` with `params` (a query, or a form when `post`):
    /// the status and the session cookie, if one was set.
    async fn callback(
        &self,
        name: &str,
        params: &[(&str, &str)],
        post: bool,
    ) -> (StatusCode, Option<String>) {
        let url = format!("{}/auth/callback/{name}", self.url);
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let request = if post {
            self.client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                // Apple's POST comes from another site, without Ferry's cookies.
                .header("origin", "https://appleid.apple.com")
                .body(encoded)
        } else {
            self.client.get(format!("{url}?{encoded}"))
        };
        let response = request.send().await.unwrap();
        let cookie = response.headers().get("set-cookie").map(|value| {
            value
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned()
        });
        (response.status(), cookie)
    }

    async fn me(&self, cookie: &str) -> String {
        self.client
            .get(format!("{}/me", self.url))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

fn provider_settings(name: &str, issuer: &str) -> ProviderSettings {
    ProviderSettings::generic(name, issuer, CLIENT_ID, CLIENT_SECRET)
}

#[tokio::test]
async fn a_form_post_answer_signs_in_without_cookies_and_pkce_and_credentials_are_right() {
    let provider = Provider::start("{url}").await;
    let mut settings = provider_settings("apple-like", &provider.url);
    settings.response_mode = ResponseMode::FormPost;
    let site = Site::start(settings).await;
    let authorization = site.start_sign_in("apple-like").await;
    let params = query(&authorization);
    assert_eq!(params["response_mode"], "form_post");
    provider.grant("code-1", &authorization, json!({}));
    let (status, cookie) = site
        .callback(
            "apple-like",
            &[("code", "code-1"), ("state", &params["state"])],
            true,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{:?}", provider.refusals());
    assert_eq!(site.me(&cookie.unwrap()).await, "Ann <ann@example.com>");
    assert!(provider.refusals().is_empty());
}

#[tokio::test]
async fn microsofts_tenant_template_admits_the_tokens_own_tenant_only() {
    let provider = Provider::start("{url}/{tenantid}/v2.0").await;
    let settings = provider_settings("microsoft", &format!("{}/common/v2.0", provider.url));
    let site = Site::start(settings).await;
    let tenant = "9188040d-6c67-4c5b-b112-36a304b66dad";
    let issuer = format!("{}/{tenant}/v2.0", provider.url);

    let authorization = site.start_sign_in("microsoft").await;
    provider.grant(
        "good",
        &authorization,
        json!({ "iss": issuer, "tid": tenant }),
    );
    let state = query(&authorization)["state"].clone();
    let (status, cookie) = site
        .callback("microsoft", &[("code", "good"), ("state", &state)], false)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(cookie.is_some());

    let authorization = site.start_sign_in("microsoft").await;
    provider.grant(
        "other-tenant",
        &authorization,
        json!({ "iss": issuer, "tid": "another-tenant" }),
    );
    let state = query(&authorization)["state"].clone();
    let (status, cookie) = site
        .callback(
            "microsoft",
            &[("code", "other-tenant"), ("state", &state)],
            false,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(cookie.is_none());
}

#[tokio::test]
async fn a_rotated_key_is_fetched_and_an_unknown_one_refused() {
    let provider = Provider::start("{url}").await;
    let site = Site::start(provider_settings("p", &provider.url)).await;
    let sign_in = |code: &'static str| {
        let site = &site;
        let provider = &provider;
        async move {
            let authorization = site.start_sign_in("p").await;
            provider.grant(code, &authorization, json!({}));
            let state = query(&authorization)["state"].clone();
            site.callback("p", &[("code", code), ("state", &state)], false)
                .await
                .0
        }
    };
    assert_eq!(sign_in("first").await, StatusCode::SEE_OTHER);
    // The provider moves to a new key: Ferry has only the old one and fetches the set again.
    provider.rotate("k2", false);
    assert_eq!(sign_in("after-rotation").await, StatusCode::SEE_OTHER);
    // A key the provider never published (a forgery): refused, and the set is not fetched
    // again at once however many such tokens arrive.
    provider.state.lock().unwrap().signing = Some(Arc::new(Key::new("forged")));
    assert_eq!(sign_in("forged").await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn expired_misdirected_and_unsigned_tokens_and_foreign_userinfo_are_refused() {
    let provider = Provider::start("{url}").await;
    let site = Site::start(provider_settings("p", &provider.url)).await;
    let now = unix_now();
    let cases = [
        ("expired", json!({ "exp": now - 3600, "iat": now - 7200 })),
        ("other-audience", json!({ "aud": "someone-else" })),
        (
            "two-audiences",
            json!({ "aud": [CLIENT_ID, "someone-else"] }),
        ),
        ("other-issuer", json!({ "iss": "https://evil.example" })),
        ("no-nonce", json!({ "nonce": null })),
        ("future", json!({ "iat": now + 3600 })),
    ];
    for (code, claims) in cases {
        let authorization = site.start_sign_in("p").await;
        provider.grant(code, &authorization, claims);
        let state = query(&authorization)["state"].clone();
        let (status, cookie) = site
            .callback("p", &[("code", code), ("state", &state)], false)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{code}");
        assert!(cookie.is_none(), "{code}");
    }
    let authorization = site.start_sign_in("p").await;
    provider.grant("foreign-userinfo", &authorization, json!({}));
    provider.set_userinfo(
        "foreign-userinfo",
        json!({ "sub": "user-2", "email": "eve@example.com", "email_verified": true }),
    );
    let state = query(&authorization)["state"].clone();
    let (status, _) = site
        .callback(
            "p",
            &[("code", "foreign-userinfo"), ("state", &state)],
            false,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // An unverified e-mail address is not the user's.
    let authorization = site.start_sign_in("p").await;
    provider.grant("unverified", &authorization, json!({ "sub": "user-3" }));
    provider.set_userinfo("unverified", json!({ "sub": "user-3", "email": "boss@example.com", "email_verified": false, "name": "Mallory" }));
    let state = query(&authorization)["state"].clone();
    let (status, cookie) = site
        .callback("p", &[("code", "unverified"), ("state", &state)], false)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(site.me(&cookie.unwrap()).await, "Mallory <?>");
}

#[tokio::test]
async fn a_provider_that_promises_iss_must_send_the_right_one() {
    let provider = Provider::start("{url}").await;
    provider.state.lock().unwrap().promises_iss = true;
    let site = Site::start(provider_settings("p", &provider.url)).await;
    for (code, iss) in [
        ("missing", None),
        ("wrong", Some("https://evil.example")),
        ("right", Some(provider.url.as_str())),
    ] {
        let authorization = site.start_sign_in("p").await;
        provider.grant(code, &authorization, json!({}));
        let state = query(&authorization)["state"].clone();
        let mut params = vec![("code", code), ("state", state.as_str())];
        if let Some(iss) = iss {
            params.push(("iss", iss));
        }
        let (status, _) = site.callback("p", &params, false).await;
        let expected = if code == "right" {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(status, expected, "{code}");
    }
}
