//! The identity step of the pipeline: finds the session a request presents (cookie or
//! bearer token), attaches its [`Identity`], and applies the access rules — a browser
//! without a session is sent to sign in and back, another client gets 401 with a
//! `WWW-Authenticate` challenge, a user the rule does not admit gets 403.
//!
//! A request that changes state (anything but GET, HEAD and OPTIONS) and is authenticated
//! only by the cookie must come from the site itself (`Origin`, else `Sec-Fetch-Site`);
//! from elsewhere it is handled as anonymous, so a forged cross-site form can do nothing a
//! stranger could not.

use std::convert::Infallible;
use std::task::{Context, Poll};

use ferry_core::{Body, BoxFuture, Request, Response};
use http::header::{ACCEPT, CACHE_CONTROL, LOCATION, ORIGIN, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, StatusCode};

use crate::auth::Auth;
use crate::identity::Credential;
use crate::routes::origin;
use crate::rules::{Verdict, judge};
use crate::session::presented;

/// The paths of sign-in itself, which no rule may close.
const AUTH_PREFIX: &str = "/auth/";

/// Makes [`Identify`] services; see the module documentation.
#[derive(Debug, Clone)]
pub struct IdentifyLayer {
    auth: Auth,
}

impl Auth {
    /// The pipeline step that attaches identities and applies the access rules.
    pub fn layer(&self) -> IdentifyLayer {
        IdentifyLayer { auth: self.clone() }
    }

    /// Adds sign-in to `app`: the `/auth/*` routes and the identity step around every
    /// route. This is what the stack's authentication step runs.
    pub fn install(&self, app: ferry_core::App) -> ferry_core::App {
        self.routes(app).layer(self.layer())
    }
}

impl<S> tower::Layer<S> for IdentifyLayer {
    type Service = Identify<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Identify {
            inner,
            auth: self.auth.clone(),
        }
    }
}

/// The service made by [`IdentifyLayer`].
#[derive(Debug, Clone)]
pub struct Identify<S> {
    inner: S,
    auth: Auth,
}

impl<S> tower::Service<Request> for Identify<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The clone that was made ready is the one that is called (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        Box::pin(async move {
            let settings = auth.settings();
            if let Some((id, credential)) = presented(request.headers(), &settings.sessions)
                && (credential == Credential::Bearer || !is_cross_site_change(&auth, &request))
                && let Some(identity) = auth.identify(&id, credential).await
            {
                request.extensions_mut().insert(identity);
            }
            let path = request.uri().path();
            if !path.starts_with(AUTH_PREFIX) {
                match judge(&settings.rules, path, request.extensions().get()) {
                    Verdict::Enter => {}
                    Verdict::SignInFirst => return Ok(sign_in_first(&request)),
                    Verdict::Forbidden => return Ok(refuse(StatusCode::FORBIDDEN)),
                }
            }
            inner.call(request).await
        })
    }
}

/// Whether `request` changes state and comes from another site than this one.
fn is_cross_site_change(auth: &Auth, request: &Request) -> bool {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return false;
    }
    if let Some(from) = request.headers().get(ORIGIN) {
        return from.as_bytes() != origin(auth, request).as_bytes();
    }
    match request
        .headers()
        .get("sec-fetch-site")
        .map(HeaderValue::as_bytes)
    {
        Some(b"same-origin" | b"none") | None => false,
        Some(_) => true,
    }
}

/// A browser navigation is sent to sign in and back; anything else gets 401.
fn sign_in_first(request: &Request) -> Response {
    let navigation = matches!(*request.method(), Method::GET | Method::HEAD)
        && request
            .headers()
            .get(ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
    if !navigation {
        let mut response = refuse(StatusCode::UNAUTHORIZED);
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"ferry\", error=\"invalid_token\""),
        );
        return response;
    }
    let here = request
        .uri()
        .path_and_query()
        .map_or("/", |path| path.as_str());
    let back: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(location) = HeaderValue::from_str(&format!("/auth/login?redirect={back}")) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn refuse(status: StatusCode) -> Response {
    let mut response = ferry_core::status_response(status);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
