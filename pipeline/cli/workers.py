"""``tiltak workers``: a local pool of Dask workers with the models loaded, kept for as many runs as use it
(``flows.dask_worker_pool``).

Wired into the ``tiltak`` app by ``register(app)``.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer


def workers(
    count: Annotated[int | None, typer.Option("--workers", help="Worker processes (default: one per core).")] = None,
    host: Annotated[str, typer.Option(
        help="Address the scheduler listens on. A Dask scheduler runs any code its clients send: keep the loopback "
             "address unless every machine that can reach it is trusted.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The scheduler's port (0: a free one).")] = 8786,
    nlp: Annotated[str, typer.Option(help="spaCy pipeline to load on the workers (as `tiltak run --nlp`).")] = "best",
    config_file: Annotated[Path | None, typer.Option(
        "--config", help="TOML settings whose models the workers load (as `tiltak run --config`).")] = None,
) -> None:
    """Start a local Dask cluster whose workers keep the models loaded between runs, and serve until Ctrl-C or
    SIGTERM. Runs use it with `tiltak run DOCS --runner dask --dask-address ADDRESS` and start analysing at once: no
    cluster start and no model load per run (`--runner dask --workers N` pays for both in every run)."""
    from pipeline.cli.console import console, errors, fail
    from pipeline.cli.run import checked_run_settings
    from pipeline.errors import TiltakError

    try:
        # what `tiltak run` refuses, refused here before anything starts
        config = checked_run_settings(config_file, nlp, {})
        _check_port_free(host, port)
    except TiltakError as exc:
        raise fail(str(exc)) from exc
    try:
        from flows import dask_worker_pool
    except ImportError as exc:
        raise fail(f"tiltak workers needs the dask extra (pip install 'tiltak[dask]'): {exc}") from exc
    if host not in ("127.0.0.1", "localhost", "::1"):
        errors.print(f"warning: the scheduler listens on {host}: anyone who can reach it can run code on this "
                     "machine", markup=False, highlight=False, soft_wrap=True)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    workers_wanted = count or os.cpu_count() or 1
    try:
        with dask_worker_pool(config, workers_wanted, host=host, port=port) as address:
            console.print(f"ready: {workers_wanted} worker(s) at {address}, models of --nlp {config.nlp} loaded; "
                          f"run `tiltak run DOCS --runner dask --dask-address {address}`; Ctrl-C stops them",
                          highlight=False, soft_wrap=True)
            while not stop.wait(1.0):
                pass
    except TiltakError as exc:
        raise fail(str(exc)) from exc
    console.print("workers stopped", highlight=False)


def _check_port_free(host: str, port: int) -> None:
    """Dask reports a taken port with a traceback of its own; this says which port and what to do."""
    import socket

    from pipeline.errors import TiltakError

    if port == 0:
        return
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise TiltakError(f"cannot listen on {host}:{port} ({reason}): another `tiltak workers` or Dask "
                          "scheduler may be using it; --port 0 takes a free port") from exc


def register(app: typer.Typer) -> None:
    app.command()(workers)
