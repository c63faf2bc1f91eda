"""``aliyun-sidecar mcp``: a stdio MCP server that forwards an AI agent's requests to Alibaba Cloud's
hosted OpenAPI MCP Server as the signed-in profile.

Why ours and not the official proxies (``../shared/reference/mcp.md``): the CLI's ``mcp-proxy`` needs a
second browser sign-in and listens on an unauthenticated local port; the PyPI stdio proxy needs
``uvx`` and network installs at run time. This one reuses the profile the editor already keeps fresh
(its STS credentials, renewed by the same refresher and locks as every other path), opens no port,
installs nothing, and is read-only unless asked.

The modules, each with one job:

* ``problems``  what goes wrong, as sentences an agent and a person can act on (permission + fix);
* ``openapi``   the three service calls: RamOAuth ``GenerateAccessToken`` (RPC, signature v1),
  ``ListApiMcpServerCores`` / ``ListApiMcpServers`` (ACS3) and the anonymous ``/safePolicy/set``;
* ``bearer``    the bearer token per profile: cached, renewed ahead of expiry or after a refusal, its
  read-only policy bound before it is used;
* ``upstream``  one Streamable HTTP session with the hosted server (POST, SSE answers, the session id,
  the GET stream);
* ``proxy``     forwarding: the profile (following the file's ``current`` unless one is named), the
  server, the retries that are safe (a refused token, a lost session) and the ones that are not;
* ``downstream`` the stdio side (newline-delimited JSON-RPC, as the MCP stdio transport is);
* ``logfile``   a small rotating log in the user's log folder (MCP clients often hide stderr);
* ``command``   the composition root of ``aliyun-sidecar mcp``.
"""
