//! The file service of `ferry serve DIR` and of `ferry run APP --static DIR`, configured one
//! way from the file flags, so the same files get the same protections and headers from
//! either command.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use ferry_core::BoxService;
use ferry_core::layers::ResponseHeadersLayer;
use ferry_static::rules::HeaderRule;
use ferry_static::{CachePolicy, CrossOriginIsolation, StaticFiles, StaticOptions};

use crate::cli::{CoepArg, FileArgs};

/// What a command adds to the file flags.
pub(crate) struct FileSetup {
    /// The config file in use: never served (Ferry's config file names never are).
    pub config_file: Option<PathBuf>,
    /// Other files never served: the sign-in database, when it lies under the directory.
    pub private_files: Vec<PathBuf>,
    /// Per-glob header rules from the config file.
    pub header_rules: Vec<HeaderRule>,
    /// Whether to add the live-reload script to HTML pages.
    pub live_reload: bool,
}

/// The file service of `dir`.
pub(crate) fn service(
    dir: &Path,
    args: &FileArgs,
    setup: FileSetup,
) -> anyhow::Result<StaticFiles> {
    let options = StaticOptions {
        header_rules: setup.header_rules,
        private_files: setup
            .config_file
            .into_iter()
            .chain(setup.private_files)
            .collect(),
        live_reload: setup.live_reload,
        ..options(args)
    };
    StaticFiles::new(dir, options).with_context(|| format!("cannot serve {}", dir.display()))
}

/// The file service of `dir` with its response headers (cross-origin isolation and `-H`),
/// as one service: for `ferry run --static`, where the headers belong to the files only.
pub(crate) fn with_headers(files: StaticFiles, args: &FileArgs, cross_origin: bool) -> BoxService {
    BoxService::new(tower::Layer::layer(
        &response_headers(args, cross_origin),
        files,
    ))
}

pub(crate) fn options(args: &FileArgs) -> StaticOptions {
    StaticOptions {
        listing: !args.no_listing,
        hidden: args.hidden,
        follow_symlinks: args.follow_symlinks,
        spa: args.spa,
        compress: !args.no_compress,
        not_found_page: args.not_found_page.clone(),
        cache: match args.cache {
            Some(seconds) => CachePolicy::MaxAge(Duration::from_secs(seconds)),
            None => CachePolicy::NoCache,
        },
        ..StaticOptions::default()
    }
}

/// Cross-origin isolation (unless turned off; with `cross_origin`, resources may be shared
/// across origins) and the user's `-H` headers, which win.
pub(crate) fn response_headers(args: &FileArgs, cross_origin: bool) -> ResponseHeadersLayer {
    let isolation = match (args.no_isolation, args.coep) {
        (true, _) => CrossOriginIsolation::Off,
        (false, CoepArg::RequireCorp) => CrossOriginIsolation::RequireCorp,
        (false, CoepArg::Credentialless) => CrossOriginIsolation::Credentialless,
    };
    let mut layer = ResponseHeadersLayer::new();
    for (name, value) in isolation.headers(cross_origin) {
        layer = layer.set_if_absent(name, value);
    }
    for (name, value) in &args.headers {
        layer = layer.set(name.clone(), value.clone());
    }
    layer
}
