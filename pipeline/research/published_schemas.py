"""Every published JSON Schema (document, run manifest, comparison) and checking any tiltak JSON file against its own.

It sits above ``pipeline.store.validate`` (documents and manifests, which the store checks as it writes) and
``pipeline.research.compare`` (the comparison's schema), so that neither of those imports the other.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.research.compare import COMPARISON_SCHEMA_FILE, comparison_errors, comparison_json_schema
from pipeline.schema import document_json_schema
from pipeline.store.manifest import RunManifest
from pipeline.store.validate import DOCUMENT_SCHEMA_FILE, MANIFEST_SCHEMA_FILE, document_errors, manifest_errors


def generated_schemas() -> dict[str, dict]:
    manifest = RunManifest.model_json_schema(mode="serialization")
    manifest["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return {DOCUMENT_SCHEMA_FILE: document_json_schema(), MANIFEST_SCHEMA_FILE: manifest,
            COMPARISON_SCHEMA_FILE: comparison_json_schema()}


def validate_file(path: Path) -> list[str]:
    """Errors of a document JSON, run manifest or comparison on disk (told apart by their content)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [f"not readable JSON: {exc}"]
    if isinstance(data, dict) and "manifest_version" in data:
        return manifest_errors(data)
    if isinstance(data, dict) and data.get("kind") == "comparison":
        return comparison_errors(data)
    return document_errors(data)
