"""Work in worker processes that can be stopped: enforced time and memory limits, and runs that stop on a signal.

A document's analysis can hang in C code (a regular expression that backtracks for hours) or blow up its memory;
neither can be stopped from inside the process that runs it. ``WorkerPool`` runs each job in a worker process:

- a job still running after its ``timeout`` is stopped by killing its worker (``WorkerTimeout``); a fresh worker
  takes its place for the next job;
- each worker's address space is capped (``RLIMIT_AS``, ``max_memory_mb``): an allocation past the cap raises
  MemoryError in that worker, not an OOM kill of the whole run; a worker that dies anyway (a signal) fails only
  its job (``WorkerDied``, naming the signal);
- workers start from a fork server (a clean, single-threaded process that imported the heavy modules once), load
  what they need once (``initializer``: the spaCy pipeline and the classifier), and die with their parent, even
  after ``kill -9`` (``PR_SET_PDEATHSIG``);
- ``stop_all()`` kills every worker at once: jobs in flight end with ``PoolStopped``.

``interruptible()`` turns SIGINT and SIGTERM into ``RunInterrupted`` in the main thread, after stopping the pools
so that threads waiting for a worker return at once; a second signal kills every process this one started and
exits at once. Plain functions and classes, no Prefect: ``flows.py`` uses them, tests call them directly.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import multiprocessing
import multiprocessing.spawn
import os
import pickle
import queue
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from pipeline.errors import TiltakError

# Imported once by the fork server, so that each worker forked from it starts with them loaded (importing spaCy,
# scikit-learn and skops takes seconds).
PRELOAD = ["pipeline.runtime.workers", "pipeline.analysis.process", "pipeline.analysis.classify", "skops.io"]
# The first pool's initializer, named in JSON: the fork server runs it once when it starts (see the end of this module),
# so that workers forked from it start with the models loaded (loading the classifier takes seconds) and share their
# memory; a worker whose pool needs other models loads them itself.
FORKSERVER_INIT = "TILTAK_FORKSERVER_INIT"
_start_lock = threading.Lock()
_PR_SET_PDEATHSIG = 1
# Seconds a new worker may take to start and load its models before the pool gives up on it.
WORKER_START_TIMEOUT = 600.0
WORKER_NAME = "tiltak-worker"
_preparation_data = multiprocessing.spawn.get_preparation_data


def _preparation_without_main(name: str) -> dict:
    """What a new process is told to set up before it runs, without the caller's main module for a tiltak worker:
    its jobs are functions of importable modules, and re-importing ``__main__`` would re-run the top level of a
    researcher's script that calls ``process_corpus`` without an ``if __name__ == "__main__"`` guard (a run inside
    each worker), and fails for code read from standard input."""
    data = _preparation_data(name)
    if name == WORKER_NAME:
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


# The fork server asks this module attribute for each new process (multiprocessing.popen_forkserver).
multiprocessing.spawn.get_preparation_data = _preparation_without_main


class WorkerTimeout(TiltakError):
    """The job ran longer than its timeout; its worker was killed."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"took longer than {seconds:g} s")


class WorkerDied(TiltakError):
    """The worker running the job ended without answering (killed by a signal, or exited)."""

    def __init__(self, exitcode: int | None):
        self.exitcode = exitcode
        super().__init__(describe_exit(exitcode))


class WorkerStartFailed(TiltakError):
    """A worker process could not start (its initializer failed, or it ran out of memory loading the models)."""


class OutOfMemory(TiltakError):
    """The job raised MemoryError in its worker (past ``max_memory_mb``); the worker was replaced."""


class PoolStopped(TiltakError):
    """The pool was stopped (the run was interrupted) before the job finished."""


class RunInterrupted(BaseException):
    """The run was stopped by a signal (SIGINT or SIGTERM). Like KeyboardInterrupt, not an Exception: raised in the
    main thread wherever it is, it must not be taken for the failure of whatever step was running."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"interrupted by {signal_name(signum)}")

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signum

    def __reduce__(self):
        return type(self), (self.signum,)


def signal_name(signum: int) -> str:
    with contextlib.suppress(ValueError):
        return signal.Signals(signum).name
    return f"signal {signum}"


def describe_exit(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal_name(-exitcode)
        hint = " (the system may have run out of memory)" if -exitcode == signal.SIGKILL else ""
        return f"the worker process was killed by {name}{hint}"
    return f"the worker process exited unexpectedly (exit code {exitcode})"


# One thread per worker process for the native libraries (numpy's BLAS, OpenMP in scikit-learn and thinc): a worker
# is given one core, and a library that starts one thread per core in each of two workers on two cores makes them
# fight over the cores instead of sharing them. Set in each Dask worker's environment before it starts (``dask_runner``;
# on an existing cluster, in the environment of ``dask worker``), and again by ``limit_native_threads``.
WORKER_THREAD_LIMITS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                        "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}
_threads_limited = False


def limit_native_threads() -> None:
    """In a worker process: the native libraries' thread pools down to one thread, once per process, whatever the
    environment the worker was started with (a library already loaded has sized its pool from it)."""
    global _threads_limited
    if _threads_limited:
        return
    _threads_limited = True
    for name, value in WORKER_THREAD_LIMITS.items():
        os.environ.setdefault(name, value)
    with contextlib.suppress(Exception):  # threadpoolctl comes with scikit-learn
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)


def can_start_workers() -> bool:
    """False inside a daemonic process (a Dask worker, say), which may not start processes of its own."""
    return not multiprocessing.current_process().daemon


# --- the worker process ------------------------------------------------------------------------------------------

_retire = False


def retire_after_this_job() -> None:
    """Called by a job in a worker: the worker exits after answering and a fresh one replaces it (after a
    MemoryError its heap may be left fragmented)."""
    global _retire
    _retire = True


def _die_with_parent() -> None:
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _worker_main(connection: Connection, initializer: Callable | None, initargs: tuple, max_memory_mb: int) -> None:
    _die_with_parent()
    # The run decides when to stop: a Ctrl-C in the terminal reaches the whole process group, workers included.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        if max_memory_mb:
            limit = max_memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        if initializer is not None:
            initializer(*initargs)
    except MemoryError:
        started = ("failed", f"out of memory while starting (max_memory_mb = {max_memory_mb})")
    except BaseException as exc:
        started = ("failed", f"{type(exc).__name__}: {exc}")
    else:
        started = ("ready", os.getpid())
    try:
        connection.send(started)
    except OSError:  # the pool closed while this worker started (a run with nothing left to analyse): no traceback
        return
    if started[0] != "ready":
        return
    while True:
        try:
            function, args = connection.recv()
        except (EOFError, OSError):
            return
        try:
            status, value = "ok", function(*args)
        except MemoryError:
            status, value = "out-of-memory", None
        except BaseException as exc:  # the job's error, not the worker's: sent back, the worker goes on
            status, value = "error", _portable(exc)
        retiring = _retire or status == "out-of-memory"
        try:
            connection.send((status, value, retiring))
        except MemoryError:
            connection.send(("out-of-memory", None, True))
            return
        except Exception as exc:  # a result that cannot be pickled
            error = TiltakError(f"cannot send the result back: {type(exc).__name__}: {exc}")
            connection.send(("error", error, retiring))
        if retiring:
            return


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when the parent can rebuild it for sure (the project's own, which pickle themselves, or
    Python's built-in ones with plain arguments), else one that says what it was: a library's exception with its
    own constructor can pickle and then fail to unpickle on the other side."""
    if isinstance(exc, TiltakError) or type(exc).__module__ == "builtins":
        try:
            pickle.dumps(exc)
            return exc
        except Exception:
            pass
    return TiltakError(f"{type(exc).__name__}: {exc}")


# --- the pool ----------------------------------------------------------------------------------------------------


@dataclass(eq=False)  # one worker is one object: hashed by identity
class _Worker:
    process: Any
    connection: Connection
    ready: bool = False
    pid: int | None = field(default=None)

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.join(5)
        with contextlib.suppress(Exception):
            self.connection.close()


class WorkerPool:
    """``size`` worker processes; ``run(function, *args, timeout=...)`` runs one job in one of them and returns its
    result (or raises its exception). Safe to call from ``size`` threads at once: each call holds one worker.
    Workers start on first use; a worker that was killed, died or retired is replaced on the next call."""

    def __init__(self, size: int, *, initializer: Callable | None = None, initargs: tuple = (),
                 max_memory_mb: int = 0, prestart: bool = False):
        if size < 1:
            raise ValueError(f"a worker pool needs at least one worker, not {size}")
        if not can_start_workers():
            raise TiltakError("a daemonic process cannot start worker processes")
        self.size = size
        self.max_memory_mb = max_memory_mb
        self._initializer, self._initargs = initializer, initargs
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)  # ignored once the fork server runs
        self._slots: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(size):
            self._slots.put(None)
        self._live: set[_Worker] = set()
        self._lock = threading.RLock()  # also taken by a signal handler, in whichever thread it interrupts
        self._stopped = threading.Event()
        self.ended = 0  # workers killed (over time), dead or retired while the pool ran: each is replaced
        _pools.add(self)
        if prestart:  # start the workers (and the fork server) now, in the background, while the caller gets ready
            threading.Thread(target=self._prestart, name="tiltak-worker-prestart", daemon=True).start()

    def _prestart(self) -> None:
        for _ in range(self.size):
            worker = self._slots.get()
            try:
                if worker is None and not self.stopped:
                    worker = self._start()
            except BaseException:  # the pool's users meet the same failure, with the document it concerns
                worker = None
            finally:
                self._slots.put(worker)

    # The pool is a context manager: leaving it stops every worker.
    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._live if w.process.pid]

    def stop(self) -> None:
        """Kill every worker now; jobs in flight raise ``PoolStopped``, later calls too."""
        self._stopped.set()
        with self._lock:
            workers = list(self._live)
            self._live.clear()
        for worker in workers:
            worker.kill()
        _pools.discard(self)

    def run(self, function: Callable, *args, timeout: float | None = None) -> Any:
        worker = self._checkout()
        try:
            try:
                worker.connection.send((function, args))
                if not wait([worker.connection], timeout):
                    self._discard(worker)
                    worker = None
                    raise WorkerTimeout(timeout or 0.0)
                status, value, retiring = worker.connection.recv()
            except (EOFError, OSError):  # the worker died (or the pool was stopped) before it answered
                exitcode = self._reap(worker)
                worker = None
                if self.stopped:
                    raise PoolStopped("the run was stopped") from None
                raise WorkerDied(exitcode) from None
            if retiring:
                self._reap(worker)
                worker = None
            if status == "out-of-memory":
                raise OutOfMemory("out of memory")
            if status == "error":
                raise value
            return value
        finally:
            self._slots.put(worker)

    def _checkout(self) -> _Worker:
        while True:
            if self.stopped:
                raise PoolStopped("the run was stopped")
            try:
                worker = self._slots.get(timeout=0.2)
            except queue.Empty:
                continue
            if self.stopped:
                self._slots.put(worker)
                raise PoolStopped("the run was stopped")
            if worker is not None and worker.process.is_alive():
                return worker
            if worker is not None:
                self._reap(worker)
            try:
                return self._start()
            except BaseException:
                self._slots.put(None)
                raise

    def _start(self) -> _Worker:
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(target=_worker_main, name=WORKER_NAME, daemon=True,
                                        args=(child_end, self._initializer, self._initargs, self.max_memory_mb))
        with _start_lock:
            if (announced := _initializer_as_json(self._initializer, self._initargs)) is not None:
                os.environ[FORKSERVER_INIT] = announced
            try:
                process.start()  # starts the fork server first, if it is not running: it reads the variable
            except (EOFError, OSError) as exc:  # the fork server was killed (an interrupted run) or cannot start
                child_end.close()
                parent_end.close()
                if self.stopped:
                    raise PoolStopped("the run was stopped") from None
                raise WorkerStartFailed(f"a worker process failed to start: {type(exc).__name__}: {exc}") from exc
            finally:
                os.environ.pop(FORKSERVER_INIT, None)
        child_end.close()
        worker = _Worker(process, parent_end)
        with self._lock:
            if self.stopped:
                worker.kill()
                raise PoolStopped("the run was stopped")
            self._live.add(worker)
        try:
            if not wait([parent_end], WORKER_START_TIMEOUT):
                raise WorkerStartFailed(f"a worker process did not start within {WORKER_START_TIMEOUT:g} s")
            status, value = parent_end.recv()
        except (EOFError, OSError):
            exitcode = self._reap(worker)
            if self.stopped:
                raise PoolStopped("the run was stopped") from None
            raise WorkerStartFailed(f"a worker process failed to start: {describe_exit(exitcode)}") from None
        except BaseException:
            self._discard(worker)
            raise
        if status != "ready":
            self._discard(worker)
            raise WorkerStartFailed(f"a worker process failed to start: {value}")
        worker.ready, worker.pid = True, value
        return worker

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._live and not self.stopped:
                self.ended += 1
            self._live.discard(worker)
        worker.kill()

    def _reap(self, worker: _Worker) -> int | None:
        """Wait for a worker that ended (or is ending) by itself and return its exit code."""
        worker.process.join(5)
        exitcode = worker.process.exitcode
        self._discard(worker)
        return exitcode


# Every pool of this process that is not stopped: a signal stops them all.
_pools: set[WorkerPool] = set()


def stop_all() -> None:
    for pool in list(_pools):
        pool.stop()


def _stop_fork_server() -> None:
    """Kill the fork server (its workers die with it): a worker being started waits for it, and may wait for seconds
    while it imports and loads the models; killing it ends that wait at once. A later pool starts a new one."""
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if pid:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


# --- signals -----------------------------------------------------------------------------------------------------

_interrupted: list[int] = []  # the signals received, first one first
_depth = 0  # interruptible() blocks entered (the command line's, and the flow's within it)


def interrupted() -> int | None:
    """The signal that interrupted this process's run, if one did."""
    return _interrupted[0] if _interrupted else None


def check_interrupted() -> None:
    """Raise ``RunInterrupted`` if a signal interrupted the run: the signal handler raises it once, wherever the main
    thread is, and code there may swallow it; the run's loops call this at each step."""
    if _interrupted:
        raise RunInterrupted(_interrupted[0])


def _on_signal(signum: int, _frame) -> None:
    _interrupted.append(signum)
    stop_all()
    _stop_fork_server()
    if len(_interrupted) > 1:  # asked twice: no more waiting
        kill_descendants()
        os._exit(128 + signum)
    raise RunInterrupted(signum)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Within: SIGINT and SIGTERM stop the worker pools and raise ``RunInterrupted`` in the main thread; a second
    one kills every process this one started and exits at once (128 + the signal). Does nothing outside the main
    thread (only the main thread receives signals)."""
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _depth == 0:
        _interrupted.clear()  # a new run (tests run several in one process)
    previous = {signum: signal.signal(signum, _on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    _depth += 1
    try:
        check_interrupted()  # a signal that came in between, while Prefect's own SIGTERM handler was in place
        yield
    finally:
        _depth -= 1
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# Runs in the watchdog process: waits until this process is gone (its end of the pipe on stdin closes, however it
# ended, kill -9 included), then stops the processes it was given, unless their PID now belongs to another program.
_WATCHDOG = """
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
guarded = {}
for pid in map(int, sys.argv[1:]):
    try:
        guarded[pid] = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        pass
sys.stdin.buffer.read()
def same(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read() == guarded[pid]
    except OSError:
        return False
for sig in (signal.SIGTERM, signal.SIGKILL):
    for pid in [p for p in guarded if same(p)]:
        try:
            os.kill(pid, sig)
        except OSError:
            pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(same(p) for p in guarded):
        time.sleep(0.05)
"""
_watchdogs: list = []


def guard(pids: list[int]) -> None:
    """Make sure the processes ``pids`` (started by this one, such as Prefect's temporary server) do not outlive this
    process, even when it is killed with SIGKILL and cannot clean up: a small watchdog process stops them as soon
    as this one is gone."""
    import subprocess

    if not pids or sys.platform != "linux":
        return
    watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, *map(str, pids)], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _watchdogs.append(watchdog)  # its stdin stays open as long as this process lives


def descendants(pid: int | None = None) -> list[int]:
    """Every living process started by ``pid`` (default: this one), and theirs, from /proc (Linux)."""
    found: list[int] = []
    todo = [pid or os.getpid()]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):
                children = [int(c) for c in (task / "children").read_text().split()]
                for child in children:
                    if child not in found:
                        found.append(child)
                        todo.append(child)
    return found


def kill_descendants(pid: int | None = None) -> None:
    """SIGKILL every process started by ``pid`` (default: this one), children's children first collected so that
    none is reparented out of reach."""
    pids = descendants(pid)
    for child in pids:
        with contextlib.suppress(OSError):
            os.kill(child, signal.SIGKILL)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _initializer_as_json(initializer: Callable | None, initargs: tuple) -> str | None:
    """The pool's initializer as JSON for the fork server (a function of the project's own modules, named, with
    arguments that are plain data), or None when it is not one: its workers then load what they need themselves.
    Plain data, never a pickle: the fork server reads it from its environment."""
    module = getattr(initializer, "__module__", "") or ""
    if initializer is None or not module.startswith("pipeline."):
        return None
    try:
        return json.dumps({"module": module, "function": initializer.__qualname__, "args": list(initargs)})
    except (TypeError, ValueError):
        return None


def _run_forkserver_init() -> None:
    """In the fork server (which imports this module first, with ``FORKSERVER_INIT`` set): run the first pool's
    initializer, named in JSON. Nothing may escape: an error here would stop the fork server."""
    encoded = os.environ.pop(FORKSERVER_INIT, None)
    if encoded:
        with contextlib.suppress(BaseException):
            announced = json.loads(encoded)
            if announced["module"].startswith("pipeline."):
                initializer = getattr(importlib.import_module(announced["module"]), announced["function"])
                initializer(*announced["args"])


_run_forkserver_init()
