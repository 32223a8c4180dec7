"""Scheduled ingestion, the plain parts (no Prefect): fetching sources, the inbox, and the version registry.

A *source* is a URL or a file in the inbox folder. Every distinct content a source has had is a *version*: its
bytes are kept under ``OUT/ingest/sources/<name>/<name>-<sha256[:12]><suffix>`` and the registry
(``OUT/ingest/registry.json``, written atomically) records, per source, its versions in order — sha256, when it
was seen, the HTTP validators (ETag, Last-Modified), the stored file and the document JSON made from it — and a
content-hash index (sha256 → stored files and output). Only new or changed content is processed; a URL is asked
with a conditional GET (If-None-Match / If-Modified-Since), so an unchanged page costs one 304.

A hostile or broken server cannot stall or crash a run: each response must arrive whole (connect, headers and body)
within ``timeout`` seconds, transient failures are retried within a per-URL budget, and every HTTP, TLS or socket
error becomes a one-line reason recorded against its URL. The inbox is read where the user pointed: symbolic links
are not followed and special files (FIFOs, devices) are never opened, each skipped with its reason; names of any
bytes are stored escaped; what is stored from an inbox file is never readable by more people than the file.

The Prefect flow that drives this is ``ingest`` (``flows.py``); ``tiltak serve`` runs it on a schedule.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import functools
import hashlib
import json
import logging
import os
import re
import ssl
import stat
import threading
import time
import tomllib
import unicodedata
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pipeline.errors import TiltakError
from pipeline.io import atomic_write_bytes, atomic_write_text
from pipeline.reading.batch import PROJECT_FILES
from pipeline.reading.loaders import SUPPORTED_SUFFIXES

INGEST_DIR = "ingest"
logger = logging.getLogger(__name__)
REGISTRY_FILE = "registry.json"
SOURCES_DIR = "sources"
COMPARISONS_DIR = "comparisons"
REGISTRY_VERSION = 1
DEFAULT_MAX_BYTES = 50_000_000
DEFAULT_TIMEOUT = 60.0  # seconds for one whole response (connect, headers and body)
USER_AGENT = "tiltak-ingest (+https://tiltak.invalid)"
CHUNK = 1 << 16

CONTENT_TYPE_SUFFIXES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)
MAX_NAME_CHARS = 80


class IngestError(TiltakError):
    """The ingestion cannot start (a bad config, a missing inbox, another run holding the lock)."""


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- Fetching -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FetchResult:
    """``new``: ``content`` holds the body (the caller decides by its hash whether it changed); ``unchanged``: the
    server answered 304 to the conditional request; ``error``: ``reason`` says why, in one line."""

    status: Literal["new", "unchanged", "error"]
    content: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    reason: str | None = None


# Errors worth another attempt: the server was not reachable, or said it is busy or its upstream failed.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
DEFAULT_RETRIES = 2
RETRY_BASE_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 8.0
# A Retry-After longer than this is not waited for within one run (the next scheduled run tries again).
MAX_RETRY_AFTER_SECONDS = 30.0
MAX_REDIRECTS = 5
# Closing the connection after the deadline may itself take a moment; past this the fetch is abandoned.
CLOSE_GRACE_SECONDS = 5.0


def default_fetch_budget(timeout: float) -> float:
    """Seconds one URL may take in all, retries and their waits included, when no budget is given."""
    return 2 * timeout


class _Transient(Exception):
    """An attempt failed in a way another attempt may not (connect error, 429/502/503/504)."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _size(count: int) -> str:
    return f"{count:,} bytes"


def _one_line(text: str, limit: int = 200) -> str:
    """An error text fit for one line of a report (a hostile server chooses what its garbage says)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (httpx wraps the socket's or TLS's own error), outermost first."""
    chain = [exc]
    while len(chain) < 8:
        last = chain[-1]
        inner = last.exceptions[0] if isinstance(last, BaseExceptionGroup) else last.__cause__ or last.__context__
        if inner is None:
            break
        chain.append(inner)
    return chain


def _describe(exc: BaseException) -> str:
    """The most telling message of an exception chain ('Connection reset by peer', not httpx's bare 'ReadError')."""
    for cause in reversed(_causes(exc)):
        if isinstance(cause, OSError) and cause.strerror:
            return _one_line(cause.strerror)
    for cause in _causes(exc):
        if text := _one_line(str(cause)):
            return text
    return type(exc).__name__


def _ascii_or_none(value: str | None) -> str | None:
    """A validator fit to send back in a header (a server may have sent one with bytes that are not ASCII)."""
    if not value:
        return None
    try:
        value.encode("ascii")
    except UnicodeEncodeError:
        return None
    return value if "\r" not in value and "\n" not in value else None


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


async def _attempt(client, url: str, headers: dict[str, str], previous_etag: str | None,
                   previous_last_modified: str | None, max_bytes: int) -> FetchResult:
    """One GET: the response, or ``_Transient`` for a status worth retrying. httpx errors propagate."""
    async with client.stream("GET", url, headers=headers) as response:
        status = response.status_code
        if status == 304:
            return FetchResult("unchanged", etag=response.headers.get("ETag") or previous_etag,
                               last_modified=response.headers.get("Last-Modified") or previous_last_modified)
        phrase = _one_line(response.reason_phrase or "", 60)
        if status in TRANSIENT_STATUSES:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            raise _Transient(f"HTTP {status} {phrase}".rstrip(), retry_after)
        if not 200 <= status < 300:
            return FetchResult("error", reason=f"{url}: HTTP {status} {phrase}".rstrip())
        length = response.headers.get("Content-Length", "").strip()
        if length.isdigit() and int(length) > max_bytes:
            return FetchResult("error", reason=f"{url}: {_size(int(length))} (Content-Length) is over the size "
                                               f"limit of {_size(max_bytes)}")
        chunks: list[bytes] = []
        received = 0
        async for chunk in response.aiter_bytes(CHUNK):  # decoded bytes: a gzip bomb is counted as it unpacks
            received += len(chunk)
            if received > max_bytes:
                return FetchResult("error", reason=f"{url}: more than the size limit of {_size(max_bytes)}; "
                                                   "download stopped")
            chunks.append(chunk)
        content_type = response.headers.get("Content-Type")
        return FetchResult(
            "new", content=b"".join(chunks), etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            content_type=content_type.split(";", 1)[0].strip().lower() or None if content_type else None,
        )


async def _fetch_with_retries(url: str, headers: dict[str, str], previous_etag: str | None,
                              previous_last_modified: str | None, max_bytes: int, timeout: float, retries: int,
                              budget: float) -> FetchResult:
    import httpx

    started = time.monotonic()
    ends = started + budget
    attempt = 0
    async with httpx.AsyncClient(follow_redirects=True, max_redirects=MAX_REDIRECTS, timeout=httpx.Timeout(timeout),
                                 headers={"User-Agent": USER_AGENT}) as client:
        while True:
            # The whole response (connect, headers, body) within one deadline: a server trickling a byte at a
            # time cannot stretch it, as a timeout per socket read would let it.
            allowed = max(0.0, min(timeout, ends - time.monotonic()))
            try:
                async with asyncio.timeout(allowed):
                    return await _attempt(client, url, headers, previous_etag, previous_last_modified, max_bytes)
            except _Transient as transient:
                failure = transient
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if any(isinstance(cause, ssl.SSLError) for cause in _causes(exc)):  # another try fails the same way
                    return FetchResult("error", reason=f"{url}: TLS failed: {_describe(exc)}")
                failure = _Transient(f"cannot connect: {_describe(exc)}")
            except (TimeoutError, httpx.TimeoutException):
                return FetchResult("error", reason=f"{url}: no complete response (connect, headers and body) within "
                                                   f"the deadline: timed out after {allowed:.3g} s")
            except httpx.TooManyRedirects:
                return FetchResult("error", reason=f"{url}: more than {MAX_REDIRECTS} redirects (a redirect loop?)")
            except httpx.UnsupportedProtocol as exc:
                return FetchResult("error", reason=f"{url}: redirected to a URL that is not http or https "
                                                   f"({_describe(exc)})")
            except httpx.RemoteProtocolError as exc:  # garbage instead of HTTP, a connection closed mid-body
                return FetchResult("error", reason=f"{url}: broken HTTP response: {_describe(exc)}")
            except (httpx.ReadError, httpx.WriteError) as exc:  # a connection reset
                return FetchResult("error", reason=f"{url}: connection lost: {_describe(exc)}")
            except (httpx.HTTPError, httpx.InvalidURL, httpx.CookieConflict, OSError, ValueError) as exc:
                return FetchResult("error", reason=f"{url}: cannot fetch: {type(exc).__name__}: {_describe(exc)}")
            wait = min(RETRY_BASE_SECONDS * 2**attempt, MAX_BACKOFF_SECONDS)
            if failure.retry_after is not None:
                if failure.retry_after > min(MAX_RETRY_AFTER_SECONDS, ends - time.monotonic()):
                    return FetchResult("error", reason=f"{url}: {failure.reason} (Retry-After "
                                                       f"{failure.retry_after:g} s is beyond this run's fetch budget)")
                wait = max(wait, failure.retry_after)
            attempts = f" ({attempt + 1} attempts)" if attempt else ""
            # Another attempt only when it still has a useful part of the budget after the wait.
            if attempt >= retries or time.monotonic() + wait + min(timeout, 1.0) > ends:
                return FetchResult("error", reason=f"{url}: {failure.reason}{attempts}")
            await asyncio.sleep(wait)
            attempt += 1


class FetchStopped(Exception):
    """The run is stopping (a signal): the fetch gave up at once instead of at its deadline."""


CANCEL_POLL_SECONDS = 0.2
_stop_events: dict[str, threading.Event] = {}


@contextlib.contextmanager
def stoppable_fetches() -> Iterator[str]:
    """A token for the fetches of one run: should the run be interrupted (SIGTERM raised as an exception in the
    main thread, Ctrl+C) while they are under way, they stop within a fraction of a second, so that the worker
    threads the interpreter waits for on exit are free long before their deadline."""
    token = uuid.uuid4().hex
    event = _stop_events[token] = threading.Event()
    try:
        yield token
    except BaseException:
        event.set()  # the token stays known: fetches not yet started see it too
        raise
    _stop_events.pop(token, None)


def stop_event(token: str | None) -> threading.Event | None:
    return _stop_events.get(token) if token else None


def _run_coroutine(coroutine_factory, limit: float, stop: threading.Event | None = None):
    """Run a coroutine to completion within ``limit`` seconds (or until ``stop`` is set: FetchStopped), also from a
    thread whose event loop is running."""
    async def bounded():
        async with asyncio.timeout(limit):
            work = asyncio.ensure_future(coroutine_factory())
            try:
                while not work.done():
                    await asyncio.wait({work}, timeout=CANCEL_POLL_SECONDS)
                    if stop is not None and stop.is_set():
                        raise FetchStopped
            finally:
                if not work.done():
                    work.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await work
            return work.result()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(bounded())
    with concurrent.futures.ThreadPoolExecutor(1) as executor:  # asyncio.run refuses a thread with a running loop
        return executor.submit(asyncio.run, bounded()).result()


def fetch(url: str, previous_etag: str | None = None, previous_last_modified: str | None = None,
          max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES,
          budget: float | None = None, stop: threading.Event | None = None) -> FetchResult:
    """GET ``url`` (http or https only, redirects included), conditionally when validators of the previous version
    are given. ``timeout`` bounds each response as a whole (connect, headers and body together); the body is
    streamed and refused past ``max_bytes``. Connect errors and HTTP 429/502/503/504 are retried up to ``retries``
    times with exponential backoff (a short Retry-After is honoured), all within ``budget`` seconds (default twice
    ``timeout``). Setting ``stop`` ends the fetch at once. Never raises for a network, HTTP or protocol problem: it
    returns ``status="error"`` with the reason in one line."""
    scheme = urllib.parse.urlsplit(url).scheme.lower() if isinstance(url, str) else ""
    if scheme not in ("http", "https"):
        return FetchResult("error", reason=f"{url}: only http and https URLs are fetched, not {scheme or 'no scheme'}")
    budget = default_fetch_budget(timeout) if budget is None else budget
    headers = {"Accept": ", ".join(CONTENT_TYPE_SUFFIXES) + ", */*;q=0.1"}
    if etag := _ascii_or_none(previous_etag):
        headers["If-None-Match"] = etag
    if last_modified := _ascii_or_none(previous_last_modified):
        headers["If-Modified-Since"] = last_modified
    try:
        return _run_coroutine(
            lambda: _fetch_with_retries(url, headers, previous_etag, previous_last_modified, max_bytes, timeout,
                                        max(0, retries), budget),
            budget + CLOSE_GRACE_SECONDS, stop)
    except FetchStopped:
        return FetchResult("error", reason=f"{url}: fetch stopped: the run is stopping")
    except TimeoutError:
        return FetchResult("error", reason=f"{url}: abandoned after {budget + CLOSE_GRACE_SECONDS:g} s")
    except Exception as exc:  # one URL never stops the ingestion, whatever its server does
        return FetchResult("error", reason=f"{url}: cannot fetch: {type(exc).__name__}: {_describe(exc)}")


def suffix_for(url: str, content_type: str | None, content: bytes) -> str:
    """The file suffix a fetched version is stored under: from the Content-Type, else the URL, else sniffed."""
    if content_type and content_type.lower() in CONTENT_TYPE_SUFFIXES:
        return CONTENT_TYPE_SUFFIXES[content_type.lower()]
    suffix = Path(urllib.parse.urlsplit(url).path).suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return suffix
    from pipeline.reading.loaders import sniff_format

    with contextlib.suppress(TiltakError):
        fmt = sniff_format(content[: 1 << 16] if not content.startswith(b"PK") else content, Path("fetched"))
        for known, known_format in SUPPORTED_SUFFIXES.items():
            if known_format == fmt:
                return known
    return ".html"


# --- The inbox ------------------------------------------------------------------------------------------------------

# Inbox files are taken as they are where the user pointed: a symbolic link is never followed (its target, when it
# is in the inbox, is ingested under its own name anyway) and only regular files are opened (a FIFO would block the
# run, a device could be endless or have side effects).
INBOX_KEY_PREFIX = "fsbytes:"


def escape_fs_name(path: Path | str) -> str:
    """A file name of any bytes as valid Unicode text, reversibly: bytes that are not UTF-8 become ``\\xNN`` and a
    backslash is doubled, so two different names never give the same text."""
    raw = os.fsencode(path).decode("utf-8", "surrogateescape")
    out = []
    for char in raw:
        if char == "\\":
            out.append("\\\\")
        elif "\udc80" <= char <= "\udcff":
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        else:
            out.append(char)
    return "".join(out)


def _is_clean(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def display_path(path: Path | str) -> str:
    """The path for messages: as it is when it is valid Unicode, else with its odd bytes escaped (``\\xe6``)."""
    text = str(path)
    return text if _is_clean(text) else escape_fs_name(path)


def inbox_source_key(path: Path) -> str:
    """The registry key of an inbox file: its absolute path, or, for a name with bytes that are not UTF-8 (a
    Latin-1 name copied from an old system), ``fsbytes:`` and the escaped path, which JSON can store."""
    text = str(path)
    return text if _is_clean(text) else INBOX_KEY_PREFIX + escape_fs_name(path)


@dataclass(frozen=True)
class InboxScan:
    """The documents found (path order), the entries skipped with the reason, and each document's identity
    (device, inode) as scanned: what is read later must be the same file."""

    files: list[Path]
    skipped: list[dict[str, str]]
    identities: dict[Path, tuple[int, int]]


def _is_document_name(name: str) -> bool:
    return (not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES
            and not PROJECT_FILES.match(name))


def _special_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a regular file"


def _walk_without_links(root: Path) -> Iterator[tuple[Path, list[str], list[str], Callable, Callable]]:
    """(folder, sub-folder names (prunable), file names, lstat of a name, readlink of a name), never entering a
    linked folder. ``os.fwalk`` holds each folder open, so a folder swapped for a link during the walk is not
    entered either; where it is missing (Windows), ``os.walk`` without following links."""
    if hasattr(os, "fwalk"):
        for dirpath, dirnames, filenames, dirfd in os.fwalk(root, follow_symlinks=False):
            yield (Path(dirpath), dirnames, filenames,
                   functools.partial(lambda fd, name: os.stat(name, dir_fd=fd, follow_symlinks=False), dirfd),
                   functools.partial(lambda fd, name: os.readlink(name, dir_fd=fd), dirfd))
        return
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        yield (Path(dirpath), dirnames, filenames,
               functools.partial(lambda here, name: os.lstat(os.path.join(here, name)), dirpath),
               functools.partial(lambda here, name: os.readlink(os.path.join(here, name)), dirpath))


def scan_inbox_entries(folder: Path) -> InboxScan:
    """Walk the inbox without following any symbolic link. Hidden entries and files of other types are left out
    silently; symbolic links (to files or folders) and special files with a document's name are skipped with the
    reason."""
    if not folder.is_dir():
        raise IngestError(f"{display_path(folder)}: the inbox is not a folder")
    root = folder.resolve()  # the folder the user pointed at may itself be a link; what is inside it is not followed
    files: list[Path] = []
    skipped: list[dict[str, str]] = []
    identities: dict[Path, tuple[int, int]] = {}

    def skip(path: Path, reason: str) -> None:
        skipped.append({"source": inbox_source_key(path), "reason": f"{display_path(path)}: {reason}"})

    for here, dirnames, filenames, lstat_of, readlink_of in _walk_without_links(root):
        for name in sorted(dirnames):
            if name.startswith("."):
                dirnames.remove(name)
                continue
            with contextlib.suppress(OSError):
                if stat.S_ISLNK(lstat_of(name).st_mode):
                    dirnames.remove(name)
                    skip(here / name, "a symbolic link to a folder; not followed")
        dirnames.sort()
        for name in filenames:
            if not _is_document_name(name):
                continue
            path = here / name
            try:
                info = lstat_of(name)
            except OSError as exc:
                skip(path, f"cannot read: {exc.strerror or exc}")
                continue
            if stat.S_ISLNK(info.st_mode):
                target = _link_target(name, here, root, readlink_of)
                skip(path, f"a symbolic link ({target}); symbolic links in the inbox are not followed")
            elif not stat.S_ISREG(info.st_mode):
                skip(path, f"{_special_kind(info.st_mode)}, not a regular file; not opened")
            else:
                files.append(path)
                identities[path] = (info.st_dev, info.st_ino)
    files.sort()
    skipped.sort(key=lambda entry: entry["source"])
    return InboxScan(files, skipped, identities)


def _link_target(name: str, here: Path, root: Path, readlink_of: Callable) -> str:
    """Where a link points, for the reason (judged on its text: the link itself is never followed)."""
    try:
        target = readlink_of(name)
    except OSError:
        return "target unreadable"
    lexical = Path(os.path.normpath(os.path.join(here, target)))
    inside = lexical == root or root in lexical.parents
    return f"to {display_path(target)}, {'inside' if inside else 'outside'} the inbox"


def scan_inbox(folder: Path) -> list[Path]:
    """The documents in the inbox (recursively; supported suffixes; hidden files, README-like notes, symbolic links
    and special files skipped), in path order."""
    return scan_inbox_entries(folder).files


class InboxSkip(TiltakError):
    """An inbox entry that is not read (not a regular file, or no longer the file that was scanned)."""


def read_inbox_file(path: Path, identity: tuple[int, int] | None = None) -> tuple[bytes, int]:
    """The bytes and permission bits of a regular inbox file. Opened without following a link and without blocking
    (a FIFO put in its place would otherwise hang the run), then checked: still a regular file, and the same
    file (device, inode) that was scanned. Raises InboxSkip or OSError."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InboxSkip(f"{display_path(path)}: became a symbolic link; not followed") from exc
        raise
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InboxSkip(f"{display_path(path)}: {_special_kind(info.st_mode)}, not a regular file; not read")
        if identity is not None and (info.st_dev, info.st_ino) != identity:
            raise InboxSkip(f"{display_path(path)}: replaced by another file since the inbox was scanned; "
                            "taken on the next run")
        return handle.read(), stat.S_IMODE(info.st_mode)


# Seconds an inbox file must have been left alone before it is read: a file still being copied in is taken on
# a later run, not half-read now.
DEFAULT_SETTLE_SECONDS = 10.0


def settled(paths: list[Path], settle_seconds: float, now: float | None = None) -> tuple[list[Path], list[Path]]:
    """(files not modified for ``settle_seconds``, files modified more recently: possibly still being written)."""
    now = time.time() if now is None else now
    ready, settling = [], []
    for path in paths:
        try:
            recent = now - path.lstat().st_mtime < settle_seconds
        except OSError:
            recent = False  # reading it reports the error
        (settling if recent else ready).append(path)
    return ready, settling


# --- Candidates and the plan ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    """One source's current content, read or fetched in this run."""

    source: str
    kind: Literal["url", "inbox"]
    content: bytes
    suffix: str
    etag: str | None = None
    last_modified: str | None = None
    # Permission bits of an inbox file: what is stored or written from it is never readable by more people.
    mode: int | None = None
    display: str | None = None  # the source for people, when its key is escaped
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", sha256_bytes(self.content))


def url_candidate(url: str, result: FetchResult) -> Candidate:
    assert result.status == "new" and result.content is not None
    return Candidate(url, "url", result.content, suffix_for(url, result.content_type, result.content),
                     etag=result.etag, last_modified=result.last_modified)


def inbox_candidate(path: Path, identity: tuple[int, int] | None = None) -> Candidate:
    """The inbox file's bytes, read once: the hash, the stored copy and the analysis all see the same content.
    ``path`` is as scanned (inside the resolved inbox). Raises InboxSkip or OSError."""
    content, mode = read_inbox_file(path, identity)
    key = inbox_source_key(path)
    return Candidate(key, "inbox", content, path.suffix.lower(), mode=mode,
                     display=None if key == str(path) else display_path(path))


@dataclass(frozen=True)
class PlannedVersion:
    candidate: Candidate
    change: Literal["new", "changed", "unchanged"]
    previous: dict | None = None  # the source's latest version before this run


# --- The registry ---------------------------------------------------------------------------------------------------

def ingest_dir(out: Path) -> Path:
    return out / INGEST_DIR


class Registry:
    """``OUT/ingest/registry.json``: each source's versions (oldest first) and the content-hash index."""

    def __init__(self, out: Path, data: dict | None = None):
        self.out = out
        self.data = data or {"registry_version": REGISTRY_VERSION, "sources": {}, "hashes": {}}

    @property
    def path(self) -> Path:
        return ingest_dir(self.out) / REGISTRY_FILE

    @classmethod
    def load(cls, out: Path) -> Registry:
        path = ingest_dir(out) / REGISTRY_FILE
        if not path.exists():
            return cls(out)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IngestError(f"{path}: cannot read the ingestion registry: {exc}") from exc
        if not isinstance(data, dict) or data.get("registry_version") != REGISTRY_VERSION:
            raise IngestError(f"{path}: not a tiltak ingestion registry (version {REGISTRY_VERSION})")
        return cls(out, data)

    def save(self) -> Path:
        """Written atomically, as UTF-8 JSON. Keys and messages are valid Unicode by construction (escaped names);
        should a stray undecodable name get in all the same, it is written as a JSON escape, never a crash."""
        text = json.dumps(self.data, ensure_ascii=False, indent=2) + "\n"
        if not _is_clean(text):
            text = json.dumps(self.data, ensure_ascii=True, indent=2) + "\n"
        return atomic_write_text(self.path, text)

    def note_skipped(self, skipped: list[dict[str, str]]) -> None:
        """The inbox entries skipped by this run's scan (replacing the previous run's), each with its reason."""
        checked = utc_now()
        self.data["skipped"] = {entry["source"]: {"reason": entry["reason"], "last_checked": checked}
                                for entry in skipped}

    @property
    def sources(self) -> dict[str, dict]:
        return self.data["sources"]

    def versions(self, source: str) -> list[dict]:
        return self.sources.get(source, {}).get("versions", [])

    def latest(self, source: str) -> dict | None:
        versions = self.versions(source)
        return versions[-1] if versions else None

    def name(self, source: str, kind: str, display: str | None = None) -> str:
        """The source's folder name under ``sources/``: readable, safe on every filesystem, unique."""
        if source in self.sources:
            return self.sources[source]["name"]
        base = source_name(source, kind)
        taken = {entry["name"] for entry in self.sources.values()}
        name, number = base, 2
        while name in taken:
            name, number = f"{base}-{number}", number + 1
        self.sources[source] = {"kind": kind, "name": name, "versions": []}
        if display and display != source:
            self.sources[source]["display"] = display
        return name

    def touch(self, source: str, etag: str | None, last_modified: str | None) -> None:
        """The source was checked and is unchanged: keep the newest validators for the next conditional GET."""
        entry = self.sources.get(source)
        if entry is None:
            return
        entry["last_checked"] = utc_now()
        entry.pop("last_error", None)
        latest = self.latest(source)
        if latest is not None:
            latest["etag"] = etag or latest.get("etag")
            latest["last_modified"] = last_modified or latest.get("last_modified")

    def note_error(self, source: str, kind: str, reason: str, display: str | None = None) -> None:
        self.name(source, kind, display)
        self.sources[source]["last_checked"] = utc_now()
        self.sources[source]["last_error"] = reason

    def add_version(self, candidate: Candidate, stored_path: str, output_json: str) -> dict:
        self.name(candidate.source, candidate.kind, candidate.display)
        version = {"sha256": candidate.sha256, "fetched_at": utc_now(), "etag": candidate.etag,
                   "last_modified": candidate.last_modified, "stored_path": stored_path, "output_json": output_json}
        entry = self.sources[candidate.source]
        entry["versions"].append(version)
        entry["last_checked"] = version["fetched_at"]
        entry.pop("last_error", None)
        index = self.data["hashes"].setdefault(candidate.sha256, {"stored_paths": [], "output_json": output_json})
        if stored_path not in index["stored_paths"]:
            index["stored_paths"].append(stored_path)
        return version


def source_name(source: str, kind: str) -> str:
    if kind == "url":
        parts = urllib.parse.urlsplit(source)
        raw = f"{parts.hostname or ''}{f'_{parts.port}' if parts.port else ''}{parts.path}"
        if parts.query:
            raw += "_" + parts.query
    else:
        raw = Path(source.removeprefix(INBOX_KEY_PREFIX)).name
    raw = unicodedata.normalize("NFC", raw)
    name = _UNSAFE.sub("_", raw.replace("/", "_")).strip("._-")
    return name[:MAX_NAME_CHARS] or "source"


def plan(registry: Registry, candidates: list[Candidate]) -> list[PlannedVersion]:
    """Each candidate against its source's latest version: ``new`` (never seen), ``changed`` (another sha256) or
    ``unchanged`` (the same bytes; skipped). A source back at an earlier content is ``changed``: a new version."""
    planned = []
    for candidate in candidates:
        latest = registry.latest(candidate.source)
        if latest is None:
            planned.append(PlannedVersion(candidate, "new"))
        elif latest["sha256"] == candidate.sha256:
            planned.append(PlannedVersion(candidate, "unchanged", latest))
        else:
            planned.append(PlannedVersion(candidate, "changed", latest))
    return planned


def store_version(registry: Registry, candidate: Candidate) -> Path:
    """Keep the version's bytes (once; atomically) and return the stored file's path. The copy of an inbox file
    is never readable by more people than the file itself."""
    name = registry.name(candidate.source, candidate.kind, candidate.display)
    path = ingest_dir(registry.out) / SOURCES_DIR / name / f"{name}-{candidate.sha256[:12]}{candidate.suffix}"
    mode = file_mode(candidate.mode)
    if not path.exists() or sha256_bytes(path.read_bytes()) != candidate.sha256:
        atomic_write_bytes(path, candidate.content, mode=mode)  # 0600 while written, ``mode`` before the rename
    else:
        narrow_permissions(path, candidate.mode)
    write_origin_sidecar(path, candidate)
    return path


def write_origin_sidecar(stored: Path, candidate: Candidate) -> Path:
    """``<stored copy>.meta.toml``: where the copy came from (``source_url`` of a fetched page, ``inbox_path`` of an
    inbox file), which the document JSON made from the copy carries (pipeline.reading.document_info reads it)."""
    from pipeline.reading.document_info import SIDECAR_SUFFIX, MetadataError, find_overrides

    values: dict[str, object] = {}
    if candidate.kind == "url":
        values["source_url"] = candidate.source
    else:
        values["inbox_path"] = display_path(candidate.display or candidate.source.removeprefix(INBOX_KEY_PREFIX))
        if not candidate.source.startswith(INBOX_KEY_PREFIX):
            # The user's corrections beside the inbox file (NAME.meta.toml, the folder's metadata.csv) go with it.
            try:
                overrides = find_overrides(Path(candidate.source))
            except MetadataError as exc:
                logger.warning("%s; ingested without these corrections", exc.reason)
                overrides = None
            if overrides is not None:
                values = {**{k: v for k, v in overrides.values.items() if k != "inbox_path"}, **values}
    # A JSON string is a valid TOML basic string; a year is a TOML integer.
    lines = [f"{key} = {value if isinstance(value, int) else json.dumps(value, ensure_ascii=False)}"
             for key, value in values.items()]
    text = "# Written by tiltak ingest: where this stored copy came from.\n" + "\n".join(lines) + "\n"
    return atomic_write_text(stored.with_name(stored.name + SIDECAR_SUFFIX), text, mode=file_mode(candidate.mode))


# --- Permissions ----------------------------------------------------------------------------------------------------

def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (``os.umask`` sets it process-wide,
    a moment when another thread could create a file with the wrong mode)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    umask = os.umask(0o077)
    os.umask(umask)
    return umask


def file_mode(source_mode: int | None = None) -> int:
    """The mode of a file the user creates (0o666 less the umask), and never more than the source's own bits."""
    mode = 0o666 & ~current_umask()
    return mode if source_mode is None else mode & source_mode


def narrow_permissions(path: Path, source_mode: int | None) -> None:
    """Take away from ``path`` the permission bits its source does not have (a 0640 source's output stays 0640)."""
    if source_mode is None:
        return
    with contextlib.suppress(OSError):
        current = stat.S_IMODE(path.stat().st_mode)
        if current & ~source_mode & 0o777:
            os.chmod(path, current & source_mode)


def relative_to_out(out: Path, path: Path | str) -> str:
    path = Path(path)
    try:
        return str(path.resolve().relative_to(out.resolve()))
    except ValueError:
        return str(path.resolve())


def comparison_path(out: Path, name: str, old_sha: str, new_sha: str) -> Path:
    return out / COMPARISONS_DIR / f"{name}-{old_sha[:12]}-{new_sha[:12]}.json"


@contextlib.contextmanager
def ingest_lock(out: Path) -> Iterator[None]:
    """One ingestion at a time per output folder (a scheduled run that overlaps the previous one is refused)."""
    lock_path = ingest_dir(out) / ".lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock; the runner's limit=1 still serialises scheduled runs
        yield
        return
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IngestError(f"{out}: another ingestion run is in progress (lock {lock_path})") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- The serve config -----------------------------------------------------------------------------------------------

@dataclass
class ServeConfig:
    """``[serve]`` in a TOML file: a schedule (``cron`` or ``interval_minutes``) and what to ingest."""

    cron: str | None = None
    interval_minutes: float | None = None
    inbox: str | None = None
    urls: list[str] = field(default_factory=list)
    out: str = "outputs"
    nlp: str = "best"
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = DEFAULT_TIMEOUT  # seconds for one response: connect, headers and body together
    retries: int = DEFAULT_RETRIES  # further attempts after a connect error or HTTP 429/502/503/504
    fetch_budget: float | None = None  # seconds per URL, retries included (default: twice the timeout)

    def check(self, *, scheduled: bool) -> ServeConfig:
        if self.cron and self.interval_minutes:
            raise IngestError("give either cron or interval_minutes, not both")
        if scheduled and not (self.cron or self.interval_minutes):
            raise IngestError("no schedule: set cron = \"0 6 * * *\" or interval_minutes = 60 (or use --once)")
        if self.interval_minutes is not None and self.interval_minutes <= 0:
            raise IngestError("interval_minutes must be more than 0")
        if not self.inbox and not self.urls:
            raise IngestError("nothing to ingest: set inbox and/or urls")
        for url in self.urls:
            if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
                raise IngestError(f"{url}: only http and https URLs can be watched")
        if self.max_bytes <= 0 or self.timeout <= 0:
            raise IngestError("max_bytes and timeout must be more than 0")
        if self.retries < 0:
            raise IngestError("retries must be 0 or more")
        if self.fetch_budget is not None and self.fetch_budget < self.timeout:
            raise IngestError("fetch_budget must be at least the timeout")
        return self

    def parameters(self) -> dict:
        """The ``ingest`` flow's parameters."""
        return {"inbox": self.inbox, "urls": list(self.urls), "out_dir": self.out, "nlp": self.nlp,
                "max_bytes": self.max_bytes, "timeout": self.timeout, "retries": self.retries,
                "fetch_budget": self.fetch_budget}


SERVE_KEYS = {"cron", "interval_minutes", "inbox", "urls", "out", "nlp", "max_bytes", "timeout", "retries",
              "fetch_budget"}


def load_serve_config(path: Path) -> ServeConfig:
    """The ``[serve]`` table of a TOML file. Relative ``inbox`` and ``out`` are taken from the file's folder."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IngestError(f"{path}: no such config file") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise IngestError(f"{path}: not a readable TOML file: {exc}") from exc
    table = data.get("serve")
    if not isinstance(table, dict):
        raise IngestError(f"{path}: no [serve] table")
    unknown = sorted(set(table) - SERVE_KEYS)
    if unknown:
        raise IngestError(f"{path}: unknown [serve] keys: {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(SERVE_KEYS))})")
    if "urls" in table and not (isinstance(table["urls"], list) and all(isinstance(u, str) for u in table["urls"])):
        raise IngestError(f"{path}: urls must be a list of strings")
    base = path.resolve().parent
    for key in ("inbox", "out"):
        if key in table:
            table[key] = str(base / Path(table[key]).expanduser())
    from pydantic import TypeAdapter, ValidationError

    try:  # each value checked against its field's type: a bad one is named with its key
        return TypeAdapter(ServeConfig).validate_python(table)
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise IngestError(f"{path}: [serve] {'.'.join(map(str, problem['loc']))}: {problem['msg']}") from exc
