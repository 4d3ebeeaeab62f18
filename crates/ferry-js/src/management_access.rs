//! Who may use the management API, and for what. The admin token is a break-glass
//! administrator; signed in, administrators manage every script, and editors the uploaded
//! scripts they own — themselves or through a group they belong to — or were granted. The
//! editor who uploads a new script owns it; owners change, read and delete it and say who
//! else owns it or is granted it; grantees change and read it. The app's own files belong to
//! nobody: only administrators manage them. Every decision is logged as an audit event
//! (target `ferry::audit`): who, what, allowed or denied, why.

use ferry_auth::{Identity, Role, User};
use ferry_core::bearer::{self, BearerToken};
use ferry_core::{IntoResponse, Json, Request, Response};
use ferry_store::{Member, ScriptAccessRecord};
use http::StatusCode;
use http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::json;

use ferry_auth::AUDIT_TARGET;

/// Who is calling the management API.
#[derive(Debug, Clone)]
pub(crate) enum Actor {
    /// The holder of the admin token.
    AdminToken,
    /// A signed-in editor or administrator, with the groups they belong to.
    User {
        id: String,
        role: Role,
        groups: Vec<String>,
    },
}

/// What an operation needs of a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// To change or read it: owners and grantees.
    Edit,
    /// To delete it or say who has it: owners.
    Own,
}

/// Why a call was not made.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Nobody is signed in and no admin token was sent: 401.
    SignInFirst,
    /// The caller may not: 403, with the reason.
    Forbidden(&'static str),
    /// The decision could not be made (the store failed): 500.
    Failed(String),
    /// The database cannot be reached now: 503, try again shortly.
    Unavailable(String),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::SignInFirst => {
                let mut response = refusal(
                    StatusCode::UNAUTHORIZED,
                    "sign in as an editor or administrator, or send the admin token as a bearer token",
                );
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, bearer::CHALLENGE);
                response
            }
            Refused::Forbidden(reason) => refusal(StatusCode::FORBIDDEN, reason),
            Refused::Failed(error) => {
                tracing::error!(%error, "management API");
                refusal(StatusCode::INTERNAL_SERVER_ERROR, &error)
            }
            Refused::Unavailable(error) => {
                tracing::warn!(%error, "management API");
                let mut response = refusal(StatusCode::SERVICE_UNAVAILABLE, &error);
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, crate::response::RETRY_LATER);
                response
            }
        }
    }
}

impl Actor {
    /// Who is calling, or why the caller may not use the API at all.
    pub(crate) fn of(request: &Request, token: Option<&BearerToken>) -> Result<Actor, Refused> {
        if token.is_some_and(|token| token.admits(request)) {
            return Ok(Actor::AdminToken);
        }
        match request.extensions().get::<Identity>() {
            Some(identity) if identity.has_role(Role::Editor) => {
                Ok(Actor::of_user(identity.user()))
            }
            Some(identity) => {
                audit(
                    &Actor::of_user(identity.user()),
                    "use the management API",
                    None,
                    Err("the editor role is needed"),
                );
                Err(Refused::Forbidden("the editor role is needed"))
            }
            None => Err(Refused::SignInFirst),
        }
    }

    /// The signed-in `user`.
    pub(crate) fn of_user(user: &User) -> Actor {
        Actor::User {
            id: user.id.clone(),
            role: user.role,
            groups: user.groups.clone(),
        }
    }

    /// Whether `member` is the actor or a group the actor belongs to.
    fn is(&self, member: &Member) -> bool {
        match (self, member) {
            (Actor::User { id, .. }, Member::User(user)) => id == user,
            (Actor::User { groups, .. }, Member::Group(group)) => groups.contains(group),
            (Actor::AdminToken, _) => false,
        }
    }

    /// Whether the actor manages everything.
    pub(crate) fn is_admin(&self) -> bool {
        match self {
            Actor::AdminToken => true,
            Actor::User { role, .. } => *role == Role::Administrator,
        }
    }

    /// The signed-in user's id, if any.
    pub(crate) fn user_id(&self) -> Option<&str> {
        match self {
            Actor::AdminToken => None,
            Actor::User { id, .. } => Some(id),
        }
    }

    fn label(&self) -> String {
        match self {
            Actor::AdminToken => "admin token".to_owned(),
            Actor::User { id, role, .. } => format!("{id} ({role})"),
        }
    }
}

/// Whether `actor` may do what `need`s of a script handed as `access`, which `exists`
/// (loaded or stored), with the reason.
pub(crate) fn may_manage(
    actor: &Actor,
    access: &ScriptAccessRecord,
    exists: bool,
    need: Need,
) -> Result<&'static str, &'static str> {
    if actor.is_admin() {
        return Ok("administrator");
    }
    let owner = access.owners.iter().find(|member| actor.is(member));
    let granted = access.grants.iter().find(|member| actor.is(member));
    let unclaimed = access.owners.is_empty() && access.grants.is_empty();
    match (owner, granted) {
        (Some(Member::User(_)), _) => Ok("owner"),
        (Some(Member::Group(_)), _) => Ok("member of an owning group"),
        (None, Some(Member::User(_))) if need == Need::Edit => Ok("granted"),
        (None, Some(Member::Group(_))) if need == Need::Edit => Ok("granted to a group of theirs"),
        (None, Some(_)) => Err(
            "a grant lets an editor change and read the script; owners delete it and hand it on",
        ),
        (None, None) if unclaimed && !exists => Ok("a new script"),
        (None, None) if unclaimed => {
            Err("the script belongs to the app's files: only administrators manage it")
        }
        (None, None) => Err("neither an owner of the script nor granted it"),
    }
}

/// Logs one authorization decision.
pub(crate) fn audit(
    actor: &Actor,
    action: &str,
    script: Option<&str>,
    decision: Result<&str, &str>,
) {
    let (allowed, reason) = match decision {
        Ok(reason) => (true, reason),
        Err(reason) => (false, reason),
    };
    tracing::info!(
        target: AUDIT_TARGET,
        actor = %actor.label(),
        action,
        script = script.unwrap_or(""),
        allowed,
        reason,
        "{} {action}{}{}: {} ({reason})",
        actor.label(),
        if script.is_some() { " " } else { "" },
        script.unwrap_or(""),
        if allowed { "allowed" } else { "denied" },
    );
}

/// A JSON refusal.
pub(crate) fn refusal(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn editor(id: &str, groups: &[&str]) -> Actor {
        Actor::User {
            id: id.into(),
            role: Role::Editor,
            groups: groups.iter().map(|&group| group.to_owned()).collect(),
        }
    }

    fn handed(owners: &[Member], grants: &[Member]) -> ScriptAccessRecord {
        ScriptAccessRecord {
            owners: owners.to_vec(),
            grants: grants.to_vec(),
        }
    }

    #[test]
    fn editors_manage_what_they_own_and_new_scripts_only() {
        let access = handed(&[Member::User("ann".into())], &[]);
        let ann = editor("ann", &[]);
        assert_eq!(may_manage(&ann, &access, true, Need::Own), Ok("owner"));
        assert!(may_manage(&editor("bob", &[]), &access, true, Need::Edit).is_err());
        let none = ScriptAccessRecord::default();
        let bob = editor("bob", &[]);
        assert_eq!(
            may_manage(&bob, &none, false, Need::Edit),
            Ok("a new script")
        );
        assert!(
            may_manage(&bob, &none, true, Need::Edit)
                .unwrap_err()
                .contains("app's files")
        );
        assert!(may_manage(&Actor::AdminToken, &access, true, Need::Own).is_ok());
        let admin = Actor::User {
            id: "root".into(),
            role: Role::Administrator,
            groups: Vec::new(),
        };
        assert_eq!(
            may_manage(&admin, &none, true, Need::Own),
            Ok("administrator")
        );
    }

    #[test]
    fn groups_own_and_grants_let_edit_but_not_hand_on() {
        let access = handed(
            &[Member::Group("devs".into())],
            &[Member::User("gus".into()), Member::Group("ops".into())],
        );
        let dev = editor("dee", &["devs", "staff"]);
        assert_eq!(
            may_manage(&dev, &access, true, Need::Own),
            Ok("member of an owning group")
        );
        let gus = editor("gus", &[]);
        assert_eq!(may_manage(&gus, &access, true, Need::Edit), Ok("granted"));
        assert!(may_manage(&gus, &access, true, Need::Own).is_err());
        let op = editor("oz", &["ops"]);
        assert!(may_manage(&op, &access, true, Need::Edit).is_ok());
        assert!(may_manage(&op, &access, true, Need::Own).is_err());
        let stranger = editor("sam", &["visitors"]);
        assert!(may_manage(&stranger, &access, false, Need::Edit).is_err());
    }
}
