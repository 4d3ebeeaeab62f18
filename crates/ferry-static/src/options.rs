//! How the file service behaves: what it lists, what it refuses, what it caches.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::Duration;

use http::HeaderValue;

use crate::cache::MemoryCacheLimits;
use crate::rules::HeaderRule;

/// The names of Ferry's own configuration files. A file of one of these names (in any
/// letter case) is never served nor listed, in any directory and whatever the options: it
/// may hold secrets such as the management API's token.
pub const CONFIG_FILE_NAMES: [&str; 4] = ["ferry.toml", "ferry.yaml", "ferry.yml", "ferry.json"];

/// Whether `name` is one of [`CONFIG_FILE_NAMES`]. Asked for every file served, so it
/// looks at the length first: most names are not 9 or 10 bytes long.
pub fn is_config_file_name(name: &OsStr) -> bool {
    let name = name.as_encoded_bytes();
    (name.len() == 9 || name.len() == 10)
        && CONFIG_FILE_NAMES
            .iter()
            .any(|config| config.as_bytes().eq_ignore_ascii_case(name))
}

/// Whether the last component of `path` is one of [`CONFIG_FILE_NAMES`], found without
/// parsing the path's components (this runs for every file served).
pub(crate) fn ends_in_config_file_name(path: &std::path::Path) -> bool {
    let bytes = path.as_os_str().as_encoded_bytes();
    let name = match bytes
        .iter()
        .rposition(|&byte| byte == b'/' || byte == b'\\')
    {
        Some(slash) => &bytes[slash + 1..],
        None => bytes,
    };
    (name.len() == 9 || name.len() == 10)
        && CONFIG_FILE_NAMES
            .iter()
            .any(|config| config.as_bytes().eq_ignore_ascii_case(name))
}

/// Settings of a [`StaticFiles`](crate::StaticFiles) service. The defaults are those of
/// `ferry serve`: listings on, hidden files and outward symlinks refused, `no-cache`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticOptions {
    /// List directories that have no `index.html`/`index.htm` (otherwise 404). Default on.
    pub listing: bool,
    /// Serve and list dot-files such as `.env` and `.git/` (otherwise 404 and unlisted). Default off.
    pub hidden: bool,
    /// Follow symlinks that lead outside the root (otherwise 403). Default off.
    pub follow_symlinks: bool,
    /// Single-page-app mode: a missing path requested by a browser navigation (`Accept`
    /// names `text/html`) gets the root `index.html` with 200; missing assets stay 404. Default off.
    pub spa: bool,
    /// The `Cache-Control` policy for files and listings. Default `no-cache`.
    pub cache: CachePolicy,
    /// Send compressible files compressed (`br`, `zstd` or `gzip`, as the client prefers):
    /// precompressed copies beside the file when present, else compressed by Ferry. Default on.
    pub compress: bool,
    /// Limits of the in-memory cache of small files. Default: see [`MemoryCacheLimits`].
    pub memory_cache: MemoryCacheLimits,
    /// A page to send (with status 404) instead of the plain answer when nothing is found. Default none.
    pub not_found_page: Option<PathBuf>,
    /// Headers set on responses to paths matching a glob, applied in order (a later rule
    /// wins over an earlier one for the same header). Default none.
    pub header_rules: Vec<HeaderRule>,
    /// Files under the root that are never served nor listed (answered 404), besides those
    /// named like Ferry's configuration files ([`CONFIG_FILE_NAMES`]), which never are. Default none.
    pub private_files: Vec<PathBuf>,
    /// Add the live-reload script to every HTML response (see
    /// [`live_reload`](crate::live_reload)); such responses are not compressed and ignore
    /// Range. Default off.
    pub live_reload: bool,
}

impl Default for StaticOptions {
    fn default() -> Self {
        StaticOptions {
            listing: true,
            hidden: false,
            follow_symlinks: false,
            spa: false,
            cache: CachePolicy::NoCache,
            compress: true,
            memory_cache: MemoryCacheLimits::default(),
            not_found_page: None,
            header_rules: Vec::new(),
            private_files: Vec::new(),
            live_reload: false,
        }
    }
}

/// What `Cache-Control` tells browsers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachePolicy {
    /// `no-cache`: browsers may store files but must revalidate them (cheaply, with the
    /// `ETag`) before every use, so an edited file is never shown stale. The dev default.
    NoCache,
    /// `max-age=N`: browsers may use their copy for `N` seconds without asking.
    MaxAge(Duration),
}

impl CachePolicy {
    /// The `Cache-Control` header value.
    pub fn header_value(&self) -> HeaderValue {
        match self {
            CachePolicy::NoCache => HeaderValue::from_static("no-cache"),
            CachePolicy::MaxAge(age) => {
                HeaderValue::from_str(&format!("max-age={}", age.as_secs()))
                    .expect("digits are valid header text")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_names_end_paths_in_any_case() {
        use std::path::Path;
        assert!(ends_in_config_file_name(Path::new("/srv/site/FERRY.toml")));
        assert!(ends_in_config_file_name(Path::new("ferry.yml")));
        assert!(!ends_in_config_file_name(Path::new(
            "/srv/ferry.toml/index.html"
        )));
        assert!(!ends_in_config_file_name(Path::new("/srv/site/1k.html")));
    }

    #[test]
    fn config_file_names_are_recognised_in_any_case() {
        assert!(is_config_file_name(OsStr::new("ferry.toml")));
        assert!(is_config_file_name(OsStr::new("Ferry.JSON")));
        assert!(!is_config_file_name(OsStr::new("ferry.toml.txt")));
        assert!(!is_config_file_name(OsStr::new("other.toml")));
    }

    #[test]
    fn cache_policies_render() {
        assert_eq!(CachePolicy::NoCache.header_value(), "no-cache");
        assert_eq!(
            CachePolicy::MaxAge(Duration::from_secs(3600)).header_value(),
            "max-age=3600"
        );
    }
}
