"""Document metadata (issue 17, item 2): date, year, identifier and issuer read from the document, the user's
corrections in ``NAME.meta.toml`` and ``metadata.csv``, and where an ingested copy came from.

Documents are generated here (PDFs with reportlab, HTML, text) and analysed by the real pipeline with the blank NLP
pipeline; the real documents in ``../shared/corpora/real-docs`` are read when present.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from builders import write_pdf

from pipeline.analysis.process import analyse_document
from pipeline.config import PipelineConfig
from pipeline.ops.ingest import Candidate, Registry, store_version
from pipeline.reading.document_info import (
    MetadataError,
    find_date,
    find_identifier,
    overrides_fingerprint,
    read_metadata,
)
from pipeline.reading.loaders import load_document
from pipeline.store.outputs import write_document
from pipeline.store.validate import document_errors

REAL_DOCS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "real-docs"
BLANK = PipelineConfig(nlp="blank")

BODY = ["", "# 1 Innledning", "", "Regjeringen vil styrke arbeidet med helsedata i kommunene.", "",
        "For å nå målet vil regjeringen:", "", "- etablere et nasjonalt senter for helsedata",
        "- innføre en ordning for tidlig dialog med næringslivet"]


def written(tmp_path: Path, source: Path) -> dict:
    """``source`` analysed and written as `tiltak run` writes it; the written JSON."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    result = analyse_document(source, BLANK)
    path = write_document(result.model_dump(mode="json"), out, stem=source.stem, source=source)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert document_errors(data) == []
    return data["document"]


# --- Read from the document --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "identifier", "year"), [
    ("Meld. St. 18\n(2018–2019)\nMelding til Stortinget", "Meld. St. 18 (2018–2019)", 2018),
    ("Prop. 1 LS\n(2025 –2026)\nProposisjon til Stortinget", "Prop. 1 LS (2025–2026)", 2025),
    ("NOU\nNorges offentlige utredninger 2023: 4\n\nNOU 2023: 4 Tid for handling", "NOU 2023: 4", 2023),
    ("Innst. 123 S\n(2024-2025)\nInnstilling til Stortinget", "Innst. 123 S (2024–2025)", 2024),
    ("St.meld. nr. 7 (2008–2009) Et nyskapende og bærekraftig Norge", "St.meld. nr. 7 (2008–2009)", 2008),
])
def test_identifiers_are_found_and_normalised(text: str, identifier: str, year: int):
    found = find_identifier(text)
    assert found is not None and (found.text, found.year) == (identifier, year)


def test_a_span_of_years_that_is_no_session_is_no_identifier():
    assert find_identifier("Meld. St. 3 (2018–2021)") is None


@pytest.mark.parametrize(("text", "date"), [
    ("Tilråding fra Nærings- og fiskeridepartementet 5. april 2019, godkjent i statsråd samme dag.", "2019-04-05"),
    ("Oslo, 14.03.2023", "2023-03-14"),
    ("Utgitt mars 2023", "2023-03"),
    ("Versjon 2024-11-30", "2024-11-30"),
    ("Fastsatt 31. februar 2020 og 3. mai 2020", "2020-05-03"),  # an impossible date is passed over
    ("Handlingsplan 2025–2028", None),
])
def test_dates_on_a_title_page(text: str, date: str | None):
    assert find_date(text) == date


def test_a_pdf_title_page_gives_identifier_date_and_year(tmp_path: Path):
    source = write_pdf(tmp_path / "melding.pdf", [
        ["Meld. St. 18", "(2018–2019)", "Melding til Stortinget", "",
         "Helsenæringen", "Tilråding fra Nærings- og fiskeridepartementet 5. april 2019"], BODY])
    document = written(tmp_path, source)
    assert document["identifier"] == "Meld. St. 18 (2018–2019)"
    assert document["date"] == "2019-04-05" and document["year"] == 2019
    assert document["document_type"] == "melding_til_stortinget"
    assert document["metadata_sources"]["date"] == "title-page"


def test_a_date_on_the_title_page_outside_the_session_gives_the_session_year(tmp_path: Path):
    source = write_pdf(tmp_path / "prop.pdf", [
        ["Prop. 12 S", "(2021–2022)", "Proposisjon til Stortinget", "", "Avtale inngått 1. juni 2017"], BODY])
    document = written(tmp_path, source)
    assert document["identifier"] == "Prop. 12 S (2021–2022)"
    assert document["year"] == 2021 and document["metadata_sources"]["year"] == "identifier"


def test_the_pdf_creation_date_is_only_a_fallback(tmp_path: Path):
    undated = write_pdf(tmp_path / "plan.pdf", [["Plan for helsedata"], BODY])
    document = written(tmp_path, undated)
    assert document["metadata_sources"]["date"] == "pdf-created"
    created = datetime.date.fromisoformat(document["date"])  # reportlab stamps the time of writing
    assert abs((created - datetime.date.today()).days) <= 1
    assert document["year"] == created.year
    assert document["identifier"] is None


def test_html_meta_tags_give_date_and_issuer(tmp_path: Path):
    page = tmp_path / "artikkel.html"
    page.write_text(
        '<!doctype html><html><head><meta charset="utf-8"><title>Ny satsing på helsedata</title>'
        '<meta name="DC.date" content="2023-06-14">'
        '<meta property="article:published_time" content="2021-01-01T08:00:00+01:00">'
        '<meta name="dc.publisher" content="Helse- og omsorgsdepartementet"></head>'
        "<body><main><h1>Ny satsing på helsedata</h1><p>Regjeringen vil:</p><ul>"
        "<li>etablere et nasjonalt senter for helsedata</li><li>innføre en ordning for tidlig dialog</li></ul>"
        "</main></body></html>", encoding="utf-8")
    document = written(tmp_path, page)
    assert (document["date"], document["year"]) == ("2023-06-14", 2023)  # dc.date before article:published_time
    assert document["issuer"] == "Helse- og omsorgsdepartementet"
    assert document["metadata_sources"]["date"] == "html-meta"


@pytest.mark.parametrize(("head", "date"), [
    ('<meta property="article:published_time" content="2022-09-30T10:15:00+02:00">', "2022-09-30"),
    ("", "2020-02-29"),  # only <time datetime> in the article
])
def test_html_publication_time(tmp_path: Path, head: str, date: str):
    page = tmp_path / "nyhet.html"
    page.write_text(f'<html><head><meta charset="utf-8"><title>Nyhet</title>{head}</head><body><article>'
                    '<h1>Nyhet</h1><p>Publisert <time datetime="2020-02-29T09:00">29. februar</time></p>'
                    "<p>Regjeringen vil styrke samarbeidet med kommunene om helsedata.</p></article></body></html>",
                    encoding="utf-8")
    assert written(tmp_path, page)["date"] == date


def test_a_text_without_any_date_has_none(tmp_path: Path):
    source = tmp_path / "notat.txt"
    source.write_text("Notat om helsedata\n\nRegjeringen vil styrke samarbeidet.\n", encoding="utf-8")
    document = written(tmp_path, source)
    assert (document["date"], document["year"], document["identifier"]) == (None, None, None)


# --- The user's corrections ----------------------------------------------------------------------------------------

def test_a_sidecar_overrides_what_was_read(tmp_path: Path):
    source = tmp_path / "sammendrag.txt"
    source.write_text("Sammendrag\n\nNOU 2023: 4\n\nRegjeringen vil styrke samarbeidet om helsedata.\n",
                      encoding="utf-8")
    assert written(tmp_path, source)["title"] == "Sammendrag"
    (tmp_path / "sammendrag.meta.toml").write_text(
        'title = "Tid for handling: Personellet i en bærekraftig helse- og omsorgstjeneste"\n'
        "date = 2023-02-02\n"
        'issuer = "Helse- og omsorgsdepartementet"\n'
        'document_type = "nou"\n'
        'source_url = "https://www.regjeringen.no/no/dokumenter/nou-2023-4/id2961552/"\n', encoding="utf-8")
    document = written(tmp_path, source)
    assert document["title"].startswith("Tid for handling")
    assert (document["date"], document["year"]) == ("2023-02-02", 2023)
    assert document["issuer"] == "Helse- og omsorgsdepartementet" and document["document_type"] == "nou"
    assert document["source_url"].startswith("https://www.regjeringen.no/")
    assert document["identifier"] == "NOU 2023: 4"  # read from the text, not overridden
    assert document["metadata_sources"]["title"] == "sidecar sammendrag.meta.toml"


@pytest.mark.parametrize(("sidecar", "line", "reason"), [
    ('title = "Plan"\ndate = "april"\n', 2, "is not a date"),
    ('title = "Plan"\n\ndocument_type = "rapport"\n', 3, "is not a document type"),
    ('source_url = "ftp://example.org/x"\n', 1, "http or https"),
    ('titel = "Plan"\n', 1, "unknown key 'titel'"),
    ('title = "Plan\n', 1, "not valid TOML"),
])
def test_a_bad_sidecar_value_names_the_file_and_line(tmp_path: Path, sidecar: str, line: int, reason: str):
    source = tmp_path / "plan.txt"
    source.write_text("Plan\n\nRegjeringen vil styrke samarbeidet.\n", encoding="utf-8")
    (tmp_path / "plan.txt.meta.toml").write_text(sidecar, encoding="utf-8")
    with pytest.raises(MetadataError) as caught:
        written(tmp_path, source)
    message = str(caught.value)
    assert "plan.txt.meta.toml" in message and f"line {line}" in message and reason in message
    assert "\n" not in message
    assert not (tmp_path / "out" / "plan.json").exists()  # nothing half-written


def test_a_folder_metadata_csv_from_excel(tmp_path: Path):
    """A CSV as Excel on a Norwegian Windows saves it: cp1252, ";" between cells; the sidecar still wins."""
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("Plan\n\nRegjeringen vil styrke samarbeidet.\n", encoding="utf-8")
    (tmp_path / "metadata.csv").write_bytes(
        "file;title;date;issuer;document_type;source_url\n"
        "a.txt;Handlingsplan for økt tilgjengelighet;2024-05;Bærum kommune;handlingsplan;\n"
        "b.txt;Strategi for grønn omstilling;2022;;strategi;https://example.org/strategi.pdf\n".encode("cp1252"))
    (tmp_path / "b.meta.toml").write_text('title = "Strategi for grønn omstilling 2022–2030"\n', encoding="utf-8")
    a, b = written(tmp_path, tmp_path / "a.txt"), written(tmp_path, tmp_path / "b.txt")
    assert (a["title"], a["date"], a["year"], a["issuer"]) == ("Handlingsplan for økt tilgjengelighet", "2024-05",
                                                             2024, "Bærum kommune")
    assert a["document_type"] == "handlingsplan" and a["metadata_sources"]["title"] == "metadata.csv line 2"
    assert (b["date"], b["year"]) == (None, 2022)  # a bare year
    assert b["title"] == "Strategi for grønn omstilling 2022–2030" and b["source_url"] == "https://example.org/strategi.pdf"


def test_a_bad_metadata_csv_value_names_the_line_and_spares_the_other_files(tmp_path: Path):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("Plan\n\nRegjeringen vil styrke samarbeidet.\n", encoding="utf-8")
    (tmp_path / "metadata.csv").write_text("file,title,date\na.txt,Plan A,2024-13-01\nb.txt,Plan B,2024-02-01\n",
                                           encoding="utf-8")
    with pytest.raises(MetadataError, match=r"metadata\.csv: line 2: date: '2024-13-01' is not a date"):
        written(tmp_path, tmp_path / "a.txt")
    assert written(tmp_path, tmp_path / "b.txt")["title"] == "Plan B"


def test_a_metadata_csv_with_an_unknown_column_says_so(tmp_path: Path):
    (tmp_path / "a.txt").write_text("Plan\n\nRegjeringen vil styrke samarbeidet.\n", encoding="utf-8")
    (tmp_path / "metadata.csv").write_text("file,tittel\na.txt,Plan A\n", encoding="utf-8")
    with pytest.raises(MetadataError, match=r"metadata\.csv: line 1: unknown column 'tittel'"):
        written(tmp_path, tmp_path / "a.txt")


def test_a_changed_correction_changes_the_outputs_identity(tmp_path: Path):
    """A re-run rewrites an output whose sidecar changed (flows._output_identity adds this fingerprint)."""
    source = tmp_path / "plan.txt"
    source.write_text("Plan\n", encoding="utf-8")
    assert overrides_fingerprint(source) == ""
    (tmp_path / "plan.meta.toml").write_text('title = "A"\n', encoding="utf-8")
    first = overrides_fingerprint(source)
    (tmp_path / "plan.meta.toml").write_text('title = "A longer title"\n', encoding="utf-8")
    assert first and overrides_fingerprint(source) not in ("", first)


# --- Ingested copies ---------------------------------------------------------------------------------------------

def test_ingested_copies_carry_their_url_or_inbox_path(tmp_path: Path):
    out = tmp_path / "out"
    registry = Registry(out)
    page = b"<html><head><title>Plan</title></head><body><main><h1>Plan</h1><p>Regjeringen vil styrke " \
           b"samarbeidet.</p></main></body></html>"
    url = "https://www.example.org/dokumenter/plan?id=7"
    fetched = store_version(registry, Candidate(url, "url", page, ".html"))
    inbox_file = tmp_path / "inbox" / "notat æøå.txt"
    inbox_file.parent.mkdir()
    inbox_file.write_text("Notat\n\nKommunen skal styrke samarbeidet.\n", encoding="utf-8")
    # the user's corrections beside the inbox file travel with its stored copy
    (inbox_file.parent / "notat æøå.meta.toml").write_text('title = "Notat om samarbeid"\ndate = 2021\n',
                                                          encoding="utf-8")
    dropped = store_version(registry, Candidate(str(inbox_file), "inbox", inbox_file.read_bytes(), ".txt"))
    assert written(tmp_path, fetched)["source_url"] == url
    document = written(tmp_path, dropped)
    assert document["inbox_path"] == str(inbox_file) and document["source_url"] is None
    assert (document["title"], document["year"]) == ("Notat om samarbeid", 2021)


# --- Real documents ----------------------------------------------------------------------------------------------

def real(name: str) -> Path:
    path = REAL_DOCS / name
    if not path.is_file():
        pytest.skip(f"{path} is not here (the real documents live in ../shared)")
    return path


def test_the_real_budget_proposition(tmp_path: Path):
    """Prop. 1 LS (2025–2026), 419 pages: read with the fast plain-text backend (its metadata title is the
    layout tool's file name, 'Prop1LS-FIN.book', which is not taken as the title)."""
    source = load_document(real("prop-1-ls-2025-2026.pdf"), pdf_backend="pypdfium2", progress=lambda *_: None)
    assert source.title is None
    found = read_metadata(source, source.title)
    assert found.identifier == "Prop. 1 LS (2025–2026)" and found.year == 2025
    assert found.document_type == "proposisjon"


def test_a_real_letter_dated_in_its_header():
    source = load_document(real("nve-innspill-reguleringsplan-porsgrunn-2020.pdf"), pdf_backend="pypdfium2",
                           progress=lambda *_: None)
    found = read_metadata(source, source.title)
    assert (found.date, found.year, found.sources["date"]) == ("2020-07-14", 2020, "title-page")


def test_a_real_pdf_without_a_date_falls_back_to_its_creation_date():
    source = load_document(real("nsm-risiko-2025.pdf"), pdf_backend="pypdfium2", progress=lambda *_: None)
    found = read_metadata(source, source.title)
    assert found.sources["date"] == "pdf-created" and found.year == 2025


# --- In a run --------------------------------------------------------------------------------------------------------

def test_a_run_follows_a_changed_sidecar_and_reports_a_bad_one(prefect_harness, tmp_path: Path):
    """A real flow run: the sidecar's title lands in the output; a corrected sidecar rewrites the output on the next
    run (the analysis itself comes from the cache); a bad one fails that document with the file and line, and its
    earlier output stays."""
    from flows import process_corpus

    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    (docs / "plan.txt").write_text("Sammendrag\n\nFor å nå målet vil regjeringen:\n\n- etablere et nytt senter\n",
                                   encoding="utf-8")
    (docs / "annen.txt").write_text("Notat\n\nKommunen skal styrke samarbeidet.\n", encoding="utf-8")
    sidecar = docs / "plan.meta.toml"
    sidecar.write_text('title = "Plan for helsedata"\n', encoding="utf-8")

    def run() -> dict:
        manifest = process_corpus(paths=[str(docs)], out_dir=str(out), nlp="blank")
        return {Path(record["source"]).name: record for record in manifest["documents"]}

    def title() -> str:
        return json.loads((out / "plan.json").read_text(encoding="utf-8"))["document"]["title"]

    assert run()["plan.txt"]["status"] == "processed" and title() == "Plan for helsedata"
    sidecar.write_text('title = "Plan for helsedata 2024–2027"\n', encoding="utf-8")
    assert run()["plan.txt"]["status"] == "cached" and title() == "Plan for helsedata 2024–2027"

    sidecar.write_text('title = "Plan"\ndate = "neste år"\n', encoding="utf-8")
    records = run()
    assert records["plan.txt"]["status"] == "failed" and records["plan.txt"]["stage"] == "metadata"
    assert "plan.meta.toml: line 2: date:" in records["plan.txt"]["error"]
    assert records["annen.txt"]["status"] == "cached"  # the rest of the batch goes on
    assert title() == "Plan for helsedata 2024–2027"  # nothing already written is lost


def test_show_prints_identifier_date_and_issuer(tmp_path: Path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    source = tmp_path / "nou.txt"
    source.write_text("NOU 2023: 4\n\nTid for handling\n\nRegjeringen vil styrke samarbeidet.\n", encoding="utf-8")
    (tmp_path / "nou.meta.toml").write_text('date = 2023-02-02\nissuer = "Helse- og omsorgsdepartementet"\n',
                                            encoding="utf-8")
    written(tmp_path, source)
    shown = CliRunner().invoke(app, ["show", str(tmp_path / "out" / "nou.json")], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "NOU 2023: 4 · 2023-02-02 · Helse- og omsorgsdepartementet" in shown.output
