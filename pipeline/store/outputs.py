"""Writing a run's results: document JSON files and the run manifest, each validated, each atomic."""

from __future__ import annotations

import errno
import json
import logging
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pipeline.errors import DocumentError, TiltakError
from pipeline.io import atomic_write_text, mode_within, read_regular_file
from pipeline.reading.batch import display_path, is_valid_utf8
from pipeline.reading.document_info import apply_overrides
from pipeline.schema import DocumentResult
from pipeline.store.manifest import RunManifest
from pipeline.store.output_index import INDEX_NAME
from pipeline.store.validate import document_errors, manifest_errors

RUNS_DIR = "runs"
logger = logging.getLogger(__name__)
# A write that fails with one of these fails again at once: no point in retrying it.
PERMANENT_WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                                    errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.EFBIG})


class WriteError(DocumentError):
    """A document's output could not be written (a full disk, a read-only folder, ...)."""

    def __init__(self, path: Path | str, reason: str, *, permanent: bool):
        super().__init__(path, "write", reason)
        self.permanent = permanent

    def __reduce__(self):
        return _rebuild_write_error, (str(self.path), self.reason, self.permanent)


def _rebuild_write_error(path: str, reason: str, permanent: bool) -> WriteError:
    return WriteError(path, reason, permanent=permanent)


class ManifestWriteError(TiltakError):
    """The run's final manifest could not be written; the last one written (status running) stays in place."""

    exit_code = 1


def os_reason(exc: OSError) -> str:
    """'no space left on device': the system's reason, in the lower case of the rest of tiltak's messages."""
    return (exc.strerror or str(exc)).lower()


def utc_now() -> str:
    # Milliseconds: runs on one output folder follow each other closely, and their manifests must order them.
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_run_id() -> str:
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"


def name_document(result: dict, *, stem: str, source: Path) -> dict:
    """An analysis is keyed by content; the names it is written under belong to this run's input file, and so do
    the user's metadata corrections (``pipeline.reading.document_info.apply_overrides``; a bad one raises
    MetadataError). A file name that is not valid UTF-8 is stored with U+FFFD for its undecodable bytes, and a warning
    says so."""
    document = {**result["document"], "id": stem, "source_path": display_path(source),
                "file_name": display_path(source.name)}
    # The user's corrections (NAME.meta.toml, the folder's metadata.csv) belong to the file, not to the content.
    document = apply_overrides(document, source)
    if not is_valid_utf8(source.name):
        warning = "the file name is not valid UTF-8; its undecodable bytes are shown as U+FFFD (�)"
        document["warnings"] = [*document.get("warnings", []), warning]
    return {**result, "document": document}


def render_document(result: dict) -> str:
    """The JSON text of a document, refused unless it validates against the published schema."""
    _check_schema(result)
    return _json_text(result)


def _json_text(result: dict) -> str:
    return json.dumps(result, ensure_ascii=False, indent=2) + "\n"


def _check_schema(result: dict) -> None:
    errors = document_errors(result)
    if errors:
        raise TiltakError(f"{result['document']['source_path']}: output fails its schema: {'; '.join(errors[:5])}")


def write_document(result: dict, out_dir: Path, *, stem: str, source: Path) -> Path:
    """Validate and write one document, atomically. An output that already holds exactly these bytes (an
    unchanged, cached analysis on a re-run) is left as it is: it was validated when it was written."""
    named = DocumentResult.model_validate(name_document(result, stem=stem, source=source)).model_dump(mode="json")
    path = out_dir / f"{stem}.json"
    # Rendered once (the indented encoder is pure Python: a second rendering cost as much as the validation).
    text = _json_text(named)
    try:
        if read_regular_file(path).decode("utf-8") == text:
            return path
    except (OSError, UnicodeDecodeError):
        pass
    _check_schema(named)
    rendered = text
    try:
        # No more readable than its source (a confidential 0600 input gives a 0600 output).
        mode = mode_within(os.stat(source).st_mode)
    except OSError:
        mode = 0o600
    try:
        return atomic_write_text(path, rendered, mode=mode)
    except OSError as exc:
        raise WriteError(source, os_reason(exc), permanent=exc.errno in PERMANENT_WRITE_ERRORS) from exc


def remove_stale_temporaries(out_dir: Path) -> list[Path]:
    """Remove the hidden temporary files (``.NAME.json.XXXX.tmp``, and the output index's) that a killed run's
    atomic writes left in ``out_dir`` and its ``runs/`` folder. Only safe while holding the folder's lock
    (``pipeline.store.locking``)."""
    removed = []
    temporaries = [*out_dir.glob(f".{INDEX_NAME}.*.tmp")]
    for folder in (out_dir, out_dir / RUNS_DIR):
        temporaries += folder.glob(".*.json.*.tmp")
    for path in sorted(temporaries):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _valid_text(value):
    """``value`` with every string made valid UTF-8 (paths with undecodable bytes, see pipeline.reading.batch)."""
    if isinstance(value, str):
        return display_path(value)
    if isinstance(value, dict):
        return {_valid_text(key): _valid_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_valid_text(item) for item in value]
    return value


def write_manifest(manifest: RunManifest, out_dir: Path, *, check_schema: bool = True,
                   in_progress: bool | None = None) -> Path | None:
    """Write the run manifest atomically. The pydantic model keeps it well-formed at every write; the JSON
    Schema check (which grows with the manifest) is for the final write (``check_schema``).

    A rewrite while the run goes on (``in_progress``, by default when the schema is not checked) that cannot be
    written (a full disk) is logged and returns None: the previous manifest stays in place, valid, and the run
    goes on. Any other write that fails raises :class:`ManifestWriteError`, one line naming the file."""
    in_progress = not check_schema if in_progress is None else in_progress
    data = manifest.model_dump(mode="json")
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        data = _valid_text(data)
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    errors = manifest_errors(data) if check_schema else []
    if errors:
        raise TiltakError(f"run manifest fails its schema: {'; '.join(errors[:5])}")
    path = out_dir / RUNS_DIR / f"{manifest.run_id}.json"
    try:
        return atomic_write_text(path, text)
    except OSError as exc:
        if in_progress:
            logger.warning("%s: cannot rewrite the run manifest (%s); the previous one stays", display_path(path),
                           os_reason(exc))
            return None
        raise ManifestWriteError(f"{display_path(path)}: cannot write the run manifest: {os_reason(exc)}") from exc
