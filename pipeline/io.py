"""Writing outputs so that a crash or a concurrent reader never sees a half-written file.

Every file is written to a temporary file in the target folder, flushed to disk and renamed over the target
(``os.replace`` is atomic on POSIX and Windows within one filesystem).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import unicodedata
from collections.abc import Iterator
from pathlib import Path

_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)
MAX_STEM_CHARS = 120


def display_path(path: Path | str) -> str:
    """``path`` as valid UTF-8 text: bytes of a file name that are not UTF-8 (which Python carries as lone
    surrogates) become U+FFFD. For manifests, outputs and messages; never to open the file with."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "replace")
    return text


# A new file's permissions before the umask: what ``open(path, "w")`` asks for.
DEFAULT_FILE_MODE = 0o666
_TEMP_NAME_ATTEMPTS = 100


def _create_temporary(path: Path, mode: int) -> Path:
    """A new, empty hidden file beside ``path``. Created with ``mode`` so that the kernel applies the umask (and
    a folder's default ACL) as for any file the user creates: mkstemp's 0o600 would make outputs unreadable to
    the colleagues and servers they are written for, and reading the umask means changing it, which races with
    the other threads of the run."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(_TEMP_NAME_ATTEMPTS):
        candidate = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(candidate, flags, mode))
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(errno.EEXIST, "no free temporary file name", os.fspath(path.parent))


@contextlib.contextmanager
def atomic_path(path: Path, *, mode: int = DEFAULT_FILE_MODE) -> Iterator[Path]:
    """A temporary path beside ``path`` to build the file in; on success it is flushed to disk and renamed over
    ``path``, on failure removed. For writers that need a file name (SQLite) rather than bytes. The file gets
    ``mode`` less the umask (default: the permissions of any file the user creates), and a file it replaces keeps
    any narrower permissions the user gave it (besides the user's own read and write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        mode &= stat.S_IMODE(os.stat(path).st_mode) | 0o600
    tmp = _create_temporary(path, mode)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(path.parent)


def parse_yaml(text: str):
    """YAML ``text`` as plain data, as ``yaml.safe_load`` reads it (a ``!!python/...`` tag is refused, never run), with
    libyaml's parser when PyYAML has it: the actor gazetteer parses about 5× faster, and every process that analyses
    documents parses it once as it starts. Both parsers build the same data (tests/test_io.py checks every data file
    of the repository)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)  # what yaml.safe_load does, with the C parser
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def read_regular_file(path: Path) -> bytes:
    """The bytes of ``path``, refused (OSError) unless it is a regular file: a FIFO or device put where an output
    or the index is expected is never waited on."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
        return handle.read()


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = DEFAULT_FILE_MODE) -> Path:
    with atomic_path(path, mode=mode) as tmp:
        tmp.write_bytes(data)
    return path


def atomic_write_text(path: Path, text: str, *, mode: int = DEFAULT_FILE_MODE) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def mode_within(source_mode: int) -> int:
    """A mode for a file made from a file with ``source_mode``: the user's own read and write, and for the group and
    others no more than they have on the source. An output holds the source's text and must not be readable by
    someone who cannot read the source."""
    return DEFAULT_FILE_MODE & (0o600 | (source_mode & 0o066))


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


def _first_existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (as anything: a folder, a file, ...)."""
    current = path.absolute()
    while not os.path.lexists(current) and current.parent != current:
        current = current.parent
    return current


def output_folder_problem(out: Path) -> str | None:
    """Why ``out`` cannot be used as the output folder (``"is a file, not a folder"``, ``"cannot write in the
    output folder: read-only file system"``, ...), or None when it can. Tries to create (and removes) a hidden
    file: the only test that is right for root, read-only mounts and ACLs alike. Creates no folder."""
    try:
        mode = os.stat(out).st_mode
        folder = out
    except FileNotFoundError:
        folder = _first_existing(Path(out))
        try:
            mode = os.stat(folder).st_mode
        except OSError as exc:
            return f"cannot create the output folder: {_reason(exc)}"
        if not stat.S_ISDIR(mode):
            return f"cannot create the output folder under {display_path(folder)}: it is a file, not a folder"
    except NotADirectoryError:
        blocker = display_path(_file_ancestor(Path(out)))
        return f"cannot create the output folder under {blocker}: it is a file, not a folder"
    except OSError as exc:
        return f"cannot use the output folder: {_reason(exc)}"
    if not stat.S_ISDIR(mode):
        return "is a file, not a folder (--out names the folder the outputs go into)"
    try:
        probe = _create_temporary(Path(folder) / ".tiltak-write-test", 0o600)
    except OSError as exc:
        if folder == out:
            return f"cannot write in the output folder: {_reason(exc)}"
        return f"cannot create the output folder in {display_path(folder)}: {_reason(exc)}"
    with contextlib.suppress(OSError):
        probe.unlink()
    return None


def _file_ancestor(path: Path) -> Path:
    """The first component of ``path`` that is not a folder (for a path that runs through a file)."""
    for ancestor in reversed(path.absolute().parents):
        if os.path.lexists(ancestor) and not os.path.isdir(ancestor):
            return ancestor
    return path


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()
