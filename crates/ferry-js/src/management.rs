//! The management API, compatible with aiwebengine's: upload, delete, list and read scripts
//! over HTTP, and manage who owns them. Callers are the holder of the admin token
//! (`Authorization: Bearer <token>`) or signed-in editors and administrators; what each may
//! do is decided in `management_access`. Uploaded scripts are kept in the data store and
//! loaded again at start-up.

use ferry_core::bearer::BearerToken;
use ferry_core::{App, Body, IntoResponse, Json, Request, Response};
use ferry_store::{ScriptOwners, ScriptRepository, SqliteStore, StoredScript};
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use serde_json::json;

use crate::management_access::{Actor, Refused, audit, may_manage};

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
/// See [`UPSERT_PATH`]: GET (`?uri=`), POST and DELETE (`uri`, `user_id`).
pub const OWNERS_PATH: &str = "/engine/script_owners";

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
            .get(OWNERS_PATH, route(&self, Operation::Owners))
            .post(OWNERS_PATH, route(&self, Operation::AddOwner))
            .delete(OWNERS_PATH, route(&self, Operation::RemoveOwner))
    }

    /// Finds who is calling, reads the request, then runs `operation`.
    async fn guarded(&self, request: Request, operation: Operation) -> Response {
        let actor = match Actor::of(&request, self.token.as_ref()) {
            Ok(actor) => actor,
            Err(refused) => return refused.into_response(),
        };
        let limit = self.engine.limits().script_bytes.saturating_mul(2) + 64 * 1024;
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
            Operation::Owners => api.owners(actor, request).await,
            Operation::AddOwner => api.change_owner(actor, request, true).await,
            Operation::RemoveOwner => api.change_owner(actor, request, false).await,
        }
    }

    /// Whether `actor` may `action` the script `uri`: audited, and the refusal to send.
    async fn permit(&self, actor: &Actor, action: &str, uri: &str) -> Result<(), Refused> {
        let key = uri.to_owned();
        let owners = self
            .with_store(move |store| store.owners(&key))
            .await
            .map_err(|error| Refused::Failed(error.to_string()))?;
        let exists = self.engine.script(uri).is_some();
        let decision = may_manage(actor, &owners, exists);
        audit(actor, action, Some(uri), decision);
        decision.map(|_| ()).map_err(Refused::Forbidden)
    }

    async fn upsert(self, actor: Actor, request: ScriptRequest) -> Response {
        let (Some(uri), Some(content)) =
            (value(&request.form, "uri"), value(&request.form, "content"))
        else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": "send the form fields uri and content" }),
            );
        };
        if let Err(refused) = self.permit(&actor, "upsert", &uri).await {
            return refused.into_response();
        }
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
        let owner = actor.user_id().map(str::to_owned);
        let stored = self
            .with_store(move |store| {
                store.upsert_script(&uri, &content)?;
                // Whoever uploads a script owns it (administrators too, so that they can
                // hand it over); the token holder is nobody.
                if let Some(owner) = owner {
                    store.add_owner(&uri, &owner)?;
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

    async fn delete(self, actor: Actor, request: ScriptRequest) -> Response {
        let Some(uri) = value(&request.form, "uri") else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": "send the form field uri" }),
            );
        };
        if let Err(refused) = self.permit(&actor, "delete", &uri).await {
            return refused.into_response();
        }
        let unloaded = match self.engine.remove(&uri).await {
            Ok(unloaded) => unloaded,
            Err(error) => return server_error(&error),
        };
        let key = uri.clone();
        let deleted = match self
            .with_store(move |store| {
                store.forget_owners(&key)?;
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

    /// Every script for administrators; for editors, those they own.
    async fn list(self, actor: Actor) -> Response {
        let mut scripts = Vec::new();
        for script in self.engine.scripts() {
            let key = script.name.to_string();
            let owners = match self.with_store(move |store| store.owners(&key)).await {
                Ok(owners) => owners,
                Err(error) => return server_error(&error),
            };
            if may_manage(&actor, &owners, true).is_ok() {
                scripts.push(
                    json!({ "uri": &*script.name, "routes": script.routes, "owners": owners }),
                );
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
        if let Err(refused) = self.permit(&actor, "read", &uri).await {
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

    /// The owners of `?uri=`, for those who may manage it.
    async fn owners(self, actor: Actor, request: ScriptRequest) -> Response {
        let Some(uri) = value(&request.query, "uri") else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": "add ?uri= with the script's name" }),
            );
        };
        if let Err(refused) = self.permit(&actor, "list the owners of", &uri).await {
            return refused.into_response();
        }
        let key = uri.clone();
        match self.with_store(move |store| store.owners(&key)).await {
            Ok(owners) => json_response(StatusCode::OK, &json!({ "uri": uri, "owners": owners })),
            Err(error) => server_error(&error),
        }
    }

    /// Adds (`add`) or removes the owner `user_id` of `uri`, for those who may manage it.
    async fn change_owner(self, actor: Actor, request: ScriptRequest, add: bool) -> Response {
        let fields = if request.form.is_empty() {
            &request.query
        } else {
            &request.form
        };
        let (Some(uri), Some(user_id)) = (value(fields, "uri"), value(fields, "user_id")) else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": "send uri and user_id" }),
            );
        };
        let action = if add {
            "add an owner to"
        } else {
            "remove an owner from"
        };
        if let Err(refused) = self.permit(&actor, action, &uri).await {
            return refused.into_response();
        }
        let (key, user) = (uri.clone(), user_id.clone());
        let changed = self
            .with_store(move |store| {
                if add {
                    store.add_owner(&key, &user)
                } else {
                    store.remove_owner(&key, &user)
                }
            })
            .await;
        match changed {
            Ok(changed) => json_response(
                StatusCode::OK,
                &json!({ "success": true, "uri": uri, "user_id": user_id, "changed": changed }),
            ),
            Err(error) => server_error(&error),
        }
    }

    async fn with_store<T: Send + 'static>(
        &self,
        operation: impl FnOnce(&mut ferry_store::StoreConnection) -> Result<T, ferry_store::StoreError>
        + Send
        + 'static,
    ) -> Result<T, EngineError> {
        let Some(store) = self.engine.store().cloned() else {
            return Err(EngineError::Runtime(
                "the engine has no data directory".into(),
            ));
        };
        tokio::task::spawn_blocking(move || operation(&mut store.connect()?))
            .await
            .map_err(|_| EngineError::Stopped)?
            .map_err(EngineError::from)
    }
}

impl Engine {
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
    Owners,
    AddOwner,
    RemoveOwner,
}

/// The scripts uploaded earlier, to load at start-up.
pub fn stored_scripts(store: &SqliteStore) -> Result<Vec<Script>, ferry_store::StoreError> {
    let scripts = store.connect()?.list_scripts()?;
    Ok(scripts
        .into_iter()
        .map(|StoredScript { uri, content, .. }| Script::new(uri, content))
        .collect())
}

/// The value of `name` among a request's query or form fields.
fn value(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    (status, Json(value)).into_response()
}

fn server_error(error: &EngineError) -> Response {
    tracing::error!(%error, "management API");
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        &json!({ "error": error.to_string() }),
    )
}
