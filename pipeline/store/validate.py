"""The published JSON Schemas of a run's outputs (document, run manifest) and checking outputs against them.

The comparison's schema and ``validate_file`` (any tiltak JSON, comparisons included) are in
``pipeline.research.published_schemas``, above both the store and the comparison. The schemas are generated from
the pydantic models (``pipeline.schema``, ``pipeline.store.manifest``) and committed under ``pipeline/schemas/``;
``tiltak schema --write`` regenerates them and a test keeps them in step. Validation checks the schema and what a schema
cannot say: every offset points at the text it claims.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path

import fastjsonschema
from jsonschema import Draft202012Validator

from pipeline.schema import SCHEMA_VERSION
from pipeline.store.manifest import MANIFEST_SCHEMA_VERSION

SCHEMAS_DIR = Path(__file__).parents[1] / "schemas"
DOCUMENT_SCHEMA_FILE = f"tiltak-document-{SCHEMA_VERSION}.schema.json"
MANIFEST_SCHEMA_FILE = f"tiltak-run-manifest-{MANIFEST_SCHEMA_VERSION}.schema.json"


def render_schema(schema: dict) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


# The only keywords the committed schemas may use: those both validators below read alike. The fast one speaks
# draft 7 and would pass over a 2020-12-only keyword (prefixItems, unevaluatedProperties, ...) without checking it;
# tests/test_schema.py keeps the schemas within this set.
FAST_CHECKED_KEYWORDS = frozenset({
    "$id", "$ref", "$schema", "$defs", "additionalProperties", "anyOf", "const", "default", "description", "enum",
    "items", "maximum", "minItems", "minimum", "pattern", "properties", "readOnly", "required", "title", "type"})


@cache
def _schema(file_name: str) -> dict:
    return json.loads((SCHEMAS_DIR / file_name).read_text(encoding="utf-8"))


@cache
def _validator(file_name: str) -> Draft202012Validator:
    schema = _schema(file_name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@cache
def _fast_check(file_name: str) -> Callable[[object], object]:
    # Compiled to Python once per process: about 20x faster than jsonschema's walk, which was most of the flow
    # process's CPU on a Dask run (issue #21). No defaults filled in (it would change the data), no format checks
    # (jsonschema does not check formats either).
    return fastjsonschema.compile(_schema(file_name), use_default=False, use_formats=False)


def schema_errors(file_name: str, data: object) -> list[str]:
    """Everything wrong with ``data`` against the committed schema ``file_name``, as readable lines; empty when it
    is valid. The compiled check answers for valid data; jsonschema, the reference, has the last word and the
    messages whenever the compiled check objects (it stops at the first problem and is stricter about 1.0 as an
    integer)."""
    try:
        _fast_check(file_name)(data)
        return []
    except fastjsonschema.JsonSchemaValueException:
        pass
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(_validator(file_name).iter_errors(data), key=lambda e: list(e.path))
    ]


def document_errors(data: object) -> list[str]:
    """Everything wrong with a document JSON (parsed), as readable lines; empty when it is valid."""
    errors = schema_errors(DOCUMENT_SCHEMA_FILE, data)
    if errors or not isinstance(data, dict):
        return errors
    return _offset_errors(data)


def _offset_errors(data: dict) -> list[str]:
    text: str = data["text"]
    errors: list[str] = []
    block_ids = {block["id"] for block in data["blocks"]}
    for index, block in enumerate(data["blocks"]):
        if not block["start"] <= block["end"] <= len(text):
            errors.append(f"blocks/{index}: offsets {block['start']}:{block['end']} outside the text")
    for index, measure in enumerate(data["measures"]):
        start, end = measure["start"], measure["end"]
        if text[start:end] != measure["text"]:
            errors.append(f"measures/{index}: text does not equal text[{start}:{end}]")
        if measure.get("block_id") and measure["block_id"] not in block_ids:
            errors.append(f"measures/{index}: block_id {measure['block_id']!r} is not a block")
    for a_index, actor in enumerate(data["actors"]):
        for m_index, mention in enumerate(actor["mentions"]):
            if text[mention["start"] : mention["end"]] != mention["text"]:
                errors.append(f"actors/{a_index}/mentions/{m_index}: text does not equal its span")
    for section in ("measures", "blocks"):
        ids = [item["id"] for item in data[section]]
        if len(ids) != len(set(ids)):
            errors.append(f"{section}: ids are not unique")
    return errors


def manifest_errors(data: object) -> list[str]:
    return schema_errors(MANIFEST_SCHEMA_FILE, data)


# Folders where tiltak writes JSON that is not an output of its own schemas: a dataset export (Datasette's
# metadata.json beside tiltak.sqlite) and the ingestion registry.
EXPORT_MARKER = "tiltak.sqlite"
DATASETS_FOLDER = "datasets"


def is_tiltak_output(data: object) -> bool:
    """A document JSON, run manifest or comparison (by the keys each one carries)."""
    return isinstance(data, dict) and (
        {"schema_version", "document"} <= data.keys() or "manifest_version" in data or data.get("kind") == "comparison")


def skip_reason(path: Path) -> str | None:
    """Why a JSON file found in an output folder is not checked, or None when it is: a dataset export's Datasette
    metadata (a folder holding ``tiltak.sqlite``, or named ``datasets``) and the ingestion registry are JSON of their
    own, not outputs; anything else, a broken document included, is checked."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if is_tiltak_output(data):
        return None
    if isinstance(data, dict) and "registry_version" in data:
        return "the ingestion registry"
    if (path.parent / EXPORT_MARKER).is_file() or path.parent.name == DATASETS_FOLDER:
        return "part of a dataset export (tiltak export)"
    return None
