"""MCP servers' tools for ``response`` nodes (`engine.workflow.nodes.tools.servers.McpServers`):
connections kept open and supervised, over stdio or streamable HTTP behind the SSRF guard."""
