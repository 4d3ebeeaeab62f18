"""Signs in to a Ferry MCP endpoint with the official MCP Python SDK's OAuth client, the way
a remote MCP client does, and prints what it saw as JSON (the e2e tests check it).

Usage:
  mcp_oauth.py MCP_URL SESSION_COOKIE

The SDK finds the authorization server from the 401's protected-resource metadata,
registers itself, and sends "the browser" to the authorization URL. The browser here is an
HTTP client carrying the user's session cookie: it reads the consent page, presses Allow,
and hands the code from the redirect back to the SDK, which exchanges it (PKCE) and calls a
tool with the access token.
"""

import asyncio
import html
import json
import re
import sys
from urllib.parse import parse_qs, urljoin, urlparse

import httpx2
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)


class Memory(TokenStorage):
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


async def main(url: str, cookie: str) -> dict:
    parsed = urlparse(url)
    origin = f"{parsed.scheme}://{parsed.netloc}"
    seen: dict = {}
    browser = httpx2.AsyncClient(headers={"Cookie": cookie}, follow_redirects=False, timeout=20)
    answer: asyncio.Future = asyncio.get_running_loop().create_future()

    async def redirect_handler(authorization_url: str) -> None:
        seen["authorization_url"] = authorization_url.split("?")[0]
        page = await browser.get(authorization_url)
        seen["consent_status"] = page.status_code
        seen["consent_names_client"] = "Ferry test client" in page.text
        fields = {
            name: html.unescape(value)
            for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)
        }
        fields["decision"] = "allow"
        decided = await browser.post(
            urljoin(authorization_url, "/auth/oauth2/authorize"), data=fields, headers={"Origin": origin}
        )
        location = decided.headers["location"]
        query = parse_qs(urlparse(location).query)
        answer.set_result(
            AuthorizationCodeResult(
                code=query["code"][0],
                state=query.get("state", [None])[0],
                iss=query.get("iss", [None])[0],
            )
        )

    async def callback_handler() -> AuthorizationCodeResult:
        return await answer

    storage = Memory()
    auth = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="Ferry test client",
            redirect_uris=["http://127.0.0.1:9/callback"],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    async with httpx2.AsyncClient(auth=auth, timeout=30) as client:
        async with streamable_http_client(url, http_client=client) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = await session.list_tools()
                seen["tools"] = sorted(tool.name for tool in tools.tools)
                result = await session.call_tool("whoami", {})
                seen["whoami"] = "".join(getattr(block, "text", "") for block in result.content)
    seen["registered_method"] = storage.client.token_endpoint_auth_method if storage.client else None
    seen["access_token_prefix"] = storage.tokens.access_token[:9] if storage.tokens else None
    seen["has_refresh_token"] = bool(storage.tokens and storage.tokens.refresh_token)
    await browser.aclose()
    return seen


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
