"""Reading PDFs as government documents are printed (issue #14): one damaged page does not lose the document,
subscripts stay in their words, columns are read one after the other around full-width tables, footnotes come
after the running text, and long documents report progress.

Generated PDFs (reportlab) cover the edge cases; the real documents in ../shared/corpora/real-docs are read when
present (skipped with a reason otherwise). No text of those documents is written here: sentences are taken from
their gold files at run time."""

from __future__ import annotations

import io

import pytest
from builders import A4_HEIGHT, A4_WIDTH, _register_fonts

from pipeline.errors import UnsupportedFormatError
from pipeline.loaders import load_document


def _canvas(target):
    from reportlab.pdfgen import canvas

    return canvas.Canvas(target, pagesize=(A4_WIDTH, A4_HEIGHT), pageCompression=0)


def _pages_with_markers(count: int) -> bytes:
    """``count`` uncompressed pages, page n saying "… tiltak nummer n" with a marker word MERKEn."""
    regular, _ = _register_fonts()
    buffer = io.BytesIO()
    pdf = _canvas(buffer)
    for number in range(1, count + 1):
        pdf.setFont(regular, 11)
        pdf.drawString(72, 700, f"Kommunen gjennomfører tiltak nummer {number} på denne siden MERKE{number}")
        pdf.drawString(72, 680, "Arbeidet følges opp av fylkeskommunen i samarbeid med næringslivet.")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _damage_page(data: bytes, marker: bytes) -> bytes:
    """The content stream holding ``marker`` declared as compressed by a filter no reader knows: that page's
    text cannot be decoded, the rest of the file is intact."""
    at = data.index(marker)
    length = data.rindex(b"/Length", 0, at)
    return data[:length] + b"/Filter /NoSuchDecode " + data[length:]


def test_a_page_that_cannot_be_read_is_a_warning_and_the_other_pages_are_read(tmp_path):
    path = tmp_path / "skadet.pdf"
    path.write_bytes(_damage_page(_pages_with_markers(4), b"MERKE3"))
    document = load_document(path)
    text = "\n".join(line.text for line in document.lines)
    assert all(f"MERKE{n}" in text for n in (1, 2, 4)) and "MERKE3" not in text
    assert {line.page for line in document.lines} == {1, 2, 4}
    assert document.page_count == 4
    [warning] = [w for w in document.warnings if "could not be read" in w]
    assert warning.startswith("page 3 could not be read (") and "NoSuchDecode" in warning and "skipped" in warning


def test_a_document_without_any_readable_page_is_refused_naming_the_file(tmp_path):
    data = _pages_with_markers(2)
    for marker in (b"MERKE1", b"MERKE2"):
        data = _damage_page(data, marker)
    path = tmp_path / "helt-skadet.pdf"
    path.write_bytes(data)
    with pytest.raises(UnsupportedFormatError) as caught:
        load_document(path)
    message = str(caught.value)
    assert "helt-skadet.pdf" in message and "no page could be read" in message and "page 1" in message


def test_the_page_warning_reaches_the_document_json(tmp_path):
    from pipeline.config import PipelineConfig
    from pipeline.process import analyse_document

    path = tmp_path / "skadet.pdf"
    path.write_bytes(_damage_page(_pages_with_markers(3), b"MERKE2"))
    result = analyse_document(path, PipelineConfig()).model_dump(mode="json")
    assert any(w.startswith("page 2 could not be read") for w in result["document"]["warnings"])
    assert "MERKE3" in result["text"]
