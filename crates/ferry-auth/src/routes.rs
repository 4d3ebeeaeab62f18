//! aiwebengine's sign-in routes: `/auth/login` (the provider picker),
//! `/auth/login/{provider}?redirect=`, `/auth/callback/{provider}` (GET, and POST for
//! providers that answer with a form), `/auth/logout` (GET and POST), `/auth/status`
//! (JSON) and `/auth/refresh`.

use ferry_core::{App, Body, ConnectionInfo, Request, RequestExt, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST, LOCATION, SET_COOKIE};
use http::{HeaderValue, Method, StatusCode};
use serde_json::json;

use crate::auth::{Auth, DEV_PROVIDER};
use crate::identity::{Identity, Role};
use crate::pages;
use crate::redirect::same_origin_target;
use crate::sign_in::{CallbackParams, SignInError};

/// The largest form a callback or sign-in POST may carry.
const FORM_LIMIT: usize = 64 * 1024;

impl Auth {
    /// Adds the `/auth/*` routes to `app`.
    pub fn routes(&self, app: App) -> App {
        let handler = |auth: &Auth, step: Step| {
            let auth = auth.clone();
            move |request: Request| {
                let auth = auth.clone();
                async move { step.answer(&auth, request).await }
            }
        };
        app.get("/auth/login", handler(self, Step::Picker))
            .get("/auth/login/:provider", handler(self, Step::Start))
            .post("/auth/login/:provider", handler(self, Step::DevSignIn))
            .get("/auth/callback/:provider", handler(self, Step::Callback))
            .post("/auth/callback/:provider", handler(self, Step::Callback))
            .get("/auth/logout", handler(self, Step::SignOut))
            .post("/auth/logout", handler(self, Step::SignOut))
            .get("/auth/status", handler(self, Step::Status))
            .get("/auth/refresh", handler(self, Step::Refresh))
            .post("/auth/refresh", handler(self, Step::Refresh))
    }
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Picker,
    Start,
    DevSignIn,
    Callback,
    SignOut,
    Status,
    Refresh,
}

impl Step {
    async fn answer(self, auth: &Auth, request: Request) -> Response {
        match self {
            Step::Picker => picker(auth, &request),
            Step::Start => start(auth, request).await,
            Step::DevSignIn => dev_sign_in(auth, request).await,
            Step::Callback => callback(auth, request).await,
            Step::SignOut => sign_out(auth, request).await,
            Step::Status => status(auth, &request),
            Step::Refresh => refresh(auth, request).await,
        }
    }
}

fn picker(auth: &Auth, request: &Request) -> Response {
    let redirect = same_origin_target(query_value(request, "redirect").as_deref());
    let dev = auth.settings().dev_sign_in && from_this_machine(request);
    html(
        StatusCode::OK,
        pages::sign_in(auth.providers(), dev, &redirect),
    )
}

async fn start(auth: &Auth, request: Request) -> Response {
    let provider = request.param("provider").unwrap_or_default().to_owned();
    let redirect = same_origin_target(query_value(&request, "redirect").as_deref());
    if provider == DEV_PROVIDER {
        return if auth.settings().dev_sign_in && from_this_machine(&request) {
            html(
                StatusCode::OK,
                pages::sign_in(std::iter::empty(), true, &redirect),
            )
        } else {
            failure(&SignInError::DevelopmentOnly)
        };
    }
    let callback = format!("{}/auth/callback/{provider}", origin(auth, &request));
    match auth.start_sign_in(&provider, callback, redirect).await {
        Ok(url) => see_other(&url, None),
        Err(error) => failure(&error),
    }
}

async fn dev_sign_in(auth: &Auth, request: Request) -> Response {
    if request.param("provider") != Some(DEV_PROVIDER)
        || !auth.settings().dev_sign_in
        || !from_this_machine(&request)
    {
        return failure(&SignInError::DevelopmentOnly);
    }
    let secure = is_secure(auth, &request);
    let form = match read_form(request).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let field = |name: &str| {
        form_urlencoded::parse(&form)
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    let role = Role::parse(&field("role")).unwrap_or_default();
    let redirect = same_origin_target(Some(&field("redirect")));
    match auth
        .dev_sign_in(&field("name"), &field("email"), role)
        .await
    {
        Ok(id) => {
            tracing::warn!(role = %role, "development sign-in: anyone on this machine can be anyone");
            see_other(
                &redirect,
                Some(auth.settings().sessions.set_cookie(&id, secure)),
            )
        }
        Err(error) => failure(&error),
    }
}

async fn callback(auth: &Auth, request: Request) -> Response {
    let provider = request.param("provider").unwrap_or_default().to_owned();
    let secure = is_secure(auth, &request);
    let params = if request.method() == Method::POST {
        match read_form(request).await {
            Ok(form) => CallbackParams::parse(&form),
            Err(response) => return response,
        }
    } else {
        CallbackParams::parse(request.uri().query().unwrap_or_default().as_bytes())
    };
    match auth.finish_sign_in(&provider, params).await {
        Ok(session) => see_other(
            &session.redirect,
            Some(auth.settings().sessions.set_cookie(&session.id, secure)),
        ),
        Err(error) => {
            tracing::warn!(%provider, %error, "sign-in failed");
            failure(&error)
        }
    }
}

async fn sign_out(auth: &Auth, request: Request) -> Response {
    let secure = is_secure(auth, &request);
    // The identity step took the session id out of the headers and kept it here.
    let session = request
        .extensions()
        .get::<Identity>()
        .and_then(Identity::session)
        .copied();
    if let Some(id) = session {
        auth.sign_out(&id).await;
    }
    let redirect = same_origin_target(query_value(&request, "redirect").as_deref());
    see_other(
        &redirect,
        Some(auth.settings().sessions.clear_cookie(secure)),
    )
}

fn status(auth: &Auth, request: &Request) -> Response {
    let identity = request.extensions().get::<Identity>();
    let providers: Vec<_> = auth
        .providers()
        .map(|provider| json!({ "name": provider.name, "label": provider.label }))
        .collect();
    let body = json!({
        "authenticated": identity.is_some(),
        "user": identity.map(user_json),
        "providers": providers,
    });
    json_response(StatusCode::OK, &body)
}

async fn refresh(auth: &Auth, request: Request) -> Response {
    let identity = request.extensions().get::<Identity>().cloned();
    let session = identity.as_ref().and_then(Identity::session).copied();
    match (identity.as_ref(), session) {
        (Some(identity), Some(id)) => match auth.refresh(&id).await {
            Ok(()) => json_response(
                StatusCode::OK,
                &json!({ "authenticated": true, "user": user_json(identity) }),
            ),
            Err(error) => crate::admin::store_failed(
                &error,
                "cannot refresh a session",
                "cannot refresh the session",
            ),
        },
        _ => json_response(StatusCode::UNAUTHORIZED, &json!({ "authenticated": false })),
    }
}

/// The user as `/auth/status` shows them.
pub(crate) fn user_json(identity: &Identity) -> serde_json::Value {
    let user = identity.user();
    json!({
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "provider": user.provider,
        "role": user.role.as_str(),
        "groups": user.groups,
    })
}

/// Whether the request comes from this machine, directly: the connection's peer is a
/// loopback address and no proxy forwarded it.
fn from_this_machine(request: &Request) -> bool {
    let peer_is_local = request
        .extensions()
        .get::<ConnectionInfo>()
        .is_some_and(|info| info.peer.ip().is_loopback());
    let client_is_local = ferry_core::client_addr::ClientAddr::of(request.extensions())
        .is_some_and(|ip| ip.is_loopback());
    let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|name| request.headers().contains_key(*name));
    peer_is_local && client_is_local && !forwarded
}

/// Whether the site is reached over HTTPS (the connection, or the configured public URL).
pub(crate) fn is_secure(auth: &Auth, request: &Request) -> bool {
    match &auth.settings().public_url {
        Some(url) => url.starts_with("https://"),
        None => request
            .extensions()
            .get::<ConnectionInfo>()
            .is_some_and(|info| info.tls),
    }
}

/// The site's origin: the configured public URL, else the request's scheme and `Host`.
pub(crate) fn origin(auth: &Auth, request: &Request) -> String {
    if let Some(url) = &auth.settings().public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let scheme = if is_secure(auth, request) {
        "https"
    } else {
        "http"
    };
    let host = request
        .headers()
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| {
            request
                .uri()
                .authority()
                .map(|authority| authority.as_str())
        })
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

fn query_value(request: &Request, name: &str) -> Option<String> {
    form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

async fn read_form(request: Request) -> Result<bytes::Bytes, Response> {
    request
        .into_body()
        .to_bytes(FORM_LIMIT)
        .await
        .map_err(ferry_core::IntoResponse::into_response)
}

fn see_other(location: &str, cookie: Option<HeaderValue>) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, location);
    }
    if let Some(cookie) = cookie {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn failure(error: &SignInError) -> Response {
    let mut response = html(error.status(), pages::problem(&error.to_string()));
    if error.status() == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}

fn html(status: StatusCode, page: String) -> Response {
    let mut response = Response::new(Body::from(page));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
