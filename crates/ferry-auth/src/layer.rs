//! The identity step of the pipeline: finds the session a request presents (cookie or
//! bearer token), attaches its [`Identity`], and applies the access rules — a browser
//! without a session is sent to sign in and back, another client gets 401 with a
//! `WWW-Authenticate` challenge, a user the rule does not admit gets 403.
//!
//! The session id is then taken out of the request's headers: scripts and files never see
//! it, so a script cannot send its caller's session anywhere.
//!
//! A request that changes state (anything but GET, HEAD and OPTIONS) and is authenticated
//! only by the cookie must come from the site itself (`Origin`, else `Sec-Fetch-Site`);
//! from elsewhere it is handled as anonymous, so a forged cross-site form can do nothing a
//! stranger could not. Its identity is kept aside as [`CrossSite`], for routes that opt in.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use ferry_core::layers::RateLimitKey;
use ferry_core::{BoxFuture, Request, Response};
use futures_util::future::Either;
use http::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, ORIGIN, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, StatusCode};

use crate::auth::Auth;
use crate::credential::Credential;
use crate::credential::take_credential;
use crate::identity::Identity;
use crate::routes::origin;
use crate::rules::{Verdict, judge};

/// The paths of sign-in itself, which no rule may close.
const AUTH_PREFIX: &str = "/auth/";
/// The OAuth metadata documents MCP clients read before signing in.
const OAUTH_METADATA_PREFIX: &str = "/.well-known/oauth-";

/// Makes [`Identify`] services; see the module documentation.
#[derive(Debug, Clone)]
pub struct IdentifyLayer {
    auth: Auth,
    /// Whether the access rules are applied here (not in the identify-only step before a
    /// rate limit).
    admit: bool,
}

impl Auth {
    /// The pipeline step that attaches identities and applies the access rules.
    pub fn layer(&self) -> IdentifyLayer {
        IdentifyLayer {
            auth: self.clone(),
            admit: true,
        }
    }

    /// A step that only attaches identities, each with a [`RateLimitKey`] (the user's id),
    /// for a rate limit that runs before [`Auth::install`]'s step: that step then finds
    /// the identity attached and only applies the access rules.
    pub fn identify_layer(&self) -> IdentifyLayer {
        IdentifyLayer {
            auth: self.clone(),
            admit: false,
        }
    }

    /// Adds sign-in to `app`: the `/auth/*` routes, user and group management
    /// (`/engine/users`, `/engine/user_roles`, `/engine/groups`, `/engine/group_members`),
    /// API tokens (`/auth/tokens`) and the identity step around every route.
    pub fn install(&self, app: ferry_core::App) -> ferry_core::App {
        let app = self.group_routes(self.admin_routes(self.routes(app)));
        self.oauth_routes(self.token_routes(app))
            .layer(self.layer())
    }

    /// The stack's authentication step: identification before the rate limit (so limits
    /// count signed-in users, not addresses) and [`Auth::install`] innermost.
    pub fn stack_step(&self) -> ferry_core::stack::Authentication {
        let (identify, install) = (self.clone(), self.clone());
        ferry_core::stack::Authentication::sign_in(
            move |app| app.layer(identify.identify_layer()),
            move |app| install.install(app),
        )
    }
}

impl<S> tower::Layer<S> for IdentifyLayer {
    type Service = Identify<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Identify {
            inner,
            auth: self.auth.clone(),
            admit: self.admit,
        }
    }
}

/// The service made by [`IdentifyLayer`].
#[derive(Debug, Clone)]
pub struct Identify<S> {
    inner: S,
    auth: Auth,
    admit: bool,
}

impl<S> tower::Service<Request> for Identify<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    /// The inner service's future when the session is known (or there is none): the hot
    /// path allocates nothing; boxed when the store must be asked or the request refused.
    type Future = Either<S::Future, BoxFuture<Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // Taken out of the headers whatever happens next: never seen past this step.
        let mut taken = take_credential(request.headers_mut(), self.auth.cookie_names());
        if taken.is_some_and(|(_, credential)| {
            credential == Credential::Access && !self.auth.is_mcp_resource(request.uri().path())
        }) {
            // An MCP access token is good at the MCP endpoint only; elsewhere it is dropped.
            request.headers_mut().remove(AUTHORIZATION);
            taken = None;
        }
        if let Some((id, credential)) = taken {
            let cross_site =
                credential == Credential::Cookie && is_cross_site_change(&self.auth, &request);
            let identify_only = !self.admit;
            match self.auth.recall(&id, credential) {
                Some(Some(identity)) => {
                    attach(&mut request, identity, cross_site, identify_only);
                }
                Some(None) => {}
                None => {
                    // The store must be asked: off the hot path.
                    let clone = self.inner.clone();
                    let inner = std::mem::replace(&mut self.inner, clone);
                    let auth = self.auth.clone();
                    return Either::Right(Box::pin(async move {
                        match auth.identify(&id, credential).await {
                            Ok(Some(identity)) => {
                                attach(&mut request, identity, cross_site, identify_only);
                            }
                            Ok(None) => {}
                            // Who is asking cannot be told: not anonymous, not refused.
                            Err(_) => return Ok(crate::admin::unavailable()),
                        }
                        Ok(judged(&auth, inner, request, identify_only).await)
                    }));
                }
            }
        }
        let refused = if self.admit {
            refusal(&self.auth, &request)
        } else {
            None
        };
        match refused {
            None => Either::Left(self.inner.call(request)),
            Some(response) => Either::Right(Box::pin(std::future::ready(Ok(response)))),
        }
    }
}

/// Attaches `identity` to `request` — as [`CrossSite`] when only the cookie vouches for a
/// change from another site; with a [`RateLimitKey`] when `keyed`. A bearer token that
/// proved it leaves the headers.
fn attach(request: &mut Request, identity: Identity, cross_site: bool, keyed: bool) {
    if identity.credential() != Credential::Cookie {
        request.headers_mut().remove(AUTHORIZATION);
    }
    if keyed {
        let key = RateLimitKey(Arc::from(identity.user().id.as_str()));
        request.extensions_mut().insert(key);
    }
    if cross_site {
        request.extensions_mut().insert(CrossSite(identity));
    } else {
        request.extensions_mut().insert(identity);
    }
}

/// The identity of a state-changing request from another site that only the session
/// cookie vouches for. It is not attached as an [`Identity`] — everything that looks for
/// one (access rules, the management API, scripts) sees an anonymous request — so a forged
/// cross-site form can do nothing a stranger could not. A route that expects such requests
/// (a script's `{ allowCrossSite: true }`) may take it.
#[derive(Debug, Clone)]
pub struct CrossSite(pub Identity);

/// The access rules' answer to `request` (unless `identify_only`), or the inner service's.
async fn judged<S>(auth: &Auth, mut inner: S, request: Request, identify_only: bool) -> Response
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    if !identify_only && let Some(response) = refusal(auth, &request) {
        return response;
    }
    match inner.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The refusal the access rules give `request`, if any.
fn refusal(auth: &Auth, request: &Request) -> Option<Response> {
    let rules = &auth.settings().rules;
    let path = request.uri().path();
    if rules.is_empty() || path.starts_with(AUTH_PREFIX) || path.starts_with(OAUTH_METADATA_PREFIX)
    {
        return None;
    }
    match judge(rules, path, request.extensions().get()) {
        Verdict::Enter => None,
        Verdict::SignInFirst if auth.is_mcp_resource(path) => {
            let mut response = refuse(StatusCode::UNAUTHORIZED);
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, auth.mcp_challenge(request));
            Some(response)
        }
        Verdict::SignInFirst => Some(sign_in_first(request)),
        Verdict::Forbidden => Some(refuse(StatusCode::FORBIDDEN)),
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
    crate::redirect::to_sign_in(here)
}

fn refuse(status: StatusCode) -> Response {
    let mut response = ferry_core::status_response(status);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
