//! The GraphiQL IDE page served to browsers at the endpoint in development mode. It loads
//! GraphiQL (and React) from the unpkg CDN, as GraphiQL's own examples do.

use ferry_core::{IntoResponse, Response};
use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};

/// The page for the endpoint at `path`.
pub(crate) fn page(path: &str) -> Response {
    let endpoint = serde_json::to_string(path).unwrap_or_else(|_| "\"/graphql\"".into());
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>GraphiQL — Ferry</title>
<style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
<link rel="stylesheet" href="https://unpkg.com/graphiql@3/graphiql.min.css">
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script crossorigin src="https://unpkg.com/react@18/umd/react.production.min.js"></script>
<script crossorigin src="https://unpkg.com/react-dom@18/umd/react-dom.production.min.js"></script>
<script crossorigin src="https://unpkg.com/graphiql@3/graphiql.min.js"></script>
<script>
  const fetcher = GraphiQL.createFetcher({{ url: {endpoint} }});
  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(GraphiQL, {{ fetcher }}));
</script>
</body>
</html>
"#
    );
    let mut response = (StatusCode::OK, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    response
}
