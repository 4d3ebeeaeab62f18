//! aiwebengine's user management: `GET /engine/users` lists the users, `POST
//! /engine/user_roles` (`user_id`, `role`) gives one a role and `DELETE /engine/user_roles`
//! takes it back (to `authenticated`). Administrators only — signed in, or with the admin
//! token, the break-glass credential that can also make the first administrator. Every
//! decision is an audit event (target [`AUDIT_TARGET`]).

use ferry_core::bearer::BearerToken;
use ferry_core::{App, IntoResponse, Json, Request, Response};
use http::StatusCode;
use http::header::WWW_AUTHENTICATE;
use serde_json::json;

use crate::auth::Auth;
use crate::identity::{Identity, Role};

/// The `tracing` target of authorization decisions (here and in the scripts' management
/// API).
pub const AUDIT_TARGET: &str = "ferry::audit";
/// The users of the site.
pub const USERS_PATH: &str = "/engine/users";
/// Roles: POST gives one, DELETE takes it back.
pub const USER_ROLES_PATH: &str = "/engine/user_roles";

/// The largest form these routes read.
const FORM_LIMIT: usize = 16 * 1024;

impl Auth {
    /// Adds the user-management routes to `app`.
    pub(crate) fn admin_routes(&self, app: App) -> App {
        let list = self.clone();
        let grant = self.clone();
        let revoke = self.clone();
        app.get(USERS_PATH, move |request| {
            let auth = list.clone();
            async move { auth.list_users(request).await }
        })
        .post(USER_ROLES_PATH, move |request| {
            let auth = grant.clone();
            async move { auth.change_role(request, true).await }
        })
        .delete(USER_ROLES_PATH, move |request| {
            let auth = revoke.clone();
            async move { auth.change_role(request, false).await }
        })
    }

    /// Who is calling, if an administrator: `Err` is the status for anyone else (audited).
    pub(crate) fn administrator(
        &self,
        request: &Request,
        action: &str,
    ) -> Result<String, StatusCode> {
        self.at_least(request, action, Role::Administrator)
    }

    /// Who is calling, if the admin token's holder or signed in with `role` or above: `Err`
    /// is the status for anyone else. Audited either way.
    pub(crate) fn at_least(
        &self,
        request: &Request,
        action: &str,
        role: Role,
    ) -> Result<String, StatusCode> {
        let token = self.settings().admin_token.as_deref().map(BearerToken::new);
        if token.is_some_and(|token| token.admits(request)) {
            audit("admin token", action, Ok("the admin token"));
            return Ok("admin token".to_owned());
        }
        match request.extensions().get::<Identity>() {
            Some(identity) if identity.has_role(role) => {
                let user = identity.user();
                let actor = format!("{} ({})", user.id, user.role);
                audit(&actor, action, Ok(user.role.as_str()));
                Ok(actor)
            }
            Some(identity) => {
                let actor = format!("{} ({})", identity.user().id, identity.user().role);
                let reason = if role == Role::Administrator {
                    "only administrators may"
                } else {
                    "the editor role is needed"
                };
                audit(&actor, action, Err(reason));
                Err(StatusCode::FORBIDDEN)
            }
            None => Err(StatusCode::UNAUTHORIZED),
        }
    }

    async fn list_users(self, request: Request) -> Response {
        if let Err(status) = self.administrator(&request, "list users") {
            return refusal(status);
        }
        match self.users().await {
            Ok(users) => {
                let users: Vec<_> = users
                    .iter()
                    .map(|user| {
                        json!({
                            "id": user.id, "email": user.email, "email_verified": user.email_verified,
                            "name": user.name, "provider": user.provider, "role": user.role,
                            "created": user.created, "last_sign_in": user.last_sign_in,
                        })
                    })
                    .collect();
                answer(StatusCode::OK, json!(users))
            }
            Err(error) => failed(&error),
        }
    }

    /// Gives (`grant`) the form's `user_id` the form's `role`, or takes it back.
    async fn change_role(self, request: Request, grant: bool) -> Response {
        let allowed = self.administrator(
            &request,
            if grant {
                "grant a role"
            } else {
                "revoke a role"
            },
        );
        let actor = match allowed {
            Ok(actor) => actor,
            Err(status) => return refusal(status),
        };
        let fields = match read_fields(request).await {
            Ok(fields) => fields,
            Err(refused) => return refused,
        };
        let field = |name: &str| field(&fields, name);
        let Some(user_id) = field("user_id") else {
            return answer(StatusCode::BAD_REQUEST, json!({ "error": "send user_id" }));
        };
        let role = match (grant, field("role").as_deref().map(Role::parse)) {
            (true, Some(Some(role))) => role,
            (true, _) => {
                return answer(
                    StatusCode::BAD_REQUEST,
                    json!({ "error": "send role: authenticated, editor or administrator" }),
                );
            }
            (false, _) => Role::Authenticated,
        };
        match self.set_role(&user_id, role).await {
            Ok(true) => {
                tracing::info!(
                    target: AUDIT_TARGET,
                    actor = %actor,
                    user = %user_id,
                    role = %role,
                    "{actor} gave {user_id} the role {role}"
                );
                answer(
                    StatusCode::OK,
                    json!({ "success": true, "user_id": user_id, "role": role.as_str() }),
                )
            }
            Ok(false) => answer(
                StatusCode::NOT_FOUND,
                json!({ "error": format!("no user {user_id:?}") }),
            ),
            Err(error) => failed(&error),
        }
    }
}

/// The request's form fields, then its query's.
pub(crate) async fn read_fields(request: Request) -> Result<Vec<(String, String)>, Response> {
    let query = request.uri().query().unwrap_or_default().to_owned();
    let body = request
        .into_body()
        .to_bytes(FORM_LIMIT)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(form_urlencoded::parse(&body)
        .into_owned()
        .chain(form_urlencoded::parse(query.as_bytes()).into_owned())
        .collect())
}

/// The first value of `name` among `fields`.
pub(crate) fn field(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

fn audit(actor: &str, action: &str, decision: Result<&str, &str>) {
    let (allowed, reason) = match decision {
        Ok(reason) => (true, reason),
        Err(reason) => (false, reason),
    };
    tracing::info!(
        target: AUDIT_TARGET,
        actor,
        action,
        allowed,
        reason,
        "{actor} {action}: {} ({reason})",
        if allowed { "allowed" } else { "denied" }
    );
}

/// 401 (with a challenge) or 403.
fn refusal(status: StatusCode) -> Response {
    refusal_for(status, "only administrators manage users")
}

/// 401 (with a challenge), or `status` saying `forbidden`.
pub(crate) fn refusal_for(status: StatusCode, forbidden: &str) -> Response {
    if status != StatusCode::UNAUTHORIZED {
        return answer(status, json!({ "error": forbidden }));
    }
    let mut response = answer(
        status,
        json!({ "error": "sign in, or send the admin token as a bearer token" }),
    );
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, ferry_core::bearer::CHALLENGE);
    response
}

pub(crate) fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

pub(crate) fn failed(error: &ferry_store::StoreError) -> Response {
    store_failed(error, "user management", "the user store failed")
}

/// The answer when the store failed doing `what`: 503 with `Retry-After` when it cannot be
/// reached (it may be back shortly), 500 with `message` otherwise. Logged either way.
pub(crate) fn store_failed(error: &ferry_store::StoreError, what: &str, message: &str) -> Response {
    if error.is_unavailable() {
        tracing::warn!(%error, "{what}: the store is unreachable");
        return unavailable();
    }
    tracing::error!(%error, "{what}");
    answer(
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({ "error": message }),
    )
}

/// 503 with `Retry-After: 5`: the database behind sign-in cannot be reached now.
pub(crate) fn unavailable() -> Response {
    let mut response = answer(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({ "error": "sign-in is unavailable: its database cannot be reached; try again shortly" }),
    );
    response.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("5"),
    );
    response
}
