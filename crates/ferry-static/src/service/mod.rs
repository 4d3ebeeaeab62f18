//! The file service: from a request to a file, an index page, a listing, or the right
//! refusal. `file` serves one file; `pages` makes listings and the not-found answer.

mod file;
mod pages;

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll};

use ferry_core::{BoxFuture, Request, Response, status_response};
use http::header::ALLOW;
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode};

use crate::cache::FileCache;
use crate::options::{StaticOptions, ends_in_config_file_name};
use crate::path::{PathRejection, RequestPath};
use crate::resolve::{self, Found, Missing};
use crate::responses;

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

    /// Whether `path` is one of the files never served: Ferry's configuration files, by
    /// name, and the private files of the options.
    fn is_private(&self, path: &Path) -> bool {
        let private = |path: &Path| {
            ends_in_config_file_name(path)
                || self.private_files.iter().any(|private| private == path)
        };
        if private(path) {
            return true;
        }
        // A followed symlink keeps its own name: look at the file it leads to.
        self.options.follow_symlinks
            && std::fs::canonicalize(path).is_ok_and(|target| private(&target))
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
}

/// Whether `content_type` is HTML.
fn is_html(content_type: &HeaderValue) -> bool {
    content_type.as_bytes().starts_with(b"text/html")
}
