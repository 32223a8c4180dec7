"""The PDF loader's default character source, pdfium (pipeline.reading.loaders.pdfium_pages): the same layout
reading as from pdfplumber's characters, several times faster.

The real documents of ../shared/corpora/real-docs are read by both sources and compared line by line (skipped with a
reason when absent; no text of them is written here). Generated PDFs (reportlab) cover what pdfium does differently:
its own spaces, rotated pages, bold and font sizes."""

from __future__ import annotations

import difflib
import io
from pathlib import Path

import pytest
from builders import A4_HEIGHT, A4_WIDTH, _register_fonts

from pipeline.reading.loaders import load_document, pdf
from pipeline.reading.loaders.limits import NO_LIMITS

REAL_DOCS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "real-docs"
# Real PDFs of a few pages each, with a text layer; the 419-page budget proposition is compared in
# benchmarks/pdf_load_speed.py (it takes minutes with pdfplumber).
SMALL_REAL_PDFS = ["fylkesmannen-vestfold-telemark-innspill-porsgrunn.pdf",
                   "kristiansand-kdp-1264-kvadraturen-bestemmelser.pdf",
                   "nve-innspill-reguleringsplan-porsgrunn-2020.pdf",
                   "telemark-ungdomsrad-handlingsplan-2025.pdf",
                   "nsm-risiko-2025.pdf"]


def _quiet(_page: int, _total: int) -> None:
    return None


def _read(path: Path, chars_from: str):
    return pdf.read(path, path.read_bytes(), NO_LIMITS, progress=_quiet, chars_from=chars_from)


@pytest.mark.skipif(not REAL_DOCS.is_dir(), reason=f"{REAL_DOCS} is absent (read from ../shared, never committed)")
@pytest.mark.parametrize("name", SMALL_REAL_PDFS)
def test_real_pdfs_read_the_same_from_pdfium_as_from_pdfplumber(name):
    path = REAL_DOCS / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    plumber, pdfium = _read(path, "pdfplumber"), _read(path, "pdfium")
    assert len(pdfium.pages) == len(plumber.pages)
    assert [v for p in pdfium.pages for v in (p.width, p.height)] == pytest.approx(
        [v for p in plumber.pages for v in (p.width, p.height)], abs=1.0)
    before = [(line.page, line.text) for line in plumber.lines]
    after = [(line.page, line.text) for line in pdfium.lines]
    same = sum(block.size for block in difflib.SequenceMatcher(None, before, after, autojunk=False)
               .get_matching_blocks())
    # Measured 2026-12-07: every line the same in the four short documents; in the 40-page report one line differs
    # (pdfium writes the ligature "fi" as two letters).
    assert same >= 0.99 * len(before) and len(after) == len(before)
    # Headings are told by their size and weight: both sources give (nearly) every line the same layout. Lines set
    # sideways (photo credits up a margin) are left out: pdfplumber takes their size from the glyphs' width.
    pairs = [(a.layout, b.layout) for a, b in zip(plumber.lines, pdfium.lines, strict=True)
             if a.text == b.text and a.layout.bottom - a.layout.top <= 2 * max(a.layout.font_size, 1.0)]
    alike = [a.bold == b.bold and abs(a.font_size - b.font_size) <= 0.25 and abs(a.top - b.top) <= 1.0
             and abs(a.x0 - b.x0) <= 1.0 for a, b in pairs]
    assert sum(alike) >= 0.99 * len(pairs), [pair for pair, same in zip(pairs, alike, strict=True) if not same][:5]
    assert pdfium.title == plumber.title and pdfium.warnings == plumber.warnings


def _canvas(target, **options):
    from reportlab.pdfgen import canvas

    return canvas.Canvas(target, pagesize=(A4_WIDTH, A4_HEIGHT), pageCompression=0, **options)


def _pdf(tmp_path: Path, name: str, draw) -> Path:
    buffer = io.BytesIO()
    pdf_canvas = _canvas(buffer)
    draw(pdf_canvas)
    pdf_canvas.save()
    path = tmp_path / name
    path.write_bytes(buffer.getvalue())
    return path


def test_a_non_breaking_space_in_an_amount_stays_a_space(tmp_path):
    regular, _ = _register_fonts()

    def draw(canvas):
        canvas.setFont(regular, 11)
        canvas.drawString(72, 700, "Regjeringen setter av 177\u00a0600 kroner til ordningen.")
        canvas.showPage()

    document = load_document(_pdf(tmp_path, "belop.pdf", draw))
    [line] = document.lines
    assert line.text.replace("\u00a0", " ") == "Regjeringen setter av 177 600 kroner til ordningen."


def test_letter_spaced_words_are_not_cut(tmp_path):
    # Justified text spreads the letters of a word; pdfium puts a space of its own into some such gaps.
    regular, _ = _register_fonts()

    def draw(canvas):
        text = canvas.beginText(72, 700)
        text.setFont(regular, 10)
        text.setCharSpace(1.2)
        text.textOut("Kommunene styrker samarbeidet om helsetjenestene.")
        canvas.drawText(text)
        canvas.showPage()

    [line] = load_document(_pdf(tmp_path, "sperret.pdf", draw)).lines
    assert line.text == "Kommunene styrker samarbeidet om helsetjenestene."


def test_headings_keep_their_size_and_weight(tmp_path):
    regular, bold = _register_fonts()

    def draw(canvas):
        canvas.setFont(bold, 16)
        canvas.drawString(72, 740, "Tiltak for bedre helsetjenester")
        canvas.setFont(regular, 10)
        canvas.drawString(72, 700, "Regjeringen vil styrke fastlegeordningen i alle kommuner.")
        canvas.showPage()

    heading, body = load_document(_pdf(tmp_path, "overskrift.pdf", draw)).lines
    assert heading.text == "Tiltak for bedre helsetjenester" and heading.layout.bold
    assert heading.layout.font_size == pytest.approx(16, abs=0.1)
    assert not body.layout.bold and body.layout.font_size == pytest.approx(10, abs=0.1)
    assert heading.layout.top < body.layout.top  # measured from the top of the page, as pdfplumber does


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_a_rotated_page_is_read_as_it_is_shown(tmp_path, rotation):
    # /Rotate turns the page for display; text drawn to be upright on the turned page is read upright, at the
    # place and on a page of the size the reader sees (as pdfplumber reads it).
    regular, _ = _register_fonts()
    lines = ["Fylkeskommunen skal utrede nye busslinjer.", "Arbeidet starter høsten 2026."]

    def draw(canvas):
        canvas.setPageRotation(rotation)
        canvas.saveState()
        # drawn in the unturned page's space, turned back so that it reads upright once displayed
        if rotation == 90:
            canvas.translate(A4_WIDTH, 0)
        elif rotation == 180:
            canvas.translate(A4_WIDTH, A4_HEIGHT)
        else:
            canvas.translate(0, A4_HEIGHT)
        canvas.rotate(rotation)
        canvas.setFont(regular, 11)
        for number, line in enumerate(lines):
            canvas.drawString(72, A4_HEIGHT - 100 - 20 * number, line)
        canvas.restoreState()
        canvas.showPage()

    path = _pdf(tmp_path, f"rotert-{rotation}.pdf", draw)
    document, plumber = load_document(path), load_document(path, pdf_backend="pdfplumber")
    assert [line.text for line in document.lines] == [line.text for line in plumber.lines] == lines
    [page], [plumber_page] = document.pages, plumber.pages
    assert (page.width, page.height) == pytest.approx((plumber_page.width, plumber_page.height), abs=1.0)
    for line, plumber_line in zip(document.lines, plumber.lines, strict=True):
        assert line.layout.x0 == pytest.approx(plumber_line.layout.x0, abs=1.0)
        assert line.layout.top == pytest.approx(plumber_line.layout.top, abs=1.0)


def test_pdfs_read_in_several_threads_at_once_read_as_one_by_one(tmp_path):
    # pdfium is not thread-safe: readers take turns (PDFIUM_LOCK), so threads of one process (the Python API, a Dask
    # worker with several threads) each get the whole, right document.
    from concurrent.futures import ThreadPoolExecutor

    regular, bold = _register_fonts()
    paths = []
    for number in range(6):
        def draw(canvas, number=number):
            for page in range(3):
                canvas.setFont(bold, 14)
                canvas.drawString(72, 760, f"Kapittel {number}.{page}")
                canvas.setFont(regular, 10)
                for row in range(30):
                    canvas.drawString(72, 720 - 20 * row, f"Tiltak {number}-{page}-{row}: kommunen styrker tilbudet.")
                canvas.showPage()
        paths.append(_pdf(tmp_path, f"dokument-{number}.pdf", draw))
    alone = [[line.text for line in load_document(path).lines] for path in paths]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda path: [line.text for line in load_document(path).lines], paths * 3))
    assert together == alone * 3
    assert all(len(lines) == 93 for lines in alone)
