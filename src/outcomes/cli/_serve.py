"""``outcomes serve``: the HTTP service (events, feedback, routing, leaderboard, metrics)."""

from __future__ import annotations

from outcomes.cli import _common as cli
from outcomes.cli._framework import Option
from outcomes.errors import ConfigError

app = cli.new_app()


@app.command("serve")
def serve(
    host: str = Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = Option(8421, "--port", min=0, max=65535, help="TCP port."),
    workers: int = Option(1, "--workers", min=1, max=64, help="Worker processes."),
    token_file: str | None = Option(
        None, "--token-file", help="File with the bearer token every request must carry."
    ),
    db: str | None = cli.DbOption,
    check: bool = Option(
        False, "--check", help="Check the settings, token and store, then exit without serving."
    ),
) -> None:
    """Serve the HTTP API (docs/server.md). Needs the [server] extra.

    Binds 127.0.0.1 unless --host says otherwise; any other address needs --token-file.
    SIGTERM or Ctrl-C finishes requests in flight and commits what was accepted.
    """
    try:
        from outcomes.server._run import serve as run
    except ImportError as exc:
        raise cli.fail(
            f"outcomes serve needs the server extra: pip install 'outcomes[server]' ({exc})",
            cli.EXIT_USAGE,
        ) from None
    try:
        run(db=db, host=host, port=port, workers=workers, token_file=token_file, check=check)
    except ConfigError as exc:
        raise cli.fail(str(exc), cli.EXIT_USAGE) from None
