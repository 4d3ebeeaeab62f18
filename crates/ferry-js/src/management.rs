//! The management API, compatible with aiwebengine's: upload, delete, list and read scripts
//! over HTTP. It exists only when an admin token is configured, and every call must carry
//! `Authorization: Bearer <token>`. Uploaded scripts are kept in the data store and loaded
//! again at start-up.

use ferry_core::bearer::{self, BearerToken};
use ferry_core::{App, Body, IntoResponse, Json, Request, Response};
use ferry_store::{ScriptRepository, SqliteStore, StoredScript};
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use serde_json::json;

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

/// The management API of one engine.
#[derive(Clone)]
pub struct Management {
    engine: Engine,
    token: BearerToken,
}

impl std::fmt::Debug for Management {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Management").finish_non_exhaustive()
    }
}

impl Management {
    /// The API for `engine`, guarded by `token`.
    pub fn new(engine: Engine, token: &str) -> Self {
        Management {
            engine,
            token: BearerToken::new(token),
        }
    }

    /// Adds the management routes to `app`.
    pub fn install(self, app: App) -> App {
        let upsert = self.clone();
        let delete = self.clone();
        let list = self.clone();
        let read = self;
        app.post(UPSERT_PATH, move |request| {
            let api = upsert.clone();
            async move { api.guarded(request, Management::upsert).await }
        })
        .post(DELETE_PATH, move |request| {
            let api = delete.clone();
            async move { api.guarded(request, Management::delete).await }
        })
        .get(LIST_PATH, move |request| {
            let api = list.clone();
            async move { api.guarded(request, Management::list).await }
        })
        .get(READ_PATH, move |request| {
            let api = read.clone();
            async move { api.guarded(request, Management::read).await }
        })
    }

    /// Checks the token, reads the request, then runs `operation`.
    async fn guarded<F, Fut>(&self, request: Request, operation: F) -> Response
    where
        F: FnOnce(Management, ScriptRequest) -> Fut,
        Fut: Future<Output = Response>,
    {
        if !self.token.admits(&request) {
            let mut response = json_response(
                StatusCode::UNAUTHORIZED,
                &json!({ "error": "missing or wrong bearer token" }),
            );
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, bearer::CHALLENGE);
            return response;
        }
        let limit = self.engine.limits().script_bytes.saturating_mul(2) + 64 * 1024;
        match request::read(request, limit).await {
            Ok(request) => operation(self.clone(), request).await,
            Err(error) => json_response(error.status(), &json!({ "error": error.to_string() })),
        }
    }

    async fn upsert(self, request: ScriptRequest) -> Response {
        let (Some(uri), Some(content)) =
            (value(&request.form, "uri"), value(&request.form, "content"))
        else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": "send the form fields uri and content" }),
            );
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
        let stored = self
            .with_store(move |store| store.upsert_script(&uri, &content))
            .await;
        if let Err(error) = stored {
            return server_error(&error);
        }
        json_response(
            StatusCode::OK,
            &json!({ "success": true, "uri": &*loaded.name, "routes": loaded.routes }),
        )
    }

    async fn delete(self, request: ScriptRequest) -> Response {
        let Some(uri) = value(&request.form, "uri") else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": "send the form field uri" }),
            );
        };
        let unloaded = match self.engine.remove(&uri).await {
            Ok(unloaded) => unloaded,
            Err(error) => return server_error(&error),
        };
        let key = uri.clone();
        let deleted = match self
            .with_store(move |store| store.delete_script(&key))
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

    async fn list(self, _request: ScriptRequest) -> Response {
        let scripts: Vec<_> = self
            .engine
            .scripts()
            .into_iter()
            .map(|script| json!({ "uri": &*script.name, "routes": script.routes }))
            .collect();
        json_response(StatusCode::OK, &json!(scripts))
    }

    async fn read(self, request: ScriptRequest) -> Response {
        let Some(uri) = value(&request.query, "uri") else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": "add ?uri= with the script's name" }),
            );
        };
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
