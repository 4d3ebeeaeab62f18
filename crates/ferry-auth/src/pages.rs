//! The few pages sign-in shows a person: the provider picker, the development sign-in form
//! and what went wrong. Plain HTML, no script, every value escaped.

use std::fmt::Write as _;

use crate::identity::Role;
use crate::provider::ProviderSettings;

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem;color:#1d1d1f}\
h1{font-size:1.4rem}a.provider,button{display:block;width:100%;box-sizing:border-box;margin:.5rem 0;padding:.7rem 1rem;\
border:1px solid #c7c7cc;border-radius:.5rem;background:#fff;color:inherit;text-decoration:none;font:inherit;text-align:center;cursor:pointer}\
a.provider:hover,button:hover{background:#f2f2f7}label{display:block;margin:.6rem 0 .2rem}input,select{width:100%;box-sizing:border-box;padding:.5rem;font:inherit}\
.dev{margin-top:2rem;padding:1rem;border:2px dashed #ff9500;border-radius:.5rem}.dev strong{color:#c93400}.error{color:#c9001a}";

/// Escapes `text` for HTML text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    )
}

/// The provider picker; `redirect` is where each sign-in returns to.
pub(crate) fn sign_in<'a>(
    providers: impl Iterator<Item = &'a ProviderSettings>,
    dev: bool,
    redirect: &str,
) -> String {
    let target: String = form_urlencoded::byte_serialize(redirect.as_bytes()).collect();
    let mut body = String::from("<h1>Sign in</h1>");
    let mut any = false;
    for provider in providers {
        any = true;
        let _ = write!(
            body,
            "<a class=\"provider\" href=\"/auth/login/{}?redirect={}\">Continue with {}</a>",
            escape(&provider.name),
            escape(&target),
            escape(&provider.label)
        );
    }
    if dev {
        body.push_str(&dev_form(redirect));
    } else if !any {
        body.push_str("<p>No sign-in provider is configured.</p>");
    }
    page("Sign in", &body)
}

/// The development sign-in: any name, e-mail and role.
pub(crate) fn dev_form(redirect: &str) -> String {
    let roles: String = [Role::Authenticated, Role::Editor, Role::Administrator]
        .iter()
        .map(|role| format!("<option value=\"{0}\">{0}</option>", role.as_str()))
        .collect();
    format!(
        "<form class=\"dev\" method=\"post\" action=\"/auth/login/dev\">\
<p><strong>Development sign-in</strong> — open only on this machine with <code>--dev</code>. Anyone can be anyone here.</p>\
<input type=\"hidden\" name=\"redirect\" value=\"{}\">\
<label for=\"name\">Name</label><input id=\"name\" name=\"name\" value=\"Developer\">\
<label for=\"email\">E-mail</label><input id=\"email\" name=\"email\" type=\"email\" value=\"dev@localhost\">\
<label for=\"role\">Role</label><select id=\"role\" name=\"role\">{roles}</select>\
<button type=\"submit\">Sign in for development</button></form>",
        escape(redirect)
    )
}

/// What went wrong, with a way to start again.
pub(crate) fn problem(message: &str) -> String {
    page(
        "Sign-in failed",
        &format!(
            "<h1>Sign-in failed</h1><p class=\"error\">{}</p><p><a href=\"/auth/login\">Try again</a></p>",
            escape(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_everywhere() {
        let mut provider = ProviderSettings::generic("p", "https://id", "c", "s");
        provider.label = "<script>".into();
        let html = sign_in([provider].iter(), true, "/\"><script>");
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(!problem("<b>").contains("<b>"));
    }
}
