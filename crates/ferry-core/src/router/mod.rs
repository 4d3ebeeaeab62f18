//! Routing: an immutable route table ([`Router`]), a handle that swaps tables atomically
//! while the server runs ([`Routes`]), and the service that dispatches requests through it
//! ([`RouterService`]).
//!
//! Patterns are exact paths, `:name` segments and a trailing `*` (or `*name`) wildcard.
//! GET routes answer HEAD too. A path that matches a route but not the request's method is
//! answered 405 with an `Allow` header; a path that matches nothing goes to the fallback
//! service, or is answered 404.
//!
//! ```
//! use ferry_core::router::{RouteMatch, Router};
//! use http::Method;
//!
//! let router = Router::new()
//!     .route("/users/:id", Method::GET, |_req| async { "a user" })
//!     .unwrap();
//! match router.lookup(&Method::HEAD, "/users/7") {
//!     RouteMatch::Found { params, .. } => assert_eq!(params.get("id"), Some("7")),
//!     _ => unreachable!("GET routes answer HEAD"),
//! }
//! assert!(matches!(router.lookup(&Method::POST, "/users/7"), RouteMatch::MethodNotAllowed { .. }));
//! assert!(matches!(router.lookup(&Method::GET, "/nowhere"), RouteMatch::NotFound));
//! ```

mod pattern;
mod service;

use std::collections::HashMap;
use std::sync::Arc;

use http::{HeaderValue, Method};
use percent_encoding::percent_decode_str;

pub use service::{RouterService, Routes};

use crate::context::PathParams;
use crate::handler::Handler;

/// Why a route could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The pattern is not valid route syntax.
    #[error("invalid route pattern '{pattern}': {reason}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The pattern overlaps an existing one in a way the router cannot order.
    #[error("route pattern '{pattern}' conflicts with an existing route: {reason}")]
    Conflict {
        /// The pattern as given.
        pattern: String,
        /// matchit's explanation.
        reason: String,
    },
    /// The same method was registered twice for one pattern.
    #[error("{method} {pattern} is already registered")]
    Duplicate {
        /// The pattern as given.
        pattern: String,
        /// The method registered twice.
        method: Method,
    },
}

/// Checks that `pattern` is valid route syntax without adding it anywhere (a script engine
/// uses this to report a bad pattern where the script registers it).
///
/// ```
/// assert!(ferry_core::router::check_pattern("/users/:id").is_ok());
/// assert!(ferry_core::router::check_pattern("users").is_err());
/// ```
pub fn check_pattern(pattern: &str) -> Result<(), RouteError> {
    pattern::parse(pattern)
        .map(|_| ())
        .map_err(|reason| RouteError::InvalidPattern {
            pattern: pattern.to_owned(),
            reason,
        })
}

/// The route pattern that answered a request (`/users/:id`), as registered. The router
/// puts it in the response's extensions when the request carries [`ReportRoute`], which the
/// metrics layer adds so requests can be counted per route without a label per path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedRoute(pub Arc<str>);

impl MatchedRoute {
    /// The pattern.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A request extension asking the router to report the [`MatchedRoute`] on the response.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportRoute;

/// One pattern and the handlers registered for it, by method.
struct Route {
    /// The pattern as registered, for metrics.
    pattern: MatchedRoute,
    methods: Vec<(Method, Arc<dyn Handler>)>,
    /// The `Allow` header for 405 answers, kept in step with `methods`.
    allow: HeaderValue,
}

impl Route {
    fn handler_for(&self, method: &Method) -> Option<&Arc<dyn Handler>> {
        let find = |wanted: &Method| {
            self.methods
                .iter()
                .find(|(m, _)| m == wanted)
                .map(|(_, h)| h)
        };
        find(method).or_else(|| {
            if method == Method::HEAD {
                find(&Method::GET)
            } else {
                None
            }
        })
    }

    fn rebuild_allow(&mut self) {
        let mut names: Vec<&str> = self.methods.iter().map(|(m, _)| m.as_str()).collect();
        if names.contains(&"GET") && !names.contains(&"HEAD") {
            names.push("HEAD");
        }
        let joined = names.join(", ");
        self.allow = HeaderValue::from_str(&joined).expect("method names are valid header text");
    }
}

/// The result of looking a request up in a [`Router`].
pub enum RouteMatch<'a> {
    /// A handler for the path and method, with the parameters the pattern captured.
    Found {
        /// The handler to call.
        handler: &'a Arc<dyn Handler>,
        /// Captured path parameters, percent-decoded.
        params: PathParams,
        /// The pattern that matched.
        route: &'a MatchedRoute,
    },
    /// The path matches a route, but not for this method.
    MethodNotAllowed {
        /// The methods the route does answer, for the `Allow` header.
        allow: &'a HeaderValue,
    },
    /// No route matches the path.
    NotFound,
}

/// An immutable route table. Build one, then serve it (directly through
/// [`App`](crate::App), or swapped in at run time through [`Routes`]).
#[derive(Default)]
pub struct Router {
    matcher: matchit::Router<usize>,
    routes: Vec<Route>,
    /// User pattern → index into `routes`.
    by_pattern: HashMap<String, usize>,
    /// Wildcard prefixes inserted on a wildcard route's behalf (`/files/` for `/files/*`);
    /// an explicit route for the same path replaces them.
    implicit: HashMap<String, usize>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut patterns: Vec<&String> = self.by_pattern.keys().collect();
        patterns.sort();
        f.debug_struct("Router")
            .field("patterns", &patterns)
            .finish()
    }
}

impl Router {
    /// An empty route table.
    pub fn new() -> Self {
        Router::default()
    }

    /// Adds `handler` for `method` requests to paths matching `pattern` (builder style).
    pub fn route(
        mut self,
        pattern: &str,
        method: Method,
        handler: impl Handler,
    ) -> Result<Self, RouteError> {
        self.add(pattern, method, Arc::new(handler))?;
        Ok(self)
    }

    /// Adds a shared `handler` for `method` requests to paths matching `pattern`.
    pub fn add(
        &mut self,
        pattern: &str,
        method: Method,
        handler: Arc<dyn Handler>,
    ) -> Result<(), RouteError> {
        let index = match self.by_pattern.get(pattern) {
            Some(&index) => index,
            None => self.insert_pattern(pattern)?,
        };
        let route = &mut self.routes[index];
        if route.methods.iter().any(|(m, _)| *m == method) {
            return Err(RouteError::Duplicate {
                pattern: pattern.to_owned(),
                method,
            });
        }
        route.methods.push((method, handler));
        route.rebuild_allow();
        Ok(())
    }

    fn insert_pattern(&mut self, pattern: &str) -> Result<usize, RouteError> {
        let parsed = pattern::parse(pattern).map_err(|reason| RouteError::InvalidPattern {
            pattern: pattern.to_owned(),
            reason,
        })?;
        let index = self.routes.len();
        // An explicit route takes the place of a wildcard's implicit prefix route.
        if self.implicit.remove(&parsed.matchit).is_some() {
            self.matcher.remove(parsed.matchit.as_str());
        }
        self.matcher
            .insert(parsed.matchit.as_str(), index)
            .map_err(|error| RouteError::Conflict {
                pattern: pattern.to_owned(),
                reason: error.to_string(),
            })?;
        if let Some(prefix) = parsed.wildcard_prefix {
            // Best effort: if an explicit route already owns the prefix, it keeps it.
            if self.matcher.insert(prefix.as_str(), index).is_ok() {
                self.implicit.insert(prefix, index);
            }
        }
        self.routes.push(Route {
            pattern: MatchedRoute(pattern.into()),
            methods: Vec::new(),
            allow: HeaderValue::from_static(""),
        });
        self.by_pattern.insert(pattern.to_owned(), index);
        Ok(index)
    }

    /// Finds what answers `method` on `path` (the raw, still percent-encoded request path).
    pub fn lookup(&self, method: &Method, path: &str) -> RouteMatch<'_> {
        let Ok(matched) = self.matcher.at(path) else {
            return RouteMatch::NotFound;
        };
        let route = &self.routes[*matched.value];
        match route.handler_for(method) {
            Some(handler) => {
                let params = if matched.params.is_empty() {
                    PathParams::default()
                } else {
                    PathParams::new(
                        matched
                            .params
                            .iter()
                            .map(|(name, value)| {
                                (
                                    pattern::public_name(name).to_owned(),
                                    percent_decode_str(value).decode_utf8_lossy().into_owned(),
                                )
                            })
                            .collect(),
                    )
                };
                RouteMatch::Found {
                    handler,
                    params,
                    route: &route.pattern,
                }
            }
            None => RouteMatch::MethodNotAllowed {
                allow: &route.allow,
            },
        }
    }

    /// The number of distinct patterns in the table.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the table has no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(_: crate::Request) -> std::future::Ready<&'static str> {
        std::future::ready("ok")
    }

    fn found_params(router: &Router, method: Method, path: &str) -> PathParams {
        match router.lookup(&method, path) {
            RouteMatch::Found { params, .. } => params,
            RouteMatch::MethodNotAllowed { .. } => panic!("{method} {path}: 405"),
            RouteMatch::NotFound => panic!("{method} {path}: 404"),
        }
    }

    #[test]
    fn parameters_are_captured_and_percent_decoded() {
        let router = Router::new().route("/users/:id", Method::GET, ok).unwrap();
        let params = found_params(&router, Method::GET, "/users/J%C3%BCrgen%20K");
        assert_eq!(params.get("id"), Some("Jürgen K"));
    }

    #[test]
    fn get_routes_answer_head_but_not_post() {
        let router = Router::new().route("/hello", Method::GET, ok).unwrap();
        found_params(&router, Method::HEAD, "/hello");
        match router.lookup(&Method::POST, "/hello") {
            RouteMatch::MethodNotAllowed { allow } => assert_eq!(allow, "GET, HEAD"),
            _ => panic!("expected 405"),
        }
    }

    #[test]
    fn allow_lists_every_registered_method() {
        let router = Router::new()
            .route("/echo", Method::POST, ok)
            .unwrap()
            .route("/echo", Method::PUT, ok)
            .unwrap();
        match router.lookup(&Method::GET, "/echo") {
            RouteMatch::MethodNotAllowed { allow } => assert_eq!(allow, "POST, PUT"),
            _ => panic!("expected 405"),
        }
    }

    #[test]
    fn trailing_wildcard_matches_its_prefix_and_everything_below() {
        let router = Router::new().route("/files/*", Method::GET, ok).unwrap();
        assert_eq!(
            found_params(&router, Method::GET, "/files/a/b.txt").get("*"),
            Some("a/b.txt")
        );
        found_params(&router, Method::GET, "/files/");
        assert!(matches!(
            router.lookup(&Method::GET, "/file"),
            RouteMatch::NotFound
        ));
    }

    #[test]
    fn explicit_route_replaces_a_wildcards_implicit_prefix() {
        let router = Router::new()
            .route("/files/*", Method::GET, ok)
            .unwrap()
            .route("/files/", Method::POST, ok)
            .unwrap();
        // `/files/` now belongs to the explicit POST route.
        assert!(matches!(
            router.lookup(&Method::GET, "/files/"),
            RouteMatch::MethodNotAllowed { .. }
        ));
        found_params(&router, Method::GET, "/files/x");
    }

    #[test]
    fn duplicate_method_is_refused() {
        let error = Router::new()
            .route("/a", Method::GET, ok)
            .unwrap()
            .route("/a", Method::GET, ok)
            .unwrap_err();
        assert!(matches!(error, RouteError::Duplicate { .. }));
    }

    #[test]
    fn conflicting_parameters_are_refused() {
        let error = Router::new()
            .route("/users/:id", Method::GET, ok)
            .unwrap()
            .route("/users/:name", Method::GET, ok)
            .unwrap_err();
        assert!(matches!(error, RouteError::Conflict { .. }), "{error}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(10_000))]

        /// Any pattern is either refused with a reason or routed; any request path is looked
        /// up without panicking.
        #[test]
        fn patterns_and_lookups_never_panic(
            pattern in "[/:*a-z{}.%-]{0,24}",
            path in "[/a-z0-9{}.%*:-]{0,32}",
        ) {
            let mut router = Router::new();
            let _ = router.add(&pattern, Method::GET, Arc::new(ok));
            let _ = router.add("/fixed/:id/*rest", Method::POST, Arc::new(ok));
            let _ = router.lookup(&Method::GET, &path);
            let _ = router.lookup(&Method::HEAD, &path);
        }
    }

    #[test]
    fn exact_route_wins_over_parameter() {
        let router = Router::new()
            .route("/users/:id", Method::GET, ok)
            .unwrap()
            .route("/users/me", Method::POST, ok)
            .unwrap();
        assert!(matches!(
            router.lookup(&Method::GET, "/users/me"),
            RouteMatch::MethodNotAllowed { .. }
        ));
        assert_eq!(
            found_params(&router, Method::GET, "/users/7").get("id"),
            Some("7")
        );
    }
}
