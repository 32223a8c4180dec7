"""Datasets across a whole output folder: tidy tables as JSONL, CSV, Parquet and one SQLite database.

``collect`` reads every document JSON of an output folder (``<stem>.json``; ``runs/`` holds run manifests, read
only for each document's ``run_id``) into flat tables, one row per item, with columns a researcher can open in
Excel, pandas or R. ``write_exports`` writes each table as ``<table>.jsonl``, ``<table>.csv`` and
``<table>.parquet``, all tables into one SQLite database ``tiltak.sqlite`` with full-text search (Norwegian
stemming, see ``pipeline.research.search``), and a ``metadata.json`` for Datasette (``tiltak browse``).

Tables (every key to a document is ``document_id``; to a measure ``(document_id, measure_id)``)
    documents        one row per document.
    measures         one row per measure. Lists are joined into one text cell (``section`` with " > ", ``actors``
                     with "; "); ``responsible``, ``amounts_nok_total`` and ``deadline_years`` summarise the
                     measure's commitment. Optional measure fields the schema gains later appear as extra columns.
    amounts          one row per amount (beløp) of a measure.
    deadlines        one row per deadline (frist) of a measure.
    commitments      one row per measure with a commitment: strength, modality, responsible and counts. Amounts and
                     deadlines are in their own tables: nothing pairs the n-th amount with the n-th deadline.
    actors           one row per canonical actor across all documents, with a stable ``actor_id``.
    document_actors  one row per actor of a document: mentions and first page.
    measure_actors   one row per actor named in (or responsible for) a measure.
    taxonomy         one row per focus area: ``focus_area_id`` and its ``name``.
    data_dictionary  one row per column of every table: its type and meaning.

Nullable integers are ``int64`` with nulls in Parquet, and ``Int64`` in pandas (``pd.read_parquet``): the files
carry pandas' metadata, so a page number never turns into a float.

Every file is written atomically (a temporary file in the target folder, renamed over the target), so a reader
never sees half a dataset file; the SQLite database is built in a temporary file and renamed the same way.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import types
import typing
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import ValidationError

from pipeline.errors import TiltakError
from pipeline.io import atomic_path, atomic_write_bytes, atomic_write_text
from pipeline.research.search import FTS_TABLE, STEMS_COLUMN, stem_text
from pipeline.schema import DocumentResult, Measure

# The datasets' own version (tables, columns, keys), independent of the document schema's: 2.0.0 split amounts
# and deadlines out of commitments, renamed documents.id to document_id and added actor ids and the taxonomy.
DATASETS_VERSION = "2.0.0"
DB_NAME = "tiltak"
DB_FILE = f"{DB_NAME}.sqlite"
METADATA_FILE = "metadata.json"
REPORT_FILE = "report.html"
SECTION_SEPARATOR = " > "
LIST_SEPARATOR = "; "

Kind = Literal["text", "integer", "real", "boolean"]
_SQLITE_TYPES = {"text": "TEXT", "integer": "INTEGER", "real": "REAL", "boolean": "INTEGER"}
# pandas dtypes for the Parquet files' pandas metadata: nullable integers and booleans stay what they are.
_PANDAS_TYPES = {"text": ("unicode", "object"), "integer": ("int64", "Int64"), "real": ("float64", "float64"),
                 "boolean": ("bool", "boolean")}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    description: str


@dataclass(frozen=True)
class TableSpec:
    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = ()
    indexes: tuple[str, ...] = ()
    facets: tuple[str, ...] = ()
    label_column: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, kind: Kind, description: str) -> Column:
    return Column(name, kind, description)


_DOC_ID = _c("document_id", "text", "The document (its output file's stem; see the documents table).")
_MEASURE_ID = _c("measure_id", "text", "The measure's id within its document (m1, m2, …).")
_ACTOR_ID = _c("actor_id", "text", "Stable id of the canonical actor (see the actors table): its name in lower "
                                   "case ASCII with hyphens, e.g. innovasjon-norge.")
_STRENGTH = ("How binding the measure is (styrke): binding (vil/skal gjøre), intention (vil styrke/arbeide for), "
             "exploratory (vurdere/utrede).")
_PAGE_OF = "Page (side) of its first character; empty for sources without pages."
_TO_DOCUMENT = (("document_id",), "documents", ("document_id",))
_TO_MEASURE = (("document_id", "measure_id"), "measures", ("document_id", "measure_id"))

DOCUMENTS = TableSpec(
    name="documents",
    description="One row per analysed document (dokument).",
    columns=(
        _c("document_id", "text", "Stable document id: the output file's stem."),
        _c("title", "text", "Title (tittel)."),
        _c("date", "text", "The document's date (ISO 8601), when known."),
        _c("year", "integer", "The document's year, when known."),
        _c("identifier", "text", "The document's official identifier (e.g. 'Meld. St. 18 (2018–2019)'), if any."),
        _c("issuer", "text", "Who issued the document, when known."),
        _c("document_type", "text", "Dokumenttype: melding_til_stortinget, proposisjon, nou, strategi, "
                                    "handlingsplan, veikart, nyhet, … or ukjent."),
        _c("language", "text", "Målform: nb (bokmål), nn (nynorsk), other or unknown."),
        _c("format", "text", "Source format: pdf, html, docx or text."),
        _c("page_count", "integer", "Number of pages; empty for sources without pages."),
        _c("n_measures", "integer", "Number of measures (tiltak) found."),
        _c("file_name", "text", "Name of the source file."),
        _c("source_path", "text", "Path of the source file when it was analysed."),
        _c("source_url", "text", "Address the document was fetched from, if fetched."),
        _c("inbox_path", "text", "Original path in the inbox, for ingested files."),
        _c("sha256", "text", "SHA-256 of the source file's bytes."),
        _c("run_id", "text", "The run (runs/<run_id>.json) whose analysis this is; empty if no manifest names it."),
        _c("nlp_model", "text", "spaCy pipeline used: name version (kind)."),
        _c("classifier", "text", "Focus-area classifier used: name version; empty if none."),
        _c("tool_version", "text", "tiltak version that wrote the analysis."),
        _c("created_at", "text", "When the analysis was made (UTC, ISO 8601)."),
    ),
    primary_key=("document_id",),
    indexes=("document_type", "language", "year"),
    facets=("document_type", "language", "format", "year"),
    label_column="title",
)

TAXONOMY = TableSpec(
    name="taxonomy",
    description="The focus areas (innsatsområder): id and name.",
    columns=(
        _c("focus_area_id", "text", "The focus area's id, as in measures.focus_area."),
        _c("name", "text", "Its name."),
        _c("covers", "text", "What it covers, from the taxonomy file; empty for an area only the documents name."),
        _c("taxonomy", "text", "Taxonomy name and version."),
        _c("n_measures", "integer", "Number of measures in the area."),
    ),
    primary_key=("focus_area_id",),
    label_column="name",
)

MEASURE_COLUMNS = (
    _DOC_ID,
    _MEASURE_ID,
    _c("text", "text", "The measure's wording (searchable)."),
    _c("page", "integer", f"{_PAGE_OF}"),
    _c("strength", "text", _STRENGTH),
    _c("focus_area", "text", "Focus area id (innsatsområde; see taxonomy); empty if not classified."),
    _c("focus_area_name", "text", "The focus area's name."),
    _c("focus_area_score", "real", "Classifier score of the focus area (0–1)."),
    _c("focus_area_runner_up", "text", "Second most likely focus area (id)."),
    _c("policy_area", "integer", "Policy area: CAP major topic code (1–23); empty if not classified."),
    _c("policy_area_label", "text", "The policy area's Norwegian label."),
    _c("section", "text", f"Heading path above the measure (kapittel), outermost first, joined with "
                          f"'{SECTION_SEPARATOR}' (searchable)."),
    _c("intro", "text", "The line that introduces the measure's list (e.g. '… vil regjeringen:'; searchable)."),
    _c("actors", "text", f"Actors (aktører) named in the measure, joined with '{LIST_SEPARATOR}'; "
                         "see measure_actors for one row each."),
    _c("responsible", "text", "The actor responsible (ansvarlig), if stated."),
    _c("responsible_actor_id", "text", "The responsible actor's actor_id."),
    _c("amounts_nok_total", "real", "Sum in NOK (kroner) of the measure's normalised amounts, whatever their "
                                    "period; see amounts for each amount and its period."),
    _c("deadline_years", "text", f"Years of the measure's deadlines (frister), joined with '{LIST_SEPARATOR}'."),
    _c("method", "text", "Which extraction rule found the measure, or 'model' (the measure detector)."),
    _c("confidence", "real", "The measure detector's probability (0–1); empty for a measure the rules found."),
    _c("verb", "text", "The action verb (or deciding wording)."),
    _c("object", "text", "What the action applies to."),
    _c("start", "integer", "Character offset of the measure in the document's normalised text."),
    _c("end", "integer", "Character offset just after the measure (exclusive)."),
    _c("report_url", "text", f"The measure's place in the HTML report ({REPORT_FILE} beside the datasets)."),
)
# Measure fields shown elsewhere or not worth a column; any other field of the schema becomes an extra column.
_MEASURE_FIELDS_HANDLED = {c.name for c in MEASURE_COLUMNS} | {
    "id", "focus_area_runner_up_score", "block_id"}
_KINDS = {str: "text", int: "integer", float: "real", bool: "boolean"}


def _field_kind(annotation: Any) -> Kind:
    """The column kind of a pydantic field's annotation: str/int/float/bool (or an enum of str, or a Literal),
    optional or not; anything else (lists, models) is text holding JSON."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if typing.get_origin(annotation) is Literal:
        values = typing.get_args(annotation)
        return _KINDS.get(type(values[0]), "text") if values else "text"
    if isinstance(annotation, type):
        for base, kind in _KINDS.items():
            if issubclass(annotation, base) and not (base is int and issubclass(annotation, bool)):
                return "boolean" if issubclass(annotation, bool) else kind
    return "text"


def extra_measure_columns() -> tuple[Column, ...]:
    """Columns for measure fields this module does not know by name (e.g. a ``policy_area`` added later)."""
    return tuple(_c(name, _field_kind(info.annotation), info.description or f"The measure's {name}.")
                 for name, info in Measure.model_fields.items() if name not in _MEASURE_FIELDS_HANDLED)


MEASURES = TableSpec(
    name="measures",
    description="One row per measure (tiltak) the author commits to.",
    columns=(*MEASURE_COLUMNS, *extra_measure_columns()),
    primary_key=("document_id", "measure_id"),
    foreign_keys=(_TO_DOCUMENT, (("focus_area",), "taxonomy", ("focus_area_id",)),
                  (("responsible_actor_id",), "actors", ("actor_id",))),
    indexes=("strength", "focus_area", "responsible_actor_id", "page"),
    facets=("document_id", "focus_area", "strength", "responsible_actor_id"),
    label_column="text",
)

AMOUNTS = TableSpec(
    name="amounts",
    description="One row per amount (beløp) of a measure.",
    columns=(
        _DOC_ID, _MEASURE_ID,
        _c("amount_no", "integer", "1, 2, …: the amount's place among the measure's amounts, in text order."),
        _c("text", "text", "The amount as written (e.g. '50 mill. kroner')."),
        _c("nok", "real", "The amount in NOK (kroner), when it could be normalised."),
        _c("approximate", "boolean", "The amount is a round figure ('titalls millioner'): nok is its floor."),
        _c("period", "text", "per_year, over_<n>_years, multi_year, in_year, from_year; empty if not stated."),
        _c("year", "integer", "The year the amount is for, when stated."),
        _c("page", "integer", _PAGE_OF),
        _c("start", "integer", "Character offset in the document's normalised text."),
        _c("end", "integer", "Character offset just after the amount (exclusive)."),
    ),
    primary_key=("document_id", "measure_id", "amount_no"),
    foreign_keys=(_TO_DOCUMENT, _TO_MEASURE),
    indexes=("year", "period"),
    facets=("period", "year", "document_id"),
)

DEADLINES = TableSpec(
    name="deadlines",
    description="One row per deadline (frist) of a measure.",
    columns=(
        _DOC_ID, _MEASURE_ID,
        _c("deadline_no", "integer", "1, 2, …: the deadline's place among the measure's deadlines, in text order."),
        _c("text", "text", "The deadline as written (e.g. 'innen 2027')."),
        _c("year", "integer", "The deadline's year."),
        _c("kind", "text", "by ('innen 2027'), during ('i løpet av 2026'), from ('fra 2026'), in ('i 2027')."),
        _c("page", "integer", _PAGE_OF),
        _c("start", "integer", "Character offset in the document's normalised text."),
        _c("end", "integer", "Character offset just after the deadline (exclusive)."),
    ),
    primary_key=("document_id", "measure_id", "deadline_no"),
    foreign_keys=(_TO_DOCUMENT, _TO_MEASURE),
    indexes=("year", "kind"),
    facets=("year", "kind", "document_id"),
)

COMMITMENTS = TableSpec(
    name="commitments",
    description="One row per measure with a commitment (forpliktelse); its amounts and deadlines are in their own "
                "tables.",
    columns=(
        _DOC_ID, _MEASURE_ID,
        _c("strength", "text", _STRENGTH),
        _c("modality", "text", "The wording that sets the strength (e.g. 'vurdere')."),
        _c("responsible", "text", "The actor responsible (ansvarlig), if stated."),
        _c("responsible_actor_id", "text", "The responsible actor's actor_id."),
        _c("n_amounts", "integer", "Number of amounts (rows in amounts)."),
        _c("amounts_nok_total", "real", "Sum in NOK of the normalised amounts, whatever their period."),
        _c("n_deadlines", "integer", "Number of deadlines (rows in deadlines)."),
        _c("first_deadline_year", "integer", "The earliest deadline year."),
    ),
    primary_key=("document_id", "measure_id"),
    foreign_keys=(_TO_DOCUMENT, _TO_MEASURE, (("responsible_actor_id",), "actors", ("actor_id",))),
    indexes=("strength", "responsible_actor_id", "first_deadline_year"),
    facets=("strength", "responsible_actor_id", "first_deadline_year", "document_id"),
)

ACTORS = TableSpec(
    name="actors",
    description="One row per canonical actor (aktør) across all documents: organisations, public bodies, persons.",
    columns=(
        _ACTOR_ID,
        _c("name", "text", "Canonical name."),
        _c("type", "text", "ministry, directorate, state_enterprise, company, interest_organisation, parliament, "
                           "government, …; person for people (the most frequent type if documents differ)."),
        _c("abbreviation", "text", "Short form, if any (e.g. NFR)."),
        _c("n_documents", "integer", "Number of documents that name the actor."),
        _c("n_measures", "integer", "Number of measures that name the actor or make it responsible."),
        _c("mentions", "integer", "Mentions across all documents."),
    ),
    primary_key=("actor_id",),
    indexes=("name", "type"),
    facets=("type",),
    label_column="name",
)

DOCUMENT_ACTORS = TableSpec(
    name="document_actors",
    description="One row per actor of a document: how often it is mentioned, and where first.",
    columns=(
        _DOC_ID, _ACTOR_ID,
        _c("name", "text", "Canonical name."),
        _c("type", "text", "The actor's type in this document (person for people)."),
        _c("source", "text", "gazetteer (a known body), pattern (a name rule) or ner (found by the NER model)."),
        _c("mentions", "integer", "How often the actor is mentioned in the document."),
        _c("first_page", "integer", "Page of the first mention; empty for sources without pages."),
    ),
    primary_key=("document_id", "actor_id"),
    foreign_keys=(_TO_DOCUMENT, (("actor_id",), "actors", ("actor_id",))),
    indexes=("actor_id", "type"),
    facets=("actor_id", "type", "source", "document_id"),
)

MEASURE_ACTORS = TableSpec(
    name="measure_actors",
    description="One row per actor of a measure: filter and count measures by actor.",
    columns=(
        _DOC_ID, _MEASURE_ID, _ACTOR_ID,
        _c("actor", "text", "Canonical name of the actor."),
        _c("named", "boolean", "The actor is named in the measure's text."),
        _c("responsible", "boolean", "The actor is the measure's responsible actor."),
    ),
    primary_key=("document_id", "measure_id", "actor_id"),
    foreign_keys=(_TO_DOCUMENT, _TO_MEASURE, (("actor_id",), "actors", ("actor_id",))),
    indexes=("actor_id",),
    facets=("actor_id", "responsible", "document_id"),
)

DATA_DICTIONARY = TableSpec(
    name="data_dictionary",
    description="What each column of each table means.",
    columns=(
        _c("table_name", "text", "The table."),
        _c("column_name", "text", "The column."),
        _c("position", "integer", "The column's place in the table (1 = first)."),
        _c("type", "text", "text, integer, real or boolean (stored as 0/1 in SQLite)."),
        _c("description", "text", "What the column holds."),
    ),
    primary_key=("table_name", "column_name"),
    facets=("table_name",),
)

TABLES: dict[str, TableSpec] = {t.name: t for t in (
    DOCUMENTS, TAXONOMY, ACTORS, MEASURES, AMOUNTS, DEADLINES, COMMITMENTS, DOCUMENT_ACTORS, MEASURE_ACTORS,
    DATA_DICTIONARY)}

# Measures with their actors, one row per (measure, actor): the measures table faceted by actor.
ACTOR_VIEW = "measures_by_actor"
_ACTOR_VIEW_SQL = f"""
CREATE VIEW "{ACTOR_VIEW}" AS
SELECT a."name" AS "actor", ma."actor_id", ma."responsible" AS "is_responsible", m."document_id", m."measure_id",
       m."strength", m."focus_area_name", m."text", m."report_url"
FROM "measure_actors" AS ma JOIN "measures" AS m USING ("document_id", "measure_id")
JOIN "actors" AS a USING ("actor_id")
"""


@dataclass(frozen=True)
class Skipped:
    """A JSON file in the output folder that is not a tiltak document."""

    name: str
    reason: str


@dataclass
class _ActorTotals:
    name: str
    types: Counter = field(default_factory=Counter)
    abbreviation: str | None = None
    documents: set[str] = field(default_factory=set)
    measures: set[tuple[str, str]] = field(default_factory=set)
    mentions: int = 0


@dataclass
class Tables:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {name: [] for name in TABLES})
    skipped: list[Skipped] = field(default_factory=list)
    run_ids: dict[str, str] = field(default_factory=dict)  # document JSON file name -> run_id
    files: list[Path] = field(default_factory=list)  # the document JSONs exported, in order
    _actors: dict[str, _ActorTotals] = field(default_factory=dict)  # actor_id -> totals
    _actor_ids: dict[str, str] = field(default_factory=dict)  # canonical name -> actor_id
    _areas: dict[str, str] = field(default_factory=dict)  # focus area id -> name, as the documents give it
    _finished: bool = False

    def counts(self) -> dict[str, int]:
        self.finish()
        return {name: len(rows) for name, rows in self.rows.items()}

    def actor_id(self, name: str) -> str:
        """The actor's stable id: its name as an ASCII slug; a name whose slug another name already has (or that
        has no ASCII letters) gets a short hash of the name appended, so the id depends on the name alone."""
        if name in self._actor_ids:
            return self._actor_ids[name]
        slug = actor_slug(name)
        taken = {v for k, v in self._actor_ids.items() if k != name}
        if not slug or slug in taken:
            slug = f"{slug or 'actor'}-{sha256(name.encode('utf-8')).hexdigest()[:8]}"
        self._actor_ids[name] = slug
        return slug

    def finish(self) -> None:
        """Build the tables that span documents (actors, taxonomy, data dictionary) once all are added."""
        if self._finished:
            return
        self._finished = True
        self.rows["actors"] = [{
            "actor_id": actor_id,
            "name": totals.name,
            "type": totals.types.most_common(1)[0][0] if totals.types else None,
            "abbreviation": totals.abbreviation,
            "n_documents": len(totals.documents),
            "n_measures": len(totals.measures),
            "mentions": totals.mentions,
        } for actor_id, totals in sorted(self._actors.items())]
        self.rows["taxonomy"] = _taxonomy_rows(self._areas, self.rows["measures"])
        self.rows["data_dictionary"] = [
            {"table_name": spec.name, "column_name": column.name, "position": position, "type": column.kind,
             "description": column.description}
            for spec in TABLES.values() for position, column in enumerate(spec.columns, start=1)]


_ASCII = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "ae", "Ø": "o", "Å": "a", "ß": "ss"})


def actor_slug(name: str) -> str:
    """``Norges forskningsråd`` → ``norges-forskningsrad``: lower case ASCII letters and digits, hyphens."""
    folded = unicodedata.normalize("NFKD", name.translate(_ASCII)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


def _taxonomy_rows(areas: dict[str, str], measures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The shipped taxonomy's areas, and any other area a document names (a custom taxonomy), with counts."""
    counts = Counter(m["focus_area"] for m in measures if m["focus_area"])
    rows: dict[str, dict[str, Any]] = {}
    try:
        from pipeline.analysis.taxonomy import load_taxonomy

        taxonomy = load_taxonomy()
        for label in taxonomy.labels:
            rows[label.id] = {"focus_area_id": label.id, "name": areas.get(label.id, label.name),
                              "covers": label.covers, "taxonomy": f"{taxonomy.name} {taxonomy.version}"}
    except TiltakError:
        pass  # a broken taxonomy file still exports the areas the documents name
    for label in sorted({*areas, *counts}):
        rows.setdefault(label, {"focus_area_id": label, "name": areas.get(label, label), "covers": None,
                                "taxonomy": None})
    return [{**row, "n_measures": counts.get(row["focus_area_id"], 0)} for row in rows.values()]


def report_anchor(document_id: str, measure_id: str) -> str:
    """The id of a measure's place in the HTML report (also used by ``pipeline.research.report``)."""
    return "m-" + re.sub(r"\s", "_", f"{document_id}-{measure_id}")


def report_url(document_id: str, measure_id: str, report: str = REPORT_FILE) -> str:
    return f"{report}#{quote(report_anchor(document_id, measure_id), safe='-_.~')}"


# ---- collecting --------------------------------------------------------------------------------------------


def document_files(outputs_dir: Path) -> list[Path]:
    """The JSON files directly in an output folder (``runs/`` and any other sub-folder are not read)."""
    return sorted(p for p in outputs_dir.glob("*.json") if p.is_file() and not p.name.startswith("."))


def _not_a_document(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "file"
    return f"not a tiltak document JSON ({where}: {first.get('msg', 'invalid')})"


def run_ids(outputs_dir: Path) -> dict[str, str]:
    """Output file name → the run whose analysis it is, from the run manifests in ``runs/`` (the latest manifest
    naming a file wins; a cached document keeps the run that analysed it). Unreadable manifests are ignored."""
    found: dict[str, tuple[str, str]] = {}
    runs = outputs_dir / "runs"
    for path in sorted(runs.glob("*.json")) if runs.is_dir() else ():
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(manifest, dict) or not isinstance(manifest.get("documents"), list):
            continue
        started = str(manifest.get("started_at") or path.name)
        for record in manifest["documents"]:
            if not isinstance(record, dict) or not record.get("output") or record.get("status") == "failed":
                continue
            run_id = record.get("analysed_in_run") or manifest.get("run_id")
            name = Path(str(record["output"])).name
            if run_id and (name not in found or found[name][0] <= started):
                found[name] = (started, str(run_id))
    return {name: run_id for name, (_, run_id) in found.items()}


def collect(outputs_dir: Path) -> Tables:
    """Every document JSON of ``outputs_dir`` as flat tables. A file that is not a tiltak document (a manifest
    copied beside the documents, notes, a broken file) is listed in ``Tables.skipped`` with the reason."""
    if not outputs_dir.is_dir():
        raise TiltakError(f"{outputs_dir}: no such folder")
    tables = Tables(run_ids=run_ids(outputs_dir))
    seen: dict[str, str] = {}
    for path in document_files(outputs_dir):
        try:
            result = DocumentResult.model_validate_json(path.read_bytes())
        except ValidationError as exc:
            tables.skipped.append(Skipped(path.name, _not_a_document(exc)))
            continue
        except OSError as exc:
            tables.skipped.append(Skipped(path.name, f"cannot read: {exc.strerror or exc}"))
            continue
        doc_id = result.document.id
        if doc_id in seen:
            tables.skipped.append(Skipped(path.name, f"document id {doc_id!r} is already taken by {seen[doc_id]}"))
            continue
        seen[doc_id] = path.name
        tables.files.append(path)
        add_document(tables, result, run_id=tables.run_ids.get(path.name))
    tables.finish()
    return tables


def _json_cell(value: Any) -> Any:
    """An extra field's value for a flat cell: scalars as they are, anything else as JSON text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "value") and isinstance(value.value, str | int | float):  # an enum
        return value.value
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return json.dumps(value, ensure_ascii=False, default=str)


def add_document(tables: Tables, result: DocumentResult, *, run_id: str | None = None) -> None:
    doc, prov = result.document, result.provenance
    doc_id = doc.id
    tables.rows["documents"].append({
        "document_id": doc_id,
        "title": doc.title,
        # Document metadata the schema may not have (older JSONs): empty cells.
        **{name: _json_cell(getattr(doc, name, None))
           for name in ("date", "identifier", "issuer", "source_url", "inbox_path")},
        "year": _year(getattr(doc, "year", None)),
        "document_type": doc.document_type,
        "language": doc.language,
        "format": doc.format,
        "page_count": doc.page_count,
        "n_measures": len(result.measures),
        "file_name": doc.file_name,
        "source_path": doc.source_path,
        "sha256": doc.sha256,
        "run_id": run_id,
        "nlp_model": f"{prov.nlp_model.name} {prov.nlp_model.version} ({prov.nlp_model.kind})",
        "classifier": f"{prov.classifier.name} {prov.classifier.version}" if prov.classifier else None,
        "tool_version": prov.tool_version,
        "created_at": prov.created_at,
    })
    for area in result.focus_areas:
        tables._areas.setdefault(area.label, area.name)

    def actor(name: str, *, kind: str | None = None, abbreviation: str | None = None) -> str:
        actor_id = tables.actor_id(name)
        totals = tables._actors.setdefault(actor_id, _ActorTotals(name))
        if kind:
            totals.types[kind] += 1
        totals.abbreviation = totals.abbreviation or abbreviation
        return actor_id

    merged: dict[str, dict[str, Any]] = {}
    for item in [*result.actors, *result.persons]:
        actor_id = actor(item.name, kind=item.type, abbreviation=item.abbreviation)
        totals = tables._actors[actor_id]
        totals.documents.add(doc_id)
        totals.mentions += len(item.mentions)
        pages = [m.page for m in item.mentions if m.page is not None]
        if actor_id in merged:  # the same canonical name listed twice: one row, mentions added up
            row = merged[actor_id]
            row["mentions"] += len(item.mentions)
            row["first_page"] = min([p for p in (row["first_page"], *pages) if p is not None], default=None)
            continue
        merged[actor_id] = {"document_id": doc_id, "actor_id": actor_id, "name": item.name, "type": item.type,
                            "source": item.source, "mentions": len(item.mentions),
                            "first_page": min(pages, default=None)}
    tables.rows["document_actors"].extend(merged.values())

    commitments = {c.measure_id: c for c in result.commitments}
    extras = [c.name for c in MEASURES.columns if c.name not in {m.name for m in MEASURE_COLUMNS}]
    for measure in result.measures:
        commitment = commitments.get(measure.id)
        amounts = [a.nok for a in commitment.amounts if a.nok is not None] if commitment else []
        years = list(dict.fromkeys(d.year for d in commitment.deadlines)) if commitment else []
        named = list(dict.fromkeys(measure.actors))
        responsible = commitment.responsible if commitment else None
        responsible_id = actor(responsible) if responsible else None
        tables.rows["measures"].append({
            "document_id": doc_id,
            "measure_id": measure.id,
            "text": measure.text,
            "page": measure.page,
            "strength": measure.strength,
            "focus_area": measure.focus_area,
            "focus_area_name": (tables._areas.get(measure.focus_area) or _taxonomy_name(measure.focus_area)
                                if measure.focus_area else None),
            "focus_area_score": measure.focus_area_score,
            "focus_area_runner_up": measure.focus_area_runner_up,
            "policy_area": measure.policy_area,
            "policy_area_label": measure.policy_area_label,
            "section": SECTION_SEPARATOR.join(measure.section) or None,
            "intro": measure.intro,
            "actors": LIST_SEPARATOR.join(named) or None,
            "responsible": responsible,
            "responsible_actor_id": responsible_id,
            "amounts_nok_total": float(sum(amounts)) if amounts else None,
            "deadline_years": LIST_SEPARATOR.join(map(str, years)) or None,
            "method": measure.method,
            "confidence": getattr(measure, "confidence", None),
            "verb": measure.verb,
            "object": measure.object,
            "start": measure.start,
            "end": measure.end,
            "report_url": report_url(doc_id, measure.id),
            **{name: _json_cell(getattr(measure, name, None)) for name in extras},
        })
        roles: dict[str, dict[str, Any]] = {}
        for name in named:
            actor_id = actor(name)
            roles[actor_id] = {"document_id": doc_id, "measure_id": measure.id, "actor_id": actor_id, "actor": name,
                               "named": True, "responsible": False}
        if responsible_id:
            roles.setdefault(responsible_id, {"document_id": doc_id, "measure_id": measure.id,
                                              "actor_id": responsible_id, "actor": responsible, "named": False,
                                              "responsible": False})["responsible"] = True
        for actor_id in roles:
            tables._actors[actor_id].measures.add((doc_id, measure.id))
        tables.rows["measure_actors"].extend(roles.values())

    for commitment in result.commitments:
        _add_commitment(tables, doc_id, commitment, tables.actor_id(commitment.responsible)
                        if commitment.responsible else None)


def _year(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _taxonomy_name(label: str) -> str:
    try:
        from pipeline.analysis.taxonomy import load_taxonomy

        return load_taxonomy().display_name(label)
    except TiltakError:
        return label


def _add_commitment(tables: Tables, doc_id: str, commitment, responsible_id: str | None) -> None:
    """The commitment's own row, and one row per amount and per deadline in their tables. Amounts and deadlines
    are numbered in text order within the measure; nothing pairs an amount with a deadline."""
    key = {"document_id": doc_id, "measure_id": commitment.measure_id}
    amounts = [a.nok for a in commitment.amounts if a.nok is not None]
    tables.rows["commitments"].append({
        **key,
        "strength": commitment.strength,
        "modality": commitment.modality,
        "responsible": commitment.responsible,
        "responsible_actor_id": responsible_id,
        "n_amounts": len(commitment.amounts),
        "amounts_nok_total": float(sum(amounts)) if amounts else None,
        "n_deadlines": len(commitment.deadlines),
        "first_deadline_year": min((d.year for d in commitment.deadlines), default=None),
    })
    tables.rows["amounts"].extend({
        **key, "amount_no": number, "text": amount.text, "nok": amount.nok, "approximate": amount.approximate,
        "period": amount.period, "year": amount.year, "page": amount.page, "start": amount.start, "end": amount.end,
    } for number, amount in enumerate(commitment.amounts, start=1))
    tables.rows["deadlines"].extend({
        **key, "deadline_no": number, "text": deadline.text, "year": deadline.year, "kind": deadline.kind,
        "page": deadline.page, "start": deadline.start, "end": deadline.end,
    } for number, deadline in enumerate(commitment.deadlines, start=1))


# ---- writing -----------------------------------------------------------------------------------------------


def write_exports(tables: Tables, out_dir: Path) -> list[Path]:
    """Write every table as JSONL, CSV and Parquet, all of them into ``tiltak.sqlite``, and Datasette's
    ``metadata.json``. Returns the paths written.

    CSV files are UTF-8 *with* a byte-order mark (``utf-8-sig``): without it Excel opens UTF-8 as the local
    code page and shows æøå as mojibake; pandas (``encoding="utf-8-sig"``) and R's readr skip the mark. Empty
    values are empty cells; booleans are ``true``/``false`` as in the JSONL. CSV has no types: read the Parquet
    files for typed columns (nullable integers stay integers).
    """
    tables.finish()
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, spec in TABLES.items():
        rows = tables.rows[name]
        written.append(atomic_write_text(out_dir / f"{name}.jsonl", _jsonl(spec, rows)))
        written.append(atomic_write_bytes(out_dir / f"{name}.csv", _csv(spec, rows)))
        written.append(atomic_write_bytes(out_dir / f"{name}.parquet", _parquet(spec, rows)))
    written.append(write_sqlite(tables, out_dir / DB_FILE))
    written.append(atomic_write_text(out_dir / METADATA_FILE,
                                     json.dumps(datasette_metadata(), ensure_ascii=False, indent=2) + "\n"))
    return written


def _jsonl(spec: TableSpec, rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps({c: row[c] for c in spec.column_names}, ensure_ascii=False) + "\n" for row in rows)


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _csv(spec: TableSpec, rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)  # excel dialect: comma separated, CRLF line ends, quotes where needed
    writer.writerow(spec.column_names)
    for row in rows:
        writer.writerow([_csv_value(row[c]) for c in spec.column_names])
    return buffer.getvalue().encode("utf-8-sig")


def _pandas_metadata(spec: TableSpec) -> bytes:
    """The metadata pandas writes into Parquet, written without pandas: it tells ``pd.read_parquet`` (and
    pyarrow's ``to_pandas``) to make integer columns ``Int64`` and booleans ``boolean``, nulls included, instead
    of floats and objects."""
    columns = []
    for column in spec.columns:
        pandas_type, numpy_type = _PANDAS_TYPES[column.kind]
        columns.append({"name": column.name, "field_name": column.name, "pandas_type": pandas_type,
                        "numpy_type": numpy_type, "metadata": None})
    return json.dumps({"index_columns": [], "column_indexes": [], "columns": columns,
                       "creator": {"library": "tiltak", "version": DATASETS_VERSION},
                       "pandas_version": "2.0.0"}).encode("utf-8")


def arrow_schema(spec: TableSpec):
    import pyarrow as pa

    types_ = {"text": pa.string(), "integer": pa.int64(), "real": pa.float64(), "boolean": pa.bool_()}
    fields = [pa.field(c.name, types_[c.kind], nullable=c.name not in spec.primary_key,
                       metadata={"description": c.description}) for c in spec.columns]
    return pa.schema(fields, metadata={b"pandas": _pandas_metadata(spec), b"tiltak_datasets_version":
                                       DATASETS_VERSION.encode("ascii"), b"description": spec.description.encode()})


def _parquet(spec: TableSpec, rows: list[dict[str, Any]]) -> bytes:
    """Typed columns from the table spec, so an empty or all-null column keeps its type across exports."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([{c: row[c] for c in spec.column_names} for row in rows], schema=arrow_schema(spec))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_table_sql(spec: TableSpec) -> str:
    lines = [f"{_quote(c.name)} {_SQLITE_TYPES[c.kind]}{' NOT NULL' if c.name in spec.primary_key else ''}"
             for c in spec.columns]
    lines.append(f"PRIMARY KEY ({', '.join(map(_quote, spec.primary_key))})")
    for columns, other, other_columns in spec.foreign_keys:
        lines.append(f"FOREIGN KEY ({', '.join(map(_quote, columns))}) "
                     f"REFERENCES {_quote(other)} ({', '.join(map(_quote, other_columns))})")
    return f"CREATE TABLE {_quote(spec.name)} (\n  " + ",\n  ".join(lines) + "\n)"


def _sqlite_value(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


FTS_COLUMNS = ("text", "section", "intro")


def write_sqlite(tables: Tables, path: Path) -> Path:
    """Build the database in a temporary file beside ``path`` and rename it over ``path``.

    ``measures_fts`` is an FTS5 index (rowid = the measures' rowid) over each measure's ``text``, ``section`` and
    ``intro`` as written, and ``stems``: the same words reduced by the Snowball Norwegian stemmer (see
    ``pipeline.research.search``). ``unicode61`` with ``remove_diacritics 0``, so å, æ and ø stay letters of their own
    ('bår' does not match 'bar'). ``MATCH 'helse*'`` finds a prefix in any column, ``MATCH 'text : helsedata'``
    a word in the measure text; ``MATCH tiltak_match('helsedataene')`` (after ``pipeline.research.search.
    register_functions``) any inflected form. ``PRAGMA user_version`` is the datasets' major version.
    """
    tables.finish()
    with atomic_path(path) as tmp:
        connection = sqlite3.connect(tmp)
        try:
            _fill_database(connection, tables)
        finally:
            connection.close()
    return path


def _fill_database(connection: sqlite3.Connection, tables: Tables) -> None:
    with connection:
        for spec in TABLES.values():
            connection.execute(create_table_sql(spec))
            columns = spec.column_names
            insert = (f"INSERT INTO {_quote(spec.name)} ({', '.join(map(_quote, columns))}) "
                      f"VALUES ({', '.join('?' for _ in columns)})")
            connection.executemany(insert, ([_sqlite_value(row[c]) for c in columns] for row in tables.rows[spec.name]))
            for column in spec.indexes:
                connection.execute(f"CREATE INDEX {_quote(f'idx_{spec.name}_{column}')} "
                                   f"ON {_quote(spec.name)} ({_quote(column)})")
        columns = ", ".join(_quote(c) for c in (*FTS_COLUMNS, STEMS_COLUMN))
        connection.execute(f"CREATE VIRTUAL TABLE {_quote(FTS_TABLE)} USING fts5({columns}, "
                           "tokenize='unicode61 remove_diacritics 0')")
        measures = connection.execute(f'SELECT rowid, {", ".join(map(_quote, FTS_COLUMNS))} FROM "measures"')
        connection.executemany(
            f"INSERT INTO {_quote(FTS_TABLE)} (rowid, {columns}) VALUES (?, ?, ?, ?, ?)",
            ((rowid, *texts, stem_text(" ".join(t for t in texts if t))) for rowid, *texts in measures.fetchall()))
        connection.execute(_ACTOR_VIEW_SQL)
        connection.execute(f"PRAGMA user_version = {int(DATASETS_VERSION.split('.')[0])}")
    connection.execute("ANALYZE")


# ---- Datasette -----------------------------------------------------------------------------------------------

SEARCH_QUERY = "search"


def datasette_metadata() -> dict[str, Any]:
    """Datasette's metadata: short table descriptions (the first screen shows rows; column meanings are in the
    ``data_dictionary`` table), facets, labels (facets and foreign keys show names), FTS search on measures, and
    a ``search`` query with Norwegian stemming (``tiltak browse`` provides its SQL function).

    The table search on measures uses FTS5 query syntax (``searchmode: raw``): ``helse*`` for a prefix, ``OR``,
    ``NOT``, ``"a phrase"``. Punctuation outside quotes is a syntax error there; add ``&_searchmode=escaped`` to a
    URL to search for the words literally.
    """
    tables: dict[str, Any] = {}
    for spec in TABLES.values():
        tables[spec.name] = {"description": spec.description, "facets": list(spec.facets)}
        if spec.label_column:
            tables[spec.name]["label_column"] = spec.label_column
    tables["measures"].update({
        "fts_table": FTS_TABLE,
        "fts_pk": "rowid",
        "searchmode": "raw",
        "description": MEASURES.description + " Search: FTS5 syntax (helse* for a prefix, \"Innovasjon Norge\"); "
                                              f"every inflected form: the {SEARCH_QUERY} query.",
    })
    tables["data_dictionary"]["description"] = DATA_DICTIONARY.description
    tables[FTS_TABLE] = {"hidden": True}
    tables[ACTOR_VIEW] = {
        "description": "Measures with their actors, one row per measure and actor: facet by actor.",
        "facets": ["actor", "is_responsible", "strength", "focus_area_name", "document_id"],
    }
    queries = {SEARCH_QUERY: {
        "title": "Søk i tiltak (alle bøyningsformer)",
        "description": "Every word must occur in the measure, its section or its intro, in any inflected form "
                       "(helsedata finds helsedataene); helse* for a prefix.",
        "sql": ("SELECT m.document_id, m.measure_id, m.text, m.section, m.strength, m.focus_area_name, "
                "m.responsible, m.page, m.report_url\n"
                f"FROM {FTS_TABLE} JOIN measures AS m ON m.rowid = {FTS_TABLE}.rowid\n"
                f"WHERE {FTS_TABLE} MATCH tiltak_match(:q)\nORDER BY bm25({FTS_TABLE}), m.document_id, m.rowid"),
    }}
    return {
        "title": "tiltak: tiltak, aktører og forpliktelser",
        "description": "Measures (tiltak), actors (aktører), amounts and deadlines extracted by tiltak from Norwegian "
                       "policy documents. Column meanings: the data_dictionary table.",
        "tiltak_datasets_version": DATASETS_VERSION,
        "databases": {DB_NAME: {"tables": tables, "queries": queries}},
    }


def make_datasette(datasets_dir: Path):
    """A Datasette instance over an export's ``tiltak.sqlite``, with the export's ``metadata.json`` when present,
    the stemming search functions, and the datasets folder served under ``/files/`` so a measure's
    ``report_url`` opens the report beside the datasets."""
    from datasette.app import Datasette

    from pipeline.research import datasette_plugin
    from pipeline.research.datasette_plugin import FILES_MOUNT

    datasette_plugin.register()
    metadata_path = datasets_dir / METADATA_FILE
    metadata = json.loads(metadata_path.read_text(encoding="utf-8")) if metadata_path.is_file() else None
    if metadata is not None:
        metadata.pop("tiltak_datasets_version", None)
    # Facets and counts over a large corpus take longer than Datasette's defaults allow on a laptop.
    settings = {"facet_time_limit_ms": 1000, "sql_time_limit_ms": 3000}
    return Datasette(files=[str(datasets_dir / DB_FILE)], metadata=metadata, settings=settings,
                     static_mounts=[(FILES_MOUNT, str(datasets_dir))])
