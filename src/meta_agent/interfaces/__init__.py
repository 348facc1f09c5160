"""Ways in: the command line today; the HTTP service and MCP server build on the same core."""
