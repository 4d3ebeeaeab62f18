//! What scripts offer through the engine's own endpoints: their GraphQL fields (for
//! `ferry-graphql`'s schema at `/graphql`) and their MCP tools, resources and prompts (for
//! `ferry-mcp`'s registry at `/mcp`), each answered by a [`JsCall`] into the script.

use std::sync::Arc;

use ferry_mcp::{PromptArgumentEntry, PromptEntry, Registry, ResourceEntry, ToolEntry};
use serde_json::Value;

use crate::call_js::JsCall;
use crate::pool::WorkerPool;
use crate::registration::{McpKind, Registration, RouteKind};
use crate::script_set::Loaded;

/// The name or URI of a GraphQL or MCP registration (its pattern is `"<kind> <key>"`).
fn key_of(registration: &Registration) -> String {
    registration
        .pattern
        .split_once(' ')
        .map_or(registration.pattern.as_str(), |(_, key)| key)
        .to_owned()
}

/// The call into `loaded`'s handler at `index`.
fn call(pool: &Arc<WorkerPool>, loaded: &Loaded, index: usize) -> Arc<JsCall> {
    Arc::new(JsCall {
        pool: pool.clone(),
        key: loaded.key(index),
    })
}

/// The GraphQL fields of `scripts`.
pub(crate) fn graphql_fields<'a>(
    pool: &Arc<WorkerPool>,
    scripts: impl Iterator<Item = &'a Loaded>,
) -> Vec<ferry_graphql::Registration> {
    scripts
        .flat_map(|loaded| {
            loaded
                .registrations
                .iter()
                .enumerate()
                .filter_map(move |(index, registration)| {
                    let RouteKind::GraphQl(kind) = registration.kind else {
                        return None;
                    };
                    Some(ferry_graphql::Registration {
                        kind,
                        name: key_of(registration),
                        sdl: registration.definition.clone(),
                        resolver: call(pool, loaded, index),
                    })
                })
        })
        .collect()
}

/// The MCP registry of `scripts`; an error names what is wrong.
pub(crate) fn mcp_registry<'a>(
    pool: &Arc<WorkerPool>,
    scripts: impl Iterator<Item = &'a Loaded>,
) -> Result<Registry, String> {
    let mut offered = Registry::default();
    for loaded in scripts {
        for (index, registration) in loaded.registrations.iter().enumerate() {
            let RouteKind::Mcp(kind) = registration.kind else {
                continue;
            };
            // The prelude wrote the definition; a broken one reads as empty.
            let definition: Value =
                serde_json::from_str(&registration.definition).unwrap_or_default();
            add_mcp_entry(
                &mut offered,
                kind,
                key_of(registration),
                &definition,
                call(pool, loaded, index),
            );
        }
    }
    offered.check().map(|()| offered)
}

fn add_mcp_entry(
    offered: &mut Registry,
    kind: McpKind,
    key: String,
    definition: &Value,
    callback: Arc<JsCall>,
) {
    let text = |field: &str| {
        definition
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match kind {
        McpKind::Tool => offered.tools.push(ToolEntry {
            name: key,
            description: text("description"),
            input_schema: definition
                .get("inputSchema")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            callback,
        }),
        McpKind::Resource => offered.resources.push(ResourceEntry {
            uri: key,
            name: text("name"),
            description: text("description"),
            mime_type: Some(text("mimeType")).filter(|mime| !mime.is_empty()),
            callback,
        }),
        McpKind::Prompt => offered.prompts.push(PromptEntry {
            name: key,
            description: text("description"),
            arguments: definition
                .get("arguments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(prompt_argument)
                .collect(),
            callback,
        }),
    }
}

fn prompt_argument(argument: &Value) -> Option<PromptArgumentEntry> {
    Some(PromptArgumentEntry {
        name: argument.get("name")?.as_str()?.to_owned(),
        description: argument
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        required: argument
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}
