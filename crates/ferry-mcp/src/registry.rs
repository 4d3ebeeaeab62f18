//! What an MCP server offers: tools, resources (fixed URIs and URI templates) and prompts,
//! each answered by a [`Callback`].

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{Map, Value};

/// Answers calls of one tool, reads of one resource, or gets of one prompt.
///
/// The input is a JSON object: a tool's arguments; `{ uri, params }` for a resource (the
/// template's variables in `params`); a prompt's arguments. The output is JSON: see
/// [`Registry`] for what each kind may return. An error's message goes to the client.
pub trait Callback: Send + Sync + 'static {
    /// Runs the call. `request` holds the extensions of the HTTP request that carried it —
    /// what the server's pipeline attached, such as who is signed in (empty over stdio).
    fn call(
        &self,
        input: Value,
        request: &http::Extensions,
    ) -> BoxFuture<'static, Result<Value, String>>;

    /// Suggests values for an argument of a prompt as the user types it (MCP
    /// `completion/complete`). Returns `{ values, total?, hasMore? }` (or just an array of
    /// values). The default suggests nothing.
    fn complete(
        &self,
        completion: Completion,
        request: &http::Extensions,
    ) -> BoxFuture<'static, Result<Value, String>> {
        let _ = (completion, request);
        Box::pin(std::future::ready(Ok(Value::Array(Vec::new()))))
    }
}

/// A request for suggestions for one argument of a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The argument being completed.
    pub argument: String,
    /// What has been typed of it so far.
    pub partial: String,
    /// The prompt's other arguments, as given so far.
    pub arguments: Map<String, Value>,
}

/// A tool: its name, description, the JSON Schema of its arguments and its callback.
#[derive(Clone)]
pub struct ToolEntry {
    /// Unique name.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of the arguments (an object schema); checked before the callback runs.
    pub input_schema: Map<String, Value>,
    /// Who answers.
    pub callback: Arc<dyn Callback>,
}

/// A resource: a fixed URI, or a URI template with `{name}` variables (RFC 6570 level 1).
#[derive(Clone)]
pub struct ResourceEntry {
    /// The URI or URI template.
    pub uri: String,
    /// Short name.
    pub name: String,
    /// What it holds.
    pub description: String,
    /// Its media type, when known.
    pub mime_type: Option<String>,
    /// Who answers.
    pub callback: Arc<dyn Callback>,
}

impl ResourceEntry {
    /// Whether the URI is a template.
    pub fn is_template(&self) -> bool {
        self.uri.contains('{')
    }
}

/// One argument of a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptArgumentEntry {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Whether the client must give it.
    pub required: bool,
}

/// A prompt: a named template of messages with arguments.
#[derive(Clone)]
pub struct PromptEntry {
    /// Unique name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Its arguments.
    pub arguments: Vec<PromptArgumentEntry>,
    /// Who answers.
    pub callback: Arc<dyn Callback>,
}

/// Everything an MCP server offers at one time. Replaced whole when scripts change.
///
/// - A tool's callback returns a string (one text content), or any other JSON value (sent
///   as JSON text, and as structured content when it is an object).
/// - A resource's callback returns a string (text, with the entry's media type), or
///   `{ text }` / `{ blob }` (base64) with an optional `mimeType`.
/// - A prompt's callback returns a string (one user message), an array of
///   `{ role: "user" | "assistant", content }` messages (`content` a string or an MCP
///   content block such as `{ type: "text", text }`), or the MCP result object
///   `{ description?, messages }` with such messages.
#[derive(Clone, Default)]
pub struct Registry {
    /// The tools.
    pub tools: Vec<ToolEntry>,
    /// The resources.
    pub resources: Vec<ResourceEntry>,
    /// The prompts.
    pub prompts: Vec<PromptEntry>,
}

impl Registry {
    /// Whether nothing is offered.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty() && self.resources.is_empty() && self.prompts.is_empty()
    }

    /// Checks names are unique and schemas and templates make sense; the error says which
    /// entry is wrong.
    pub fn check(&self) -> Result<(), String> {
        let mut names = std::collections::HashSet::new();
        for tool in &self.tools {
            if !names.insert(("tool", tool.name.as_str())) {
                return Err(format!("the MCP tool {:?} is registered twice", tool.name));
            }
            crate::schema::check_schema(&tool.input_schema).map_err(|error| {
                format!("the input schema of MCP tool {:?}: {error}", tool.name)
            })?;
        }
        for resource in &self.resources {
            if !names.insert(("resource", resource.uri.as_str())) {
                return Err(format!(
                    "the MCP resource {:?} is registered twice",
                    resource.uri
                ));
            }
            crate::template::UriTemplate::parse(&resource.uri)
                .map_err(|error| format!("the MCP resource {:?}: {error}", resource.uri))?;
        }
        for prompt in &self.prompts {
            if !names.insert(("prompt", prompt.name.as_str())) {
                return Err(format!(
                    "the MCP prompt {:?} is registered twice",
                    prompt.name
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;

    impl Callback for Nothing {
        fn call(
            &self,
            _input: Value,
            _request: &http::Extensions,
        ) -> BoxFuture<'static, Result<Value, String>> {
            Box::pin(async { Ok(Value::Null) })
        }
    }

    fn tool(name: &str, schema: Value) -> ToolEntry {
        ToolEntry {
            name: name.into(),
            description: String::new(),
            input_schema: schema.as_object().cloned().unwrap_or_default(),
            callback: Arc::new(Nothing),
        }
    }

    fn resource(uri: &str) -> ResourceEntry {
        ResourceEntry {
            uri: uri.into(),
            name: "r".into(),
            description: String::new(),
            mime_type: None,
            callback: Arc::new(Nothing),
        }
    }

    #[test]
    fn check_names_the_entry_that_is_wrong() {
        let object = serde_json::json!({ "type": "object" });
        let twice = Registry {
            tools: vec![tool("a", object.clone()), tool("a", object.clone())],
            ..Registry::default()
        };
        assert_eq!(
            twice.check(),
            Err("the MCP tool \"a\" is registered twice".into())
        );
        let array = Registry {
            tools: vec![tool("list", serde_json::json!({ "type": "array" }))],
            ..Registry::default()
        };
        assert!(
            array
                .check()
                .unwrap_err()
                .starts_with("the input schema of MCP tool \"list\"")
        );
        let template = Registry {
            resources: vec![resource("notes://{id")],
            ..Registry::default()
        };
        assert!(
            template
                .check()
                .unwrap_err()
                .starts_with("the MCP resource \"notes://{id\"")
        );
        let fine = Registry {
            tools: vec![tool("a", object)],
            resources: vec![resource("notes://{id}"), resource("config://app")],
            ..Registry::default()
        };
        assert_eq!(fine.check(), Ok(()));
        assert!(resource("notes://{id}").is_template());
        assert!(!fine.is_empty());
    }
}
