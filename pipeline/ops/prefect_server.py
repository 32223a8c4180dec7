"""tiltak's local Prefect server: one per Prefect home, started in the background by the first command that needs
Prefect, shared by every command after it, stopped after an idle time or by ``tiltak server stop``.

Prefect's temporary server (the default when no ``PREFECT_API_URL`` is set) starts anew in every process and took
20-35 s of each command here. Instead, the first command starts ``prefect server start`` on 127.0.0.1 under a small
supervisor process (``python -m pipeline.ops.prefect_server supervise``) and records where it answers in
``PREFECT_HOME/tiltak-server/state.json``; later commands find it there and connect at once.

- **Shared safely**: starting is done under an exclusive ``flock`` (``start.lock``), so concurrent commands start one
  server and all use it. Each command holds a lease (``leases/<pid>``) while it uses the server.
- **Stale or crashed** servers (a recorded process gone, or ``/api/health`` not answering once started) are
  stopped and replaced; a recorded PID is only signalled while it is still the process that was recorded (its
  start time in ``/proc`` is compared), never a process that reused the number.
- **Idle stop**: the supervisor stops the server when no command holds a lease and none has used it for
  ``TILTAK_SERVER_IDLE_MINUTES`` (default 30; 0 keeps it until ``tiltak server stop``).
- **Port**: ``TILTAK_SERVER_PORT`` (or ``--port``) if given; else the port the server had last time, else 4280, else
  a free one chosen by the system; always bound to 127.0.0.1.
- The server's database is ``PREFECT_HOME/server.db`` (unless a database URL is configured).
- An explicit ``PREFECT_API_URL`` is always respected, and ``TILTAK_PREFECT_SERVER=temporary`` brings back
  Prefect's per-process temporary server (for a CI job that must leave nothing running).

This module imports nothing from Prefect: the supervisor stays small, and the CLI decides on the API before Prefect
reads its settings at import.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.errors import TiltakError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: starting is not locked
    fcntl = None  # type: ignore[assignment]

MODE_VARIABLE = "TILTAK_PREFECT_SERVER"
MODES = ("local", "temporary")
IDLE_VARIABLE = "TILTAK_SERVER_IDLE_MINUTES"
PORT_VARIABLE = "TILTAK_SERVER_PORT"
DEFAULT_IDLE_MINUTES = 30.0
DEFAULT_PORT = 4280
HOST = "127.0.0.1"
DATABASE_NAME = "server.db"
STATE_FOLDER = "tiltak-server"
STARTUP_TIMEOUT = 180.0  # a first start creates the database (migrations): 20-40 s on a busy machine
STOP_TIMEOUT = 20.0
SUPERVISOR_POLL = 1.0


class ServerError(TiltakError):
    """The local Prefect server cannot be started, reached or stopped."""


def default_prefect_home() -> Path:
    """``$PREFECT_HOME``, else the default of ``flows.py``: ``.prefect/`` in a source checkout, else
    ``~/.tiltak/prefect``."""
    if os.environ.get("PREFECT_HOME"):
        return Path(os.environ["PREFECT_HOME"]).expanduser()
    project = Path(__file__).resolve().parents[2]
    if (project / "pyproject.toml").is_file():
        return project / ".prefect"
    return Path.home() / ".tiltak" / "prefect"


def state_folder(prefect_home: Path | None = None) -> Path:
    return Path(prefect_home or default_prefect_home()) / STATE_FOLDER


def mode() -> str:
    value = os.environ.get(MODE_VARIABLE, "").strip().lower() or "local"
    if value not in MODES:
        raise ServerError(f"{MODE_VARIABLE}={value!r}: must be one of {', '.join(MODES)}")
    return value


def idle_minutes(value: float | None = None) -> float:
    """Minutes without use after which the server stops: ``value``, else ``$TILTAK_SERVER_IDLE_MINUTES``, else 30;
    0 means never."""
    if value is None:
        raw = os.environ.get(IDLE_VARIABLE, "").strip()
        try:
            value = float(raw) if raw else DEFAULT_IDLE_MINUTES
        except ValueError as exc:
            raise ServerError(f"{IDLE_VARIABLE}={raw!r}: not a number of minutes") from exc
    if value < 0:
        raise ServerError(f"idle time {value:g} minutes: must be 0 (never) or more")
    return value


def requested_port(value: int | None = None) -> int | None:
    if value is None:
        raw = os.environ.get(PORT_VARIABLE, "").strip()
        if not raw:
            return None
        try:
            value = int(raw)
        except ValueError as exc:
            raise ServerError(f"{PORT_VARIABLE}={raw!r}: not a port number") from exc
    if not 1 <= value <= 65535:
        raise ServerError(f"port {value}: must be between 1 and 65535")
    return value


# --- processes -----------------------------------------------------------------------------------------------------


def process_token(pid: int) -> str | None:
    """Something that tells this process from a later one given the same PID: its start time (Linux), else
    ``"alive"`` while the PID exists; None when there is no such process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return None if fields[0] == "Z" else fields[19]
    except (OSError, IndexError):
        if Path("/proc/self/stat").exists():
            return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return "alive"


def same_process(pid: int | None, token: str | None) -> bool:
    return bool(pid) and token is not None and process_token(pid) == token


def _signal(pid: int | None, token: str | None, signum: int) -> None:
    if same_process(pid, token):
        with contextlib.suppress(OSError):
            os.kill(pid, signum)


def _wait_gone(processes: list[tuple[int | None, str | None]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while any(same_process(pid, token) for pid, token in processes):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --- the state file ------------------------------------------------------------------------------------------------


@dataclass
class ServerState:
    """What ``state.json`` records about a running local server."""

    port: int
    prefect_home: str
    supervisor_pid: int
    supervisor_token: str | None
    server_pid: int | None
    server_token: str | None
    started_at: float
    idle_minutes: float

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.port}/api"

    @property
    def dashboard_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def flow_run_url(self, flow_run_id: str) -> str:
        return f"{self.dashboard_url}/runs/flow-run/{flow_run_id}"

    def alive(self) -> bool:
        return same_process(self.supervisor_pid, self.supervisor_token) and same_process(self.server_pid,
                                                                                          self.server_token)

    def to_json(self) -> dict:
        return {**asdict(self), "api_url": self.api_url, "dashboard_url": self.dashboard_url}


def read_state(folder: Path) -> ServerState | None:
    try:
        data = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        return ServerState(**{key: data[key] for key in ServerState.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_state(folder: Path, state: ServerState) -> None:
    temporary = folder / f".state.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(state.to_json(), indent=2), encoding="utf-8")
    os.replace(temporary, folder / "state.json")


def _remove_state_if(folder: Path, supervisor_pid: int) -> None:
    state = read_state(folder)
    if state is None or state.supervisor_pid == supervisor_pid:
        with contextlib.suppress(FileNotFoundError):
            (folder / "state.json").unlink()


@contextlib.contextmanager
def _start_lock(folder: Path, timeout: float, blocking: bool = True) -> Iterator[bool]:
    """Hold ``start.lock`` exclusively (yields True), or yield False when ``blocking`` is off and it is held."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "start.lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        if fcntl is None:  # pragma: no cover - not POSIX
            yield True
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not blocking:
                    yield False
                    return
                if time.monotonic() >= deadline:
                    raise ServerError(f"{folder / 'start.lock'}: another tiltak command has been starting or "
                                      f"stopping the local Prefect server for more than {timeout:g} s") from None
                time.sleep(0.1)
        yield True
    finally:
        os.close(fd)


# --- leases: which commands use the server now ---------------------------------------------------------------------

_lease_lock = threading.Lock()
_lease_count: dict[Path, int] = {}


def _touch(path: Path) -> None:
    path.touch()
    os.utime(path)


def _take_lease(folder: Path) -> None:
    with _lease_lock:
        if _lease_count.get(folder, 0) == 0:
            leases = folder / "leases"
            leases.mkdir(parents=True, exist_ok=True)
            (leases / str(os.getpid())).write_text(process_token(os.getpid()) or "", encoding="ascii")
        _lease_count[folder] = _lease_count.get(folder, 0) + 1
        _touch(folder / "last-used")


def _release_lease(folder: Path) -> None:
    with _lease_lock:
        _lease_count[folder] = _lease_count.get(folder, 1) - 1
        if _lease_count[folder] <= 0:
            _lease_count.pop(folder, None)
            with contextlib.suppress(OSError):
                _touch(folder / "last-used")
                (folder / "leases" / str(os.getpid())).unlink()


def _live_leases(folder: Path) -> int:
    """Leases of living processes; those of processes gone (killed, say) are removed."""
    live = 0
    for lease in (folder / "leases").glob("*"):
        try:
            pid, token = int(lease.name), lease.read_text(encoding="ascii").strip()
        except (OSError, ValueError):
            continue
        if same_process(pid, token or process_token(pid)):
            live += 1
        else:
            with contextlib.suppress(OSError):
                lease.unlink()
    return live


def _idle_for(folder: Path) -> float:
    try:
        return time.time() - (folder / "last-used").stat().st_mtime
    except OSError:
        return float("inf")


# --- starting, finding and stopping --------------------------------------------------------------------------------


def server_status(prefect_home: Path | None = None) -> tuple[ServerState | None, str]:
    """The recorded server and one word for it: ``running``, ``starting``, ``unhealthy`` or ``stopped``."""
    state = read_state(state_folder(prefect_home))
    if state is None:
        return None, "stopped"
    if not state.alive():
        return state, "stopped"
    if healthy(state.api_url):
        return state, "running"
    return state, "starting" if time.time() - state.started_at < STARTUP_TIMEOUT else "unhealthy"


def _stop_recorded(folder: Path, state: ServerState) -> None:
    """Stop the recorded supervisor and server (the caller holds the start lock), then forget them."""
    processes = [(state.supervisor_pid, state.supervisor_token), (state.server_pid, state.server_token)]
    _signal(state.supervisor_pid, state.supervisor_token, signal.SIGTERM)  # it stops its server and exits
    if not _wait_gone(processes, STOP_TIMEOUT):
        for pid, token in processes:
            _signal(pid, token, signal.SIGKILL)
        _wait_gone(processes, 5)
    _remove_state_if(folder, state.supervisor_pid)


def _choose_port(folder: Path, port: int | None, previous: ServerState | None) -> int:
    if port is not None:
        if not port_free(port):
            raise ServerError(f"port {port} on {HOST} is in use by another program: choose another with --port or "
                              f"{PORT_VARIABLE}")
        return port
    for candidate in (previous.port if previous else None, DEFAULT_PORT):
        if candidate and port_free(candidate):
            return candidate
    return free_port()


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def ensure_server(prefect_home: Path | None = None, *, port: int | None = None, idle: float | None = None,
                  announce: Callable[[str], None] | None = None, lease: bool = False) -> ServerState:
    """The running local server of ``prefect_home``, started now if there is none (or only a stale one). With
    ``lease``, the caller holds a lease on it (taken under the start lock, so it cannot idle out in between) and
    must call ``release(prefect_home)``. ``port`` must match a server already running. ``announce`` is told, once,
    when a server is being started."""
    home = Path(prefect_home or default_prefect_home())
    folder = state_folder(home)
    port = requested_port(port)
    minutes = idle_minutes(idle)
    with _start_lock(folder, STARTUP_TIMEOUT + STOP_TIMEOUT + 30):
        state = read_state(folder)
        if state is not None and state.alive():
            deadline = state.started_at + STARTUP_TIMEOUT
            while not healthy(state.api_url) and time.time() < deadline and state.alive():
                time.sleep(0.25)  # started by a command that was stopped while it waited: let it come up
            if state.alive() and healthy(state.api_url):
                if port is not None and port != state.port:
                    raise ServerError(f"the local Prefect server already runs on port {state.port}, not {port}: stop "
                                      "it first with `tiltak server stop`")
                if lease:
                    _take_lease(folder)
                _touch(folder / "last-used")
                return state
        if state is not None:  # crashed, killed or not answering: replaced
            _stop_recorded(folder, state)
        chosen = _choose_port(folder, port, state)
        if announce:
            announce(f"starting tiltak's local Prefect server on {HOST}:{chosen} (once: later commands reuse it; "
                     f"it stops after {minutes:g} minutes unused, or with `tiltak server stop`)")
        state = _start(folder, home, chosen, minutes)
        if lease:
            _take_lease(folder)
        _touch(folder / "last-used")  # the idle time counts from now, not from when the start began
        return state


def _start(folder: Path, home: Path, port: int, minutes: float) -> ServerState:
    log_path = folder / "server.log"
    with log_path.open("w", encoding="utf-8") as log:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "pipeline.ops.prefect_server", "supervise", str(home), str(port), str(minutes)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]),
                                                                            os.environ.get("PYTHONPATH")]))},
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if supervisor.poll() is not None:
            raise ServerError(f"the local Prefect server did not start (exit code {supervisor.returncode}); its log "
                              f"({log_path}):\n{_log_tail(log_path)}")
        state = read_state(folder)
        if state is not None and state.supervisor_pid == supervisor.pid and healthy(state.api_url):
            return state
        time.sleep(0.25)
    with contextlib.suppress(OSError):
        os.killpg(supervisor.pid, signal.SIGKILL)
    supervisor.wait(10)
    _remove_state_if(folder, supervisor.pid)
    raise ServerError(f"the local Prefect server did not answer on {HOST}:{port} within {STARTUP_TIMEOUT:g} s; its "
                      f"log ({log_path}):\n{_log_tail(log_path)}")


def release(prefect_home: Path | None = None) -> None:
    _release_lease(state_folder(prefect_home))


def stop_server(prefect_home: Path | None = None) -> ServerState | None:
    """Stop the local server of ``prefect_home``; returns what was recorded of it (None when none was)."""
    folder = state_folder(prefect_home)
    if not folder.is_dir():
        return None
    with _start_lock(folder, STARTUP_TIMEOUT + STOP_TIMEOUT + 30):
        state = read_state(folder)
        if state is not None:
            _stop_recorded(folder, state)
        return state


def _prefect_settings_api_url() -> str | None:
    """The API URL Prefect is configured with, when Prefect is already imported (a test harness sets it there)."""
    if "prefect" not in sys.modules:
        return None
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


@dataclass
class PrefectApi:
    """Where a command's flow runs go: ``api_url`` (None: Prefect's temporary server) and, for tiltak's local
    server, its ``state``."""

    api_url: str | None
    state: ServerState | None = None

    @property
    def dashboard_url(self) -> str | None:
        if self.state is not None:
            return self.state.dashboard_url
        if self.api_url and self.api_url.rstrip("/").endswith("/api") and "api.prefect.cloud" not in self.api_url:
            return self.api_url.rstrip("/")[: -len("/api")]
        return None

    def flow_run_url(self, flow_run_id: str) -> str | None:
        return f"{self.dashboard_url}/runs/flow-run/{flow_run_id}" if self.dashboard_url else None


@contextlib.contextmanager
def prefect_api(*, port: int | None = None, announce: Callable[[str], None] | None = None
                ) -> Iterator[PrefectApi]:
    """The Prefect API for a command's flow runs, for the ``with`` block: an explicit ``PREFECT_API_URL`` (always
    respected), else tiltak's local server (started if needed, leased while the block runs, its URL put in
    ``PREFECT_API_URL`` before Prefect is imported), else, with ``TILTAK_PREFECT_SERVER=temporary``, Prefect's
    temporary server (``api_url`` None)."""
    given = os.environ.get("PREFECT_API_URL") or _prefect_settings_api_url()
    if given:
        yield PrefectApi(given)
        return
    if mode() == "temporary":
        yield PrefectApi(None)
        return
    home = default_prefect_home()
    os.environ.setdefault("PREFECT_HOME", str(home))  # the client's home (analysis cache) is the server's
    state = ensure_server(home, port=port, announce=announce, lease=True)
    os.environ["PREFECT_API_URL"] = state.api_url
    settings = contextlib.nullcontext()
    if "prefect" in sys.modules:  # imported already: its settings were read, so set them for this block too
        from prefect.settings import PREFECT_API_URL, temporary_settings

        settings = temporary_settings(updates={PREFECT_API_URL: state.api_url})
    try:
        with settings:
            yield PrefectApi(state.api_url, state)
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        release(home)


# --- the supervisor ------------------------------------------------------------------------------------------------


def _server_environment(home: Path, port: int | None = None) -> dict[str, str]:
    # Telemetry off unless the user set it; the dashboard on. The server's own address in its settings too: the
    # dashboard asks the server where its API is, and without them the answer is the default port's (4200), where
    # the browser finds no server, or another one.
    env = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", **os.environ, "PREFECT_HOME": str(home),
           "PREFECT_UI_ENABLED": "true", "PREFECT_SERVER_UI_ENABLED": "true", "PREFECT_SERVER_API_HOST": HOST}
    if port is not None:
        env["PREFECT_SERVER_API_PORT"] = str(port)
    for name in ("PREFECT_API_URL", "PREFECT_UI_URL", "PREFECT_UI_API_URL"):
        env.pop(name, None)
    if not any(name in env for name in ("PREFECT_SERVER_DATABASE_CONNECTION_URL",
                                        "PREFECT_API_DATABASE_CONNECTION_URL")):
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = f"sqlite+aiosqlite:///{home / DATABASE_NAME}"
    return env


def _stop_tree(process: subprocess.Popen) -> None:
    """SIGTERM the server and wait; then SIGKILL it and anything it started."""
    from pipeline.runtime.workers import descendants

    children = descendants(process.pid) if process.poll() is None else []
    with contextlib.suppress(OSError):
        process.terminate()
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            process.kill()
        process.wait(5)
    for pid in children:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def supervise(home: Path, port: int, minutes: float) -> int:
    """Run ``prefect server start`` on ``port``, record it, and stop it when told to (SIGTERM, SIGINT, SIGHUP), when
    it has been idle for ``minutes`` (0: never), or when the state file names another server."""
    folder = state_folder(home)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", HOST, "--port", str(port)],
        stdin=subprocess.DEVNULL, env=_server_environment(home, port),
    )
    me = os.getpid()
    _write_state(folder, ServerState(port=port, prefect_home=str(home), supervisor_pid=me,
                                     supervisor_token=process_token(me), server_pid=server.pid,
                                     server_token=process_token(server.pid), started_at=time.time(),
                                     idle_minutes=minutes))
    _touch(folder / "last-used")
    reason = "told to stop"
    try:
        while not stop.wait(SUPERVISOR_POLL):
            if server.poll() is not None:
                reason = f"the server exited (code {server.returncode})"
                break
            recorded = read_state(folder)
            if recorded is None or recorded.supervisor_pid != me:
                reason = "replaced"
                break
            if minutes > 0 and _idle_for(folder) > minutes * 60 and _live_leases(folder) == 0:
                # Under the start lock: a command cannot take a lease on a server that is stopping.
                with _start_lock(folder, 0, blocking=False) as locked:
                    if locked and _idle_for(folder) > minutes * 60 and _live_leases(folder) == 0:
                        _remove_state_if(folder, me)
                        _stop_tree(server)
                        reason = f"idle for {minutes:g} minutes"
                        break
    finally:
        _stop_tree(server)
        _remove_state_if(folder, me)
        print(f"tiltak: local Prefect server stopped: {reason}", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "supervise":
        return supervise(Path(argv[1]), int(argv[2]), float(argv[3]))
    print("usage: python -m pipeline.ops.prefect_server supervise PREFECT_HOME PORT IDLE_MINUTES", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
