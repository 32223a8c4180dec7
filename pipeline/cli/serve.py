"""``tiltak serve``: run the ``ingest`` flow on a schedule (a Prefect deployment served by this process).

Prefect's temporary server refuses schedules, so unless ``PREFECT_API_URL`` names a server, ``tiltak serve`` uses
tiltak's local Prefect server (``pipeline.ops.prefect_server``: 127.0.0.1, started if needed, kept while serve runs),
and so does ``tiltak serve --once`` (for cron): the runs of both show in the same dashboard, whose address is printed.
With ``TILTAK_PREFECT_SERVER=temporary`` the scheduled mode starts a server of its own (``start_local_server``) and
stops it on exit, and ``--once`` runs on Prefect's temporary server.

The config file's ``[serve]`` table says what to ingest and when; its optional ``[tiltak]`` table holds run settings,
the same as a ``tiltak run --config`` file's (``PipelineConfig``: PDF backend, OCR, taxonomy, classifier, measure
detector, limits …). They are checked before any Prefect server is contacted and passed to every run as the
``ingest`` flow's ``overrides`` parameter.

Wired into the ``tiltak`` app by ``register(app)``; ``python -m pipeline.cli.serve serve …`` runs it standalone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

DEPLOYMENT_NAME = "tiltak-ingest"
SERVER_STARTUP_TIMEOUT = 120.0
SERVER_DATABASE = "serve.db"


def default_prefect_home() -> Path:
    """The same default as ``flows.py`` (which cannot be imported before PREFECT_API_URL is set)."""
    project = Path(__file__).resolve().parents[2]
    if (project / "pyproject.toml").is_file():
        return project / ".prefect"
    return Path.home() / ".tiltak" / "prefect"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def server_healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


@dataclass
class LocalServer:
    """A ``prefect server start`` subprocess (its own process group) and where it answers."""

    process: subprocess.Popen
    api_url: str
    log_path: Path

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


def start_local_server(prefect_home: Path | None = None, *, port: int | None = None,
                       startup_timeout: float = SERVER_STARTUP_TIMEOUT, env: dict[str, str] | None = None,
                       ui: bool = True) -> LocalServer:
    """Start ``prefect server start --host 127.0.0.1 --port N`` and wait until ``/api/health`` answers.

    The server keeps its SQLite database in ``PREFECT_HOME/serve.db`` (not the temporary server's
    ``prefect.db``, which ``tiltak run`` may be using at the same time) unless a database URL is set in the
    environment. Raises RuntimeError with the end of the server's log when it does not come up."""
    from pipeline.ops.ingest import IngestError

    base = dict(os.environ if env is None else env)
    home = Path(prefect_home or base.get("PREFECT_HOME") or default_prefect_home()).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    child_env = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", **base, "PREFECT_HOME": str(home),  # unless set
                 "PREFECT_UI_ENABLED": "true" if ui else "false",
                 # its own address, which the dashboard is told as the API's (else the default port's, 4200)
                 "PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": str(port)}
    child_env.pop("PREFECT_API_URL", None)
    if not any(key in child_env for key in ("PREFECT_SERVER_DATABASE_CONNECTION_URL",
                                            "PREFECT_API_DATABASE_CONNECTION_URL")):
        child_env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = f"sqlite+aiosqlite:///{home / SERVER_DATABASE}"
    log_path = home / f"server-{port}.log"
    log = log_path.open("w", encoding="utf-8")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=child_env, start_new_session=True,
        )
    finally:
        log.close()
    server = LocalServer(process, f"http://127.0.0.1:{port}/api", log_path)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise IngestError(f"the local Prefect server exited (code {process.returncode}) before answering; "
                              f"its log ({log_path}):\n{server.log_tail()}")
        if server_healthy(server.api_url):
            return server
        time.sleep(0.5)
    server.stop()
    raise IngestError(f"the local Prefect server did not answer on {server.api_url}/health within "
                      f"{startup_timeout:g} s; its log ({log_path}):\n{server.log_tail()}")


@contextlib.contextmanager
def prefect_server(port: int | None = None) -> Iterator:
    """A server started here and stopped on exit (with ``TILTAK_PREFECT_SERVER=temporary``, whose servers must not
    outlive the command). PREFECT_API_URL is set in this process's environment for the flow runs."""
    from pipeline.ops.prefect_server import PrefectApi

    server = start_local_server(port=port)
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        yield PrefectApi(server.api_url)
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        server.stop()


def _ingest_flow():
    from flows import ingest

    return ingest


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the ``tiltak`` app."""

    @app.command()
    def serve(
        config: Annotated[Path | None, typer.Option(
            help="TOML file: a \\[serve] table (schedule, sources, out) and, optionally, a \\[tiltak] table of run "
                 "settings as in `tiltak run --config` (pdf_backend, taxonomy, classifier, measure_detector, limits …)."
        )] = None,
        inbox: Annotated[Path | None, typer.Option(help="Folder to watch for new documents.")] = None,
        url: Annotated[list[str] | None, typer.Option("--url", help="A source URL to watch (repeatable).")] = None,
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder.")] = None,
        nlp: Annotated[str | None, typer.Option(help="spaCy pipeline: best, a package name, a directory, or blank.")]
        = None,
        cron: Annotated[str | None, typer.Option(help='Cron schedule, e.g. "0 6 * * *".')] = None,
        interval_minutes: Annotated[float | None, typer.Option(help="Run every this many minutes.")] = None,
        max_bytes: Annotated[int | None, typer.Option(help="Refuse a download larger than this.")] = None,
        timeout: Annotated[float | None, typer.Option(
            help="Seconds allowed for one response as a whole (connect, headers and body).")] = None,
        retries: Annotated[int | None, typer.Option(
            help="Further attempts after a connect error or HTTP 429/502/503/504.")] = None,
        fetch_budget: Annotated[float | None, typer.Option(
            help="Seconds allowed per URL, retries included (default: twice the timeout).")] = None,
        once: Annotated[bool, typer.Option("--once", help="Ingest once now, without a schedule, and exit.")] = False,
        port: Annotated[int | None, typer.Option(
            help="Port of tiltak's local Prefect server on 127.0.0.1, when it is started here (default: "
                 "TILTAK_SERVER_PORT, its last port, 4280, or a free one).")] = None,
        verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's logs.")] = False,
    ) -> None:
        """Watch an inbox folder and source URLs on a schedule: process new and changed documents and compare
        each new version with the previous one (OUT/comparisons/)."""
        from pipeline.cli.console import console, fail
        from pipeline.ops.ingest import IngestError, ServeConfig, load_serve_config

        try:
            settings = load_serve_config(config) if config else ServeConfig()
        except IngestError as exc:
            raise fail(str(exc)) from exc
        overrides = {"inbox": str(inbox.resolve()) if inbox else None, "urls": list(url) if url else None,
                     "out": str(out.resolve()) if out else None, "nlp": nlp, "max_bytes": max_bytes,
                     "timeout": timeout, "retries": retries, "fetch_budget": fetch_budget}
        for key, value in overrides.items():
            if value is not None:
                setattr(settings, key, value)
        if cron or interval_minutes:  # a schedule given on the command line replaces the file's
            settings.cron, settings.interval_minutes = cron, interval_minutes
        settings.out = str(Path(settings.out).resolve())
        try:
            settings.check(scheduled=not once)
        except IngestError as exc:
            raise fail(f"{config}: {exc}" if config else str(exc)) from exc
        if settings.inbox and not Path(settings.inbox).is_dir():
            raise fail(f"{settings.inbox}: the inbox is not a folder")
        from pipeline.errors import TiltakError

        try:  # the run settings: checked before any Prefect server is contacted or started
            run_overrides = _run_overrides(config, settings, nlp_given=nlp is not None)
        except TiltakError as exc:
            raise fail(str(exc)) from exc
        parameters = {**settings.parameters(), **({"overrides": run_overrides} if run_overrides else {})}
        if port is not None and os.environ.get("PREFECT_API_URL"):
            raise fail(f"--port is for tiltak's local Prefect server; PREFECT_API_URL={os.environ['PREFECT_API_URL']} "
                       "names the server to use")
        os.environ.setdefault("PREFECT_HOME", str(default_prefect_home()))
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose or not once else "WARNING")

        from pipeline.ops.prefect_server import ServerError, mode, prefect_api

        try:
            if not once and mode() == "temporary" and not os.environ.get("PREFECT_API_URL"):
                api_context = prefect_server(port)  # a server of its own: the temporary one refuses schedules
            else:
                api_context = prefect_api(port=port, announce=lambda message: console.print(
                    message, markup=False, highlight=False, soft_wrap=True))
            with api_context as api:
                if api.api_url and not server_healthy(api.api_url, timeout=10):
                    raise IngestError(f"PREFECT_API_URL={api.api_url}: no Prefect server answers at "
                                      f"{api.api_url.rstrip('/')}/health")
                if once:
                    _serve_once(settings, parameters, api)
                else:
                    _serve_scheduled(settings, parameters, api)
        except (IngestError, ServerError) as exc:
            raise fail(str(exc)) from exc
        except KeyboardInterrupt:
            console.print("stopped")


def _run_overrides(config: Path | None, settings, *, nlp_given: bool) -> dict[str, str | bool]:
    """The run settings of the serve file's ``[tiltak]`` table (any setting of ``tiltak run --config``: PDF backend,
    OCR, taxonomy, classifier, measure detector, minimum confidence, limits …), checked as ``tiltak run`` checks
    them, as the ``ingest`` flow's ``overrides``. The NLP model is ``--nlp``, else ``[serve] nlp``, else
    ``[tiltak] nlp``."""
    import tomllib

    from pipeline.cli.run import checked_run_settings, flow_overrides
    from pipeline.errors import TiltakError

    tables = tomllib.loads(config.read_text(encoding="utf-8")) if config else {}  # read once already: it parses
    run_table = tables.get("tiltak", {})
    if not isinstance(run_table, dict):
        raise TiltakError(f"{config}: tiltak must be a table ([tiltak]) of run settings")
    if not nlp_given and "nlp" not in tables.get("serve", {}) and "nlp" in run_table:
        settings.nlp = run_table["nlp"]
    checked = checked_run_settings(config if run_table else None, settings.nlp, {}, table="[tiltak] ")
    return flow_overrides(checked, [key for key in run_table if key != "nlp"])


def _where(api) -> str:
    if api.api_url is None:
        return "Prefect's temporary server (TILTAK_PREFECT_SERVER=temporary): the runs are not kept"
    return f"Prefect server {api.api_url}" + (f", dashboard {api.dashboard_url}" if api.dashboard_url else "")


def _serve_once(settings, parameters: dict, api) -> None:
    import typer

    from pipeline.cli.console import console, fail
    from pipeline.ops.ingest import IngestError

    sources = ([f"inbox {settings.inbox}"] if settings.inbox else []) + (
        [f"{len(settings.urls)} URL{'s' if len(settings.urls) != 1 else ''}"] if settings.urls else [])
    console.print(f"ingesting {' and '.join(sources) or 'nothing'} → {settings.out}; {_where(api)}",
                  markup=False, highlight=False, soft_wrap=True)
    if parameters.get("overrides"):
        console.print(f"run settings: {_settings_text(parameters['overrides'])}", markup=False, highlight=False,
                      soft_wrap=True)
    from flows import ingest, progress_listener

    def report(record) -> None:
        detail = f"{record.measures} measures" if record.measures is not None else (record.error or "")
        console.print(f"  {record.status}: {Path(record.source).name}" + (f" ({detail})" if detail else ""),
                      markup=False, highlight=False, soft_wrap=True)

    with progress_listener(report):
        try:
            summary = ingest(**parameters)
        except (IngestError, OSError) as exc:
            raise fail(str(exc)) from exc
    console.print(f"{len(summary['new'])} new, {len(summary['changed'])} changed, "
                  f"{len(summary['unchanged'])} unchanged, {len(summary['waiting'])} still being copied in, "
                  f"{len(summary['skipped'])} skipped, {len(summary['failed'])} failed; "
                  f"{len(summary['comparisons'])} comparisons → {settings.out}", highlight=False)
    if api.dashboard_url:
        console.print(f"flow runs: {api.dashboard_url}/runs", highlight=False, soft_wrap=True)
    for skipped in summary["skipped"]:
        console.print(f"skipped: {skipped['reason']}", markup=False, highlight=False, soft_wrap=True)
    for failure in summary["failed"]:
        console.print(f"failed: {failure['source']}: {failure['stage']}: {failure['error']}",
                      markup=False, highlight=False, soft_wrap=True)
    if summary["failed"]:
        raise typer.Exit(1)


def _settings_text(overrides: dict) -> str:
    return ", ".join(f"{key} = {value}" for key, value in overrides.items())


def _serve_scheduled(settings, parameters: dict, api) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from pipeline.cli.console import console

    ingest = _ingest_flow()
    console.print(_where(api), highlight=False, soft_wrap=True)
    if parameters.get("overrides"):
        console.print(f"run settings: {_settings_text(parameters['overrides'])}", markup=False, highlight=False,
                      soft_wrap=True)
    if api.dashboard_url:
        console.print(f"deployment: {api.dashboard_url}/deployments; runs: {api.dashboard_url}/runs", highlight=False,
                      soft_wrap=True)
    console.print(f"run it now: PREFECT_API_URL={api.api_url} prefect deployment run 'ingest/{DEPLOYMENT_NAME}'",
                  markup=False, highlight=False, soft_wrap=True)
    with temporary_settings(updates={PREFECT_API_URL: api.api_url}):
        ingest.serve(
            name=DEPLOYMENT_NAME,
            cron=settings.cron,
            interval=settings.interval_minutes * 60 if settings.interval_minutes else None,
            parameters=parameters,
            limit=1,
            description="tiltak: ingest the inbox and source URLs; compare new versions",
            print_starting_message=False,
        )


def main() -> None:
    """``python -m pipeline.cli.serve serve …``: the command without the rest of the ``tiltak`` app."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def _group() -> None:
        """tiltak serve, standalone."""

    register(app)
    app()


if __name__ == "__main__":
    main()
