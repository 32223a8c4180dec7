"""``tiltak server start|status|stop``: tiltak's local Prefect server (``pipeline.ops.prefect_server``).

Wired into the ``tiltak`` app by ``register(app)``.
"""

from __future__ import annotations

import json
import os
import time
from typing import Annotated

import typer

server_app = typer.Typer(
    name="server", no_args_is_help=True, add_completion=False,
    help="tiltak's local Prefect server: started by the first command that needs Prefect, reused by the next ones, "
         "stopped after an idle time (TILTAK_SERVER_IDLE_MINUTES, default 30) or by `tiltak server stop`.",
)


def _describe(state, condition: str) -> str:
    age = time.time() - state.started_at
    idle = "never stops by itself" if not state.idle_minutes else f"stops after {state.idle_minutes:g} minutes unused"
    return (f"{condition}: {state.api_url} (dashboard {state.dashboard_url}); server PID {state.server_pid}, "
            f"up {age / 60:.1f} min, {idle}; Prefect home {state.prefect_home}")


def _explicit_api_note() -> str | None:
    given = os.environ.get("PREFECT_API_URL")
    return f"note: PREFECT_API_URL={given} is set: commands use that server, not the local one" if given else None


@server_app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False) -> None:
    """Show whether the local server runs, its API address and dashboard URL."""
    from pipeline.cli.console import console
    from pipeline.ops.prefect_server import default_prefect_home, server_status

    state, condition = server_status()
    if as_json:
        print(json.dumps({"status": condition, "prefect_home": str(default_prefect_home()),
                          "prefect_api_url": os.environ.get("PREFECT_API_URL"),
                          **({} if state is None or condition == "stopped" else state.to_json())}))
        return
    if state is None or condition == "stopped":
        console.print(f"not running (Prefect home {default_prefect_home()}); the next command that needs Prefect "
                      "starts it, or `tiltak server start`", highlight=False, soft_wrap=True)
    else:
        console.print(_describe(state, condition), highlight=False, soft_wrap=True)
    if note := _explicit_api_note():
        console.print(note, highlight=False, soft_wrap=True)


@server_app.command()
def start(
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (default: TILTAK_SERVER_PORT, the last one, "
                                                  "4280, or a free one).")] = None,
    idle_minutes: Annotated[float | None, typer.Option(
        "--idle-minutes", help="Stop after this many minutes unused; 0: only with `tiltak server stop` "
                               "(default: TILTAK_SERVER_IDLE_MINUTES or 30).")] = None,
) -> None:
    """Start the local server now (commands start it themselves when needed)."""
    from pipeline.cli.console import console, errors, fail
    from pipeline.ops.prefect_server import ServerError, ensure_server

    started: list[str] = []

    def announce(message: str) -> None:  # called only when this command starts the server
        started.append(message)
        errors.print(message, markup=False, highlight=False, soft_wrap=True)

    try:
        state = ensure_server(port=port, idle=idle_minutes, announce=announce)
    except ServerError as exc:
        raise fail(str(exc)) from exc
    console.print(_describe(state, "started" if started else "already running"), highlight=False, soft_wrap=True)
    if note := _explicit_api_note():
        console.print(note, highlight=False, soft_wrap=True)


@server_app.command()
def stop() -> None:
    """Stop the local server (a command using it at this moment loses its connection)."""
    from pipeline.cli.console import console, fail
    from pipeline.ops.prefect_server import ServerError, stop_server

    try:
        state = stop_server()
    except ServerError as exc:
        raise fail(str(exc)) from exc
    if state is None:
        console.print("not running", highlight=False)
    else:
        console.print(f"stopped the local Prefect server on {state.api_url}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(server_app)
