//! Content types from file names, from Ferry's own table.
//!
//! The operating system's registry is never consulted: it is how Python's `http.server`
//! ends up sending JavaScript as `text/plain` on some Windows machines, and browsers refuse
//! module scripts and streaming WebAssembly compilation without the right type.

use std::path::Path;

use http::HeaderValue;

/// The type sent when the extension is unknown.
pub const OCTET_STREAM: HeaderValue = HeaderValue::from_static("application/octet-stream");

/// The `Content-Type` for a file named `path`.
///
/// Text types carry `charset=utf-8`. Source maps (`app.wasm.map`, `app.js.map`) are JSON.
///
/// ```
/// use ferry_static::mime::content_type;
/// use std::path::Path;
///
/// assert_eq!(content_type(Path::new("app.wasm")), "application/wasm");
/// assert_eq!(content_type(Path::new("main.mjs")), "text/javascript; charset=utf-8");
/// assert_eq!(content_type(Path::new("blob.unknown")), "application/octet-stream");
/// ```
pub fn content_type(path: &Path) -> HeaderValue {
    let Some(extension) = path.extension().and_then(|e| e.to_str()) else {
        return OCTET_STREAM;
    };
    let lower;
    let extension = if extension.bytes().any(|b| b.is_ascii_uppercase()) {
        lower = extension.to_ascii_lowercase();
        lower.as_str()
    } else {
        extension
    };
    HeaderValue::from_static(by_extension(extension).unwrap_or("application/octet-stream"))
}

fn by_extension(extension: &str) -> Option<&'static str> {
    Some(match extension {
        // Documents and code.
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" | "cjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "jsonld" => "application/ld+json",
        "webmanifest" => "application/manifest+json",
        "xml" => "application/xml",
        "txt" | "text" | "log" => "text/plain; charset=utf-8",
        "md" | "markdown" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "tsv" => "text/tab-separated-values; charset=utf-8",
        "ics" => "text/calendar; charset=utf-8",
        "vtt" => "text/vtt; charset=utf-8",
        "yaml" | "yml" => "application/yaml",
        "toml" => "application/toml",
        "pdf" => "application/pdf",
        "rtf" => "application/rtf",
        // WebAssembly.
        "wasm" => "application/wasm",
        "wat" => "text/plain; charset=utf-8",
        // Images.
        "png" => "image/png",
        "jpg" | "jpeg" | "jfif" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" | "svgz" => "image/svg+xml",
        "ico" => "image/x-icon",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "apng" => "image/apng",
        // Fonts.
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "eot" => "application/vnd.ms-fontobject",
        // Audio and video.
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" | "oga" => "audio/ogg",
        "opus" => "audio/opus",
        "flac" => "audio/flac",
        "aac" => "audio/aac",
        "m4a" => "audio/mp4",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "ogv" => "video/ogg",
        "mov" => "video/quicktime",
        "m3u8" => "application/vnd.apple.mpegurl",
        "ts" => "video/mp2t",
        // Archives and binaries.
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "br" => "application/x-brotli",
        "zst" => "application/zstd",
        "tar" => "application/x-tar",
        "7z" => "application/x-7z-compressed",
        "bin" | "exe" | "dll" | "so" => "application/octet-stream",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(name: &str) -> String {
        content_type(Path::new(name)).to_str().unwrap().to_owned()
    }

    #[test]
    fn web_types_are_right() {
        assert_eq!(of("index.html"), "text/html; charset=utf-8");
        assert_eq!(of("style.css"), "text/css; charset=utf-8");
        assert_eq!(of("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(of("app.mjs"), "text/javascript; charset=utf-8");
        assert_eq!(of("data.json"), "application/json");
        assert_eq!(of("logo.svg"), "image/svg+xml");
        assert_eq!(of("site.webmanifest"), "application/manifest+json");
        assert_eq!(of("font.woff2"), "font/woff2");
        assert_eq!(of("photo.JPG"), "image/jpeg");
    }

    #[test]
    fn webassembly_types_are_right() {
        assert_eq!(of("module.wasm"), "application/wasm");
        assert_eq!(of("module.wasm.map"), "application/json");
        assert_eq!(of("module.wat"), "text/plain; charset=utf-8");
    }

    #[test]
    fn unknown_and_missing_extensions_are_octet_stream() {
        assert_eq!(of("archive.weird"), "application/octet-stream");
        assert_eq!(of("Makefile"), "application/octet-stream");
        assert_eq!(of(".bashrc"), "application/octet-stream");
    }
}
