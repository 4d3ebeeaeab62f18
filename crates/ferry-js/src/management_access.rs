//! Who may use the management API, and for what. The admin token is a break-glass
//! administrator; signed in, administrators manage every script and editors the uploaded
//! scripts they own (the editor who uploads a new script owns it; owners may add owners).
//! The app's own files belong to nobody: only administrators manage them. Every decision
//! is logged as an audit event (target `ferry::audit`): who, what, allowed or denied, why.

use ferry_auth::{Identity, Role};
use ferry_core::bearer::{self, BearerToken};
use ferry_core::{IntoResponse, Json, Request, Response};
use http::StatusCode;
use http::header::WWW_AUTHENTICATE;
use serde_json::json;

use ferry_auth::AUDIT_TARGET;

/// Who is calling the management API.
#[derive(Debug, Clone)]
pub(crate) enum Actor {
    /// The holder of the admin token.
    AdminToken,
    /// A signed-in editor or administrator.
    User { id: String, role: Role },
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
            Some(identity) if identity.has_role(Role::Editor) => Ok(Actor::User {
                id: identity.user().id.clone(),
                role: identity.user().role,
            }),
            Some(identity) => {
                let actor = Actor::User {
                    id: identity.user().id.clone(),
                    role: identity.user().role,
                };
                audit(
                    &actor,
                    "use the management API",
                    None,
                    Err("the editor role is needed"),
                );
                Err(Refused::Forbidden("the editor role is needed"))
            }
            None => Err(Refused::SignInFirst),
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
            Actor::User { id, role } => format!("{id} ({role})"),
        }
    }
}

/// Whether `actor` may manage the script `uri`, whose owners are `owners` and which
/// `exists` (loaded or stored), with the reason.
pub(crate) fn may_manage(
    actor: &Actor,
    owners: &[String],
    exists: bool,
) -> Result<&'static str, &'static str> {
    if actor.is_admin() {
        return Ok("administrator");
    }
    let id = actor.user_id().unwrap_or_default();
    if owners.iter().any(|owner| owner == id) {
        Ok("owner")
    } else if !exists && owners.is_empty() {
        Ok("a new script")
    } else if owners.is_empty() {
        Err("the script belongs to the app's files: only administrators manage it")
    } else {
        Err("not an owner of the script")
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

    fn editor(id: &str) -> Actor {
        Actor::User {
            id: id.into(),
            role: Role::Editor,
        }
    }

    #[test]
    fn editors_manage_what_they_own_and_new_scripts_only() {
        let owners = vec!["ann".to_owned()];
        assert_eq!(may_manage(&editor("ann"), &owners, true), Ok("owner"));
        assert!(may_manage(&editor("bob"), &owners, true).is_err());
        assert_eq!(may_manage(&editor("bob"), &[], false), Ok("a new script"));
        assert!(
            may_manage(&editor("bob"), &[], true)
                .unwrap_err()
                .contains("app's files")
        );
        assert!(may_manage(&Actor::AdminToken, &owners, true).is_ok());
        let admin = Actor::User {
            id: "root".into(),
            role: Role::Administrator,
        };
        assert_eq!(may_manage(&admin, &[], true), Ok("administrator"));
    }
}
