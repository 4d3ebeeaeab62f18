//! What `URL` (`url.js`) needs from Rust: the URL Standard's parser and component setters,
//! as the `url` crate implements them.

use rquickjs::{Ctx, Function, Object};
use url::{Url, quirks};

use super::throw;

/// A URL's components in the order `url.js` reads them: href, origin, protocol, username,
/// password, host, hostname, port, pathname, search, hash.
type Components = Vec<String>;

pub(super) fn install<'js>(ctx: &Ctx<'js>, host: &Object<'js>) -> rquickjs::Result<()> {
    let parse = Function::new(
        ctx.clone(),
        |input: String, base: Option<String>| -> Option<Components> {
            parse_url(&input, base.as_deref()).map(|url| components(&url))
        },
    )?;
    host.set("urlParse", parse)?;

    let set = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>, href: String, part: String, value: String| {
            let mut url = Url::parse(&href)
                .map_err(|error| throw(&ctx, &format!("URL: {href:?} is not a URL: {error}")))?;
            set_component(&mut url, &part, &value).map_err(|message| throw(&ctx, &message))?;
            Ok::<_, rquickjs::Error>(components(&url))
        },
    )?;
    host.set("urlSet", set)
}

/// `input` parsed against `base` as `new URL(input, base)` parses it; `None` when either
/// is not a URL.
fn parse_url(input: &str, base: Option<&str>) -> Option<Url> {
    match base {
        Some(base) => {
            let base = Url::parse(base).ok()?;
            Url::options().base_url(Some(&base)).parse(input).ok()
        }
        None => Url::parse(input).ok(),
    }
}

fn components(url: &Url) -> Components {
    vec![
        quirks::href(url).to_owned(),
        quirks::origin(url),
        quirks::protocol(url).to_owned(),
        quirks::username(url).to_owned(),
        quirks::password(url).to_owned(),
        quirks::host(url).to_owned(),
        quirks::hostname(url).to_owned(),
        quirks::port(url).to_owned(),
        quirks::pathname(url).to_owned(),
        quirks::search(url).to_owned(),
        quirks::hash(url).to_owned(),
    ]
}

/// The URL Standard's setter for `part`. Setters that the standard lets fail silently
/// (a protocol that would change a special URL into a non-special one, a host on a URL
/// that cannot have one) leave the URL as it was; only `href` throws.
fn set_component(url: &mut Url, part: &str, value: &str) -> Result<(), String> {
    match part {
        "href" => quirks::set_href(url, value)
            .map_err(|error| format!("URL: {value:?} is not a URL: {error}"))?,
        "protocol" => drop(quirks::set_protocol(url, value)),
        "username" => drop(quirks::set_username(url, value)),
        "password" => drop(quirks::set_password(url, value)),
        "host" => drop(quirks::set_host(url, value)),
        "hostname" => drop(quirks::set_hostname(url, value)),
        "port" => drop(quirks::set_port(url, value)),
        "pathname" => quirks::set_pathname(url, value),
        "search" => quirks::set_search(url, value),
        "hash" => quirks::set_hash(url, value),
        other => return Err(format!("URL: {other} is not a component")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_against_a_base_as_the_standard_does() {
        let url = parse_url("../b?x#y", Some("https://user:pw@Example.COM:443/a/c/d")).unwrap();
        let parts = components(&url);
        assert_eq!(parts[0], "https://user:pw@example.com/a/b?x#y");
        assert_eq!(parts[1], "https://example.com");
        assert_eq!(parts[7], "");
        assert_eq!(parts[9], "?x");
        assert_eq!(parts[10], "#y");
        assert!(parse_url("nope", None).is_none());
        assert!(parse_url("/a", Some("not a base")).is_none());
    }

    #[test]
    fn setters_follow_the_standard() {
        let mut url = Url::parse("http://a.test/x").unwrap();
        set_component(&mut url, "port", "8080").unwrap();
        set_component(&mut url, "pathname", "/a b").unwrap();
        set_component(&mut url, "search", "q=1 2").unwrap();
        set_component(&mut url, "hash", "top").unwrap();
        assert_eq!(url.as_str(), "http://a.test:8080/a%20b?q=1%202#top");
        // Special to non-special is refused silently.
        set_component(&mut url, "protocol", "foo").unwrap();
        assert_eq!(url.scheme(), "http");
        assert!(set_component(&mut url, "href", "::").is_err());
        assert!(set_component(&mut url, "nothing", "").is_err());
    }
}
