"""Planning a batch: which files to read, which are the same content, and what each output is called."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import TiltakError
from pipeline.io import safe_stem
from pipeline.loaders import SUPPORTED_SUFFIXES

HASH_CHUNK = 1 << 20
# A folder's own notes are not documents: skipped when a folder is searched, read when named.
PROJECT_FILES = re.compile(r"^(?:readme|license|licence|changelog|contributing)(?:\.[\w-]+)*$", re.IGNORECASE)


class InputError(TiltakError):
    """A path given on the command line cannot be used (missing, or not a readable document)."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def discover_inputs(paths: list[Path], *, exclude: Path | None = None) -> list[Path]:
    """The documents under ``paths``: named files as given, folders searched recursively for supported
    suffixes (hidden files, README/LICENSE/CHANGELOG notes and the output folder skipped). Raises InputError
    for a path that does not exist."""
    found: list[Path] = []
    excluded = exclude.resolve() if exclude else None
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if path.is_file():
            found.append(path)
            continue
        for candidate in sorted(path.rglob("*")):
            relative = candidate.relative_to(path)
            if any(part.startswith(".") for part in relative.parts):
                continue
            if excluded and candidate.resolve().is_relative_to(excluded):
                continue
            if (candidate.is_file() and candidate.suffix.lower() in SUPPORTED_SUFFIXES
                    and not PROJECT_FILES.match(candidate.name)):
                found.append(candidate)
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


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
