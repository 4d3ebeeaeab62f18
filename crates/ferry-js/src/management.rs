//! The management API, compatible with aiwebengine's: upload, delete, list and read scripts
//! over HTTP, and manage who owns them and who they are granted to. Callers are the holder of the admin token
//! (`Authorization: Bearer <token>`) or signed-in editors and administrators; what each may
//! do is decided in `management_access`. Uploaded scripts are kept in the data store and
//! loaded again at start-up.

use ferry_core::bearer::BearerToken;
use ferry_core::{App, Body, IntoResponse, Json, Request, Response};
use ferry_store::{
    AccessLevel, Groups, Member, ScriptAccess, ScriptAccessRecord, ScriptRepository, Store,
    StoredScript,
};
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use serde_json::json;

use crate::management_access::{Actor, Need, Refused, audit, may_manage};
use crate::management_assets::AssetOperation;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::request::{self, ScriptRequest};
use crate::script::Script;
use crate::script_set::LoadedScript;

/// The paths of the management API.
pub const UPSERT_PATH: &str = "/engine/upsert_script";
/// See [`UPSERT_PATH`].
pub const DELETE_PATH: &str = "/engine/delete_script";
/// See [`UPSERT_PATH`].
pub const LIST_PATH: &str = "/engine/scripts";
/// See [`UPSERT_PATH`].
pub const READ_PATH: &str = "/engine/read_script";
/// See [`UPSERT_PATH`]: a script's assets — GET (`?uri=`, and `name=` for one, with
/// `lines=` or `grep=` for part of it), POST, PATCH (string replacement guarded by
/// `base_sha256`) and DELETE.
pub const ASSETS_PATH: &str = "/engine/assets";
/// See [`UPSERT_PATH`]: POST many assets of `?script=` in one transaction.
pub const ASSETS_BATCH_PATH: &str = "/engine/assets/batch";
/// See [`UPSERT_PATH`]: GET (`?uri=`), POST and DELETE (`uri`, and `user_id` or `group`).
pub const OWNERS_PATH: &str = "/engine/script_owners";
/// See [`UPSERT_PATH`]: GET (`?uri=`), POST and DELETE (`uri`, and `user_id` or `group`).
pub const GRANTS_PATH: &str = "/engine/script_grants";
/// See [`UPSERT_PATH`]: POST a test file (`uri`, `content`, optional `filter`) to run its
/// tests, everything they write rolled back.
pub const RUN_TESTS_PATH: &str = "/engine/run_tests";
/// Administrators: this node, its database, and the other nodes on it.
pub const CLUSTER_HEALTH_PATH: &str = "/engine/health/cluster";

/// The management API of one engine.
#[derive(Clone)]
pub struct Management {
    engine: Engine,
    token: Option<BearerToken>,
}

impl std::fmt::Debug for Management {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Management").finish_non_exhaustive()
    }
}

impl Management {
    /// The API for `engine`, for signed-in editors and administrators (the identity step of
    /// `ferry-auth` must run before it).
    pub fn new(engine: Engine) -> Self {
        Management {
            engine,
            token: None,
        }
    }

    /// Also admits the holder of `token`, as an administrator: the break-glass credential
    /// that works without sign-in.
    pub fn admin_token(mut self, token: &str) -> Self {
        self.token = Some(BearerToken::new(token));
        self
    }

    /// The engine managed.
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Adds the management routes to `app`.
    pub fn install(self, app: App) -> App {
        let route = |api: &Management, operation: Operation| {
            let api = api.clone();
            move |request| {
                let api = api.clone();
                async move { api.guarded(request, operation).await }
            }
        };
        app.post(UPSERT_PATH, route(&self, Operation::Upsert))
            .post(DELETE_PATH, route(&self, Operation::Delete))
            .get(LIST_PATH, route(&self, Operation::List))
            .get(READ_PATH, route(&self, Operation::Read))
            .get(
                OWNERS_PATH,
                route(&self, Operation::Access(AccessLevel::Owner)),
            )
            .post(
                OWNERS_PATH,
                route(&self, Operation::Hand(AccessLevel::Owner, true)),
            )
            .delete(
                OWNERS_PATH,
                route(&self, Operation::Hand(AccessLevel::Owner, false)),
            )
            .get(
                GRANTS_PATH,
                route(&self, Operation::Access(AccessLevel::Grant)),
            )
            .post(
                GRANTS_PATH,
                route(&self, Operation::Hand(AccessLevel::Grant, true)),
            )
            .delete(
                GRANTS_PATH,
                route(&self, Operation::Hand(AccessLevel::Grant, false)),
            )
            .get(CLUSTER_HEALTH_PATH, route(&self, Operation::Cluster))
            .post(RUN_TESTS_PATH, route(&self, Operation::RunTests))
            .get(
                ASSETS_PATH,
                route(&self, Operation::Assets(AssetOperation::Read)),
            )
            .post(
                ASSETS_PATH,
                route(&self, Operation::Assets(AssetOperation::Upload)),
            )
            .patch(
                ASSETS_PATH,
                route(&self, Operation::Assets(AssetOperation::Edit)),
            )
            .delete(
                ASSETS_PATH,
                route(&self, Operation::Assets(AssetOperation::Delete)),
            )
            .post(
                ASSETS_BATCH_PATH,
                route(&self, Operation::Assets(AssetOperation::Batch)),
            )
    }

    /// Finds who is calling, reads the request, then runs `operation`.
    async fn guarded(&self, request: Request, operation: Operation) -> Response {
        let actor = match Actor::of(&request, self.token.as_ref()) {
            Ok(actor) => actor,
            Err(refused) => return refused.into_response(),
        };
        let limit = match operation {
            Operation::Assets(_) => crate::management_assets::BODY_LIMIT,
            _ => self.engine.limits().script_bytes.saturating_mul(2) + 64 * 1024,
        };
        let request = match request::read(request, limit).await {
            Ok(request) => request,
            Err(error) => {
                return json_response(error.status(), &json!({ "error": error.to_string() }));
            }
        };
        let api = self.clone();
        match operation {
            Operation::Upsert => api.upsert(actor, request).await,
            Operation::Delete => api.delete(actor, request).await,
            Operation::List => api.list(actor).await,
            Operation::Read => api.read(actor, request).await,
            Operation::Access(level) => api.access(actor, request, level).await,
            Operation::Hand(level, hand) => api.hand(actor, request, level, hand).await,
            Operation::Cluster => api.cluster(&actor).await,
            Operation::RunTests => api.run_tests(actor, request).await,
            Operation::Assets(operation) => api.assets(actor, request, operation).await,
        }
    }

    /// This node, its database (reached, and how fast), its pool and listener, and the
    /// nodes seen in the last minute: for administrators.
    async fn cluster(&self, actor: &Actor) -> Response {
        if !actor.is_admin() {
            return Refused::Forbidden("only administrators see the cluster's health")
                .into_response();
        }
        let Some(store) = self.engine.store().cloned() else {
            return json_response(
                StatusCode::NOT_FOUND,
                &json!({ "error": "this engine keeps no data" }),
            );
        };
        let report = tokio::task::spawn_blocking(move || crate::cluster::health(&store)).await;
        match report {
            Ok(report) => json_response(StatusCode::OK, &report),
            Err(_) => server_error(&EngineError::Stopped),
        }
    }

    /// Whether `actor` may `action` the script `uri`, which `need`s that much of it:
    /// audited; who the script is handed to, or the refusal to send.
    pub(crate) async fn permit(
        &self,
        actor: &Actor,
        action: &str,
        uri: &str,
        need: Need,
    ) -> Result<ScriptAccessRecord, Refused> {
        let key = uri.to_owned();
        let access = self
            .engine
            .with_store(move |store| store.script_access(&key))
            .await
            .map_err(|error| {
                if error.is_unavailable() {
                    Refused::Unavailable(error.to_string())
                } else {
                    Refused::Failed(error.to_string())
                }
            })?;
        let exists = self.engine.script(uri).is_some();
        let decision = may_manage(actor, &access, exists, need);
        audit(actor, action, Some(uri), decision);
        decision.map(|_| access).map_err(Refused::Forbidden)
    }

    async fn upsert(self, actor: Actor, request: ScriptRequest) -> Response {
        let Some((uri, content)) = script_fields(&request) else {
            return missing_script_fields("");
        };
        let access = match self.permit(&actor, "upsert", &uri, Need::Edit).await {
            Ok(access) => access,
            Err(refused) => return refused.into_response(),
        };
        let loaded = match self
            .engine
            .load(Script::new(uri.as_str(), content.as_str()))
            .await
        {
            Ok(loaded) => loaded,
            Err(EngineError::Script(error)) => {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    &json!({ "error": error.to_string(), "line": error.line }),
                );
            }
            Err(error) => return server_error(&error),
        };
        // Whoever uploads a script nobody has claimed owns it (administrators too, so that
        // they can hand it over; the token holder is nobody). Editing a claimed script, as
        // an owner or a grantee, changes nobody's access.
        let unclaimed = access.owners.is_empty() && access.grants.is_empty();
        let owner = actor.user_id().filter(|_| unclaimed).map(str::to_owned);
        let stored = self
            .engine
            .with_store(move |store| {
                store.upsert_script(&uri, &content)?;
                if let Some(owner) = owner {
                    store.hand_script(&uri, AccessLevel::Owner, &Member::User(owner))?;
                }
                Ok(())
            })
            .await;
        if let Err(error) = stored {
            return server_error(&error);
        }
        json_response(
            StatusCode::OK,
            &json!({ "success": true, "uri": &*loaded.name, "routes": loaded.routes }),
        )
    }

    /// Runs the tests of the test file in the form fields `uri` and `content` (those whose
    /// names contain `filter`), as one who may edit the script `uri`: the report, or the
    /// file's load error (400, with its line).
    async fn run_tests(self, actor: Actor, request: ScriptRequest) -> Response {
        let Some((uri, content)) = script_fields(&request) else {
            return missing_script_fields(
                " (the test file), and filter to run only the tests whose names contain it",
            );
        };
        if let Err(refused) = self.permit(&actor, "run_tests", &uri, Need::Edit).await {
            return refused.into_response();
        }
        let filter = value(&request.form, "filter").filter(|filter| !filter.is_empty());
        match self
            .engine
            .run_tests(Script::new(uri.as_str(), content.as_str()), filter)
            .await
        {
            Ok(report) => json_response(
                StatusCode::OK,
                &json!({
                    "passed": report.passed(),
                    "counts": {
                        "passed": report.count(crate::testing::TestStatus::Passed),
                        "failed": report.count(crate::testing::TestStatus::Failed),
                        "skipped": report.count(crate::testing::TestStatus::Skipped),
                        "todo": report.count(crate::testing::TestStatus::Todo),
                    },
                    "file": report.file,
                    "tests": report.tests,
                }),
            ),
            Err(EngineError::Script(error)) => json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": error.to_string(), "line": error.line }),
            ),
            Err(error) => server_error(&error),
        }
    }

    async fn delete(self, actor: Actor, request: ScriptRequest) -> Response {
        let Some(uri) = value(&request.form, "uri") else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": "send the form field uri" }),
            );
        };
        if let Err(refused) = self.permit(&actor, "delete", &uri, Need::Own).await {
            return refused.into_response();
        }
        let unloaded = match self.engine.remove(&uri).await {
            Ok(unloaded) => unloaded,
            Err(error) => return server_error(&error),
        };
        let key = uri.clone();
        let deleted = match self
            .engine
            .with_store(move |store| {
                store.forget_script_access(&key)?;
                store.delete_script(&key)
            })
            .await
        {
            Ok(deleted) => deleted,
            Err(error) => return server_error(&error),
        };
        if unloaded || deleted {
            json_response(StatusCode::OK, &json!({ "success": true, "uri": uri }))
        } else {
            json_response(
                StatusCode::NOT_FOUND,
                &json!({ "error": format!("no script {uri:?}") }),
            )
        }
    }

    /// Every script for administrators; for editors, those they own or were granted.
    async fn list(self, actor: Actor) -> Response {
        let mut scripts = Vec::new();
        for script in self.engine.scripts() {
            let key = script.name.to_string();
            let access = match self
                .engine
                .with_store(move |store| store.script_access(&key))
                .await
            {
                Ok(access) => access,
                Err(error) => return server_error(&error),
            };
            if may_manage(&actor, &access, true, Need::Edit).is_ok() {
                let (owners, owner_groups) = split(&access.owners);
                scripts.push(json!({
                    "uri": &*script.name,
                    "routes": script.routes,
                    "owners": owners,
                    "owner_groups": owner_groups,
                }));
            }
        }
        json_response(StatusCode::OK, &json!(scripts))
    }

    async fn read(self, actor: Actor, request: ScriptRequest) -> Response {
        let Some(uri) = value(&request.query, "uri") else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": "add ?uri= with the script's name" }),
            );
        };
        if let Err(refused) = self.permit(&actor, "read", &uri, Need::Edit).await {
            return refused.into_response();
        }
        match self.engine.script(&uri) {
            Some(script) => {
                let mut response = Response::new(Body::from(script.source().to_string()));
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/javascript; charset=utf-8"),
                );
                response
            }
            None => json_response(
                StatusCode::NOT_FOUND,
                &json!({ "error": format!("no script {uri:?}") }),
            ),
        }
    }

    /// The owners or grantees of `?uri=`, for its owners and grantees: users as `users`
    /// (and, for owners, as `owners`, as aiwebengine names them) and groups as `groups`.
    async fn access(self, actor: Actor, request: ScriptRequest, level: AccessLevel) -> Response {
        let Some(uri) = value(&request.query, "uri") else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": "add ?uri= with the script's name" }),
            );
        };
        let action = match level {
            AccessLevel::Owner => "list the owners of",
            AccessLevel::Grant => "list the grants of",
        };
        if let Err(refused) = self.permit(&actor, action, &uri, Need::Edit).await {
            return refused.into_response();
        }
        let key = uri.clone();
        match self
            .engine
            .with_store(move |store| store.script_access(&key))
            .await
        {
            Ok(ScriptAccessRecord { owners, grants }) => {
                let (users, groups) = split(match level {
                    AccessLevel::Owner => &owners,
                    AccessLevel::Grant => &grants,
                });
                let mut body = json!({ "uri": uri, "users": users, "groups": groups });
                if level == AccessLevel::Owner {
                    body["owners"] = json!(users);
                }
                json_response(StatusCode::OK, &body)
            }
            Err(error) => server_error(&error),
        }
    }

    /// Hands `uri` to the `user_id` or `group` sent at `level` (`hand`), or takes it back:
    /// for the script's owners.
    async fn hand(
        self,
        actor: Actor,
        request: ScriptRequest,
        level: AccessLevel,
        hand: bool,
    ) -> Response {
        let fields = if request.form.is_empty() {
            &request.query
        } else {
            &request.form
        };
        let member = match (value(fields, "user_id"), value(fields, "group")) {
            (Some(user), None) if !user.is_empty() => Some(Member::User(user)),
            (None, Some(group)) if ferry_auth::valid_group_name(&group) => {
                Some(Member::Group(group))
            }
            _ => None,
        };
        let (Some(uri), Some(member)) = (value(fields, "uri"), member) else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": "send uri and one of user_id or group" }),
            );
        };
        let action = match (level, hand) {
            (AccessLevel::Owner, true) => "add an owner to",
            (AccessLevel::Owner, false) => "remove an owner from",
            (AccessLevel::Grant, true) => "grant",
            (AccessLevel::Grant, false) => "revoke a grant of",
        };
        if let Err(refused) = self.permit(&actor, action, &uri, Need::Own).await {
            return refused.into_response();
        }
        let (key, who) = (uri.clone(), member.clone());
        let changed = self
            .engine
            .with_store(move |store| {
                if !hand {
                    return store.take_script(&key, level, &who).map(Some);
                }
                if let Member::Group(group) = &who
                    && !store.has_group(group)?
                {
                    return Ok(None);
                }
                store.hand_script(&key, level, &who).map(Some)
            })
            .await;
        let mut body = json!({ "success": true, "uri": uri });
        match &member {
            Member::User(user) => body["user_id"] = json!(user),
            Member::Group(group) => body["group"] = json!(group),
        }
        match changed {
            Ok(Some(changed)) => {
                body["changed"] = json!(changed);
                json_response(StatusCode::OK, &body)
            }
            Ok(None) => json_response(
                StatusCode::NOT_FOUND,
                &json!({ "error": format!("no group {:?}: make it first with POST {}", member.name(), ferry_auth::GROUPS_PATH) }),
            ),
            Err(error) => server_error(&error),
        }
    }
}

impl Engine {
    /// Runs `operation` on a connection to the engine's store, off the async threads.
    pub(crate) async fn with_store<T: Send + 'static>(
        &self,
        operation: impl FnOnce(&mut ferry_store::StoreConnection) -> Result<T, ferry_store::StoreError>
        + Send
        + 'static,
    ) -> Result<T, EngineError> {
        let Some(store) = self.store().cloned() else {
            return Err(EngineError::Runtime(
                "the engine has no data directory".into(),
            ));
        };
        tokio::task::spawn_blocking(move || operation(&mut store.connect()?))
            .await
            .map_err(|_| EngineError::Stopped)?
            .map_err(EngineError::from)
    }

    /// Loads the scripts uploaded through the management API, kept in the data store, as
    /// after a restart. A script that fails to load is logged and skipped (the others still
    /// load); returns those that loaded. Without a data store there are none.
    pub async fn restore_uploaded(&self) -> Result<Vec<LoadedScript>, ferry_store::StoreError> {
        let Some(store) = self.store() else {
            return Ok(Vec::new());
        };
        let mut loaded = Vec::new();
        for script in stored_scripts(store)? {
            let name = script.name().clone();
            match self.load(script).await {
                Ok(script) => loaded.push(script),
                Err(error) => {
                    tracing::error!(script = &*name, "cannot load the stored script: {error}");
                }
            }
        }
        Ok(loaded)
    }
}

/// What a management route does.
#[derive(Debug, Clone, Copy)]
enum Operation {
    Upsert,
    Delete,
    List,
    Read,
    /// Lists the owners or grantees.
    Access(AccessLevel),
    /// Hands the script at a level (`true`) or takes it back.
    Hand(AccessLevel, bool),
    /// The cluster's health.
    Cluster,
    /// Runs a test file's tests.
    RunTests,
    /// Something done to a script's assets.
    Assets(AssetOperation),
}

/// The scripts uploaded earlier, to load at start-up.
pub fn stored_scripts(store: &Store) -> Result<Vec<Script>, ferry_store::StoreError> {
    let scripts = store.connect()?.list_scripts()?;
    Ok(scripts
        .into_iter()
        .map(|StoredScript { uri, content, .. }| Script::new(uri, content))
        .collect())
}

/// The value of `name` among a request's query or form fields.
/// The form fields `uri` and `content`.
fn script_fields(request: &ScriptRequest) -> Option<(String, String)> {
    Some((
        value(&request.form, "uri")?,
        value(&request.form, "content")?,
    ))
}

/// The 400 that asks for the form fields `uri` and `content` (`hint` added).
fn missing_script_fields(hint: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({ "error": format!("send the form fields uri and content{hint}") }),
    )
}

pub(crate) fn value(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

/// The users' ids and the groups' names among `members`.
fn split(members: &[Member]) -> (Vec<&str>, Vec<&str>) {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    for member in members {
        match member {
            Member::User(id) => users.push(id.as_str()),
            Member::Group(name) => groups.push(name.as_str()),
        }
    }
    (users, groups)
}

pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    (status, Json(value)).into_response()
}

pub(crate) fn server_error(error: &EngineError) -> Response {
    if error.is_unavailable() {
        return Refused::Unavailable(error.to_string()).into_response();
    }
    tracing::error!(%error, "management API");
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        &json!({ "error": error.to_string() }),
    )
}
