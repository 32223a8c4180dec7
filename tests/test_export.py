"""Datasets across an output folder (``tiltak export``) and Datasette on them (``tiltak browse``).

The outputs are real: three small Norwegian policy documents written for these tests (two text files and a
two-page PDF in nynorsk) run through ``analyse_document`` with the blank NLP pipeline and written with
``write_document``, as ``tiltak run`` does.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pyarrow.parquet as pq
import pytest
import typer
from builders import write_pdf
from typer.testing import CliRunner

from pipeline.analysis.process import analyse_document
from pipeline.cli.export import register
from pipeline.config import PipelineConfig
from pipeline.research.export import (
    DATASETS_VERSION,
    DB_FILE,
    FTS_TABLE,
    METADATA_FILE,
    REPORT_FILE,
    TABLES,
    collect,
    make_datasette,
    write_exports,
)
from pipeline.store.manifest import DocumentRecord, RunManifest
from pipeline.store.outputs import write_document

TILTAK = Path(sys.executable).parent / "tiltak"

HELSEDATA = """Nasjonal strategi for helsedata og næringsutvikling

1 Deling av helsedata

Helsedata er en viktig ressurs for forskning og næringsliv i Norge. For å gjøre helsedata lettere \
tilgjengelig vil regjeringen:

- etablere en nasjonal tjeneste for søknad om tilgang til helsedata innen 2027
- gi Helsedirektoratet i oppdrag å utrede en felles løsning for dataforvaltning
- bevilge 50 mill. kroner over tre år til Innovasjon Norge for å støtte helsenæringen
- vurdere å endre helseregisterloven slik at forskere får raskere svar

2 Eksport og internasjonalisering

Norske bedrifter skal få bedre hjelp til å nå ut i verden. Regjeringen vil:

- styrke samarbeidet mellom Innovasjon Norge og Forskningsrådet om eksportsatsinger
- utvide ordningen med næringsklynger for små og mellomstore bedrifter i løpet av 2026
"""

GRONN = """Handlingsplan for grønn industri i nord

Grønn omstilling

Industrien i Nord-Norge står foran store endringer. For å styrke konkurransekraften vil regjeringen:

- etablere et senter for batteriteknologi i Mo i Rana med 120 mill. kroner årlig fra 2026
- gi Enova i oppdrag å lage et nytt program for grønne industriprosjekter innen 2028
- bevilge 20 mill. kroner i 2026 og 40 mill. kroner i 2027 til Siva for nye næringsparker
"""

EKSPORT_PAGES = [
    ["# Strategi for eksport av helseteknologi", "",
     "Næringsminister Cecilie Myrseth la fram strategien i 2025.", "",
     "Norsk helsenæring skal vekse gjennom auka eksport."],
    ["# Tiltak", "", "For å auke eksporten vil regjeringa:", "",
     "- gi Innovasjon Norge i oppdrag å opprette eit eksportprogram innan 2027",
     "- løyve 30 mill. kroner årleg til Forskingsrådet",
     "- vurdere ei ny ordning for helsedata i kommunane"],
]


RUN_ID = "20260101T000000Z-abcdef12"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    """An output folder as ``tiltak run`` leaves it: one JSON per document and a manifest under runs/ naming
    two of them (the third was written by a run whose manifest is gone)."""
    sources = tmp_path_factory.mktemp("sources")
    out = tmp_path_factory.mktemp("outputs")
    (sources / "helsedata-strategi.txt").write_text(HELSEDATA, encoding="utf-8")
    (sources / "grønn-industri.txt").write_text(GRONN, encoding="utf-8")
    write_pdf(sources / "eksport-nynorsk.pdf", EKSPORT_PAGES, title="Strategi for eksport av helseteknologi")
    config = PipelineConfig(nlp="blank")
    for path in sorted(sources.iterdir()):
        result = analyse_document(path, config)
        write_document(result.model_dump(mode="json"), out, stem=path.stem, source=path)
    manifest = RunManifest(
        run_id=RUN_ID, tool_version="test", schema_version="1", started_at="2026-01-01T00:00:00.000+00:00",
        out_dir=str(out), config_hash="x", settings={},
        documents=[DocumentRecord(source=str(sources / f"{stem}.txt"), status="processed", output=f"{stem}.json",
                                  analysed_in_run=RUN_ID) for stem in ("helsedata-strategi", "grønn-industri")])
    (out / "runs").mkdir()
    (out / "runs" / f"{RUN_ID}.json").write_text(manifest.model_dump_json(), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def documents(outputs: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(outputs.glob("*.json"))]


@pytest.fixture(scope="module")
def datasets(outputs: Path) -> Path:
    tables = collect(outputs)
    assert tables.skipped == []
    out = outputs / "datasets"
    write_exports(tables, out)
    return out


def jsonl_rows(datasets: Path, table: str) -> list[dict]:
    return [json.loads(line) for line in (datasets / f"{table}.jsonl").read_text(encoding="utf-8").splitlines()]


def measure_row(datasets: Path, document_id: str, text_part: str) -> dict:
    found = [r for r in jsonl_rows(datasets, "measures") if r["document_id"] == document_id and text_part in r["text"]]
    assert len(found) == 1, found
    return found[0]


def has_word_starting(text: str, prefix: str) -> bool:
    return any(word.lower().startswith(prefix) for word in re.findall(r"\w+", text))


def cli_app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


# ---- the tables -----------------------------------------------------------------------------------------------


def test_row_counts_equal_the_items_in_the_documents(datasets: Path, documents: list[dict]):
    commitments = [c for d in documents for c in d["commitments"]]
    names = {a["name"] for d in documents for a in [*d["actors"], *d["persons"]]}
    names |= {c["responsible"] for c in commitments if c["responsible"]}
    expected = {
        "documents": len(documents),
        "measures": sum(len(d["measures"]) for d in documents),
        "amounts": sum(len(c["amounts"]) for c in commitments),
        "deadlines": sum(len(c["deadlines"]) for c in commitments),
        "commitments": len(commitments),
        "document_actors": sum(len({a["name"] for a in [*d["actors"], *d["persons"]]}) for d in documents),
        "actors": len(names),
        "measure_actors": sum(len(set(m["actors"]) | ({c["responsible"]} if c["responsible"] else set()))
                              for d in documents for m in d["measures"]
                              for c in [next((c for c in d["commitments"] if c["measure_id"] == m["id"]),
                                             {"responsible": None})]),
    }
    assert expected["documents"] == 3 and expected["measures"] == 12 and expected["measure_actors"] >= 6
    assert expected["amounts"] == 5 and expected["deadlines"] >= 4
    for name, count in expected.items():
        assert len(jsonl_rows(datasets, name)) == count, name
    with sqlite3.connect(datasets / DB_FILE) as db:
        for name in TABLES:
            assert db.execute(f'select count(*) from "{name}"').fetchone()[0] == len(jsonl_rows(datasets, name))
        assert db.execute("pragma foreign_key_check").fetchall() == []
        assert db.execute("pragma user_version").fetchone()[0] == int(DATASETS_VERSION.split(".")[0])
    for row in jsonl_rows(datasets, "documents"):
        source = next(d for d in documents if d["document"]["id"] == row["document_id"])
        assert row["n_measures"] == len(source["measures"])


def test_every_table_keys_documents_by_document_id(datasets: Path):
    for name, spec in TABLES.items():
        if name not in {"taxonomy", "actors", "data_dictionary"}:
            assert "document_id" in spec.column_names, name
        assert "id" not in spec.column_names, name
    assert TABLES["documents"].primary_key == ("document_id",)
    dictionary = {(r["table_name"], r["column_name"]): r for r in jsonl_rows(datasets, "data_dictionary")}
    assert len(dictionary) == sum(len(spec.columns) for spec in TABLES.values())
    assert dictionary[("measures", "page")]["type"] == "integer" and dictionary[("measures", "page")]["description"]


def test_measure_rows_are_flat_with_their_commitment(datasets: Path):
    money = measure_row(datasets, "helsedata-strategi", "50 mill. kroner")
    assert money["actors"] == "Innovasjon Norge"
    assert money["amounts_nok_total"] == 50_000_000.0
    assert money["section"] == "Nasjonal strategi for helsedata og næringsutvikling > 1 Deling av helsedata"
    assert money["intro"].endswith("vil regjeringen:")
    assert money["strength"] == "binding" and money["focus_area"]
    assert money["page"] is None
    assert money["method"] and money["confidence"] is None  # found by the rules: no detector probability
    assert money["report_url"] == f"report.html#m-helsedata-strategi-{money['measure_id']}"

    two_actors = measure_row(datasets, "helsedata-strategi", "styrke samarbeidet")
    assert two_actors["actors"] == "Innovasjon Norge; Norges forskningsråd"
    assert measure_row(datasets, "helsedata-strategi", "nasjonal tjeneste")["deadline_years"] == "2027"
    assert measure_row(datasets, "grønn-industri", "Siva")["amounts_nok_total"] == 60_000_000.0
    siva_url = measure_row(datasets, "grønn-industri", "Siva")["report_url"]
    assert siva_url.startswith("report.html#m-gr%C3%B8nn-industri-")

    nynorsk = measure_row(datasets, "eksport-nynorsk", "eksportprogram")
    assert nynorsk["page"] == 2 and nynorsk["responsible"] == "Innovasjon Norge"
    assert nynorsk["responsible_actor_id"] == "innovasjon-norge"

    by_measure = {(r["document_id"], r["measure_id"], r["actor_id"]): r for r in jsonl_rows(datasets, "measure_actors")}
    row = by_measure[("helsedata-strategi", two_actors["measure_id"], "norges-forskningsrad")]
    assert row["actor"] == "Norges forskningsråd" and row["named"] is True


def test_taxonomy_names_the_focus_areas(datasets: Path):
    from pipeline.analysis.taxonomy import load_taxonomy

    taxonomy = {r["focus_area_id"]: r for r in jsonl_rows(datasets, "taxonomy")}
    shipped = load_taxonomy()
    assert set(shipped.ids) <= set(taxonomy)
    # A measure whose policy area lies outside the taxonomy's scope has no focus area (and no name).
    measures = [m for m in jsonl_rows(datasets, "measures") if m["focus_area"] is not None]
    assert measures
    for measure in measures:
        assert taxonomy[measure["focus_area"]]["name"] == measure["focus_area_name"] != measure["focus_area"]
    counts = Counter(m["focus_area"] for m in measures)
    assert {k: v["n_measures"] for k, v in taxonomy.items() if v["n_measures"]} == counts


def test_actors_have_stable_ids_across_documents(datasets: Path, outputs: Path, tmp_path: Path):
    actors = {r["actor_id"]: r for r in jsonl_rows(datasets, "actors")}
    innovasjon = actors["innovasjon-norge"]
    assert innovasjon["name"] == "Innovasjon Norge" and innovasjon["type"] == "state_enterprise"
    assert innovasjon["n_documents"] == 2  # the health strategy and the nynorsk PDF
    measures = jsonl_rows(datasets, "measures")
    assert innovasjon["n_measures"] == sum(
        "Innovasjon Norge" in (m["actors"] or "").split("; ") or m["responsible"] == "Innovasjon Norge"
        for m in measures)
    assert actors["norges-forskningsrad"]["name"] == "Norges forskningsråd"
    assert actors["cecilie-myrseth"]["type"] == "person"

    per_document = {(r["document_id"], r["actor_id"]): r for r in jsonl_rows(datasets, "document_actors")}
    assert per_document[("helsedata-strategi", "innovasjon-norge")]["mentions"] == 2
    assert per_document[("eksport-nynorsk", "cecilie-myrseth")]["first_page"] == 1
    assert per_document[("eksport-nynorsk", "innovasjon-norge")]["first_page"] == 2
    assert innovasjon["mentions"] == sum(r["mentions"] for (_, a), r in per_document.items() if a == "innovasjon-norge")

    # The same actor gets the same id in an export of one document alone.
    alone = tmp_path / "alene"
    alone.mkdir()
    shutil.copy(outputs / "eksport-nynorsk.json", alone)
    only = collect(alone)
    assert {r["name"]: r["actor_id"] for r in only.rows["actors"]}["Innovasjon Norge"] == "innovasjon-norge"


def test_actor_ids_of_names_that_fold_alike_differ():
    from pipeline.research.export import Tables, actor_slug

    assert actor_slug("Norges forskningsråd") == "norges-forskningsrad"
    assert actor_slug("Kunnskapsdepartementet (KD)") == "kunnskapsdepartementet-kd"
    tables = Tables()
    first, second = tables.actor_id("Forskningsrådet"), tables.actor_id("Forskningsradet")
    assert first == "forskningsradet" and second.startswith("forskningsradet-") and second != first
    assert tables.actor_id("Forskningsradet") == second  # the same name, the same id
    assert tables.actor_id("日本").startswith("actor-")


def test_amounts_and_deadlines_are_tables_of_their_own(datasets: Path, documents: list[dict]):
    amounts, deadlines = jsonl_rows(datasets, "amounts"), jsonl_rows(datasets, "deadlines")
    siva = measure_row(datasets, "grønn-industri", "Siva")["measure_id"]
    two_amounts = [r for r in amounts if r["document_id"] == "grønn-industri" and r["measure_id"] == siva]
    assert [(r["amount_no"], r["nok"], r["year"]) for r in two_amounts] == [
        (1, 20_000_000.0, 2026), (2, 40_000_000.0, 2027)]

    battery = measure_row(datasets, "grønn-industri", "batteriteknologi")["measure_id"]
    [amount] = [r for r in amounts if r["document_id"] == "grønn-industri" and r["measure_id"] == battery]
    [deadline] = [r for r in deadlines if r["document_id"] == "grønn-industri" and r["measure_id"] == battery]
    assert (amount["text"], amount["period"]) == ("120 mill. kroner årlig", "per_year")
    assert (deadline["text"], deadline["kind"], deadline["year"], deadline["deadline_no"]) == ("fra 2026", "from",
                                                                                               2026, 1)
    assert "deadline_text" not in amount and "amount_nok" not in deadline  # no amount beside a deadline
    [money] = [r for r in amounts if r["document_id"] == "eksport-nynorsk"]
    assert money["page"] == 2

    commitments = {(r["document_id"], r["measure_id"]): r for r in jsonl_rows(datasets, "commitments")}
    assert commitments[("grønn-industri", siva)]["n_amounts"] == 2
    assert commitments[("grønn-industri", siva)]["amounts_nok_total"] == 60_000_000.0
    assert commitments[("grønn-industri", battery)]["first_deadline_year"] == 2026

    # nothing counted twice, nothing lost
    every_amount = [a["nok"] for d in documents for c in d["commitments"] for a in c["amounts"]]
    assert sorted(r["nok"] for r in amounts) == sorted(every_amount)
    every_year = [x["year"] for d in documents for c in d["commitments"] for x in c["deadlines"]]
    assert sorted(r["year"] for r in deadlines) == sorted(every_year)


def test_run_id_comes_from_the_run_manifest(datasets: Path):
    runs = {r["document_id"]: r["run_id"] for r in jsonl_rows(datasets, "documents")}
    assert runs == {"helsedata-strategi": RUN_ID, "grønn-industri": RUN_ID, "eksport-nynorsk": None}


def test_extra_measure_fields_become_columns():
    from pydantic import Field, create_model

    from pipeline.research import export
    from pipeline.schema import Measure

    extended = create_model("Extended", __base__=Measure, salience=(str | None, Field(None, description="CAP")),
                            salience_score=(float | None, None), tags=(list[str], []))
    original = export.Measure
    try:
        export.Measure = extended
        columns = {c.name: c for c in export.extra_measure_columns()}
    finally:
        export.Measure = original
    assert (columns["salience"].kind, columns["salience"].description) == ("text", "CAP")
    assert columns["salience_score"].kind == "real" and columns["tags"].kind == "text"
    assert "text" not in columns and "id" not in columns


def test_every_table_loads_in_pandas_with_its_types(datasets: Path):
    pd = pytest.importorskip("pandas")
    for name, spec in TABLES.items():
        frame = pd.read_parquet(datasets / f"{name}.parquet")
        assert list(frame.columns) == spec.column_names, name
        assert len(frame) == len(jsonl_rows(datasets, name))
        for column in spec.columns:
            dtype = str(frame[column.name].dtype)
            expected = {"integer": "Int64", "real": "float64", "boolean": "boolean"}.get(column.kind)
            if expected:
                assert dtype == expected, (name, column.name, dtype)
            else:
                assert not pd.api.types.is_numeric_dtype(frame[column.name]), (name, column.name, dtype)
    measures = pd.read_parquet(datasets / "measures.parquet")
    assert measures["page"].isna().sum() == 9 and measures["page"].dropna().tolist() == [2, 2, 2]
    documents = pd.read_parquet(datasets / "documents.parquet")
    assert documents.set_index("document_id")["page_count"].to_dict()["eksport-nynorsk"] == 2
    assert str(documents["run_id"].dtype) in {"str", "string", "object"}


# ---- the files ------------------------------------------------------------------------------------------------


def test_csv_has_a_bom_and_keeps_norwegian_letters(datasets: Path):
    for name, spec in TABLES.items():
        raw = (datasets / f"{name}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), name
        with (datasets / f"{name}.csv").open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert list(rows[0]) == spec.column_names
        expected = [{k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for k, v in row.items()}
                    for row in jsonl_rows(datasets, name)]
        assert rows == expected, name
    with (datasets / "measures.csv").open(encoding="utf-8-sig", newline="") as handle:
        text = " ".join(row["text"] + " " + row["section"] for row in csv.DictReader(handle))
    for word in ("næringsutvikling", "søknad", "over tre år", "grønne", "løyve", "næringsparker"):
        assert word in text


def test_parquet_reads_back_as_the_jsonl_rows(datasets: Path):
    for name in TABLES:
        table = pq.read_table(datasets / f"{name}.parquet")
        assert table.column_names == TABLES[name].column_names
        assert table.to_pylist() == jsonl_rows(datasets, name), name
    schema = pq.read_schema(datasets / "measures.parquet")
    assert str(schema.field("page").type) == "int64" and str(schema.field("amounts_nok_total").type) == "double"


def test_sqlite_full_text_search_keeps_norwegian_letters(datasets: Path):
    with sqlite3.connect(datasets / DB_FILE) as db:

        def search(query: str) -> set[tuple[str, str]]:
            return set(db.execute(
                f"select m.document_id, m.measure_id from {FTS_TABLE} join measures m on m.rowid = {FTS_TABLE}.rowid "
                f"where {FTS_TABLE} match ?", (query,)).fetchall())

        def ids(part: str, document: str = "helsedata-strategi") -> tuple[str, str]:
            return document, measure_row(datasets, document, part)["measure_id"]

        assert search("text : helsedata") == {ids("nasjonal tjeneste"), ids("helsedata i kommunane", "eksport-nynorsk")}
        # The section heading and the list intro are indexed too: every measure under the strategy's title.
        in_section = {(r["document_id"], r["measure_id"]) for r in jsonl_rows(datasets, "measures")
                      if "helsedata" in r["text"] + (r["section"] or "") + (r["intro"] or "")}
        assert search("helsedata") == in_section and len(in_section) == 7
        prefixed = search("text : helse*")
        assert {ids("nasjonal tjeneste"), ids("helsenæringen"), ids("helseregisterloven")} <= prefixed
        assert ids("dataforvaltning") in prefixed and ids("styrke samarbeidet") not in prefixed  # Helsedirektoratet
        assert search("år") == {ids("over tre år")}
        assert search("ar") == set()  # å is a letter of its own, not a with a ring to drop
        assert search("text : GRØNNE") == {ids("industriprosjekter", "grønn-industri")}
        assert search('text : "Innovasjon Norge"') == {ids("50 mill."), ids("styrke samarbeidet"),
                                                       ids("eksportprogram", "eksport-nynorsk")}
        indexes = {row[0] for row in db.execute("select name from sqlite_master where type = 'index'")}
        assert {"idx_measures_strength", "idx_measures_focus_area", "idx_measure_actors_actor_id"} <= indexes


def test_search_with_norwegian_stemming(datasets: Path):
    from pipeline.research.search import match_expression, register_functions, search_measures, stem_text

    assert stem_text("Helsedataene, helsedata") == "helsedat helsedat"
    assert stem_text("kommunane kommunen") == "kommun kommun"  # nynorsk and bokmål

    def found(query: str) -> list[tuple[str, str]]:
        return [(r["document_id"], r["measure_id"]) for r in search_measures(datasets / DB_FILE, query)]

    plain = found("helsedata")
    assert len(plain) == 7
    assert sorted(found("helsedataene")) == sorted(plain) == sorted(found("HELSEDATAEN"))
    with sqlite3.connect(datasets / DB_FILE) as db:  # without stemming, the inflected form finds nothing
        assert db.execute(f"select count(*) from {FTS_TABLE} where {FTS_TABLE} match 'helsedataene'").fetchone() == (0,)
    nynorsk = measure_row(datasets, "eksport-nynorsk", "helsedata i kommunane")
    assert [r["text"] for r in search_measures(datasets / DB_FILE, "kommunen helsedataene")] == [nynorsk["text"]]
    # The intro is searched: "For å auke eksporten vil regjeringa:" introduces all three nynorsk measures.
    assert {r["measure_id"] for r in search_measures(datasets / DB_FILE, "eksportens regjeringen")
            if r["document_id"] == "eksport-nynorsk"} == {
        r["measure_id"] for r in jsonl_rows(datasets, "measures") if r["document_id"] == "eksport-nynorsk"}
    assert found("næringsklyngene") == [("helsedata-strategi", measure_row(
        datasets, "helsedata-strategi", "næringsklynger")["measure_id"])]
    assert set(found("helse*")) >= set(plain)
    assert found("ukjentord") == []
    with pytest.raises(ValueError, match="no word"):
        search_measures(datasets / DB_FILE, " ,. ")
    assert match_expression('helse* "NOT"') == 'stems : ("hels"* AND "not")'  # operators are words, quoted

    # The SQL functions, as a user of sqlite3 calls them.
    with sqlite3.connect(datasets / DB_FILE) as db:
        register_functions(db)
        rows = db.execute(f"select rowid from {FTS_TABLE} where {FTS_TABLE} match tiltak_match(?)",
                          ("helsedataene",)).fetchall()
        assert len(rows) == len(plain)
        assert db.execute("select tiltak_stem('Regjeringa vil')").fetchone() == ("regjering vil",)
        assert db.execute(f"select count(*) from {FTS_TABLE} where {FTS_TABLE} match tiltak_match('')").fetchone() == (
            0,)


def test_a_json_that_is_not_a_document_is_reported_not_a_crash(outputs: Path, tmp_path: Path):
    folder = tmp_path / "o"
    shutil.copytree(outputs, folder, ignore=shutil.ignore_patterns("datasets"))
    (folder / "notater.json").write_text('{"merknad": "ikke et dokument"}', encoding="utf-8")
    (folder / "ødelagt.json").write_text('{"document": ', encoding="utf-8")
    tables = collect(folder)
    assert [s.name for s in tables.skipped] == ["notater.json", "ødelagt.json"]
    assert all(s.reason.startswith("not a tiltak document JSON") for s in tables.skipped)
    assert len(tables.rows["documents"]) == 3

    result = CliRunner().invoke(cli_app(), ["export", str(folder)])
    assert result.exit_code == 1  # the rest is exported; the skipped files are named
    assert f"skipped: {folder / 'notater.json'}: not a tiltak document JSON" in result.output
    assert "ødelagt.json" in result.output and "Traceback" not in result.output
    assert (folder / "datasets" / DB_FILE).is_file() and (folder / "datasets" / "measures.parquet").is_file()


def test_export_command_prints_counts_and_paths(outputs: Path, tmp_path: Path):
    out = tmp_path / "sett"
    result = CliRunner().invoke(cli_app(), ["export", str(outputs), "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "measures" in result.output and "12" in result.output
    assert f"wrote {out / DB_FILE}" in result.output
    files = [f"{t}.{ext}" for t in TABLES for ext in ("jsonl", "csv", "parquet")] + [DB_FILE, METADATA_FILE]
    assert sorted(p.name for p in out.iterdir()) == sorted([*files, REPORT_FILE])
    assert f"wrote {out / REPORT_FILE}" in result.output
    report = (out / REPORT_FILE).read_text(encoding="utf-8")
    # Every measure's report_url names an element of the report written beside it.
    for row in jsonl_rows(out, "measures"):
        page, fragment = row["report_url"].split("#")
        assert page == REPORT_FILE and f'id="{unquote(fragment)}"' in report

    english = tmp_path / "english"
    result = CliRunner().invoke(cli_app(), ["export", str(outputs), "--out", str(english), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert '<html lang="en">' in (english / REPORT_FILE).read_text(encoding="utf-8")

    bare = tmp_path / "bare"
    result = CliRunner().invoke(cli_app(), ["export", str(outputs), "--out", str(bare), "--no-report"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in bare.iterdir()) == sorted(files)

    result = CliRunner().invoke(cli_app(), ["export", str(outputs), "--out", str(bare), "--lang", "de"])
    assert result.exit_code == 2 and "--lang de: use one of nb, en" in result.output


def test_export_and_browse_refuse_missing_inputs_in_one_line(tmp_path: Path):
    empty = tmp_path / "tom"
    empty.mkdir()
    result = CliRunner().invoke(cli_app(), ["export", str(empty)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"tiltak: error: {empty}: no tiltak document JSONs to export (run `tiltak run` first)"]
    result = CliRunner().invoke(cli_app(), ["browse", str(empty)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"tiltak: error: {empty / DB_FILE}: no such database; run `tiltak export` first"]


# ---- Datasette -----------------------------------------------------------------------------------------------


def test_datasette_facets_and_search(datasets: Path):
    measures = jsonl_rows(datasets, "measures")
    measure_actors = jsonl_rows(datasets, "measure_actors")
    taxonomy = {r["focus_area_id"]: r["name"] for r in jsonl_rows(datasets, "taxonomy")}

    def facet(body: dict, column: str) -> dict:
        return {r["value"]: r["count"] for r in body["facet_results"][column]["results"]}

    def facet_labels(body: dict, column: str) -> dict:
        return {r["value"]: r["label"] for r in body["facet_results"][column]["results"]}

    async def check() -> None:
        ds = make_datasette(datasets)
        response = await ds.client.get("/tiltak/measures.json?_facet=strength&_shape=objects&_size=max")
        assert response.status_code == 200
        body = response.json()
        assert len(body["rows"]) == len(measures)
        assert facet(body, "strength") == Counter(m["strength"] for m in measures)
        # Datasette leaves nulls out of a facet: a measure outside the taxonomy's scope has no focus area (#18).
        assert facet(body, "focus_area") == Counter(m["focus_area"] for m in measures if m["focus_area"])
        assert facet(body, "document_id") == Counter(m["document_id"] for m in measures)
        assert facet_labels(body, "document_id")["grønn-industri"] == "Handlingsplan for grønn industri i nord"
        # Facets show names, not ids: the focus areas' and the responsible actors'.
        assert facet_labels(body, "focus_area") == {label: taxonomy[label] for label in facet(body, "focus_area")}
        assert facet_labels(body, "responsible_actor_id")["innovasjon-norge"] == "Innovasjon Norge"

        response = await ds.client.get("/tiltak/measures.json?_search=text:helsedata&_shape=objects")
        assert {r["measure_id"] for r in response.json()["rows"] if r["document_id"] == "helsedata-strategi"} == {
            measure_row(datasets, "helsedata-strategi", "nasjonal tjeneste")["measure_id"]}
        response = await ds.client.get("/tiltak/measures.json?_search=text:helse*&strength=exploratory&_shape=objects")
        assert {r["text"] for r in response.json()["rows"]} == {
            m["text"] for m in measures if m["strength"] == "exploratory" and has_word_starting(m["text"], "helse")}
        response = await ds.client.get("/tiltak/measures.json?_search=50+mill.&_searchmode=escaped&_shape=objects")
        assert [r["text"] for r in response.json()["rows"]] == [
            measure_row(datasets, "helsedata-strategi", "50 mill.")["text"]]

        # The stemming search query: an inflected form finds what the plain form finds.
        stemmed = await ds.client.get("/tiltak/search.json?q=helsedataene&_shape=objects")
        plain = await ds.client.get("/tiltak/search.json?q=helsedata&_shape=objects")
        assert stemmed.status_code == 200, stemmed.text
        rows = stemmed.json()["rows"]
        assert len(rows) == 7 and rows == plain.json()["rows"]

        response = await ds.client.get("/tiltak/measures_by_actor.json?_shape=objects&actor=Innovasjon+Norge")
        body = response.json()
        innovasjon = [a for a in measure_actors if a["actor_id"] == "innovasjon-norge"]
        assert facet(body, "actor") == {"Innovasjon Norge": len(innovasjon)}
        assert facet(body, "strength") == Counter(
            next(m["strength"] for m in measures if (m["document_id"], m["measure_id"]) == (a["document_id"],
                                                                                            a["measure_id"]))
            for a in innovasjon)
        response = await ds.client.get("/tiltak/measure_actors.json?_shape=objects")
        assert facet(response.json(), "actor_id") == Counter(a["actor_id"] for a in measure_actors)
        assert facet_labels(response.json(), "actor_id")["norges-forskningsrad"] == "Norges forskningsråd"

        # The first screen shows rows, not a list of column descriptions; each row links to the report.
        page = await ds.client.get("/tiltak/measures?_search=n%C3%A6ringsklynger")
        assert page.status_code == 200 and "næringsklynger for små og mellomstore bedrifter" in page.text
        assert "column-descriptions" not in page.text
        first = measures[0]
        page = await ds.client.get("/tiltak/measures")
        assert "column-descriptions" not in page.text
        assert page.text.index("<table") < page.text.index(first["text"][:40])
        link = f'<a href="/files/{first["report_url"]}">'
        assert link in page.text
        report = await ds.client.get(f"/files/{first['report_url'].split('#')[0]}")
        assert report.status_code == 200
        assert f'id="{unquote(first["report_url"].split("#")[1])}"' in report.text

    from pipeline.research.report import load_documents, write_report

    documents, _ = load_documents(sorted(datasets.parent.glob("*.json")))
    write_report(datasets / REPORT_FILE, documents)

    asyncio.run(check())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _browse_command() -> list[str]:
    """``tiltak browse`` through the console script once pipeline.cli registers it; until then the same app
    with ``register`` applied."""
    from pipeline.cli import app

    names = {c.name or c.callback.__name__ for c in app.registered_commands}
    if "browse" in names and TILTAK.exists():
        return [str(TILTAK), "browse"]
    script = "from pipeline.cli import app; from pipeline.cli.export import register; register(app); app()"
    return [sys.executable, "-c", script, "browse"]


def test_browse_serves_the_database_on_localhost(datasets: Path, tmp_path: Path):
    port = _free_port()
    log = (tmp_path / "browse.log").open("wb")
    server = subprocess.Popen([*_browse_command(), str(datasets), "--port", str(port), "--host", "127.0.0.1"],
                              stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/tiltak/measures.json?_shape=objects&_facet=strength"
    try:
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"browse exited with {server.returncode}: {(tmp_path / 'browse.log').read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    body = json.load(response)
                break
            except OSError:
                time.sleep(0.2)
        assert body is not None, f"no answer in 30 s: {(tmp_path / 'browse.log').read_text()}"
        measures = jsonl_rows(datasets, "measures")
        assert len(body["rows"]) == len(measures)
        assert {r["value"]: r["count"] for r in body["facet_results"]["strength"]["results"]} == Counter(
            m["strength"] for m in measures)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
