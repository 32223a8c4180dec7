"""Planning a batch: which files to read, which are the same content, and what each output is called.

Only regular files are read. A folder is walked without following symbolic links (unless asked to, and then only
to targets inside the folder): a link in a shared folder must not pull in ``/etc/passwd``. Named pipes, sockets
and devices are never opened (opening a FIFO for reading blocks until someone writes to it). Whatever is passed
over is reported as a :class:`SkippedPath` with its reason, and lands in the run manifest.

File names are bytes on Linux and need not be valid UTF-8; Python carries the undecodable bytes as lone
surrogates, which JSON (the manifest, Prefect's parameters) cannot hold. :func:`path_param` and
:func:`path_from_param` carry such a path through JSON unchanged; :func:`display_path` is its readable, valid
form for outputs and messages.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import TiltakError
from pipeline.io import display_path, safe_stem
from pipeline.reading.loaders import SUPPORTED_SUFFIXES

HASH_CHUNK = 1 << 20
# A folder's own notes are not documents: skipped when a folder is searched, read when named.
PROJECT_FILES = re.compile(r"^(?:readme|license|licence|changelog|contributing|sources)(?:\.[\w-]+)*$", re.IGNORECASE)
# A path that is not valid UTF-8 crosses JSON as this prefix and the base64 of its bytes (a valid path that happens
# to start with the prefix is encoded too, so decoding is never ambiguous).
PATH_BYTES_PREFIX = "tiltak-path-bytes:"


class InputError(TiltakError):
    """A path given on the command line cannot be used (missing, or not a readable document)."""


def is_valid_utf8(path: Path | str) -> bool:
    return display_path(path) == os.fspath(path)


def path_param(path: Path | str) -> str:
    """``path`` as a JSON-safe string that :func:`path_from_param` turns back into exactly the same path."""
    text = os.fspath(path)
    if is_valid_utf8(text) and not text.startswith(PATH_BYTES_PREFIX):
        return text
    return PATH_BYTES_PREFIX + base64.urlsafe_b64encode(os.fsencode(text)).decode("ascii")


def path_from_param(value: str) -> Path:
    if value.startswith(PATH_BYTES_PREFIX):
        try:
            return Path(os.fsdecode(base64.urlsafe_b64decode(value[len(PATH_BYTES_PREFIX):].encode("ascii"))))
        except (binascii.Error, ValueError) as exc:
            raise InputError(f"{value}: not a valid encoded path") from exc
    return Path(value)


@dataclass(frozen=True)
class SkippedPath:
    path: Path
    reason: str


@dataclass
class Discovery:
    """The documents to read, in order, and what was passed over with its reason."""

    files: list[Path] = field(default_factory=list)
    skipped: list[SkippedPath] = field(default_factory=list)


SPECIAL_KINDS = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
                 stat.S_IFBLK: "a block device"}


def special_kind(mode: int) -> str | None:
    """What a non-regular, non-folder file is ("a named pipe (FIFO)", ...), None for a file or folder."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return SPECIAL_KINDS.get(stat.S_IFMT(mode), "not a regular file")


def named_path_problem(path: Path) -> str | None:
    """Why ``path``, named by the user, cannot be read as a document or a folder of documents; None when it can.
    A symbolic link is followed (naming it is the user's choice), but never to a special file. Never opens it."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.lexists(path):
            return "broken symbolic link (its target does not exist)"
        return "no such file or folder"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop (the link points back to itself)"
        return f"cannot read: {(exc.strerror or str(exc)).lower()}"
    kind = special_kind(mode)
    return f"{kind}, not a document file; tiltak reads regular files only" if kind else None


def file_sha256(path: Path) -> str:
    # O_NONBLOCK: a file swapped for a FIFO after discovery fails here instead of blocking the batch.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as handle:
        kind = special_kind(os.fstat(fd).st_mode)
        if kind:
            raise OSError(errno.EINVAL, f"{kind}, not a regular file", os.fspath(path))
        digest = hashlib.sha256()
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _is_candidate(name: str) -> bool:
    return Path(name).suffix.lower() in SUPPORTED_SUFFIXES and not PROJECT_FILES.match(name)


def _inside(real: str, folder: str) -> bool:
    return real == folder or real.startswith(folder.rstrip(os.sep) + os.sep)


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


class _FolderWalk:
    """One folder named by the user, walked in name order (a sub-folder's documents before the next name)."""

    def __init__(self, folder: Path, *, excluded: str | None, follow_symlinks: bool, found: Discovery) -> None:
        self.folder = folder
        self.root = os.path.realpath(folder)
        self.excluded = excluded
        self.follow_symlinks = follow_symlinks
        self.found = found
        self.visited: set[str] = set()

    def skip(self, path: Path, reason: str) -> None:
        self.found.skipped.append(SkippedPath(path, reason))

    def walk(self, folder: Path) -> None:
        real = os.path.realpath(folder)
        if real in self.visited or (self.excluded and _inside(real, self.excluded)):
            return
        self.visited.add(real)
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            self.skip(folder, f"cannot read the folder: {_reason(exc)}")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = folder / entry.name
            try:
                if entry.is_symlink():
                    self.link(path, entry.name)
                elif entry.is_dir(follow_symlinks=False):
                    self.walk(path)
                elif entry.is_file(follow_symlinks=False):
                    if _is_candidate(entry.name):
                        self.found.files.append(path)
                elif _is_candidate(entry.name):
                    kind = special_kind(entry.stat(follow_symlinks=False).st_mode)
                    self.skip(path, f"{kind}, not a regular file")
            except OSError as exc:
                if _is_candidate(entry.name):
                    self.skip(path, f"cannot read: {_reason(exc)}")

    def link(self, path: Path, name: str) -> None:
        candidate = _is_candidate(name)
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            if candidate:
                self.skip(path, "broken symbolic link (its target does not exist)")
            return
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self.skip(path, "symbolic link loop (the link points back to itself)")
            elif candidate:
                self.skip(path, f"symbolic link that cannot be followed: {_reason(exc)}")
            return
        is_dir = stat.S_ISDIR(mode)
        if not (candidate or is_dir):
            return  # not a document whatever it points to
        kind = special_kind(mode)
        if kind:
            self.skip(path, f"symbolic link to {kind}, never read")
            return
        if not self.follow_symlinks:
            self.skip(path, "symbolic link, not followed (--follow-symlinks follows links that stay inside the folder)")
            return
        target = os.path.realpath(path)
        if not _inside(target, self.root):
            self.skip(path, f"symbolic link to {display_path(target)}, outside {display_path(self.folder)}; not "
                            "followed")
        elif is_dir:
            self.walk(path)
        elif not (self.excluded and _inside(target, self.excluded)):
            self.found.files.append(path)


def discover(paths: list[Path], *, exclude: Path | None = None, follow_symlinks: bool = False) -> Discovery:
    """The documents under ``paths`` and what was passed over. A named file is taken as given (through a symbolic
    link too, but never a FIFO, socket or device: those are skipped with the reason). Folders are searched
    recursively for supported suffixes; hidden files, README/LICENSE/CHANGELOG notes and the output folder are
    left out silently. Symbolic links inside a folder are not followed, or with ``follow_symlinks`` only to
    targets inside that folder; special files are never read. Raises InputError for a path that does not exist.
    A file reached twice (a named file inside a named folder, a followed link) is listed once."""
    found = Discovery()
    excluded = os.path.realpath(exclude) if exclude else None
    for path in paths:
        path = Path(path)
        problem = named_path_problem(path)
        if problem == "no such file or folder":
            raise InputError(f"{display_path(path)}: {problem}")
        if problem:
            found.skipped.append(SkippedPath(path, problem))
        elif path.is_dir():
            _FolderWalk(path, excluded=excluded, follow_symlinks=follow_symlinks, found=found).walk(path)
        else:
            found.files.append(path)
    unique: dict[str, Path] = {}
    for path in found.files:
        unique.setdefault(os.path.realpath(path), path)
    found.files = list(unique.values())
    return found


def discover_inputs(paths: list[Path], *, exclude: Path | None = None, follow_symlinks: bool = False) -> list[Path]:
    """The documents of :func:`discover` (without the list of what was skipped)."""
    return discover(paths, exclude=exclude, follow_symlinks=follow_symlinks).files


@dataclass(frozen=True)
class PlannedDocument:
    path: Path
    sha256: str
    stem: str
    duplicate_of: Path | None = None


def plan_outputs(fingerprints: dict[Path, str]) -> list[PlannedDocument]:
    """One output per distinct content. Files with the same bytes are analysed once, under the shortest file
    name (copies are usually the longer names: "kopi av …", "… (1)"; ties go to the first in path order); the
    others are recorded as its duplicates. Output stems are unique within the batch: a clash of names gets the
    content hash appended."""
    first_by_hash: dict[str, Path] = {}
    for path, sha in sorted(fingerprints.items(), key=lambda item: (len(item[0].name), str(item[0]))):
        first_by_hash.setdefault(sha, path)
    stems = [safe_stem(path) for path in first_by_hash.values()]
    clashes = {stem for stem in stems if stems.count(stem) > 1}
    stem_by_hash = {
        sha: f"{stem}-{sha[:10]}" if stem in clashes else stem
        for (sha, _path), stem in zip(first_by_hash.items(), stems, strict=True)
    }
    return [
        PlannedDocument(
            path=path,
            sha256=sha,
            stem=stem_by_hash[sha],
            duplicate_of=None if first_by_hash[sha] == path else first_by_hash[sha],
        )
        for path, sha in fingerprints.items()
    ]
