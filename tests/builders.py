"""Real input files for tests: PDFs (reportlab), Word documents (python-docx) and HTML pages, written on the fly."""

from __future__ import annotations

from pathlib import Path

A4_WIDTH, A4_HEIGHT = 595.27, 841.89
MARGIN = 72
BODY_SIZE, HEADING_SIZE, LINE_GAP = 11, 15, 15


def _register_fonts() -> tuple[str, str]:
    import reportlab
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    fonts = Path(reportlab.__file__).parent / "fonts"
    regular, bold = fonts / "Vera.ttf", fonts / "VeraBd.ttf"
    if "TestSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("TestSans", str(regular)))
        pdfmetrics.registerFont(TTFont("TestSans-Bold", str(bold)))
    return "TestSans", "TestSans-Bold"


def write_pdf(path: Path, pages: list[list[str]], *, header: str | None = None, footer_page_numbers: bool = True,
              title: str | None = None, encrypt: str | None = None) -> Path:
    """A PDF with one list of lines per page. ``"# text"`` is a bold, larger heading; ``""`` is a paragraph gap.

    With ``header`` every page carries it as a running header; with ``footer_page_numbers`` a page number at
    the bottom.
    """
    from reportlab.pdfgen import canvas

    regular, bold = _register_fonts()
    pdf = canvas.Canvas(str(path), pagesize=(A4_WIDTH, A4_HEIGHT), encrypt=encrypt)
    if title:
        pdf.setTitle(title)
    for number, lines in enumerate(pages, start=1):
        if header:
            pdf.setFont(regular, 9)
            pdf.drawString(MARGIN, A4_HEIGHT - 40, header)
        y = A4_HEIGHT - MARGIN - 20
        for line in lines:
            if line == "":
                y -= LINE_GAP
                continue
            if line.startswith("# "):
                y -= 6
                pdf.setFont(bold, HEADING_SIZE)
                pdf.drawString(MARGIN, y, line[2:])
                y -= LINE_GAP + 8
                continue
            pdf.setFont(regular, BODY_SIZE)
            pdf.drawString(MARGIN, y, line)
            y -= LINE_GAP
        if footer_page_numbers:
            pdf.setFont(regular, 9)
            pdf.drawCentredString(A4_WIDTH / 2, 30, str(number))
        pdf.showPage()
    pdf.save()
    return path


def write_two_column_pdf(path: Path, title: str, left: list[str], right: list[str], *, footer: str = "1") -> Path:
    """One A4 page in two text columns under a title, with a centred footer, as designed strategies are laid out."""
    from reportlab.pdfgen import canvas

    regular, bold = _register_fonts()
    pdf = canvas.Canvas(str(path), pagesize=(A4_WIDTH, A4_HEIGHT))
    pdf.setFont(bold, HEADING_SIZE)
    pdf.drawString(57, A4_HEIGHT - 80, title)
    pdf.setFont(regular, 10)
    for x, lines in ((57, left), (310, right)):
        for row, line in enumerate(lines):
            pdf.drawString(x, A4_HEIGHT - 120 - 14 * row, line)
    pdf.setFont(regular, 9)
    pdf.drawCentredString(A4_WIDTH / 2, 30, footer)
    pdf.showPage()
    pdf.save()
    return path


def write_docx(path: Path, items: list[tuple[str, str]]) -> Path:
    """A Word document. Kinds: title, heading1, heading2, paragraph, bullet, number, table (cells split on "|"),
    pagebreak."""
    import docx

    document = docx.Document()
    for kind, text in items:
        if kind == "title":
            document.add_heading(text, level=0)
            document.core_properties.title = text
        elif kind.startswith("heading"):
            document.add_heading(text, level=int(kind[-1]))
        elif kind == "bullet":
            document.add_paragraph(text, style="List Bullet")
        elif kind == "number":
            document.add_paragraph(text, style="List Number")
        elif kind == "table":
            cells = [cell.strip() for cell in text.split("|")]
            table = document.add_table(rows=1, cols=len(cells))
            for cell, value in zip(table.rows[0].cells, cells, strict=True):
                cell.text = value
        elif kind == "pagebreak":
            document.add_page_break()
        else:
            document.add_paragraph(text)
    document.save(str(path))
    return path


CHROME_TOP = """<header class="site-header"><nav><ul><li><a href="/">Forsiden</a></li><li><a href="/tema">Tema</a>
</li></ul></nav><div class="breadcrumbs">Forsiden / Aktuelt</div></header>
<div id="cookie-banner">Vi bruker informasjonskapsler. <button>Godta</button></div>"""
CHROME_BOTTOM = """<aside class="related"><h2>Relatert</h2><ul><li>Annen nyhet</li></ul></aside>
<footer class="site-footer"><p>Regjeringen.no er Regjeringens nettsted</p></footer>
<script>window.analytics = {track: function () {}};</script>"""


def write_html(path: Path, body_html: str, *, title: str, with_chrome: bool = True, charset: str = "utf-8") -> Path:
    """A government-style page: the article in <main>, wrapped in navigation, banners, a footer and scripts."""
    head = (f'<!DOCTYPE html>\n<html lang="nb"><head><meta charset="{charset}"><title>{title}</title>'
            '<style>body { font-family: sans-serif; }</style>'
            '<link rel="stylesheet" href="https://example.invalid/site.css"></head><body>')
    main = f"<main><article>{body_html}</article></main>"
    page = head + (CHROME_TOP + main + CHROME_BOTTOM if with_chrome else main) + "</body></html>"
    path.write_bytes(page.encode(charset))
    return path
