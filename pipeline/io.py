"""Writing outputs so that a crash or a concurrent reader never sees a half-written file.

Every file is written to a temporary file in the target folder, flushed to disk and renamed over the target
(``os.replace`` is atomic on POSIX and Windows within one filesystem).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)
MAX_STEM_CHARS = 120


def _default_file_mode() -> int:
    """What a plain ``open(path, "w")`` would give (0o666 less the umask): mkstemp's 0o600 would make outputs
    unreadable to the colleagues and servers they are written for."""
    umask = os.umask(0o077)  # for this instant a file another thread creates is private, never world-writable
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: Path, mode: int | None = None) -> Iterator[Path]:
    """A temporary path beside ``path`` to build the file in; on success it is flushed to disk, given ``mode``
    (default: a plain new file's) and renamed over ``path``, on failure removed. For writers that need a file
    name (SQLite) rather than bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp_name)
        with open(tmp_name, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp_name, _default_file_mode() if mode is None else mode)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(path.parent)


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None) -> Path:
    with atomic_path(path, mode) as tmp:
        tmp.write_bytes(data)
    return path


def atomic_write_text(path: Path, text: str, mode: int | None = None) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), mode)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on every platform.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def safe_stem(path: Path) -> str:
    """A file-name stem that is safe on every filesystem and keeps Norwegian letters: 'Meld. St. 18.pdf' ->
    'Meld._St._18'."""
    stem = unicodedata.normalize("NFC", path.stem)
    stem = _UNSAFE.sub("_", stem).strip("._-")
    return stem[:MAX_STEM_CHARS] or "document"
