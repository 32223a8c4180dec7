"""OCR of PDF pages without a text layer (issue #14, item 6): ``--ocr`` reads scanned pages with Tesseract's
Norwegian model; without it such pages get a warning naming the option; ``tiltak doctor`` says whether OCR is
available. The scanned book chapter is read from ``../shared/corpora/real-docs`` (never committed); its tests skip
with the reason when that folder is absent. The OCR tests skip when Tesseract's Norwegian data is not installed
(``tests/install-ocr.sh`` installs it, as the README's test command and CI do)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.errors import DocumentError
from pipeline.reading.loaders import LoadLimits, load_document
from pipeline.reading.loaders.ocr import availability, read_scanned_pages

REAL_DOCS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "real-docs"
SCANNED = REAL_DOCS / "scanned-book-chapter-planlovutvalget.pdf"
SCANNED_PAGES = 11
TILTAK = Path(sys.executable).parent / "tiltak"
# Words any page of Norwegian prose is made of; in running Bokmål text they are a large share of all words.
COMMON_WORDS = {"og", "i", "som", "for", "på", "å", "er", "det", "til", "av", "en", "et", "med", "den", "de", "at",
                "om", "ikke", "har", "kan", "skal", "plan", "planer", "kommune", "kommunen", "kommuner", "også",
                "eller", "fra", "ved", "seg", "sin", "sine", "var", "ble", "blir", "denne", "dette", "der", "må"}
ÆØÅ_WORDS = {"på", "å", "også", "må", "får", "både", "først", "første", "være", "før", "går", "nå", "år"}
WORD = re.compile(r"[a-zæøåéA-ZÆØÅÉ]+")

needs_ocr = pytest.mark.skipif(not availability().ready, reason=f"OCR unavailable: {availability().problem} "
                               "(tests/install-ocr.sh installs Tesseract and its Norwegian data)")


def _needs_scanned_chapter() -> None:
    if not SCANNED.is_file():
        pytest.skip(f"{SCANNED} is absent (../shared/corpora/real-docs is read, never committed)")


def _words(text: str) -> list[str]:
    return [word.lower() for word in WORD.findall(text)]


@pytest.fixture(scope="module")
def scanned_by_ocr():
    """The scanned chapter read with OCR once for the module, and the seconds it took per page."""
    _needs_scanned_chapter()
    if not availability().ready:
        pytest.skip(f"OCR unavailable: {availability().problem}")
    started = time.perf_counter()
    document = load_document(SCANNED, ocr=True)
    return document, (time.perf_counter() - started) / SCANNED_PAGES


def test_without_ocr_a_scanned_pdf_gives_no_text_and_a_warning_naming_the_option():
    _needs_scanned_chapter()
    document = load_document(SCANNED)
    assert document.lines == []
    assert document.page_count == SCANNED_PAGES
    assert document.ocr is None
    [warning] = [w for w in document.warnings if w.startswith("no_text_layer")]
    assert "images" in warning and "--ocr" in warning


@needs_ocr
def test_ocr_reads_most_pages_of_the_scanned_chapter_as_norwegian(scanned_by_ocr):
    document, seconds_per_page = scanned_by_ocr
    pages_with_text = {line.page for line in document.lines}
    assert len(pages_with_text) >= SCANNED_PAGES - 1, sorted(pages_with_text)
    words = _words(" ".join(line.text for line in document.lines))
    assert len(words) > 2000  # eleven book pages
    common = sum(word in COMMON_WORDS for word in words) / len(words)
    assert common > 0.2, f"only {common:.0%} of the words are common Norwegian words: not read as Norwegian"
    found_æøå = {word for word in words if word in ÆØÅ_WORDS}
    assert len(found_æøå) >= 6, found_æøå
    assert sum(1 for word in words if set(word) & set("æøå")) > 100
    # Seconds, not minutes, per page (about 1.5 s here on a quiet machine).
    assert seconds_per_page < 30, f"{seconds_per_page:.1f} s per page"


@needs_ocr
def test_ocr_lines_carry_pages_and_layout_in_pdf_points(scanned_by_ocr):
    document, _ = scanned_by_ocr
    sizes = {page.number: (page.width, page.height) for page in document.pages}
    pages = [line.page for line in document.lines]
    assert pages == sorted(pages), "lines in page order"
    for line in document.lines:
        width, height = sizes[line.page]
        layout = line.layout
        assert layout is not None
        assert 0 <= layout.x0 < layout.x1 <= width + 1 and 0 <= layout.top < layout.bottom <= height + 1, line
    # Body text has one font size across pages (photographed at different scales), so structure does not take
    # every line of one page for a heading.
    body = max(set(s := [line.layout.font_size for line in document.lines]), key=s.count)
    assert s.count(body) > 0.8 * len(s)
    # Tesseract's paragraphs: some lines start one, most continue one.
    starts = sum(line.blank_before for line in document.lines)
    assert 0 < starts < 0.5 * len(document.lines)


@needs_ocr
def test_the_warning_and_the_document_name_the_ocr_pages_and_confidence(scanned_by_ocr):
    document, _ = scanned_by_ocr
    assert not [w for w in document.warnings if w.startswith("no_text_layer")]
    [warning] = [w for w in document.warnings if w.startswith("ocr:")]
    assert re.search(r"pages 1–11 \(11 of 11\) had no text layer and were read by OCR \(Tesseract [\d.]+, nor\); "
                     r"mean confidence \d+ %", warning), warning
    assert document.ocr.pages == list(range(1, SCANNED_PAGES + 1))
    assert document.ocr.language == "nor" and 60 < document.ocr.mean_confidence <= 100


def _image_pdf(path: Path, lines: list[str], *, text_page: list[str] | None = None, dpi: int = 300) -> Path:
    """A PDF whose (last) page is a picture of ``lines`` in 11 pt type scanned at ``dpi``, as a scanner makes it: no
    text layer. With ``text_page``, a first page with those lines as real text comes before it."""
    import reportlab
    from builders import A4_HEIGHT, A4_WIDTH, _register_fonts
    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    pixels_per_point = dpi / 72
    image = Image.new("L", (int(A4_WIDTH * pixels_per_point), int(A4_HEIGHT * pixels_per_point)), 255)
    font = ImageFont.truetype(str(Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"), round(11 * pixels_per_point))
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((72 * pixels_per_point, (72 + 18 * number) * pixels_per_point), line, font=font, fill=0)
    pdf = canvas.Canvas(str(path), pagesize=(A4_WIDTH, A4_HEIGHT))
    if text_page:
        regular, _ = _register_fonts()
        pdf.setFont(regular, 11)
        for number, line in enumerate(text_page):
            pdf.drawString(72, A4_HEIGHT - 72 - 15 * number, line)
        pdf.showPage()
    pdf.drawImage(ImageReader(image), 0, 0, width=A4_WIDTH, height=A4_HEIGHT)
    pdf.showPage()
    pdf.save()
    return path


SENTENCES = ["Kommunen skal bygge flere gang- og sykkelveier før året er omme.",
             "Særlig på øya må skoleveien bli tryggere for små barn.",
             "Fylket vil også støtte lærlingordningen i sjømatnæringen."]


@needs_ocr
@pytest.mark.parametrize("dpi", [300, 100])
def test_a_generated_scan_of_norwegian_sentences_reads_back_with_æøå(tmp_path: Path, dpi: int):
    """At 300 dpi as scanned; at 100 dpi (lines about 15 pixels high) after enlarging the page for Tesseract."""
    path = _image_pdf(tmp_path / "skannet.pdf", SENTENCES, dpi=dpi)
    assert load_document(path).lines == []  # no text layer
    document = load_document(path, ocr=True)
    expected = _words(" ".join(SENTENCES))
    read = _words(" ".join(line.text for line in document.lines))
    assert sum(word in read for word in expected) >= 0.9 * len(expected), read
    for word in ("før", "året", "særlig", "på", "øya", "må", "små", "også", "støtte", "sjømatnæringen"):
        assert word in read, (word, read)
    assert [line.page for line in document.lines] == [1] * len(SENTENCES)
    assert document.ocr.pages == [1]


@needs_ocr
def test_only_pages_without_text_are_read_and_they_take_their_place_in_page_order(tmp_path: Path):
    typed = ["Handlingsplan for trafikksikkerhet", "Denne siden har et tekstlag."]
    path = _image_pdf(tmp_path / "blandet.pdf", SENTENCES, text_page=typed)
    plain = load_document(path)
    assert [line.text for line in plain.lines] == typed
    assert any("--ocr" in w for w in plain.warnings if w.startswith("no_text_layer"))

    document = load_document(path, ocr=True)
    assert [line.text for line in document.lines[:2]] == typed  # the text layer untouched
    assert {line.page for line in document.lines[2:]} == {2}
    assert "Særlig" in " ".join(line.text for line in document.lines[2:])
    # Body text read by OCR gets the text layer's body size (11 pt): one size for one kind of text.
    assert {line.layout.font_size for line in document.lines} == {11.0}
    [warning] = [w for w in document.warnings if w.startswith("ocr:")]
    assert "page 2 (1 of 2) had no text layer" in warning
    assert not [w for w in document.warnings if w.startswith("no_text_layer")]


@needs_ocr
def test_blank_pages_are_not_read_and_a_blank_pdf_keeps_its_warning(tmp_path: Path):
    from reportlab.pdfgen import canvas

    blank = canvas.Canvas(str(tmp_path / "blank.pdf"))
    blank.showPage()
    blank.showPage()
    blank.save()
    document = load_document(tmp_path / "blank.pdf", ocr=True)
    assert document.lines == [] and document.ocr is None
    [warning] = [w for w in document.warnings if w.startswith("no_text_layer")]
    assert "no text found" in warning
    assert not [w for w in document.warnings if w.startswith("ocr")]


@needs_ocr
def test_ocr_stops_at_the_document_time_limit(tmp_path: Path):
    path = _image_pdf(tmp_path / "skannet.pdf", SENTENCES)
    document = load_document(path)
    expired = LoadLimits(max_seconds=5.0, deadline=time.monotonic() - 1)
    started = time.perf_counter()
    with pytest.raises(DocumentError) as raised:
        read_scanned_pages(document, path.read_bytes(), expired)
    assert raised.value.stage == "ocr" and "max_seconds_per_document" in str(raised.value)
    assert time.perf_counter() - started < 5  # stopped before reading the page


def test_missing_norwegian_data_is_a_warning_naming_what_to_install(tmp_path: Path, monkeypatch):
    """TESSDATA_PREFIX pointing at a folder without nor.traineddata: as on a machine without tesseract-ocr-nor."""
    pytest.importorskip("PIL")
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path / "tomt"))
    path = _image_pdf(tmp_path / "skannet.pdf", SENTENCES)
    document = load_document(path, ocr=True)
    assert document.lines == [] and document.ocr is None
    [warning] = [w for w in document.warnings if w.startswith("ocr:")]
    assert "--ocr asked but OCR is not available, page 1 not read" in warning
    assert "apt-get install tesseract-ocr tesseract-ocr-nor" in warning or "pip install -e '.[ocr]'" in warning

    from pipeline.ops.doctor import check_ocr

    check = check_ocr()
    assert check.status == "warn" and "--ocr unavailable" in check.detail
    assert "tesseract-ocr-nor" in check.fix


def _doctor_row(env: dict[str, str] | None = None) -> str:
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.cli.doctor import register

    if not any(command.name == "doctor" for command in app.registered_commands):
        register(app)
    result = CliRunner().invoke(app, ["doctor", "--nlp", "blank"], env={"COLUMNS": "400", **(env or {})})
    return next(line for line in result.output.splitlines() if line.startswith("│ ocr "))


@needs_ocr
def test_doctor_says_ocr_is_available_with_the_tesseract_version_and_the_norwegian_data():
    row = _doctor_row()
    assert "│ ok " in row and "--ocr available" in row
    assert re.search(r"Tesseract \d+\.\d+", row) and "Norwegian data (nor)" in row


@needs_ocr
def test_tiltak_run_ocr_processes_the_scanned_chapter(tmp_path: Path, prefect_api: str):
    """The real command on a one-file corpus: the document is processed, its text comes from OCR, its warnings and
    provenance say so."""
    _needs_scanned_chapter()
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    shutil.copyfile(SCANNED, corpus / SCANNED.name)
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "COLUMNS": "160"}
    done = subprocess.run([str(TILTAK), "run", str(corpus), "--out", str(out), "--nlp", "blank", "--ocr"],
                          capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads(max((out / "runs").glob("*.json")).read_text(encoding="utf-8"))
    [record] = manifest["documents"]
    assert record["status"] == "processed", record
    assert manifest["settings"].get("ocr") is True
    document = json.loads((out / record["output"]).read_text(encoding="utf-8"))
    assert any(re.match(r"ocr: pages 1–11 \(11 of 11\) had no text layer and were read by OCR", w)
               for w in document["document"]["warnings"]), document["document"]["warnings"]
    assert document["provenance"]["ocr"]["pages"] == list(range(1, SCANNED_PAGES + 1))
    assert document["document"]["char_count"] > 10_000
    assert len({block["page"] for block in document["blocks"]}) >= SCANNED_PAGES - 1


def test_ocr_is_a_setting_of_its_own_in_the_config_file_and_the_cache_key(tmp_path: Path):
    from pipeline.config import PipelineConfig

    settings = tmp_path / "tiltak.toml"
    settings.write_text("ocr = true\n", encoding="utf-8")
    with_ocr = PipelineConfig.from_toml(settings)
    assert with_ocr.ocr is True and PipelineConfig().ocr is False
    # A document analysed without OCR is not reused from the cache for a run with it.
    assert with_ocr.config_hash != PipelineConfig().config_hash
