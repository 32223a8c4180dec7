"""One run at a time per output folder: an exclusive ``flock`` on ``OUT/.tiltak.lock``.

The lock belongs to an open file, so the operating system releases it when the run ends in any way (normal
exit, exception, ``kill -9``): a crashed run never leaves a stale lock behind. The holder writes its PID into
the file so that a run that gives up waiting can say who holds the folder. The file itself is left in place
(removing it would let two runs lock two different files of the same name).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import TiltakError
from pipeline.io import display_path, output_folder_problem

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: runs are not locked
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".tiltak.lock"
DEFAULT_WAIT_SECONDS = 600.0
WAIT_ENV = "TILTAK_WAIT_LOCK"
POLL_SECONDS = 0.2


class OutputLockedError(TiltakError):
    """Another run holds the output folder and did not let go in time."""


def wait_seconds(value: float | None = None) -> float:
    """How long to wait for a held output folder: ``value``, else ``$TILTAK_WAIT_LOCK``, else 600 s."""
    if value is None:
        raw = os.environ.get(WAIT_ENV, "").strip()
        try:
            value = float(raw) if raw else DEFAULT_WAIT_SECONDS
        except ValueError as exc:
            raise TiltakError(f"{WAIT_ENV}={raw!r}: not a number of seconds") from exc
    if value < 0:
        raise TiltakError(f"lock wait {value:g} s: must be 0 or more seconds")
    return value


def lock_holder(out_dir: Path) -> int | None:
    """The PID written by the run that holds (or last held) ``out_dir``'s lock, if any."""
    try:
        return int((Path(out_dir) / LOCK_NAME).read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def output_lock(out_dir: Path, wait: float | None = None) -> Iterator[Path]:
    """Hold ``out_dir`` exclusively for the ``with`` block. If another process holds it, wait up to ``wait``
    seconds (see :func:`wait_seconds`), then raise :class:`OutputLockedError` naming the folder and the PID."""
    timeout = wait_seconds(wait)
    out_dir = Path(out_dir)
    path = out_dir / LOCK_NAME
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644) if fcntl else -1
    except OSError as exc:
        reason = output_folder_problem(out_dir) or f"cannot use the output folder: {(exc.strerror or exc)}".lower()
        raise TiltakError(f"{display_path(out_dir)}: {reason}") from exc
    if fd < 0:  # pragma: no cover - not POSIX
        yield path
        return
    try:
        deadline = time.monotonic() + timeout
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                holder = lock_holder(out_dir)
                who = f"PID {holder}" if holder else "another process"
                raise OutputLockedError(
                    f"{display_path(out_dir)}: output folder is in use by another tiltak run ({who}); gave up after "
                    f"waiting {timeout:g} s (wait longer with --wait-lock SECONDS, or write to another --out folder)"
                )
            time.sleep(POLL_SECONDS)
        with contextlib.suppress(OSError):  # on a full disk the lock holds all the same, without its PID
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # still ours: nobody else can hold it before the close below
    finally:
        os.close(fd)  # releases the lock
