//! The file service: from a request to a file, an index page, a listing, or the right
//! refusal.

use std::convert::Infallible;

use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll};

use ferry_core::{Body, BoxFuture, Request, Response, status_response};
use http::header::{
    ACCEPT, ACCEPT_ENCODING, ALLOW, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, RANGE, VARY,
};
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode};

use crate::cache::{CachedFile, FileCache};
use crate::conditional::{self, Precondition, Validators};
use crate::encoding::{self, Acceptable};
use crate::entity::{Entity, FileVersion};
use crate::listing::{self, ListingPolicy};
use crate::live_reload;
use crate::mime;
use crate::multipart::Multipart;
use crate::negotiate;
use crate::options::StaticOptions;
use crate::path::{PathRejection, RequestPath};
use crate::range::{self, RangePlan, RangeRequest};
use crate::resolve::{self, Found, Missing};
use crate::variants::{self, Encoded, Variant};
use crate::{responses, stream};

/// Index files tried, in order, for a directory request.
const INDEX_FILES: [&str; 2] = ["index.html", "index.htm"];

/// Why a [`StaticFiles`] service could not be created.
#[derive(Debug, thiserror::Error)]
pub enum StaticError {
    /// The root directory does not exist.
    #[error("{} does not exist", path.display())]
    RootNotFound {
        /// The root as given.
        path: PathBuf,
    },
    /// The root exists but is not a directory.
    #[error("{} is not a directory", path.display())]
    RootNotDirectory {
        /// The root as given.
        path: PathBuf,
    },
    /// The custom not-found page is missing or not a file.
    #[error("the not-found page {} does not exist or is not a file", path.display())]
    NotFoundPage {
        /// The page as given.
        path: PathBuf,
    },
    /// The root could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The root as given.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// Serves the files under one root directory: GET and HEAD, index files, directory listings
/// (HTML or JSON), conditional requests, byte ranges, an in-memory cache of small files and
/// streaming of large ones.
///
/// It is a tower service, normally used as the fallback of an [`App`](ferry_core::App):
///
/// ```no_run
/// use ferry_core::App;
/// use ferry_static::{StaticFiles, StaticOptions};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let files = StaticFiles::new("./public", StaticOptions::default())?;
/// App::new().fallback(files).serve("127.0.0.1:8080").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct StaticFiles {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for StaticFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticFiles")
            .field("root", &self.inner.root)
            .field("options", &self.inner.options)
            .finish()
    }
}

struct Inner {
    /// The canonical root.
    root: PathBuf,
    /// Canonical paths of files never served or listed.
    private_files: Vec<PathBuf>,
    options: StaticOptions,
    cache: FileCache,
    cache_control: HeaderValue,
}

impl StaticFiles {
    /// Serves the directory `root` with `options`.
    pub fn new(root: impl AsRef<Path>, options: StaticOptions) -> Result<Self, StaticError> {
        let given = root.as_ref();
        let root = std::fs::canonicalize(given).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => StaticError::RootNotFound {
                path: given.to_path_buf(),
            },
            _ => StaticError::Io {
                path: given.to_path_buf(),
                source,
            },
        })?;
        if !root.is_dir() {
            return Err(StaticError::RootNotDirectory {
                path: given.to_path_buf(),
            });
        }
        if let Some(page) = &options.not_found_page
            && !page.is_file()
        {
            return Err(StaticError::NotFoundPage { path: page.clone() });
        }
        let private_files = options
            .private_files
            .iter()
            .filter_map(|file| std::fs::canonicalize(file).ok())
            .collect();
        Ok(StaticFiles {
            inner: Arc::new(Inner {
                root,
                private_files,
                cache: FileCache::new(options.memory_cache),
                cache_control: options.cache.header_value(),
                options,
            }),
        })
    }

    /// The root directory, canonicalised.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }
}

impl tower::Service<Request> for StaticFiles {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move { Ok(inner.serve(request).await) })
    }
}

impl Inner {
    async fn serve(&self, request: Request) -> Response {
        // Only the head matters; keeping it apart from the body keeps the future `Send`.
        let (request, _body) = request.into_parts();
        let method = &request.method;
        if method != Method::GET && method != Method::HEAD {
            let mut response = status_response(StatusCode::METHOD_NOT_ALLOWED);
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let path = match RequestPath::parse(request.uri.path(), self.options.hidden) {
            Ok(path) => path,
            Err(PathRejection::Forbidden) => return status_response(StatusCode::FORBIDDEN),
            Err(PathRejection::Hidden) => return self.not_found_page(&request).await,
        };
        let mut response =
            match resolve::find(&self.root, &path.to_path(), self.options.follow_symlinks) {
                Ok(found) if self.is_private(&found.path) => self.not_found_page(&request).await,
                Ok(found) if found.metadata.is_dir() => {
                    self.serve_directory(&request, &path, found).await
                }
                Ok(_) if path.has_trailing_slash() => self.not_found(&request).await,
                Ok(found) => self.serve_file(&request, found).await,
                Err(missing) => match missing {
                    Missing::NotFound => self.not_found(&request).await,
                    other => responses::refusal(other),
                },
            };
        if !self.options.header_rules.is_empty() {
            let url_path = format!("/{}", String::from_utf8_lossy(path.as_bytes()));
            self.apply_rules(&url_path, &mut response);
        }
        response
    }

    /// Sets the headers of every rule whose glob matches `url_path`.
    fn apply_rules(&self, url_path: &str, response: &mut Response) {
        for rule in &self.options.header_rules {
            rule.apply(url_path, response.headers_mut());
        }
    }

    /// Whether `path` is one of the files never served (such as Ferry's own config file).
    fn is_private(&self, path: &Path) -> bool {
        self.private_files.iter().any(|private| private == path)
    }

    async fn serve_directory(&self, request: &Parts, path: &RequestPath, dir: Found) -> Response {
        if !path.has_trailing_slash() {
            return responses::redirect_to_directory(request, path);
        }
        let relative = path.to_path();
        for index in INDEX_FILES {
            if let Ok(found) = resolve::find(
                &self.root,
                &relative.join(index),
                self.options.follow_symlinks,
            ) && found.metadata.is_file()
            {
                return self.serve_file(request, found).await;
            }
        }
        if !self.options.listing {
            return self.not_found_page(request).await;
        }
        self.serve_listing(request, path, dir.path).await
    }

    async fn serve_listing(&self, request: &Parts, path: &RequestPath, dir: PathBuf) -> Response {
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

    async fn not_found(&self, request: &Parts) -> Response {
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
    async fn not_found_page(&self, request: &Parts) -> Response {
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

    async fn serve_file(&self, request: &Parts, found: Found) -> Response {
        let version = FileVersion::of(&found.metadata);
        let identity = match self.cache.get(&found.path, None, &version) {
            Some(file) => file,
            None => match self.cache.load(found.path.clone(), version).await {
                Ok(file) => file,
                Err(error) => return responses::refusal(Missing::from(error)),
            },
        };
        if self.options.live_reload && is_html(&identity.entity.content_type) {
            return self
                .serve_with_reload_script(request, &found.path, &identity)
                .await;
        }
        // Range responses are never compressed: byte offsets refer to the file as it is.
        let wants_range = request.method == Method::GET && request.headers.contains_key(RANGE);
        let accepted = if self.options.compress && !wants_range {
            encoding::acceptable(request.headers.get(ACCEPT_ENCODING))
        } else {
            Acceptable::default()
        };
        let variant = match variants::choose(
            &self.cache,
            &found.path,
            &identity,
            accepted,
            self.options.follow_symlinks,
        )
        .await
        {
            Ok(variant) => variant,
            Err(error) => return responses::refusal(Missing::from(error)),
        };
        let mut response = match variant {
            Variant::Identity => self.serve_identity(request, &found.path, &identity).await,
            Variant::Encoded(encoded) => self.serve_encoded(request, &found.path, encoded).await,
        };
        if self.options.compress {
            response
                .headers_mut()
                .insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        // Rules match the file served too: `*.html` applies to `/` answered by index.html.
        if !self.options.header_rules.is_empty()
            && let Ok(relative) = found.path.strip_prefix(&self.root)
        {
            let url_path = format!("/{}", relative.to_string_lossy());
            self.apply_rules(&url_path, &mut response);
        }
        response
    }

    /// The file as it is, whole or in ranges.
    async fn serve_identity(&self, request: &Parts, path: &Path, file: &CachedFile) -> Response {
        let entity = &file.entity;
        let validators = Validators {
            etag: &entity.etag,
            last_modified: entity.modified_secs,
        };
        let headers = &request.headers;
        if let Some(refused) = self.preconditions(request, entity) {
            return refused;
        }
        let len = entity.version.len;
        let requested = match headers.get(RANGE) {
            Some(value)
                if request.method == Method::GET
                    && conditional::if_range_allows(headers, validators) =>
            {
                value
                    .to_str()
                    .map_or(RangeRequest::Ignore, |text| range::parse(text, len))
            }
            _ => RangeRequest::Ignore,
        };
        let plan = match requested {
            RangeRequest::Unsatisfiable => return responses::range_not_satisfiable(len),
            RangeRequest::Satisfiable(ranges) => range::plan(&ranges, len),
            RangeRequest::Ignore => RangePlan::Whole,
        };
        let head = request.method == Method::HEAD;
        let range = match plan {
            RangePlan::Whole => None,
            RangePlan::Single(range) => Some(range),
            RangePlan::Multiple(ranges) => {
                let multipart = Multipart::new(&ranges, &entity.content_type, len);
                let (content_type, length) = (multipart.content_type(), multipart.content_length());
                let body = if head {
                    None
                } else {
                    match stream::multipart_body(file, path, multipart).await {
                        Ok(body) => Some(body),
                        Err(error) => return responses::refusal(Missing::from(error)),
                    }
                };
                return responses::multipart(
                    entity,
                    &self.cache_control,
                    content_type,
                    length,
                    body,
                );
            }
        };
        let body = if head {
            None
        } else {
            let (start, len) = range.map_or((0, len), |r| (r.start, r.len()));
            match stream::file_body(file, path, start, len).await {
                Ok(body) => Some(body),
                Err(error) => return responses::refusal(Missing::from(error)),
            }
        };
        responses::file(entity, &self.cache_control, range, body)
    }

    /// A compressed representation: from memory, a precompressed copy, or compressed as
    /// it is sent.
    async fn serve_encoded(&self, request: &Parts, original: &Path, encoded: Encoded) -> Response {
        let (entity, coding) = match &encoded {
            Encoded::InMemory(file) | Encoded::Precompressed { file, .. } => {
                (&file.entity, file.encoding)
            }
            Encoded::Streamed { coding, entity } => (entity, Some(*coding)),
        };
        if let Some(refused) = self.preconditions(request, entity) {
            return refused;
        }
        let body = if request.method == Method::HEAD {
            Ok(None)
        } else {
            match &encoded {
                Encoded::InMemory(file) => Ok(file.content.clone().map(Body::from)),
                Encoded::Precompressed { file, path } => {
                    stream::file_body(file, path, 0, file.entity.version.len)
                        .await
                        .map(Some)
                }
                Encoded::Streamed { coding, .. } => {
                    stream::compressed_body(*coding, original, entity.version.len)
                        .await
                        .map(Some)
                }
            }
        };
        let body = match body {
            Ok(body) => body,
            Err(error) => return responses::refusal(Missing::from(error)),
        };
        let mut response = match encoded {
            Encoded::Streamed { .. } => {
                responses::file_of_unknown_length(entity, &self.cache_control, body)
            }
            _ => responses::file(entity, &self.cache_control, None, body),
        };
        if let Some(coding) = coding {
            response
                .headers_mut()
                .insert(CONTENT_ENCODING, coding.header_value());
        }
        response
    }

    /// An HTML file with the live-reload script added: whole (no ranges, no compression),
    /// with an entity tag of its own and the length of what is sent.
    async fn serve_with_reload_script(
        &self,
        request: &Parts,
        path: &Path,
        file: &CachedFile,
    ) -> Response {
        let content = match &file.content {
            Some(content) => content.clone(),
            None => {
                let read_path = path.to_path_buf();
                match tokio::task::spawn_blocking(move || std::fs::read(read_path)).await {
                    Ok(Ok(content)) => Bytes::from(content),
                    Ok(Err(error)) => return responses::refusal(Missing::from(error)),
                    Err(error) => {
                        return responses::refusal(Missing::Failed(std::io::Error::other(error)));
                    }
                }
            }
        };
        let page = Bytes::from(live_reload::inject(&content));
        let entity = file.entity.variant("reload", Some(page.len() as u64));
        if let Some(refused) = self.preconditions(request, &entity) {
            return refused;
        }
        let body = (request.method != Method::HEAD).then(|| Body::from(page));
        responses::file(&entity, &self.cache_control, None, body)
    }

    /// `text` with the live-reload script added when live reload is on and it is HTML.
    fn with_reload_script(&self, content_type: &HeaderValue, text: Vec<u8>) -> Vec<u8> {
        if self.options.live_reload && is_html(content_type) {
            live_reload::inject(&text)
        } else {
            text
        }
    }

    /// 304 or 412 when the request's preconditions say so (RFC 9110 §13.2.2).
    fn preconditions(&self, request: &Parts, entity: &Entity) -> Option<Response> {
        let validators = Validators {
            etag: &entity.etag,
            last_modified: entity.modified_secs,
        };
        match conditional::evaluate(&request.method, &request.headers, validators) {
            Precondition::Proceed => None,
            Precondition::NotModified => Some(responses::not_modified(entity, &self.cache_control)),
            Precondition::Failed => Some(status_response(StatusCode::PRECONDITION_FAILED)),
        }
    }
}

/// Whether `content_type` is HTML.
fn is_html(content_type: &HeaderValue) -> bool {
    content_type.as_bytes().starts_with(b"text/html")
}
