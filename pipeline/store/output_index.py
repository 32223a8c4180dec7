"""What an output folder already holds: for each document JSON, the content and analysis identity it was made
from. A re-run skips every document whose output is still what this run would write, without asking the
orchestrator for a cached result (which costs a task run per document): an unchanged corpus re-runs in the time
it takes to hash it.

The index is a cache, never the truth: it is rebuilt as documents are written, and any doubt (a missing or
unreadable index, an output that was deleted, edited or replaced since) falls back to the full path, where the
analysis cache and the byte comparison of ``write_document`` still avoid needless work.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.io import atomic_write_text, read_regular_file
from pipeline.reading.batch import display_path

# Not "*.json": tools that read an output folder take every "*.json" in it for a document.
INDEX_NAME = ".tiltak.index"
INDEX_VERSION = 1
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexEntry:
    sha256: str
    identity: str
    source: str
    output: str  # relative to the output folder
    size: int
    mtime_ns: int
    measures: int
    analysed_in_run: str | None


class OutputIndex:
    def __init__(self, out_dir: Path, entries: dict[str, IndexEntry] | None = None) -> None:
        self.out_dir = out_dir
        self.entries = entries or {}

    @classmethod
    def load(cls, out_dir: Path) -> OutputIndex:
        path = out_dir / INDEX_NAME
        try:
            data = json.loads(read_regular_file(path).decode("utf-8"))
            if data.get("version") != INDEX_VERSION:
                return cls(out_dir)
            return cls(out_dir, {stem: IndexEntry(**entry) for stem, entry in data["entries"].items()})
        except FileNotFoundError:
            return cls(out_dir)
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            logger.warning("%s: unreadable output index, re-checking every document: %s", path, exc)
            return cls(out_dir)

    def fresh(self, stem: str, sha256: str, identity: str, source: str) -> IndexEntry | None:
        """The entry for ``stem`` when its output file is still exactly what a run would write for this content,
        analysis identity and source path; else None."""
        source = display_path(source)
        entry = self.entries.get(stem)
        if entry is None or (entry.sha256, entry.identity, entry.source) != (sha256, identity, source):
            return None
        try:
            stat = (self.out_dir / entry.output).stat()
        except OSError:
            return None
        return entry if (stat.st_size, stat.st_mtime_ns) == (entry.size, entry.mtime_ns) else None

    def record(self, stem: str, *, sha256: str, identity: str, source: str, output: str, measures: int,
               analysed_in_run: str | None) -> None:
        stat = (self.out_dir / output).stat()
        self.entries[stem] = IndexEntry(sha256, identity, display_path(source), display_path(output), stat.st_size,
                                        stat.st_mtime_ns, measures, analysed_in_run)

    def save(self) -> Path | None:
        """Write the index atomically. A write that fails (a full disk) is logged and returns None: the index
        is a cache, and the previous one (whose entries are checked against the files) stays."""
        data = {"version": INDEX_VERSION, "entries": {stem: asdict(e) for stem, e in sorted(self.entries.items())}}
        path = self.out_dir / INDEX_NAME
        try:
            return atomic_write_text(path, json.dumps(data, ensure_ascii=False) + "\n")
        except OSError as exc:
            logger.warning("%s: cannot write the output index: %s", display_path(path), exc.strerror or exc)
            return None
