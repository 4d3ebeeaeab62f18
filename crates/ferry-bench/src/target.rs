//! What to load: a base URL and the paths requested in rotation.

use std::net::SocketAddr;

use http::Uri;

/// Why a target URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not an absolute `http://` or `https://` URL.
    #[error("'{0}' is not an http:// or https:// URL")]
    NotHttp(String),
    /// The host did not resolve.
    #[error("cannot resolve '{0}'")]
    Resolve(String),
}

/// A server to load and the paths to request from it, one after another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Whether to speak TLS.
    pub tls: bool,
    /// The host name (for `Host` and SNI).
    pub host: String,
    /// Where to connect.
    pub addr: SocketAddr,
    /// `host:port` for the `Host` header.
    pub authority: String,
    /// Paths (with queries) requested in rotation; never empty.
    pub paths: Vec<String>,
}

impl Target {
    /// Parses `url`; its path is the only path requested.
    pub fn parse(url: &str) -> Result<Self, TargetError> {
        let uri: Uri = url
            .parse()
            .map_err(|_| TargetError::NotHttp(url.to_owned()))?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(TargetError::NotHttp(url.to_owned())),
        };
        let host = uri
            .host()
            .ok_or_else(|| TargetError::NotHttp(url.to_owned()))?
            .trim_matches(['[', ']'])
            .to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| TargetError::Resolve(host.clone()))?;
        let path = uri
            .path_and_query()
            .map_or("/".to_owned(), |pq| pq.as_str().to_owned());
        Ok(Target {
            tls,
            authority: uri
                .authority()
                .map_or_else(|| format!("{host}:{port}"), |a| a.as_str().to_owned()),
            host,
            addr,
            paths: vec![path],
        })
    }

    /// The same server, requesting `paths` in rotation instead.
    pub fn with_paths(mut self, paths: Vec<String>) -> Self {
        if !paths.is_empty() {
            self.paths = paths;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_default_ports() {
        let target = Target::parse("http://127.0.0.1:9000/some/path?x=1").unwrap();
        assert!(!target.tls);
        assert_eq!(target.addr.port(), 9000);
        assert_eq!(target.paths, ["/some/path?x=1"]);
        assert_eq!(target.authority, "127.0.0.1:9000");
        let secure = Target::parse("https://127.0.0.1").unwrap();
        assert!(secure.tls);
        assert_eq!(secure.addr.port(), 443);
        assert_eq!(secure.paths, ["/"]);
    }

    #[test]
    fn other_schemes_are_refused() {
        assert!(matches!(
            Target::parse("ftp://x/"),
            Err(TargetError::NotHttp(_))
        ));
        assert!(matches!(
            Target::parse("/relative"),
            Err(TargetError::NotHttp(_))
        ));
    }
}
