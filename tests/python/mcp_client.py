"""Drives examples/apps/mcp/app.js with the official MCP Python SDK and prints what it saw
as JSON (the e2e tests check it).

Usage:
  mcp_client.py http URL APP_FILE   Streamable HTTP; then edits APP_FILE and waits for
                                    notifications/tools/list_changed
  mcp_client.py stdio FERRY APP DATA_DIR   `FERRY mcp APP --data-dir DATA_DIR` over stdio
"""

import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client


def text_of(result) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


async def exercise(session: ClientSession) -> dict:
    seen = {}
    seen["server"] = session.initialize_result.server_info.name if session.initialize_result else None
    tools = await session.list_tools()
    seen["tools"] = sorted(tool.name for tool in tools.tools)
    seen["add"] = text_of(await session.call_tool("add", {"a": 2, "b": 3}))
    try:
        bad = await session.call_tool("add", {"a": "two"})
        seen["bad_args"] = {"is_error": bad.is_error, "text": text_of(bad)}
    except Exception as error:  # the SDK raises for JSON-RPC errors
        seen["bad_args"] = {"raised": str(error)}
    saved = await session.call_tool("save_note", {"id": "n1", "text": "hello notes"})
    seen["save"] = {"text": text_of(saved), "structured": saved.structured_content}
    resources = await session.list_resources()
    seen["resources"] = [str(resource.uri) for resource in resources.resources]
    templates = await session.list_resource_templates()
    seen["templates"] = [template.uri_template for template in templates.resource_templates]
    note = await session.read_resource("notes://n1")
    seen["note"] = [getattr(content, "text", None) for content in note.contents]
    config = await session.read_resource("config://app")
    seen["config_mime"] = config.contents[0].mime_type
    prompts = await session.list_prompts()
    seen["prompts"] = [prompt.name for prompt in prompts.prompts]
    prompt = await session.get_prompt("summarize", {"text": "Ferry is a web server."})
    seen["prompt"] = [(message.role, message.content.text) for message in prompt.messages]
    translated = await session.get_prompt("translate", {"text": "hei", "language": "English"})
    seen["translate"] = {
        "description": translated.description,
        "messages": [(message.role, message.content.text) for message in translated.messages],
    }
    from mcp import types

    completed = await session.complete(
        types.PromptReference(type="ref/prompt", name="translate"),
        {"name": "language", "value": "f"},
        {"text": "hei"},
    )
    seen["completion"] = {
        "values": completed.completion.values,
        "total": completed.completion.total,
        "has_more": completed.completion.has_more,
    }
    return seen


async def over_http(url: str, app_file: str) -> dict:
    changed = asyncio.Event()

    async def on_message(message) -> None:
        if "ToolListChanged" in type(getattr(message, "root", message)).__name__ or "tools/list_changed" in repr(message):
            changed.set()

    async with streamable_http_client(url) as (read, write):
        async with ClientSession(read, write, message_handler=on_message) as session:
            await session.initialize()
            seen = await exercise(session)
            with open(app_file, "a", encoding="utf-8") as app:
                app.write('\nregisterMCPTool("ping", "Answers pong.", { type: "object" }, () => "pong");\n')
            try:
                await asyncio.wait_for(changed.wait(), 15)
                seen["list_changed"] = True
            except asyncio.TimeoutError:
                seen["list_changed"] = False
            tools = await session.list_tools()
            seen["tools_after_reload"] = sorted(tool.name for tool in tools.tools)
            return seen


async def over_stdio(ferry: str, app: str, data_dir: str) -> dict:
    parameters = StdioServerParameters(command=ferry, args=["mcp", app, "--data-dir", data_dir])
    async with stdio_client(parameters) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return await exercise(session)


async def main() -> None:
    mode = sys.argv[1]
    if mode == "http":
        seen = await over_http(sys.argv[2], sys.argv[3])
    else:
        seen = await over_stdio(sys.argv[2], sys.argv[3], sys.argv[4])
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main())
