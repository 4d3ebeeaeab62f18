//! Groups: `GET /engine/groups` lists them with their members (editors and administrators:
//! editors hand scripts to groups); `POST /engine/groups` (`name`) makes one and `DELETE`
//! removes it; `POST /engine/group_members` (`group`, and `user_id` or `member_group`) adds a
//! member and `DELETE` removes it. Changes are for administrators only; a group may contain
//! groups, and a membership that would make a group contain itself is refused with the
//! circle named. Every decision is an audit event.

use ferry_core::{App, Request, Response};
use ferry_store::{Joined, Member};
use http::StatusCode;
use serde_json::json;

use crate::admin::{AUDIT_TARGET, answer, failed, field, read_fields, refusal_for};
use crate::auth::{Auth, unix_now};
use crate::identity::Role;

/// The groups: GET lists, POST makes, DELETE removes.
pub const GROUPS_PATH: &str = "/engine/groups";
/// A group's members: POST adds, DELETE removes.
pub const GROUP_MEMBERS_PATH: &str = "/engine/group_members";

/// The longest group name.
const MAX_NAME: usize = 64;

/// Whether `name` can name a group: 1 to 64 letters, digits, `-`, `_` or `.`.
pub fn valid_group_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl Auth {
    /// Adds the group routes to `app`.
    pub(crate) fn group_routes(&self, app: App) -> App {
        let route = |auth: &Auth, change: Change| {
            let auth = auth.clone();
            move |request| {
                let auth = auth.clone();
                async move { auth.change_groups(request, change).await }
            }
        };
        let list = self.clone();
        app.get(GROUPS_PATH, move |request| {
            let auth = list.clone();
            async move { auth.list_groups(request).await }
        })
        .post(GROUPS_PATH, route(self, Change::Create))
        .delete(GROUPS_PATH, route(self, Change::Delete))
        .post(GROUP_MEMBERS_PATH, route(self, Change::Join))
        .delete(GROUP_MEMBERS_PATH, route(self, Change::Leave))
    }

    /// Every group with its direct members, for editors and administrators.
    async fn list_groups(self, request: Request) -> Response {
        if let Err(status) = self.at_least(&request, "list groups", Role::Editor) {
            return refusal_for(status, "the editor role is needed");
        }
        match self.with_store(|store| store.groups()).await {
            Ok(groups) => {
                let groups: Vec<_> = groups
                    .iter()
                    .map(|group| {
                        json!({
                            "name": group.name,
                            "created": group.created,
                            "members": group.members.iter().map(member_json).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                answer(StatusCode::OK, json!(groups))
            }
            Err(error) => failed(&error),
        }
    }

    /// Makes or deletes a group, or changes its members: administrators only.
    async fn change_groups(self, request: Request, change: Change) -> Response {
        let actor = match self.administrator(&request, change.action()) {
            Ok(actor) => actor,
            Err(status) => return refusal_for(status, "only administrators change groups"),
        };
        let fields = match read_fields(request).await {
            Ok(fields) => fields,
            Err(refused) => return refused,
        };
        let group_field = if matches!(change, Change::Join | Change::Leave) {
            "group"
        } else {
            "name"
        };
        let Some(group) = field(&fields, group_field).filter(|name| valid_group_name(name)) else {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({ "error": format!("send {group_field}: 1 to {MAX_NAME} letters, digits, '-', '_' or '.'") }),
            );
        };
        match change {
            Change::Create => {
                let name = group.clone();
                match self
                    .with_store(move |store| store.create_group(&name, unix_now()))
                    .await
                {
                    Ok(created) => {
                        changed(&actor, "made the group", &group, None);
                        answer(
                            if created {
                                StatusCode::CREATED
                            } else {
                                StatusCode::OK
                            },
                            json!({ "success": true, "name": group, "created": created }),
                        )
                    }
                    Err(error) => failed(&error),
                }
            }
            Change::Delete => {
                let name = group.clone();
                match self
                    .with_store(move |store| store.delete_group(&name))
                    .await
                {
                    Ok(true) => {
                        changed(&actor, "deleted the group", &group, None);
                        answer(StatusCode::OK, json!({ "success": true, "name": group }))
                    }
                    Ok(false) => no_group(&group),
                    Err(error) => failed(&error),
                }
            }
            Change::Join | Change::Leave => {
                let member = match (field(&fields, "user_id"), field(&fields, "member_group")) {
                    (Some(user), None) if !user.is_empty() => Member::User(user),
                    (None, Some(inner)) if valid_group_name(&inner) => Member::Group(inner),
                    _ => {
                        return answer(
                            StatusCode::BAD_REQUEST,
                            json!({ "error": "send group and one of user_id or member_group" }),
                        );
                    }
                };
                self.change_membership(&actor, change, group, member).await
            }
        }
    }

    async fn change_membership(
        &self,
        actor: &str,
        change: Change,
        group: String,
        member: Member,
    ) -> Response {
        let (name, who) = (group.clone(), member.clone());
        let done = if change == Change::Join {
            match self
                .with_store(move |store| store.join_group(&name, &who))
                .await
            {
                Ok(Joined::Added) => true,
                Ok(Joined::AlreadyMember) => false,
                Ok(refused) => return refused_membership(refused, &member),
                Err(error) => return failed(&error),
            }
        } else {
            match self
                .with_store(move |store| store.leave_group(&name, &who))
                .await
            {
                Ok(left) => left,
                Err(error) => return failed(&error),
            }
        };
        if done {
            // Who belongs where changed: identities remembered for a moment are read again.
            self.forget_remembered();
            let did = if change == Change::Join {
                "added a member to"
            } else {
                "removed a member from"
            };
            changed(actor, did, &group, Some(&member));
        }
        answer(
            StatusCode::OK,
            json!({ "success": true, "group": group, "member": member_json(&member), "changed": done }),
        )
    }
}

/// The answer to a membership the store refused: an unknown group, or a circle.
fn refused_membership(refused: Joined, member: &Member) -> Response {
    match refused {
        Joined::NoSuchGroup(name) => no_group(&name),
        Joined::Cycle(path) => answer(
            StatusCode::CONFLICT,
            json!({
                "error": format!(
                    "a group cannot contain itself: {} would close the circle {}",
                    member.name(),
                    path.join(" → ")
                ),
                "cycle": path,
            }),
        ),
        Joined::Added | Joined::AlreadyMember => answer(StatusCode::OK, json!({ "success": true })),
    }
}

/// What a group route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Create,
    Delete,
    Join,
    Leave,
}

impl Change {
    fn action(self) -> &'static str {
        match self {
            Change::Create => "make a group",
            Change::Delete => "delete a group",
            Change::Join => "add a group member",
            Change::Leave => "remove a group member",
        }
    }
}

/// A member as the API shows it.
pub(crate) fn member_json(member: &Member) -> serde_json::Value {
    match member {
        Member::User(id) => json!({ "user_id": id }),
        Member::Group(name) => json!({ "group": name }),
    }
}

fn no_group(name: &str) -> Response {
    answer(
        StatusCode::NOT_FOUND,
        json!({ "error": format!("no group {name:?}: make it first with POST {GROUPS_PATH}") }),
    )
}

fn changed(actor: &str, did: &str, group: &str, member: Option<&Member>) {
    let member = member.map_or(String::new(), |member| {
        format!(" ({} {})", member.kind(), member.name())
    });
    tracing::info!(target: AUDIT_TARGET, actor, group, "{actor} {did} {group}{member}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_are_short_and_plain() {
        assert!(valid_group_name("staff"));
        assert!(valid_group_name("team.ops-1_a"));
        assert!(!valid_group_name(""));
        assert!(!valid_group_name("a b"));
        assert!(!valid_group_name("a/b"));
        assert!(!valid_group_name(&"x".repeat(65)));
    }
}
