"""Tools an agent's model may call: :class:`~.tool.Tool` wraps a Python function,
:class:`~.mcp.McpTool` names a tool of an MCP server the node is connected to.

Anything with a ``name``, ``async spec()`` (OpenAI's function spec) and ``async
invoke(json_arguments) -> str`` is a tool too, as in the SDK. A tool with a
``bind(node)`` method is given the node its agent runs on before each use.
"""

__all__: list[str] = []
