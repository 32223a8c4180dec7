"""Datasets across a whole output folder: measures, actors and commitments as JSONL, CSV, Parquet and SQLite.

``collect`` reads every document JSON of an output folder (``<stem>.json``; ``runs/`` holds run manifests and is
not read) into flat tables, one row per item, with columns a researcher can open in Excel, pandas or R.
``write_exports`` writes each table as ``<table>.jsonl``, ``<table>.csv`` and ``<table>.parquet``, all tables
into one SQLite database ``tiltak.sqlite`` with full-text search on the measures, and a ``metadata.json`` that
tells Datasette (``tiltak browse``) the facets, the search table and what each column means.

Tables
    documents       one row per document (id = the output file's stem).
    measures        one row per measure; key (document_id, measure_id). Lists are joined into one text cell:
                    ``section`` with " > ", ``actors`` with "; ". ``responsible``, ``amounts_nok_total`` and
                    ``deadline_years`` come from the measure's commitment.
    measure_actors  one row per actor named in a measure, so measures can be counted and filtered by actor.
    actors          one row per actor of a document, persons included (type ``person``).
    commitments     one row per amount or deadline of a measure's commitment (see ``_commitment_rows``).

Every file is written atomically (a temporary file in the target folder, renamed over the target), so a reader
never sees half a dataset file; the SQLite database is built in a temporary file and renamed the same way.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from pipeline.errors import TiltakError
from pipeline.io import atomic_path, atomic_write_bytes, atomic_write_text
from pipeline.schema import DocumentResult

DB_NAME = "tiltak"
DB_FILE = f"{DB_NAME}.sqlite"
METADATA_FILE = "metadata.json"
FTS_TABLE = "measures_fts"
SECTION_SEPARATOR = " > "
LIST_SEPARATOR = "; "

Kind = Literal["text", "integer", "real", "boolean"]
_SQLITE_TYPES = {"text": "TEXT", "integer": "INTEGER", "real": "REAL", "boolean": "INTEGER"}


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

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, kind: Kind, description: str) -> Column:
    return Column(name, kind, description)


_DOC_ID = _c("document_id", "text", "The document (its output file's stem; see the documents table).")
_MEASURE_ID = _c("measure_id", "text", "The measure's id within its document (m1, m2, …).")
_STRENGTH = ("How binding the measure is (styrke): binding (vil/skal gjøre), intention (vil styrke/arbeide for), "
             "exploratory (vurdere/utrede).")

DOCUMENTS = TableSpec(
    name="documents",
    description="One row per analysed document (dokument).",
    columns=(
        _c("id", "text", "Stable document id: the output file's stem."),
        _c("title", "text", "Title (tittel) as found in the document."),
        _c("file_name", "text", "Name of the source file."),
        _c("sha256", "text", "SHA-256 of the source file's bytes."),
        _c("document_type", "text", "Dokumenttype: melding_til_stortinget, proposisjon, nou, strategi, "
                                    "handlingsplan, veikart, nyhet, … or ukjent."),
        _c("language", "text", "Målform: nb (bokmål), nn (nynorsk), other or unknown."),
        _c("format", "text", "Source format: pdf, html, docx or text."),
        _c("page_count", "integer", "Number of pages; empty for sources without pages."),
        _c("n_measures", "integer", "Number of measures (tiltak) found."),
        _c("nlp_model", "text", "spaCy pipeline used: name version (kind)."),
        _c("classifier", "text", "Focus-area classifier used: name version; empty if none."),
        _c("tool_version", "text", "tiltak version that wrote the analysis."),
        _c("created_at", "text", "When the analysis was made (UTC, ISO 8601)."),
    ),
    primary_key=("id",),
    indexes=("document_type", "language"),
    facets=("document_type", "language", "format"),
)

MEASURES = TableSpec(
    name="measures",
    description="One row per measure (tiltak) the author commits to.",
    columns=(
        _DOC_ID,
        _MEASURE_ID,
        _c("text", "text", "The measure's wording (searchable)."),
        _c("start", "integer", "Character offset of the measure in the document's normalised text."),
        _c("end", "integer", "Character offset just after the measure (exclusive)."),
        _c("page", "integer", "Page (side) of the measure's first character; empty for sources without pages."),
        _c("strength", "text", _STRENGTH),
        _c("focus_area", "text", "Focus area (innsatsområde) from the taxonomy; empty if not classified."),
        _c("focus_area_score", "real", "Classifier score of the focus area (0–1)."),
        _c("focus_area_runner_up", "text", "Second most likely focus area."),
        _c("policy_area", "integer", "Policy area: CAP major topic code (1–23); empty if not classified."),
        _c("section", "text", f"Heading path above the measure (kapittel), outermost first, joined with "
                              f"'{SECTION_SEPARATOR}'."),
        _c("intro", "text", "The line that introduces the measure's list (e.g. '… vil regjeringen:')."),
        _c("method", "text", "Which extraction rule found the measure."),
        _c("verb", "text", "The action verb (or deciding wording)."),
        _c("object", "text", "What the action applies to."),
        _c("actors", "text", f"Actors (aktører) named in the measure, joined with '{LIST_SEPARATOR}'; "
                             "see measure_actors for one row each."),
        _c("responsible", "text", "The actor responsible (ansvarlig), if stated."),
        _c("amounts_nok_total", "real", "Sum in NOK (kroner) of the measure's normalised amounts, whatever their "
                                        "period; see commitments for each amount and its period."),
        _c("deadline_years", "text", f"Years of the measure's deadlines (frister), joined with '{LIST_SEPARATOR}'."),
    ),
    primary_key=("document_id", "measure_id"),
    foreign_keys=((("document_id",), "documents", ("id",)),),
    indexes=("strength", "focus_area", "responsible"),
    facets=("document_id", "focus_area", "strength"),
)

MEASURE_ACTORS = TableSpec(
    name="measure_actors",
    description="One row per actor named in a measure: filter and count measures by actor.",
    columns=(_DOC_ID, _MEASURE_ID, _c("actor", "text", "Canonical name of an actor named in the measure.")),
    primary_key=("document_id", "measure_id", "actor"),
    foreign_keys=((("document_id",), "documents", ("id",)),
                  (("document_id", "measure_id"), "measures", ("document_id", "measure_id"))),
    indexes=("actor",),
    facets=("actor", "document_id"),
)

ACTORS = TableSpec(
    name="actors",
    description="One row per actor (aktør) of a document: organisations, public bodies and persons.",
    columns=(
        _DOC_ID,
        _c("name", "text", "Canonical name."),
        _c("type", "text", "ministry, directorate, state_enterprise, company, interest_organisation, parliament, "
                           "government, …; person for people."),
        _c("source", "text", "gazetteer (a known body), pattern (a name rule) or ner (found by the NER model)."),
        _c("abbreviation", "text", "Short form, if any (e.g. NFR)."),
        _c("mentions", "integer", "How often the actor is mentioned in the document."),
        _c("first_page", "integer", "Page of the first mention; empty for sources without pages."),
    ),
    primary_key=("document_id", "type", "name"),
    foreign_keys=((("document_id",), "documents", ("id",)),),
    indexes=("name", "type"),
    facets=("type", "source", "document_id"),
)

COMMITMENTS = TableSpec(
    name="commitments",
    description="One row per amount or deadline of a measure's commitment (forpliktelse); one row if it has "
                "neither. The amount and deadline on one row are the n-th of each, not a claim they belong together.",
    columns=(
        _DOC_ID,
        _MEASURE_ID,
        _c("item", "integer", "1, 2, …: the row's number within the measure's commitment."),
        _c("strength", "text", _STRENGTH),
        _c("modality", "text", "The wording that sets the strength (e.g. 'vurdere')."),
        _c("responsible", "text", "The actor responsible (ansvarlig), if stated."),
        _c("amount_text", "text", "An amount as written (beløp, e.g. '50 mill. kroner')."),
        _c("amount_nok", "real", "The amount in NOK (kroner), when it could be normalised."),
        _c("amount_approximate", "boolean", "The amount is a round figure ('titalls millioner'): amount_nok is its "
                                            "floor."),
        _c("amount_period", "text", "per_year, over_<n>_years, multi_year, in_year, from_year; empty if not stated."),
        _c("amount_year", "integer", "The year the amount is for, when stated."),
        _c("deadline_text", "text", "A deadline as written (frist, e.g. 'innen 2027')."),
        _c("deadline_year", "integer", "The deadline's year."),
        _c("deadline_kind", "text", "by ('innen 2027'), during ('i løpet av 2026'), from ('fra 2026'), in ('i 2027')."),
    ),
    primary_key=("document_id", "measure_id", "item"),
    foreign_keys=((("document_id",), "documents", ("id",)),
                  (("document_id", "measure_id"), "measures", ("document_id", "measure_id"))),
    indexes=("strength", "responsible", "deadline_year"),
    facets=("strength", "responsible", "deadline_year", "document_id"),
)

TABLES: dict[str, TableSpec] = {t.name: t for t in (DOCUMENTS, MEASURES, MEASURE_ACTORS, ACTORS, COMMITMENTS)}

# Measures with their actors, one row per (measure, actor): the measures table faceted by actor.
ACTOR_VIEW = "measures_by_actor"
_ACTOR_VIEW_SQL = f"""
CREATE VIEW "{ACTOR_VIEW}" AS
SELECT ma."actor", m."document_id", m."measure_id", m."strength", m."focus_area", m."responsible", m."text"
FROM "measure_actors" AS ma JOIN "measures" AS m USING ("document_id", "measure_id")
"""


@dataclass(frozen=True)
class Skipped:
    """A JSON file in the output folder that is not a tiltak document."""

    name: str
    reason: str


@dataclass
class Tables:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {name: [] for name in TABLES})
    skipped: list[Skipped] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.rows.items()}


# ---- collecting --------------------------------------------------------------------------------------------


def document_files(outputs_dir: Path) -> list[Path]:
    """The JSON files directly in an output folder (``runs/`` and any other sub-folder are not read)."""
    return sorted(p for p in outputs_dir.glob("*.json") if p.is_file() and not p.name.startswith("."))


def _not_a_document(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "file"
    return f"not a tiltak document JSON ({where}: {first.get('msg', 'invalid')})"


def collect(outputs_dir: Path) -> Tables:
    """Every document JSON of ``outputs_dir`` as flat tables. A file that is not a tiltak document (a manifest
    copied beside the documents, notes, a broken file) is listed in ``Tables.skipped`` with the reason."""
    if not outputs_dir.is_dir():
        raise TiltakError(f"{outputs_dir}: no such folder")
    tables = Tables()
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
        add_document(tables, result)
    return tables


def add_document(tables: Tables, result: DocumentResult) -> None:
    doc, prov = result.document, result.provenance
    doc_id = doc.id
    tables.rows["documents"].append({
        "id": doc_id,
        "title": doc.title,
        "file_name": doc.file_name,
        "sha256": doc.sha256,
        "document_type": doc.document_type,
        "language": doc.language,
        "format": doc.format,
        "page_count": doc.page_count,
        "n_measures": len(result.measures),
        "nlp_model": f"{prov.nlp_model.name} {prov.nlp_model.version} ({prov.nlp_model.kind})",
        "classifier": f"{prov.classifier.name} {prov.classifier.version}" if prov.classifier else None,
        "tool_version": prov.tool_version,
        "created_at": prov.created_at,
    })

    commitments = {c.measure_id: c for c in result.commitments}
    for measure in result.measures:
        commitment = commitments.get(measure.id)
        amounts = [a.nok for a in commitment.amounts if a.nok is not None] if commitment else []
        years = list(dict.fromkeys(d.year for d in commitment.deadlines)) if commitment else []
        actors = list(dict.fromkeys(measure.actors))
        tables.rows["measures"].append({
            "document_id": doc_id,
            "measure_id": measure.id,
            "text": measure.text,
            "start": measure.start,
            "end": measure.end,
            "page": measure.page,
            "strength": measure.strength,
            "focus_area": measure.focus_area,
            "focus_area_score": measure.focus_area_score,
            "focus_area_runner_up": measure.focus_area_runner_up,
            "policy_area": measure.policy_area,
            "section": SECTION_SEPARATOR.join(measure.section) or None,
            "intro": measure.intro,
            "method": measure.method,
            "verb": measure.verb,
            "object": measure.object,
            "actors": LIST_SEPARATOR.join(actors) or None,
            "responsible": commitment.responsible if commitment else None,
            "amounts_nok_total": float(sum(amounts)) if amounts else None,
            "deadline_years": LIST_SEPARATOR.join(map(str, years)) or None,
        })
        tables.rows["measure_actors"].extend(
            {"document_id": doc_id, "measure_id": measure.id, "actor": actor} for actor in actors)

    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for actor in [*result.actors, *result.persons]:
        pages = [m.page for m in actor.mentions if m.page is not None]
        key = (actor.type, actor.name)
        if key in merged:  # the same canonical name listed twice: one row, mentions added up
            row = merged[key]
            row["mentions"] += len(actor.mentions)
            row["first_page"] = min([p for p in (row["first_page"], *pages) if p is not None], default=None)
            continue
        merged[key] = {
            "document_id": doc_id,
            "name": actor.name,
            "type": actor.type,
            "source": actor.source,
            "abbreviation": actor.abbreviation,
            "mentions": len(actor.mentions),
            "first_page": min(pages, default=None),
        }
    tables.rows["actors"].extend(merged.values())

    for commitment in result.commitments:
        tables.rows["commitments"].extend(_commitment_rows(doc_id, commitment))


def _commitment_rows(doc_id: str, commitment) -> list[dict[str, Any]]:
    """One row per amount or deadline, or one row when the commitment has neither.

    Row n carries the commitment's n-th amount and n-th deadline (in text order), so a commitment with one amount
    and one deadline, the common case, is one row, and a commitment with neither is still counted. Every amount
    and every deadline appears on exactly one row: summing ``amount_nok`` or counting ``deadline_year`` never
    counts anything twice (a cross product of amounts and deadlines would). The price: when a commitment has
    several of each, an amount and a deadline sharing a row are not thereby known to belong together. Columns of
    the commitment itself (strength, modality, responsible) repeat on each of its rows; count commitments as
    distinct (document_id, measure_id).
    """
    amounts, deadlines = commitment.amounts, commitment.deadlines
    rows = []
    for index in range(max(len(amounts), len(deadlines), 1)):
        amount = amounts[index] if index < len(amounts) else None
        deadline = deadlines[index] if index < len(deadlines) else None
        rows.append({
            "document_id": doc_id,
            "measure_id": commitment.measure_id,
            "item": index + 1,
            "strength": commitment.strength,
            "modality": commitment.modality,
            "responsible": commitment.responsible,
            "amount_text": amount.text if amount else None,
            "amount_nok": amount.nok if amount else None,
            "amount_approximate": amount.approximate if amount else None,
            "amount_period": amount.period if amount else None,
            "amount_year": amount.year if amount else None,
            "deadline_text": deadline.text if deadline else None,
            "deadline_year": deadline.year if deadline else None,
            "deadline_kind": deadline.kind if deadline else None,
        })
    return rows


# ---- writing -----------------------------------------------------------------------------------------------


def write_exports(tables: Tables, out_dir: Path) -> list[Path]:
    """Write every table as JSONL, CSV and Parquet, all of them into ``tiltak.sqlite``, and Datasette's
    ``metadata.json``. Returns the paths written.

    CSV files are UTF-8 *with* a byte-order mark (``utf-8-sig``): without it Excel opens UTF-8 as the local
    code page and shows æøå as mojibake; pandas (``encoding="utf-8-sig"``) and R's readr skip the mark. Empty
    values are empty cells; booleans are ``true``/``false`` as in the JSONL.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, spec in TABLES.items():
        rows = tables.rows[name]
        written.append(atomic_write_text(out_dir / f"{name}.jsonl", _jsonl(rows)))
        written.append(atomic_write_bytes(out_dir / f"{name}.csv", _csv(spec, rows)))
        written.append(atomic_write_bytes(out_dir / f"{name}.parquet", _parquet(spec, rows)))
    written.append(write_sqlite(tables, out_dir / DB_FILE))
    written.append(atomic_write_text(out_dir / METADATA_FILE,
                                     json.dumps(datasette_metadata(), ensure_ascii=False, indent=2) + "\n"))
    return written


def _jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


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


def arrow_schema(spec: TableSpec):
    import pyarrow as pa

    types = {"text": pa.string(), "integer": pa.int64(), "real": pa.float64(), "boolean": pa.bool_()}
    return pa.schema([pa.field(c.name, types[c.kind], nullable=c.name not in spec.primary_key,
                               metadata={"description": c.description}) for c in spec.columns])


def _parquet(spec: TableSpec, rows: list[dict[str, Any]]) -> bytes:
    """Typed columns from the table spec, so an empty or all-null column keeps its type across exports."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows, schema=arrow_schema(spec))
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


def write_sqlite(tables: Tables, path: Path) -> Path:
    """Build the database in a temporary file beside ``path`` and rename it over ``path``.

    ``measures_fts`` is an FTS5 index over ``measures.text`` (an external-content table keyed by the measures'
    rowid): ``unicode61`` with ``remove_diacritics 0``, so å, æ and ø stay letters of their own ('bår' does not
    match 'bar'); ``MATCH 'helsedata'`` finds a word, ``MATCH 'helse*'`` a prefix. The database is written once
    per export and meant to be read; if you VACUUM it, run
    ``INSERT INTO measures_fts(measures_fts) VALUES('rebuild')`` afterwards.
    """
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
        connection.execute(
            f'CREATE VIRTUAL TABLE {_quote(FTS_TABLE)} USING fts5("text", content="measures", '
            "tokenize='unicode61 remove_diacritics 0')"
        )
        connection.execute(f"INSERT INTO {_quote(FTS_TABLE)}({_quote(FTS_TABLE)}) VALUES ('rebuild')")
        connection.execute(_ACTOR_VIEW_SQL)
    connection.execute("ANALYZE")


# ---- Datasette -----------------------------------------------------------------------------------------------


def datasette_metadata() -> dict[str, Any]:
    """Datasette's metadata: facets per table, FTS search on measures, column descriptions.

    Search on measures uses FTS5 query syntax (``searchmode: raw``): ``helse*`` for a prefix, ``OR``, ``NOT``,
    ``"a phrase"``. Punctuation outside quotes is a syntax error there; add ``&_searchmode=escaped`` to a URL to
    search for the words literally.
    """
    tables: dict[str, Any] = {}
    for spec in TABLES.values():
        tables[spec.name] = {
            "description": spec.description,
            "facets": list(spec.facets),
            "columns": {c.name: c.description for c in spec.columns},
        }
    tables["documents"]["label_column"] = "title"
    tables["measures"].update({
        "fts_table": FTS_TABLE,
        "fts_pk": "rowid",
        "searchmode": "raw",
        "description": MEASURES.description + " Search: FTS5 syntax, e.g. helse* for a prefix, "
                                              "helsedata OR eksport, \"Innovasjon Norge\".",
    })
    tables[ACTOR_VIEW] = {
        "description": "Measures with their actors, one row per measure and actor: facet by actor.",
        "facets": ["actor", "strength", "focus_area", "document_id"],
        "columns": {"actor": "Canonical name of an actor named in the measure.",
                    **{c.name: c.description for c in MEASURES.columns
                       if c.name in ("document_id", "measure_id", "strength", "focus_area", "responsible", "text")}},
    }
    return {
        "title": "tiltak: tiltak, aktører og forpliktelser",
        "description": "Measures (tiltak), actors (aktører) and commitments (forpliktelser) extracted by tiltak from "
                       "Norwegian policy documents. Facet by document, focus area (innsatsområde), strength and actor.",
        "databases": {DB_NAME: {"tables": tables}},
    }


def make_datasette(datasets_dir: Path):
    """A Datasette instance over an export's ``tiltak.sqlite``, with the export's ``metadata.json`` when present."""
    from datasette.app import Datasette

    metadata_path = datasets_dir / METADATA_FILE
    metadata = json.loads(metadata_path.read_text(encoding="utf-8")) if metadata_path.is_file() else None
    # Facets and counts over a large corpus take longer than Datasette's defaults allow on a laptop.
    settings = {"facet_time_limit_ms": 1000, "sql_time_limit_ms": 3000}
    return Datasette(files=[str(datasets_dir / DB_FILE)], metadata=metadata, settings=settings)
