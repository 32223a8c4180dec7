"""Writing a run's results: document JSON files and the run manifest, each validated, each atomic."""

from __future__ import annotations

import json
import stat
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pipeline.errors import TiltakError
from pipeline.io import _default_file_mode, atomic_write_text
from pipeline.manifest import RunManifest
from pipeline.output_index import INDEX_NAME
from pipeline.schema import DocumentResult
from pipeline.validate import document_errors, manifest_errors

RUNS_DIR = "runs"


def utc_now() -> str:
    # Milliseconds: runs on one output folder follow each other closely, and their manifests must order them.
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_run_id() -> str:
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"


def name_document(result: dict, *, stem: str, source: Path) -> dict:
    """An analysis is keyed by content; the names it is written under belong to this run's input file."""
    document = {**result["document"], "id": stem, "source_path": str(source), "file_name": source.name}
    return {**result, "document": document}


def render_document(result: dict) -> str:
    """The JSON text of a document, refused unless it validates against the published schema."""
    errors = document_errors(result)
    if errors:
        raise TiltakError(f"{result['document']['source_path']}: output fails its schema: {'; '.join(errors[:5])}")
    return json.dumps(result, ensure_ascii=False, indent=2) + "\n"


def write_document(result: dict, out_dir: Path, *, stem: str, source: Path) -> Path:
    """Validate and write one document, atomically. An output that already holds exactly these bytes (an
    unchanged, cached analysis on a re-run) is left as it is: it was validated when it was written."""
    named = DocumentResult.model_validate(name_document(result, stem=stem, source=source)).model_dump(mode="json")
    path = out_dir / f"{stem}.json"
    text = json.dumps(named, ensure_ascii=False, indent=2) + "\n"
    try:
        if path.read_text(encoding="utf-8") == text:
            return path
    except (OSError, UnicodeDecodeError):
        pass
    return atomic_write_text(path, render_document(named), output_mode(source))


def output_mode(source: Path) -> int | None:
    """A plain new file's mode, but never readable by more people than the source document (the output holds its
    text): a 0640 source gives a 0640 output. None (the default) when the source cannot be examined."""
    try:
        return _default_file_mode() & stat.S_IMODE(source.stat().st_mode)
    except OSError:
        return None


def remove_stale_temporaries(out_dir: Path) -> list[Path]:
    """Remove the hidden temporary files (``.NAME.json.XXXX.tmp``, and the output index's) that a killed run's
    atomic writes left in ``out_dir`` and its ``runs/`` folder. Only safe while holding the folder's lock
    (``pipeline.locking``)."""
    removed = []
    temporaries = [*out_dir.glob(f".{INDEX_NAME}.*.tmp")]
    for folder in (out_dir, out_dir / RUNS_DIR):
        temporaries += folder.glob(".*.json.*.tmp")
    for path in sorted(temporaries):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def write_manifest(manifest: RunManifest, out_dir: Path, *, check_schema: bool = True) -> Path:
    """Write the run manifest atomically. The pydantic model keeps it well-formed at every write; the JSON
    Schema check (which grows with the manifest) is for the final write (``check_schema``)."""
    data = manifest.model_dump(mode="json")
    errors = manifest_errors(data) if check_schema else []
    if errors:
        raise TiltakError(f"run manifest fails its schema: {'; '.join(errors[:5])}")
    path = out_dir / RUNS_DIR / f"{manifest.run_id}.json"
    return atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
