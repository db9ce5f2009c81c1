"""``outcomes mcp``: record outcomes and ask for routing decisions from an MCP host."""

from __future__ import annotations

from outcomes.cli import _common as cli
from outcomes.cli._framework import Option

app = cli.new_app()


@app.command("mcp")
def mcp(
    db: str | None = cli.DbOption,
    check: bool = Option(
        False, "--check", help="Check the SDK and the store, then exit without serving."
    ),
) -> None:
    """Serve the outcomes tools to an MCP host over stdio (docs/server.md). Needs the
    [mcp] extra."""
    try:
        import mcp.server.mcpserver  # noqa: F401

        from outcomes.server import _mcp
    except ImportError as exc:
        raise cli.fail(
            f"outcomes mcp needs the mcp extra: pip install 'outcomes[mcp]' ({exc})", cli.EXIT_USAGE
        ) from None
    with cli.opened_store(db) as store:
        if check:
            return
        _mcp.run(store)
