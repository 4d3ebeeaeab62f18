//! Pages the file service makes itself: directory listings and the not-found answer.

use std::path::{Path, PathBuf};

use ferry_core::{Body, Response, status_response};
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, VARY};
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode};

use super::{INDEX_FILES, Inner, is_html};
use crate::listing::{self, ListingPolicy};
use crate::live_reload;
use crate::mime;
use crate::negotiate;
use crate::path::RequestPath;
use crate::resolve::{self, Missing};
use crate::responses;

impl Inner {
    pub(super) async fn serve_listing(
        &self,
        request: &Parts,
        path: &RequestPath,
        dir: PathBuf,
    ) -> Response {
        let root = self.root.clone();
        let private_files = self.private_files.clone();
        let show_hidden = self.options.hidden;
        let follow_symlinks = self.options.follow_symlinks;
        let read = tokio::task::spawn_blocking(move || {
            listing::read_entries(
                &dir,
                ListingPolicy {
                    root: &root,
                    show_hidden,
                    follow_symlinks,
                    private_files: &private_files,
                },
            )
        })
        .await;
        let entries = match read {
            Ok(Ok(entries)) => entries,
            Ok(Err(error)) => return responses::refusal(Missing::from(error)),
            Err(error) => return responses::refusal(Missing::Failed(std::io::Error::other(error))),
        };
        let display_path = if path.is_root() {
            "/".to_owned()
        } else {
            format!("/{}/", String::from_utf8_lossy(path.as_bytes()))
        };
        let (body, content_type) = if negotiate::prefers_json(request.headers.get(ACCEPT)) {
            (
                listing::render_json(&display_path, &entries),
                HeaderValue::from_static("application/json"),
            )
        } else {
            (
                listing::render_html(&display_path, &entries),
                HeaderValue::from_static("text/html; charset=utf-8"),
            )
        };
        let body = self.with_reload_script(&content_type, body.into_bytes());
        let mut response = Response::new(Body::from(body));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, content_type);
        headers.insert(CACHE_CONTROL, self.cache_control.clone());
        headers.insert(VARY, HeaderValue::from_static("Accept"));
        response
    }

    pub(super) async fn not_found(&self, request: &Parts) -> Response {
        if self.options.spa && negotiate::accepts_html_explicitly(request.headers.get(ACCEPT)) {
            for index in INDEX_FILES {
                if let Ok(found) =
                    resolve::find(&self.root, Path::new(index), self.options.follow_symlinks)
                    && found.metadata.is_file()
                {
                    return self.serve_file(request, found).await;
                }
            }
        }
        self.not_found_page(request).await
    }

    /// 404, with the custom not-found page when one is configured (read fresh each time, so
    /// edits show; a page that cannot be read falls back to the plain answer).
    pub(super) async fn not_found_page(&self, request: &Parts) -> Response {
        let Some(page) = self.options.not_found_page.clone() else {
            return status_response(StatusCode::NOT_FOUND);
        };
        let read_path = page.clone();
        let content = match tokio::task::spawn_blocking(move || std::fs::read(read_path)).await {
            Ok(Ok(content)) => content,
            Ok(Err(error)) => {
                tracing::warn!(page = %page.display(), %error, "cannot read the not-found page");
                return status_response(StatusCode::NOT_FOUND);
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read the not-found page");
                return status_response(StatusCode::NOT_FOUND);
            }
        };
        let content_type = mime::content_type(&page);
        let content = self.with_reload_script(&content_type, content);
        let length = content.len() as u64;
        let body = (request.method != Method::HEAD).then(|| Body::from(content));
        let mut response = responses::page(content_type, &self.cache_control, length, body);
        *response.status_mut() = StatusCode::NOT_FOUND;
        response
    }

    /// `text` with the live-reload script added when live reload is on and it is HTML.
    pub(super) fn with_reload_script(&self, content_type: &HeaderValue, text: Vec<u8>) -> Vec<u8> {
        if self.options.live_reload && is_html(content_type) {
            live_reload::inject(&text)
        } else {
            text
        }
    }
}
