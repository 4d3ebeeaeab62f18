//! API tokens: a signed-in user makes named tokens for programs — the management API, MCP
//! clients, scripts called from elsewhere — sent as `Authorization: Bearer ferry_…`. A token
//! is shown once, stored as its SHA-256 digest, may expire, can be revoked, and acts with its
//! owner's role at the time of use: never more than its owner. A token cannot make tokens.
//!
//! `POST /auth/tokens` (`name`, optional `expires_in_days`) → `201 {id, name, token,
//! expires}`; `GET /auth/tokens` → the user's tokens without secrets; `DELETE
//! /auth/tokens?id=` revokes one.

use ferry_core::{App, IntoResponse, Json, Request, Response};
use ferry_store::TokenRecord;
use http::header::CACHE_CONTROL;
use http::{HeaderValue, StatusCode};
use serde_json::json;

use crate::auth::{Auth, unix_now};
use crate::credential::{SessionId, TOKEN_PREFIX};
use crate::identity::Identity;
use crate::secret::random_token;

/// Where tokens are made, listed and revoked.
pub const TOKENS_PATH: &str = "/auth/tokens";
/// The longest a token may be named.
const MAX_NAME: usize = 100;
/// The longest a token may live, and how long it lives when the request does not say.
const MAX_DAYS: i64 = 3650;
const DEFAULT_DAYS: i64 = 90;
const DAY_SECS: i64 = 24 * 3600;

impl Auth {
    /// Adds the token routes to `app`.
    pub(crate) fn token_routes(&self, app: App) -> App {
        let make = self.clone();
        let list = self.clone();
        let revoke = self.clone();
        app.post(TOKENS_PATH, move |request| {
            let auth = make.clone();
            async move { auth.make_token(request).await }
        })
        .get(TOKENS_PATH, move |request| {
            let auth = list.clone();
            async move { auth.list_tokens(request).await }
        })
        .delete(TOKENS_PATH, move |request| {
            let auth = revoke.clone();
            async move { auth.revoke_token(request).await }
        })
    }

    async fn make_token(self, request: Request) -> Response {
        let owner = match request.extensions().get::<Identity>() {
            Some(identity) if !identity.credential().is_session() => {
                return answer(
                    StatusCode::FORBIDDEN,
                    json!({ "error": "a token cannot make tokens: sign in" }),
                );
            }
            Some(identity) => identity.user().id.clone(),
            None => return unauthorized(),
        };
        let body = match request.into_body().to_bytes(16 * 1024).await {
            Ok(body) => body,
            Err(error) => return error.into_response(),
        };
        let field = |name: &str| {
            form_urlencoded::parse(&body)
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let name = field("name").unwrap_or_default();
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({ "error": format!("send a name of 1 to {MAX_NAME} characters") }),
            );
        }
        let days = match field("expires_in_days").map(|days| days.trim().parse::<i64>()) {
            None => DEFAULT_DAYS,
            Some(Ok(days)) if (1..=MAX_DAYS).contains(&days) => days,
            Some(_) => {
                return answer(
                    StatusCode::BAD_REQUEST,
                    json!({ "error": format!("expires_in_days is a whole number from 1 to {MAX_DAYS}") }),
                );
            }
        };
        let secret = random_token();
        let hash = SessionId::parse(&secret)
            .expect("a random token has the shape of an id")
            .stored_hash();
        let now = unix_now();
        let token = TokenRecord {
            id: random_token()[..16].to_owned(),
            user_id: owner,
            name: name.to_owned(),
            created: now,
            expires: Some(now + days * DAY_SECS),
        };
        let stored = token.clone();
        if let Err(error) = self
            .with_store(move |store| store.create_token(&hash, &stored))
            .await
        {
            return crate::admin::store_failed(
                &error,
                "cannot store a token",
                "the token store failed",
            );
        }
        tracing::info!(user = %token.user_id, token = %token.id, name = %token.name, "API token made");
        answer(
            StatusCode::CREATED,
            json!({
                "id": token.id, "name": token.name, "expires": token.expires,
                "token": format!("{TOKEN_PREFIX}{secret}"),
            }),
        )
    }

    async fn list_tokens(self, request: Request) -> Response {
        let Some(identity) = request.extensions().get::<Identity>() else {
            return unauthorized();
        };
        let user = identity.user().id.clone();
        match self.with_store(move |store| store.tokens(&user)).await {
            Ok(tokens) => {
                let tokens: Vec<_> = tokens
                    .iter()
                    .map(|token| {
                        json!({ "id": token.id, "name": token.name, "created": token.created, "expires": token.expires })
                    })
                    .collect();
                answer(StatusCode::OK, json!(tokens))
            }
            Err(error) => {
                crate::admin::store_failed(&error, "cannot list tokens", "the token store failed")
            }
        }
    }

    async fn revoke_token(self, request: Request) -> Response {
        let Some(identity) = request.extensions().get::<Identity>() else {
            return unauthorized();
        };
        let user = identity.user().id.clone();
        let Some(id) = form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .find(|(key, _)| key == "id")
            .map(|(_, value)| value.into_owned())
        else {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({ "error": "add ?id= with the token's id" }),
            );
        };
        let key = id.clone();
        match self
            .with_store(move |store| store.revoke_token(&user, &key))
            .await
        {
            Ok(Some(hash)) => {
                self.forget_hash(&hash);
                answer(StatusCode::OK, json!({ "success": true, "id": id }))
            }
            Ok(None) => answer(
                StatusCode::NOT_FOUND,
                json!({ "error": format!("you have no token {id:?}") }),
            ),
            Err(error) => crate::admin::store_failed(
                &error,
                "cannot revoke a token",
                "the token store failed",
            ),
        }
    }
}

fn unauthorized() -> Response {
    answer(
        StatusCode::UNAUTHORIZED,
        json!({ "error": "sign in first" }),
    )
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
