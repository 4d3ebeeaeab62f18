//! The request target and `Host` of an HTTP/1 request, checked as RFC 9112 §3.2 and §3.2.2
//! ask: a server must answer 400 to an HTTP/1.1 request without `Host`, to any request with
//! two `Host` fields or an invalid one, and a target in origin form must begin with `/`.
//! hyper accepts all of these; a proxy in front of Ferry may read them differently, which
//! is how requests end up routed to the wrong virtual host.

use http::{HeaderValue, Method, Request, Version};

/// What is wrong with an HTTP/1 request's target or `Host`, if anything.
pub(crate) fn problem<B>(request: &Request<B>) -> Option<&'static str> {
    if request.version() > Version::HTTP_11 {
        // HTTP/2 and HTTP/3 carry the authority in a pseudo-header, checked by their codec.
        return None;
    }
    let mut hosts = request.headers().get_all(http::header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) if request.version() == Version::HTTP_11 => {
            return Some("an HTTP/1.1 request must carry a Host header");
        }
        (Some(_), Some(_)) => return Some("a request must carry one Host header, not several"),
        (Some(host), None) if !valid_host(host) => {
            return Some("the Host header is not a valid host[:port]");
        }
        _ => {}
    }
    if valid_target(request) {
        None
    } else {
        Some("the request target must be a path beginning with /, or an absolute URL")
    }
}

/// The request-target forms RFC 9112 §3.2 allows for this method: origin form (`/path`),
/// absolute form (`http://host/path`), authority form for CONNECT, asterisk for OPTIONS.
fn valid_target<B>(request: &Request<B>) -> bool {
    let uri = request.uri();
    if uri.scheme().is_some() {
        return true;
    }
    if request.method() == Method::CONNECT {
        return uri.authority().is_some();
    }
    if uri.authority().is_some() {
        return false;
    }
    let path = uri.path();
    path.starts_with('/') || (path == "*" && request.method() == Method::OPTIONS)
}

/// `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2): an IP literal in brackets or a
/// name of unreserved characters, percent-escapes and sub-delimiters; no user information,
/// no spaces. Empty is allowed (a target without an authority).
fn valid_host(value: &HeaderValue) -> bool {
    let text = value.as_bytes();
    let (host, port) = match text.first() {
        Some(b'[') => match text.iter().position(|&byte| byte == b']') {
            Some(end) => {
                let literal = &text[1..end];
                let ip_literal = !literal.is_empty()
                    && literal
                        .iter()
                        .all(|&byte| byte.is_ascii_hexdigit() || b":.vV".contains(&byte));
                if !ip_literal {
                    return false;
                }
                (&text[..=end], &text[end + 1..])
            }
            None => return false,
        },
        _ => match text.iter().rposition(|&byte| byte == b':') {
            Some(colon) => (&text[..colon], &text[colon..]),
            None => (text, &[][..]),
        },
    };
    let port_ok = match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.len() <= 5 && digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    };
    let name_ok = host.first() == Some(&b'[') || host.iter().all(|&byte| is_reg_name_byte(byte));
    port_ok && name_ok
}

/// Whether `byte` may appear in a host name: unreserved characters, `%` of an escape, and
/// the sub-delimiters (RFC 3986 §3.2.2).
fn is_reg_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'%'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(head: &str, version: Version, hosts: &[&str]) -> Request<()> {
        let (method, target) = head.split_once(' ').unwrap();
        let mut builder = Request::builder()
            .method(method)
            .uri(target)
            .version(version);
        for host in hosts {
            builder = builder.header(http::header::HOST, *host);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn well_formed_requests_pass() {
        let ok = |head, hosts: &[&str]| problem(&request(head, Version::HTTP_11, hosts));
        assert_eq!(ok("GET /a?b=c", &["example.com"]), None);
        assert_eq!(ok("GET /", &["example.com:8080"]), None);
        assert_eq!(ok("GET /", &["[::1]:8080"]), None);
        assert_eq!(ok("GET /", &["127.0.0.1"]), None);
        assert_eq!(ok("GET /", &[""]), None);
        assert_eq!(ok("GET http://example.com/a", &["example.com"]), None);
        assert_eq!(ok("OPTIONS *", &["example.com"]), None);
        assert_eq!(ok("CONNECT example.com:443", &["example.com:443"]), None);
        // HTTP/1.0 needs no Host.
        assert_eq!(problem(&request("GET /", Version::HTTP_10, &[])), None);
    }

    #[test]
    fn missing_duplicate_and_invalid_hosts_are_refused() {
        let bad = |hosts: &[&str]| problem(&request("GET /", Version::HTTP_11, hosts)).is_some();
        assert!(bad(&[]));
        assert!(bad(&["a.example", "b.example"]));
        assert!(bad(&["user@example.com"]));
        assert!(bad(&["exa mple.com"]));
        assert!(bad(&["example.com:80:80"]));
        assert!(bad(&["example.com:http"]));
        assert!(bad(&["[::1"]));
        assert!(bad(&["[not-an-ip]"]));
        assert!(bad(&["example.com/path"]));
        // Two Host fields are refused for HTTP/1.0 too.
        assert!(problem(&request("GET /", Version::HTTP_10, &["a", "b"])).is_some());
    }

    #[test]
    fn targets_that_are_not_origin_form_are_refused() {
        let bad = |head| problem(&request(head, Version::HTTP_11, &["x"])).is_some();
        assert!(bad("GET example.com:80"));
        assert!(bad("OPTIONS example.com"));
        assert!(bad("GET *"));
    }
}
