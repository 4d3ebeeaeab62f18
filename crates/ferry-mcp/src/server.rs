//! The MCP server itself: an rmcp `ServerHandler` over the current [`Registry`].

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams, CompleteResult,
    CompletionInfo, ContentBlock, GetPromptRequestParams, GetPromptResponse, GetPromptResult,
    Implementation, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
    ListToolsResult, PaginatedRequestParams, Prompt, PromptArgument, PromptMessage,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Reference, Resource,
    ResourceContents, ResourceTemplate, Role, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Map, Value};

use crate::registry::{Completion, Registry};
use crate::template::UriTemplate;
use crate::{Mcp, schema};

/// One session's handler: a cheap handle on the shared state.
#[derive(Clone)]
pub(crate) struct Server {
    pub mcp: Mcp,
}

impl Server {
    fn registry(&self) -> Arc<Registry> {
        self.mcp.inner.registry.load_full()
    }
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_resources()
            .enable_resources_list_changed()
            .enable_prompts()
            .enable_prompts_list_changed()
            .enable_completions()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("ferry", env!("CARGO_PKG_VERSION")))
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        // Remembered so that it hears when the lists change.
        self.mcp.remember(context.peer);
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let tools = self
            .registry()
            .tools
            .iter()
            .map(|tool| {
                Tool::new(
                    tool.name.clone(),
                    tool.description.clone(),
                    Arc::new(tool.input_schema.clone()),
                )
            })
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let registry = self.registry();
        let tool = registry
            .tools
            .iter()
            .find(|tool| tool.name == request.name)
            .ok_or_else(|| {
                McpError::invalid_params(format!("no tool is named {:?}", request.name), None)
            })?;
        let arguments = Value::Object(request.arguments.unwrap_or_default());
        if let Err(problem) = schema::validate(&arguments, &tool.input_schema) {
            // A tool-execution error, not a protocol one: the model reads it and can retry
            // with corrected arguments (as the MCP specification advises).
            let message = format!(
                "the arguments of {:?} do not match its input schema: {problem}",
                tool.name
            );
            return Ok(CallToolResponse::Complete(CallToolResult::error(vec![
                ContentBlock::text(message),
            ])));
        }
        let result = match tool
            .callback
            .call(arguments, http_extensions(&context))
            .await
        {
            Ok(Value::String(text)) => CallToolResult::success(vec![ContentBlock::text(text)]),
            Ok(value) => {
                let mut result =
                    CallToolResult::success(vec![ContentBlock::text(value.to_string())]);
                if value.is_object() {
                    result.structured_content = Some(value);
                }
                result
            }
            // The tool ran and failed: the model sees why (isError), as MCP asks.
            Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
        };
        Ok(CallToolResponse::Complete(result))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let resources = self
            .registry()
            .resources
            .iter()
            .filter(|resource| !resource.is_template())
            .map(|resource| {
                let mut listed = Resource::new(resource.uri.clone(), resource.name.clone())
                    .with_description(resource.description.clone());
                if let Some(mime) = &resource.mime_type {
                    listed = listed.with_mime_type(mime.clone());
                }
                listed
            })
            .collect();
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let templates = self
            .registry()
            .resources
            .iter()
            .filter(|resource| resource.is_template())
            .map(|resource| {
                let mut listed = ResourceTemplate::new(resource.uri.clone(), resource.name.clone())
                    .with_description(resource.description.clone());
                if let Some(mime) = &resource.mime_type {
                    listed = listed.with_mime_type(mime.clone());
                }
                listed
            })
            .collect();
        Ok(ListResourceTemplatesResult::with_all_items(templates))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let registry = self.registry();
        // Fixed URIs first, then templates in registration order.
        let found = registry
            .resources
            .iter()
            .filter(|resource| !resource.is_template())
            .chain(
                registry
                    .resources
                    .iter()
                    .filter(|resource| resource.is_template()),
            )
            .find_map(|resource| {
                let params = UriTemplate::parse(&resource.uri)
                    .ok()?
                    .matches(&request.uri)?;
                Some((resource, params))
            });
        let Some((resource, params)) = found else {
            return Err(McpError::resource_not_found(
                format!("no resource at {:?}", request.uri),
                None,
            ));
        };
        let mut input = Map::new();
        input.insert("uri".into(), Value::String(request.uri.clone()));
        input.insert("params".into(), Value::Object(params));
        let value = resource
            .callback
            .call(Value::Object(input), http_extensions(&context))
            .await
            .map_err(|message| McpError::internal_error(message, None))?;
        let contents = resource_contents(&request.uri, resource.mime_type.as_deref(), value)?;
        Ok(ReadResourceResponse::Complete(ReadResourceResult::new(
            vec![contents],
        )))
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let prompts = self
            .registry()
            .prompts
            .iter()
            .map(|prompt| {
                let arguments = prompt
                    .arguments
                    .iter()
                    .map(|argument| {
                        let mut listed = PromptArgument::new(argument.name.clone())
                            .with_required(argument.required);
                        if let Some(description) = &argument.description {
                            listed = listed.with_description(description.clone());
                        }
                        listed
                    })
                    .collect();
                Prompt::new(
                    prompt.name.clone(),
                    Some(prompt.description.clone()),
                    Some(arguments),
                )
            })
            .collect();
        Ok(ListPromptsResult::with_all_items(prompts))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let registry = self.registry();
        let prompt = registry
            .prompts
            .iter()
            .find(|prompt| prompt.name == request.name)
            .ok_or_else(|| {
                McpError::invalid_params(format!("no prompt is named {:?}", request.name), None)
            })?;
        let arguments = request.arguments.unwrap_or_default();
        for argument in prompt.arguments.iter().filter(|argument| argument.required) {
            if !arguments.contains_key(&argument.name) {
                return Err(McpError::invalid_params(
                    format!(
                        "the prompt {:?} needs the argument {:?}",
                        prompt.name, argument.name
                    ),
                    None,
                ));
            }
        }
        let value = prompt
            .callback
            .call(Value::Object(arguments), http_extensions(&context))
            .await
            .map_err(|message| McpError::internal_error(message, None))?;
        let (description, messages) = prompt_result(value)?;
        Ok(GetPromptResponse::Complete(
            GetPromptResult::new(messages)
                .with_description(description.unwrap_or_else(|| prompt.description.clone())),
        ))
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        // Resource templates have no handler for suggestions: none are offered.
        let Reference::Prompt(reference) = &request.r#ref else {
            return Ok(CompleteResult::default());
        };
        let registry = self.registry();
        let prompt = registry
            .prompts
            .iter()
            .find(|prompt| prompt.name == reference.name)
            .ok_or_else(|| {
                McpError::invalid_params(format!("no prompt is named {:?}", reference.name), None)
            })?;
        let arguments = request
            .context
            .and_then(|context| context.arguments)
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| (name, Value::String(value)))
            .collect();
        let value = prompt
            .callback
            .complete(
                Completion {
                    argument: request.argument.name,
                    partial: request.argument.value,
                    arguments,
                },
                http_extensions(&context),
            )
            .await
            .map_err(|message| McpError::internal_error(message, None))?;
        Ok(CompleteResult::new(completion_info(value)))
    }
}

/// Suggestions from a handler's `{ values, total?, hasMore? }` (or a bare array): strings
/// only, at most the 100 MCP allows (more says `hasMore`). Anything else suggests nothing.
fn completion_info(value: Value) -> CompletionInfo {
    let (values, total, has_more) = match value {
        Value::Array(values) => (values, None, None),
        Value::Object(mut object) => {
            let values = match object.remove("values") {
                Some(Value::Array(values)) => values,
                _ => Vec::new(),
            };
            let total = object
                .get("total")
                .and_then(Value::as_u64)
                .and_then(|total| u32::try_from(total).ok());
            let has_more = object.get("hasMore").and_then(Value::as_bool);
            (values, total, has_more)
        }
        _ => (Vec::new(), None, None),
    };
    let mut values: Vec<String> = values
        .into_iter()
        .filter_map(|value| match value {
            Value::String(text) => Some(text),
            _ => None,
        })
        .collect();
    let cut = values.len() > CompletionInfo::MAX_VALUES;
    values.truncate(CompletionInfo::MAX_VALUES);
    let has_more = if cut { Some(true) } else { has_more };
    CompletionInfo::with_pagination(values, total, has_more.unwrap_or(false)).unwrap_or_default()
}

fn resource_contents(
    uri: &str,
    mime_type: Option<&str>,
    value: Value,
) -> Result<ResourceContents, McpError> {
    let (text, blob, mime) = match value {
        Value::String(text) => (Some(text), None, mime_type.map(str::to_owned)),
        Value::Object(mut object) => {
            let mime = object
                .remove("mimeType")
                .and_then(|value| value.as_str().map(str::to_owned))
                .or_else(|| mime_type.map(str::to_owned));
            let text = object
                .remove("text")
                .and_then(|value| value.as_str().map(str::to_owned));
            let blob = object
                .remove("blob")
                .and_then(|value| value.as_str().map(str::to_owned));
            (text, blob, mime)
        }
        other => (
            Some(other.to_string()),
            None,
            Some("application/json".to_owned()),
        ),
    };
    match (text, blob) {
        (Some(text), _) => Ok(ResourceContents::TextResourceContents {
            uri: uri.to_owned(),
            mime_type: Some(mime.unwrap_or_else(|| "text/plain".into())),
            text,
            meta: None,
        }),
        (None, Some(blob)) => Ok(ResourceContents::BlobResourceContents {
            uri: uri.to_owned(),
            mime_type: Some(mime.unwrap_or_else(|| "application/octet-stream".into())),
            blob,
            meta: None,
        }),
        (None, None) => Err(McpError::internal_error(
            "a resource handler returns a string, or { text } or { blob } with an optional mimeType",
            None,
        )),
    }
}

/// A prompt's description (when its handler gave one) and messages, from what the handler
/// returned: a string (one user message), an array of messages, or the MCP result object
/// `{ description?, messages }`.
fn prompt_result(value: Value) -> Result<(Option<String>, Vec<PromptMessage>), McpError> {
    let refused = || {
        McpError::internal_error(
            "a prompt handler returns a string, an array of { role, content } messages, or { description?, messages }",
            None,
        )
    };
    let (description, items) = match value {
        Value::String(text) => {
            return Ok((None, vec![PromptMessage::new_text(Role::User, text)]));
        }
        Value::Array(items) => (None, items),
        Value::Object(mut object) => match object.remove("messages") {
            Some(Value::Array(items)) => {
                let description = object
                    .remove("description")
                    .and_then(|value| value.as_str().map(str::to_owned));
                (description, items)
            }
            _ => return Err(refused()),
        },
        _ => return Err(refused()),
    };
    let messages = items
        .into_iter()
        .map(prompt_message)
        .collect::<Result<_, _>>()?;
    Ok((description, messages))
}

/// One message: `{ role, content }` where `content` is a string or an MCP content block
/// (`{ type: "text", text }`, an image, an embedded resource...).
fn prompt_message(item: Value) -> Result<PromptMessage, McpError> {
    let role = match item.get("role").and_then(Value::as_str) {
        Some("assistant") => Role::Assistant,
        _ => Role::User,
    };
    let content = match item.get("content") {
        Some(Value::String(text)) => ContentBlock::text(text.clone()),
        Some(block @ Value::Object(_)) => {
            serde_json::from_value(block.clone()).map_err(|error| {
                McpError::internal_error(
                    format!("a prompt message's content is not an MCP content block: {error}"),
                    None,
                )
            })?
        }
        Some(other) => ContentBlock::text(other.to_string()),
        None => ContentBlock::text(String::new()),
    };
    Ok(PromptMessage::new(role, content))
}

/// The extensions of the HTTP request that carried an MCP request (rmcp keeps its parts in
/// the request context); empty over stdio.
fn http_extensions(context: &RequestContext<RoleServer>) -> &http::Extensions {
    static NONE: std::sync::OnceLock<http::Extensions> = std::sync::OnceLock::new();
    context
        .extensions
        .get::<http::request::Parts>()
        .map_or_else(
            || NONE.get_or_init(http::Extensions::new),
            |parts| &parts.extensions,
        )
}
