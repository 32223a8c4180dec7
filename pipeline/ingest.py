"""Scheduled ingestion, the plain parts (no Prefect): fetching sources, the inbox, and the version registry.

A *source* is a URL or a file in the inbox folder. Every distinct content a source has had is a *version*: its
bytes are kept under ``OUT/ingest/sources/<name>/<name>-<sha256[:12]><suffix>`` and the registry
(``OUT/ingest/registry.json``, written atomically) records, per source, its versions in order — sha256, when it
was seen, the HTTP validators (ETag, Last-Modified), the stored file and the document JSON made from it — and a
content-hash index (sha256 → stored files and output). Only new or changed content is processed; a URL is asked
with a conditional GET (If-None-Match / If-Modified-Since), so an unchanged page costs one 304.

The Prefect flow that drives this is ``ingest`` (``flows.py``); ``tiltak serve`` runs it on a schedule.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
import tomllib
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pipeline.batch import PROJECT_FILES
from pipeline.errors import TiltakError
from pipeline.io import atomic_write_bytes, atomic_write_text
from pipeline.loaders import SUPPORTED_SUFFIXES

INGEST_DIR = "ingest"
REGISTRY_FILE = "registry.json"
SOURCES_DIR = "sources"
COMPARISONS_DIR = "comparisons"
REGISTRY_VERSION = 1
DEFAULT_MAX_BYTES = 50_000_000
DEFAULT_TIMEOUT = 30.0
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


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise urllib.error.URLError(f"redirected to a URL that is not http or https: {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    # No FileHandler/FTPHandler/DataHandler: only http and https are ever opened, redirects included.
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler(), urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(),
                    urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPErrorProcessor(),
                    _HttpOnlyRedirects()):
        opener.add_handler(handler)
    return opener


def _size(count: int) -> str:
    return f"{count:,} bytes"


def fetch(url: str, previous_etag: str | None = None, previous_last_modified: str | None = None,
          max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT) -> FetchResult:
    """GET ``url`` (http or https only), conditionally when validators of the previous version are given.
    The body is streamed and refused past ``max_bytes``; ``timeout`` bounds the connection, each read and the
    whole download. Never raises for a network or HTTP problem: it returns ``status="error"`` with the reason."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        return FetchResult("error", reason=f"{url}: only http and https URLs are fetched, not {scheme or 'no scheme'}")
    headers = {"User-Agent": USER_AGENT, "Accept": ", ".join(CONTENT_TYPE_SUFFIXES) + ", */*;q=0.1"}
    if previous_etag:
        headers["If-None-Match"] = previous_etag
    if previous_last_modified:
        headers["If-Modified-Since"] = previous_last_modified
    deadline = time.monotonic() + timeout
    try:
        with _opener().open(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                return FetchResult("error", reason=f"{url}: {_size(int(length))} (Content-Length) is over the size "
                                                   f"limit of {_size(max_bytes)}")
            chunks: list[bytes] = []
            received = 0
            while chunk := response.read(CHUNK):
                received += len(chunk)
                if received > max_bytes:
                    return FetchResult("error", reason=f"{url}: more than the size limit of {_size(max_bytes)}; "
                                                       "download stopped")
                if time.monotonic() > deadline:
                    return FetchResult("error", reason=f"{url}: timed out after {timeout:g} s (download not finished)")
                chunks.append(chunk)
            return FetchResult(
                "new", content=b"".join(chunks), etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                content_type=response.headers.get_content_type() if response.headers.get("Content-Type") else None,
            )
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return FetchResult("unchanged", etag=exc.headers.get("ETag") or previous_etag,
                               last_modified=exc.headers.get("Last-Modified") or previous_last_modified)
        return FetchResult("error", reason=f"{url}: HTTP {exc.code} {exc.reason}")
    except TimeoutError:
        return FetchResult("error", reason=f"{url}: timed out after {timeout:g} s")
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            return FetchResult("error", reason=f"{url}: timed out after {timeout:g} s")
        return FetchResult("error", reason=f"{url}: cannot fetch: {exc.reason}")
    except (OSError, ValueError) as exc:  # connection reset, a malformed URL, a broken response
        return FetchResult("error", reason=f"{url}: cannot fetch: {exc}")


def suffix_for(url: str, content_type: str | None, content: bytes) -> str:
    """The file suffix a fetched version is stored under: from the Content-Type, else the URL, else sniffed."""
    if content_type and content_type.lower() in CONTENT_TYPE_SUFFIXES:
        return CONTENT_TYPE_SUFFIXES[content_type.lower()]
    suffix = Path(urllib.parse.urlsplit(url).path).suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return suffix
    from pipeline.loaders import sniff_format

    with contextlib.suppress(TiltakError):
        fmt = sniff_format(content[: 1 << 16] if not content.startswith(b"PK") else content, Path("fetched"))
        for known, known_format in SUPPORTED_SUFFIXES.items():
            if known_format == fmt:
                return known
    return ".html"


# --- The inbox ------------------------------------------------------------------------------------------------------

def scan_inbox(folder: Path) -> list[Path]:
    """The documents in the inbox (recursively; supported suffixes; hidden files and README-like notes skipped),
    in path order."""
    if not folder.is_dir():
        raise IngestError(f"{folder}: the inbox is not a folder")
    found = []
    for candidate in sorted(folder.rglob("*")):
        relative = candidate.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if (candidate.is_file() and candidate.suffix.lower() in SUPPORTED_SUFFIXES
                and not PROJECT_FILES.match(candidate.name)):
            found.append(candidate)
    return found


# Seconds an inbox file must have been left alone before it is read: a file still being copied in is taken on
# a later run, not half-read now.
DEFAULT_SETTLE_SECONDS = 10.0


def settled(paths: list[Path], settle_seconds: float, now: float | None = None) -> tuple[list[Path], list[Path]]:
    """(files not modified for ``settle_seconds``, files modified more recently: possibly still being written)."""
    now = time.time() if now is None else now
    ready, settling = [], []
    for path in paths:
        try:
            recent = now - path.stat().st_mtime < settle_seconds
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
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", sha256_bytes(self.content))


def url_candidate(url: str, result: FetchResult) -> Candidate:
    assert result.status == "new" and result.content is not None
    return Candidate(url, "url", result.content, suffix_for(url, result.content_type, result.content),
                     etag=result.etag, last_modified=result.last_modified)


def inbox_candidate(path: Path) -> Candidate:
    """The inbox file's bytes, read once: the hash, the stored copy and the analysis all see the same content."""
    return Candidate(str(path.resolve()), "inbox", path.read_bytes(), path.suffix.lower())


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
        return atomic_write_text(self.path, json.dumps(self.data, ensure_ascii=False, indent=2) + "\n")

    @property
    def sources(self) -> dict[str, dict]:
        return self.data["sources"]

    def versions(self, source: str) -> list[dict]:
        return self.sources.get(source, {}).get("versions", [])

    def latest(self, source: str) -> dict | None:
        versions = self.versions(source)
        return versions[-1] if versions else None

    def name(self, source: str, kind: str) -> str:
        """The source's folder name under ``sources/``: readable, safe on every filesystem, unique."""
        if source in self.sources:
            return self.sources[source]["name"]
        base = source_name(source, kind)
        taken = {entry["name"] for entry in self.sources.values()}
        name, number = base, 2
        while name in taken:
            name, number = f"{base}-{number}", number + 1
        self.sources[source] = {"kind": kind, "name": name, "versions": []}
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

    def note_error(self, source: str, kind: str, reason: str) -> None:
        self.name(source, kind)
        self.sources[source]["last_checked"] = utc_now()
        self.sources[source]["last_error"] = reason

    def add_version(self, candidate: Candidate, stored_path: str, output_json: str) -> dict:
        self.name(candidate.source, candidate.kind)
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
        raw = Path(source).name
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
    """Keep the version's bytes (once; atomically) and return the stored file's path."""
    name = registry.name(candidate.source, candidate.kind)
    path = ingest_dir(registry.out) / SOURCES_DIR / name / f"{name}-{candidate.sha256[:12]}{candidate.suffix}"
    if not path.exists() or sha256_bytes(path.read_bytes()) != candidate.sha256:
        atomic_write_bytes(path, candidate.content)
    return path


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
    timeout: float = DEFAULT_TIMEOUT

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
        return self

    def parameters(self) -> dict:
        """The ``ingest`` flow's parameters."""
        return {"inbox": self.inbox, "urls": list(self.urls), "out_dir": self.out, "nlp": self.nlp,
                "max_bytes": self.max_bytes, "timeout": self.timeout}


SERVE_KEYS = {"cron", "interval_minutes", "inbox", "urls", "out", "nlp", "max_bytes", "timeout"}


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
    try:
        return ServeConfig(**table)
    except TypeError as exc:
        raise IngestError(f"{path}: {exc}") from exc
