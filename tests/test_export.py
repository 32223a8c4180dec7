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

import pyarrow.parquet as pq
import pytest
import typer
from builders import write_pdf
from typer.testing import CliRunner

from pipeline.cli_export import register
from pipeline.config import PipelineConfig
from pipeline.export import DB_FILE, FTS_TABLE, METADATA_FILE, TABLES, collect, make_datasette, write_exports
from pipeline.outputs import write_document
from pipeline.process import analyse_document

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


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    """An output folder as ``tiltak run`` leaves it: one JSON per document and a manifest under runs/."""
    sources = tmp_path_factory.mktemp("sources")
    out = tmp_path_factory.mktemp("outputs")
    (sources / "helsedata-strategi.txt").write_text(HELSEDATA, encoding="utf-8")
    (sources / "grønn-industri.txt").write_text(GRONN, encoding="utf-8")
    write_pdf(sources / "eksport-nynorsk.pdf", EKSPORT_PAGES, title="Strategi for eksport av helseteknologi")
    config = PipelineConfig(nlp="blank")
    for path in sorted(sources.iterdir()):
        result = analyse_document(path, config)
        write_document(result.model_dump(mode="json"), out, stem=path.stem, source=path)
    (out / "runs").mkdir()
    (out / "runs" / "20260101T000000Z-abcdef12.json").write_text('{"run_id": "20260101T000000Z-abcdef12"}\n')
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
    expected = {
        "documents": len(documents),
        "measures": sum(len(d["measures"]) for d in documents),
        "measure_actors": sum(len(m["actors"]) for d in documents for m in d["measures"]),
        "actors": sum(len(d["actors"]) + len(d["persons"]) for d in documents),
        "commitments": sum(max(len(c["amounts"]), len(c["deadlines"]), 1) for d in documents for c in d["commitments"]),
    }
    assert expected["documents"] == 3 and expected["measures"] == 12 and expected["measure_actors"] >= 6
    assert {name: len(jsonl_rows(datasets, name)) for name in TABLES} == expected
    with sqlite3.connect(datasets / DB_FILE) as db:
        assert {name: db.execute(f'select count(*) from "{name}"').fetchone()[0] for name in TABLES} == expected
    for table in jsonl_rows(datasets, "documents"):
        assert table["n_measures"] == len(next(d for d in documents if d["document"]["id"] == table["id"])["measures"])


def test_measure_rows_are_flat_with_their_commitment(datasets: Path):
    money = measure_row(datasets, "helsedata-strategi", "50 mill. kroner")
    assert money["actors"] == "Innovasjon Norge"
    assert money["amounts_nok_total"] == 50_000_000.0
    assert money["section"] == "Nasjonal strategi for helsedata og næringsutvikling > 1 Deling av helsedata"
    assert money["intro"].endswith("vil regjeringen:")
    assert money["strength"] == "binding" and money["focus_area"]
    assert money["page"] is None

    two_actors = measure_row(datasets, "helsedata-strategi", "styrke samarbeidet")
    assert two_actors["actors"] == "Innovasjon Norge; Norges forskningsråd"
    assert measure_row(datasets, "helsedata-strategi", "nasjonal tjeneste")["deadline_years"] == "2027"
    assert measure_row(datasets, "grønn-industri", "Siva")["amounts_nok_total"] == 60_000_000.0

    nynorsk = measure_row(datasets, "eksport-nynorsk", "eksportprogram")
    assert nynorsk["page"] == 2 and nynorsk["responsible"] == "Innovasjon Norge"

    by_measure = {(r["document_id"], r["measure_id"], r["actor"]) for r in jsonl_rows(datasets, "measure_actors")}
    assert ("helsedata-strategi", two_actors["measure_id"], "Norges forskningsråd") in by_measure


def test_actors_count_mentions_and_include_persons(datasets: Path):
    actors = {(r["document_id"], r["name"]): r for r in jsonl_rows(datasets, "actors")}
    assert actors[("helsedata-strategi", "Innovasjon Norge")]["mentions"] == 2
    assert actors[("helsedata-strategi", "Innovasjon Norge")]["type"] == "state_enterprise"
    minister = actors[("eksport-nynorsk", "Cecilie Myrseth")]
    assert minister["type"] == "person" and minister["first_page"] == 1
    assert actors[("eksport-nynorsk", "Innovasjon Norge")]["first_page"] == 2


def test_commitments_have_one_row_per_amount_or_deadline(datasets: Path, documents: list[dict]):
    rows = jsonl_rows(datasets, "commitments")
    siva = measure_row(datasets, "grønn-industri", "Siva")["measure_id"]
    two_amounts = [r for r in rows if r["document_id"] == "grønn-industri" and r["measure_id"] == siva]
    assert [r["item"] for r in two_amounts] == [1, 2]
    assert [r["amount_nok"] for r in two_amounts] == [20_000_000.0, 40_000_000.0]
    assert all(r["strength"] == "binding" for r in two_amounts)

    both = measure_row(datasets, "grønn-industri", "batteriteknologi")["measure_id"]
    [row] = [r for r in rows if r["document_id"] == "grønn-industri" and r["measure_id"] == both]
    assert (row["amount_text"], row["amount_period"], row["deadline_text"], row["deadline_kind"]) == (
        "120 mill. kroner årlig", "per_year", "fra 2026", "from")

    # nothing counted twice, nothing lost
    every_amount = [a["nok"] for d in documents for c in d["commitments"] for a in c["amounts"]]
    assert sorted(r["amount_nok"] for r in rows if r["amount_text"] is not None) == sorted(every_amount)
    every_year = [x["year"] for d in documents for c in d["commitments"] for x in c["deadlines"]]
    assert sorted(r["deadline_year"] for r in rows if r["deadline_year"] is not None) == sorted(every_year)
    assert len({(r["document_id"], r["measure_id"]) for r in rows}) == sum(len(d["commitments"]) for d in documents)


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

        assert search("helsedata") == {ids("nasjonal tjeneste"), ids("helsedata i kommunane", "eksport-nynorsk")}
        prefixed = search("helse*")
        assert {ids("nasjonal tjeneste"), ids("helsenæringen"), ids("helseregisterloven")} <= prefixed
        assert ids("dataforvaltning") in prefixed and ids("styrke samarbeidet") not in prefixed  # Helsedirektoratet
        assert search("år") == {ids("over tre år")}
        assert search("ar") == set()  # å is a letter of its own, not a with a ring to drop
        assert search("GRØNNE") == {ids("industriprosjekter", "grønn-industri")}
        assert search('"Innovasjon Norge"') == {ids("50 mill."), ids("styrke samarbeidet"),
                                                ids("eksportprogram", "eksport-nynorsk")}
        assert db.execute("pragma foreign_key_check").fetchall() == []
        indexes = {row[0] for row in db.execute("select name from sqlite_master where type = 'index'")}
        assert {"idx_measures_strength", "idx_measures_focus_area", "idx_measure_actors_actor"} <= indexes


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
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{t}.{ext}" for t in TABLES for ext in ("jsonl", "csv", "parquet")] + [DB_FILE, METADATA_FILE])


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

    def facet(body: dict, column: str) -> dict:
        return {r["value"]: r["count"] for r in body["facet_results"][column]["results"]}

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
        labels = {r["value"]: r["label"] for r in body["facet_results"]["document_id"]["results"]}
        assert labels["grønn-industri"] == "Handlingsplan for grønn industri i nord"

        response = await ds.client.get("/tiltak/measures.json?_search=helsedata&_shape=objects")
        assert {r["measure_id"] for r in response.json()["rows"] if r["document_id"] == "helsedata-strategi"} == {
            measure_row(datasets, "helsedata-strategi", "nasjonal tjeneste")["measure_id"]}
        response = await ds.client.get("/tiltak/measures.json?_search=helse*&strength=exploratory&_shape=objects")
        assert {r["text"] for r in response.json()["rows"]} == {
            m["text"] for m in measures if m["strength"] == "exploratory" and has_word_starting(m["text"], "helse")}
        response = await ds.client.get("/tiltak/measures.json?_search=50+mill.&_searchmode=escaped&_shape=objects")
        assert [r["text"] for r in response.json()["rows"]] == [
            measure_row(datasets, "helsedata-strategi", "50 mill.")["text"]]

        response = await ds.client.get("/tiltak/measures_by_actor.json?_shape=objects&actor=Innovasjon+Norge")
        body = response.json()
        assert facet(body, "actor") == {"Innovasjon Norge": 3}
        assert facet(body, "strength") == Counter(
            next(m["strength"] for m in measures if (m["document_id"], m["measure_id"]) == (a["document_id"],
                                                                                            a["measure_id"]))
            for a in measure_actors if a["actor"] == "Innovasjon Norge")
        response = await ds.client.get("/tiltak/measure_actors.json?_shape=objects")
        assert facet(response.json(), "actor") == Counter(a["actor"] for a in measure_actors)

        page = await ds.client.get("/tiltak/measures?_search=n%C3%A6ringsklynger")
        assert page.status_code == 200 and "næringsklynger for små og mellomstore bedrifter" in page.text

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
    script = "from pipeline.cli import app; from pipeline.cli_export import register; register(app); app()"
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
