//! Protection without code: rules that keep paths for signed-in users — of a role, or with
//! an allowed e-mail address or domain. They apply to everything under a path (`ferry
//! serve`'s files and `ferry run`'s scripts alike), matched on the path as the file service
//! and router will see it: percent-decoded, with dot segments and doubled slashes resolved.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use crate::identity::{Identity, Role};

/// Who may reach the paths under [`AccessRule::path`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRule {
    /// The path the rule covers, with everything below it (`/` is the whole site).
    pub path: String,
    /// The least role needed. Default: any signed-in user.
    pub role: Role,
    /// When not empty, only these e-mail addresses (verified, any case)…
    pub emails: Vec<String>,
    /// …or addresses of these domains (`example.com`)…
    pub domains: Vec<String>,
    /// …or members of these groups (directly or through nested groups) may enter.
    pub groups: Vec<String>,
}

impl AccessRule {
    /// A rule that keeps `path` for any signed-in user.
    pub fn signed_in(path: &str) -> AccessRule {
        AccessRule {
            path: normalize(path).into_owned(),
            role: Role::Authenticated,
            emails: Vec::new(),
            domains: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// Whether the rule covers `path` (already normalized).
    fn covers(&self, path: &str) -> bool {
        let prefix = self.path.trim_end_matches('/');
        path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    }

    /// Whether `identity` satisfies the rule.
    fn admits(&self, identity: &Identity) -> bool {
        if !identity.has_role(self.role) {
            return false;
        }
        if self.emails.is_empty() && self.domains.is_empty() && self.groups.is_empty() {
            return true;
        }
        let user = identity.user();
        if self
            .groups
            .iter()
            .any(|allowed| user.groups.iter().any(|group| group == allowed))
        {
            return true;
        }
        let Some(email) = user.email.as_deref() else {
            return false;
        };
        let email = email.to_ascii_lowercase();
        let domain = email.rsplit_once('@').map(|(_, domain)| domain);
        self.emails
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(&email))
            || self.domains.iter().any(|allowed| {
                domain.is_some_and(|domain| {
                    allowed.trim_start_matches('@').eq_ignore_ascii_case(domain)
                })
            })
    }
}

/// What the rules say of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No rule covers the path, or the user satisfies every rule that does.
    Enter,
    /// A rule covers the path and nobody is signed in.
    SignInFirst,
    /// A rule covers the path and the signed-in user does not satisfy it.
    Forbidden,
}

/// Judges a request for `path` by `identity` against `rules`: every rule covering the path
/// must admit the user.
pub(crate) fn judge(rules: &[AccessRule], path: &str, identity: Option<&Identity>) -> Verdict {
    if rules.is_empty() {
        return Verdict::Enter;
    }
    let path = normalize(path);
    let mut covering = rules.iter().filter(|rule| rule.covers(&path)).peekable();
    if covering.peek().is_none() {
        return Verdict::Enter;
    }
    match identity {
        None => Verdict::SignInFirst,
        Some(identity) if covering.all(|rule| rule.admits(identity)) => Verdict::Enter,
        Some(_) => Verdict::Forbidden,
    }
}

/// `path` percent-decoded, with `.`/`..` segments resolved and empty segments dropped; a
/// path that does not decode to UTF-8 keeps its encoded bytes (it names no file).
pub(crate) fn normalize(path: &str) -> Cow<'_, str> {
    let decoded = percent_decode_str(path)
        .decode_utf8()
        .unwrap_or(Cow::Borrowed(path));
    if !decoded.contains("//")
        && !decoded.contains("/.")
        && !decoded.contains('\\')
        && decoded.starts_with('/')
        && decoded == path
    {
        return Cow::Borrowed(path);
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    Cow::Owned(format!("/{}", segments.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::Credential;
    use crate::identity::User;
    use std::sync::Arc;

    fn user(email: Option<&str>, role: Role) -> Identity {
        Identity::new(
            Arc::new(User {
                id: "u".into(),
                email: email.map(str::to_owned),
                name: None,
                provider: "p".into(),
                role,
                groups: vec!["staff".into()],
            }),
            Credential::Cookie,
        )
    }

    #[test]
    fn rules_cover_their_path_and_below_only() {
        let rules = [AccessRule::signed_in("/docs")];
        for covered in [
            "/docs",
            "/docs/",
            "/docs/a.html",
            "/%64ocs/a",
            "//docs",
            "/x/../docs/a",
            "/./docs",
        ] {
            assert_eq!(
                judge(&rules, covered, None),
                Verdict::SignInFirst,
                "{covered}"
            );
        }
        for open in ["/", "/docsx", "/doc", "/public/docs"] {
            assert_eq!(judge(&rules, open, None), Verdict::Enter, "{open}");
        }
        assert_eq!(
            judge(&rules, "/docs/a", Some(&user(None, Role::Authenticated))),
            Verdict::Enter
        );
    }

    #[test]
    fn roles_emails_and_domains_are_checked() {
        let admins = AccessRule {
            role: Role::Administrator,
            ..AccessRule::signed_in("/admin")
        };
        let company = AccessRule {
            domains: vec!["example.com".into()],
            emails: vec!["friend@other.org".into()],
            ..AccessRule::signed_in("/")
        };
        let rules = [admins, company];
        let staff = user(Some("Ann@Example.com"), Role::Authenticated);
        let friend = user(Some("friend@other.org"), Role::Administrator);
        let stranger = user(Some("eve@evil.example.com"), Role::Administrator);
        let unverified = user(None, Role::Administrator);
        assert_eq!(judge(&rules, "/page", Some(&staff)), Verdict::Enter);
        assert_eq!(judge(&rules, "/admin", Some(&staff)), Verdict::Forbidden);
        assert_eq!(judge(&rules, "/admin/x", Some(&friend)), Verdict::Enter);
        assert_eq!(
            judge(&rules, "/page", Some(&stranger)),
            Verdict::Forbidden,
            "a subdomain is not the domain"
        );
        assert_eq!(
            judge(&rules, "/page", Some(&unverified)),
            Verdict::Forbidden
        );
    }

    #[test]
    fn members_of_an_allowed_group_enter_without_an_allowed_address() {
        let staff_only = [AccessRule {
            groups: vec!["staff".into()],
            domains: vec!["example.com".into()],
            ..AccessRule::signed_in("/internal")
        }];
        // `user` makes members of "staff" only.
        let member = user(Some("ann@elsewhere.org"), Role::Authenticated);
        assert_eq!(
            judge(&staff_only, "/internal/a", Some(&member)),
            Verdict::Enter
        );
        let outsider = Identity::new(
            Arc::new(User {
                groups: vec!["visitors".into()],
                ..member.user().clone()
            }),
            Credential::Cookie,
        );
        assert_eq!(
            judge(&staff_only, "/internal/a", Some(&outsider)),
            Verdict::Forbidden
        );
    }

    #[test]
    fn normalizing_resolves_what_the_file_service_resolves() {
        assert_eq!(normalize("/a/b"), "/a/b");
        assert_eq!(normalize("/a/./b/../c//d"), "/a/c/d");
        assert_eq!(normalize("/%2e%2e/secret"), "/secret");
        assert_eq!(normalize("/a%2Fb"), "/a/b");
        assert_eq!(normalize("/a\\..\\b"), "/b");
    }
}
