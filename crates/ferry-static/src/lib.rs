//! Ferry's file service: the part of `ferry serve` that turns request paths into files.
//!
//! [`StaticFiles`] is a tower service over one root directory. For each GET or HEAD it
//!
//! 1. decodes and normalises the request path and refuses traversal, NUL bytes, backslashes
//!    and (unless allowed) hidden names before touching the disk ([`path`]);
//! 2. finds the path inside the root under the symlink policy ([`resolve`](crate::StaticFiles));
//! 3. answers a directory with a slash redirect, its `index.html`/`index.htm`, or a listing
//!    in HTML or JSON;
//! 4. answers a file with strong `ETag` and `Last-Modified`, RFC 9110 conditional requests
//!    ([`conditional`]), single byte ranges ([`range`]) and a `Content-Type` from Ferry's own
//!    table ([`mime`]); small files come from a bounded memory cache validated on every
//!    request by `stat`, large ones stream from disk off the async threads.
//!
//! Cross-origin isolation headers ([`CrossOriginIsolation`]) are added around it by the
//! server, so they reach every response.
//!
//! ```no_run
//! use ferry_core::App;
//! use ferry_static::{StaticFiles, StaticOptions};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let options = StaticOptions { spa: true, ..StaticOptions::default() };
//! App::new()
//!     .fallback(StaticFiles::new("./dist", options)?)
//!     .serve("127.0.0.1:8080")
//!     .await?;
//! # Ok(())
//! # }
//! ```

mod cache;
mod compress;
pub mod conditional;
pub mod encoding;
mod entity;
mod file_stream;
mod isolation;
mod listing;
pub mod live_reload;
mod memory;
pub mod mime;
mod multipart;
pub mod negotiate;
mod options;
pub mod path;
pub mod range;
mod resolve;
mod responses;
pub mod rules;
mod selection;
mod service;
mod stream;
mod variants;

pub use cache::MemoryCacheLimits;
pub use isolation::CrossOriginIsolation;
pub use memory::{InMemoryFile, InMemoryPolicy};
pub use options::{CONFIG_FILE_NAMES, CachePolicy, StaticOptions, is_config_file_name};
pub use service::{StaticError, StaticFiles};
