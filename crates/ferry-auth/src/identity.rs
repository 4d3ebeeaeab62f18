//! Who a request is for: the [`Identity`] the pipeline attaches to a request whose session
//! cookie or bearer token is valid, and the [`Role`]s of aiwebengine's specification.

use std::fmt;
use std::sync::Arc;

use ferry_store::UserRecord;

use crate::credential::{Credential, SessionId};

/// What a user may do, from least to most. Anonymous visitors carry no identity at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Role {
    /// Signed in, nothing more.
    #[default]
    Authenticated,
    /// Manages the scripts they own, their groups own, or they were granted.
    Editor,
    /// Manages everything, users' roles included.
    Administrator,
}

impl Role {
    /// The role's name as stored and as scripts see it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Authenticated => "authenticated",
            Role::Editor => "editor",
            Role::Administrator => "administrator",
        }
    }

    /// The role named `name` (`admin` is accepted for `administrator`).
    pub fn parse(name: &str) -> Option<Role> {
        match name.to_ascii_lowercase().as_str() {
            "authenticated" | "user" => Some(Role::Authenticated),
            "editor" => Some(Role::Editor),
            "administrator" | "admin" => Some(Role::Administrator),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signed-in user, as requests see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Ferry's id for the user.
    pub id: String,
    /// The e-mail address — only when the provider verified it.
    pub email: Option<String>,
    /// The display name, if known.
    pub name: Option<String>,
    /// The provider the user signed in with.
    pub provider: String,
    /// The user's role.
    pub role: Role,
    /// The groups the user belongs to, directly or through nested groups, by name.
    pub groups: Vec<String>,
}

impl User {
    /// The user as `record` describes them, a member of `groups`.
    pub fn from_record(record: &UserRecord, groups: Vec<String>) -> User {
        User {
            id: record.id.clone(),
            email: record.email.clone().filter(|_| record.email_verified),
            name: record.name.clone(),
            provider: record.provider.clone(),
            role: Role::parse(&record.role).unwrap_or_default(),
            groups,
        }
    }
}

/// The signed-in user a request is for, attached to the request's extensions by the
/// identity step of the pipeline. Cheap to clone.
///
/// ```
/// use ferry_auth::Identity;
/// use ferry_core::Request;
///
/// fn greeting(request: &Request) -> String {
///     match request.extensions().get::<Identity>() {
///         Some(identity) => format!("hello, {}", identity.user().name.as_deref().unwrap_or("you")),
///         None => "hello, stranger".to_owned(),
///     }
/// }
/// # let _ = greeting;
/// ```
#[derive(Debug, Clone)]
pub struct Identity {
    user: Arc<User>,
    credential: Credential,
    /// The session that proved it (taken out of the request's headers).
    session: Option<SessionId>,
}

impl Identity {
    /// `user`, proven by `credential`.
    pub fn new(user: Arc<User>, credential: Credential) -> Identity {
        Identity {
            user,
            credential,
            session: None,
        }
    }

    /// `user`, proven by `credential` carrying the session `id`.
    pub(crate) fn of_session(user: Arc<User>, credential: Credential, id: SessionId) -> Identity {
        Identity {
            user,
            credential,
            session: Some(id),
        }
    }

    /// The session that proved it, for sign-out and refresh.
    pub(crate) fn session(&self) -> Option<&SessionId> {
        self.session.as_ref()
    }

    /// The user.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// The user, shared: for keeping beyond the request without a copy.
    pub fn shared_user(&self) -> Arc<User> {
        self.user.clone()
    }

    /// How the request proved it.
    pub fn credential(&self) -> Credential {
        self.credential
    }

    /// Whether the user has at least `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.user.role >= role
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_round_trip() {
        assert!(Role::Administrator > Role::Editor && Role::Editor > Role::Authenticated);
        for role in [Role::Authenticated, Role::Editor, Role::Administrator] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("Admin"), Some(Role::Administrator));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn an_unverified_email_is_not_the_users() {
        let record = UserRecord {
            id: "u".into(),
            provider: "p".into(),
            subject: "s".into(),
            email: Some("boss@example.com".into()),
            email_verified: false,
            name: None,
            role: "editor".into(),
            created: 0,
            last_sign_in: 0,
        };
        let user = User::from_record(&record, Vec::new());
        assert_eq!((user.email, user.role), (None, Role::Editor));
    }
}
