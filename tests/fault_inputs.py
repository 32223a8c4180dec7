"""Bad input files for the fault-injection suite (tests/test_faults.py): each builder writes a real file."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from builders import A4_HEIGHT, A4_WIDTH, write_docx, write_pdf

NORWEGIAN_LIST = [
    "For å styrke helsenæringen vil regjeringen:",
    "• etablere en nasjonal ordning for testing av helseteknologi",
    "• legge fram en handlingsplan for kliniske studier",
]

ENGLISH_TEXT = """The Government's strategy for the health industry

The government will strengthen the health industry and make it easier for companies to test new products in
the public health service. This is a plan for growth, exports and better services for patients.

To achieve this the government will:
- establish a national arrangement for testing of health technology
- present an action plan for clinical trials in the hospitals
- examine how health data can be shared more safely with the industry

The aim is to double the exports from the health industry by 2030, and the government is committed to work with
the industry, the hospitals and the universities on this.
"""

GERMAN_TEXT = """Die Strategie der Bundesregierung für die Gesundheitswirtschaft

Die Regierung wird die Gesundheitswirtschaft stärken und es den Unternehmen leichter machen, neue Produkte im
öffentlichen Gesundheitswesen zu testen. Das ist ein Plan für Wachstum und Export, der sich auf die Patienten
und die Versorgung konzentriert.

Dazu wird die Regierung:
- eine nationale Regelung für die Erprobung von Gesundheitstechnologie einführen
- einen Aktionsplan für klinische Studien in den Krankenhäusern vorlegen
- prüfen, wie die Gesundheitsdaten mit der Industrie sicherer geteilt werden können
"""


def norwegian_text(topic: str) -> str:
    """A short Norwegian policy text with one list of measures about ``topic`` (distinct content per topic)."""
    return (f"Tiltak for {topic}\n\nPlanen gjelder {topic} i hele landet. Det er viktig at "
            f"kommunene og fylkene har nok kunnskap om {topic}, og at arbeidet skjer i samarbeid med næringen.\n\n"
            f"For å styrke arbeidet med {topic} vil regjeringen:\n"
            f"• etablere et nasjonalt kompetansesenter for {topic}\n"
            f"• utrede en ny tilskuddsordning for {topic}\n")


def write_zero_bytes(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def write_random_bytes(path: Path, size: int = 8192) -> Path:
    data = os.urandom(size)
    path.write_bytes(data.replace(b"%PDF-", b"%PDX-"))
    return path


def write_truncated_pdf(path: Path) -> Path:
    write_pdf(path, [["# Truncated", *NORWEGIAN_LIST]] * 3)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


def write_password_pdf(path: Path, password: str = "hemmelig") -> Path:
    return write_pdf(path, [["# Hemmelig", *NORWEGIAN_LIST]], encrypt=password)


def write_image_only_pdf(path: Path) -> Path:
    """A scanned-looking PDF: two pages, each one PIL-drawn image and no text at all."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=(A4_WIDTH, A4_HEIGHT))
    for page in range(2):
        image = Image.new("RGB", (400, 560), "white")
        draw = ImageDraw.Draw(image)
        for row in range(20):  # grey bars where the scanned lines of text would be
            draw.rectangle((30, 30 + row * 25, 370 - (row * 37 + page * 50) % 120, 42 + row * 25), fill="#444")
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        buffer.seek(0)
        pdf.drawImage(ImageReader(buffer), 40, 60, width=A4_WIDTH - 80, height=A4_HEIGHT - 120)
        pdf.showPage()
    pdf.save()
    return path


def write_many_pages_pdf(path: Path, pages: int = 2000) -> Path:
    """A long PDF written fast: one short line per page, built-in font, no compression (~0.2 s for 2,000)."""
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=(A4_WIDTH, A4_HEIGHT), pageCompression=0)
    for number in range(1, pages + 1):
        pdf.setFont("Helvetica", 11)
        pdf.drawString(72, A4_HEIGHT - 100, f"Side {number}: regjeringen vil styrke helsenæringen.")
        pdf.showPage()
    pdf.save()
    return path


def write_huge_text(path: Path, megabytes: int = 50) -> Path:
    """``megabytes`` MB of Norwegian text, written in 1 MB chunks (well under a second)."""
    block = (norwegian_text("helsenæringen") + "\n").encode("utf-8")
    chunk = block * (1_000_000 // len(block) + 1)
    with path.open("wb") as handle:
        for _ in range(megabytes):
            handle.write(chunk)
    return path


def write_cp1252_text(path: Path) -> Path:
    path.write_bytes(norwegian_text("sjøfart og næringsliv på Svalbard – «grønn» omstilling").encode("cp1252"))
    return path


def write_utf16_text(path: Path) -> Path:
    path.write_bytes(norwegian_text("økt eksport fra små bedrifter i Nord-Norge").encode("utf-16"))  # with a BOM
    return path


def write_hostile_html(path: Path, base_url: str, depth: int = 10_000) -> Path:
    """A page with scripts, 10,000 levels of nesting and external resources (all on ``base_url``), whose article
    text sits at the bottom of the nesting."""
    external = (
        f'<link rel="stylesheet" href="{base_url}/site.css"><script src="{base_url}/app.js"></script>'
        f'<style>@import url("{base_url}/import.css"); body {{ background: url("{base_url}/bg.png"); }}</style>'
        f'<link rel="preload" href="{base_url}/font.woff2" as="font"><meta http-equiv="refresh" '
        f'content="0; url={base_url}/refresh">'
    )
    body = (
        f'<img src="{base_url}/logo.png"><iframe src="{base_url}/frame.html"></iframe>'
        f'<object data="{base_url}/obj.swf"></object><embed src="{base_url}/embed.svg">'
        '<script>document.write("SKRIPTTEKST"); fetch("/track");</script>'
        + "<div>" * depth
        + "<h1>Plan for helsenæringen</h1>"
        + "<p>For å styrke helsenæringen vil regjeringen:</p>"
        + "<ul><li>etablere en nasjonal ordning for testing av helseteknologi</li>"
        + "<li>legge fram en handlingsplan for kliniske studier</li></ul>"
        + "</div>" * depth
        + f'<script src="{base_url}/late.js">SKRIPTTEKST</script><noscript>SKRIPTTEKST</noscript>'
    )
    page = (f'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "{base_url}/xhtml1-strict.dtd">\n'
            f'<html lang="nb"><head><meta charset="utf-8"><title>Plan</title>{external}</head>'
            f"<body>{body}</body></html>")
    path.write_text(page, encoding="utf-8")
    return path


def write_malformed_docx(path: Path) -> Path:
    """A real zip with the parts of a Word document, whose document.xml is cut off mid-element."""
    good = write_docx(path.with_suffix(".tmp.docx"), [("title", "Strategi"), ("paragraph", "Regjeringen vil:")])
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                data = data[: len(data) // 2]
            target.writestr(info, data)
    good.unlink()
    return path


def write_docx_zip_bomb(path: Path, megabytes: int = 600) -> Path:
    """A zip whose ``word/document.xml`` inflates to ``megabytes`` MB of zeros (~0.6 MB on disk)."""
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            for _ in range(megabytes):
                member.write(chunk)
    return path


def make_fifo(path: Path) -> Path:
    """A named pipe: opening it for reading blocks until a writer comes (a reader must never open it)."""
    os.mkfifo(path)
    return path


def make_socket(path: Path) -> Path:
    """A Unix socket file (the listening socket is closed; the file stays)."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(os.fspath(path))
    return path


def make_symlink_loop(path: Path) -> Path:
    """``path`` -> ``path.loop`` -> ``path``: following either never ends."""
    partner = path.with_name(path.name + ".loop")
    os.symlink(partner.name, path)
    os.symlink(path.name, partner)
    return path


def write_non_utf8_name(folder: Path, stem: bytes, text: str) -> Path:
    """A text file whose name is not valid UTF-8 (``stem`` holds e.g. Latin-1 bytes like b"r\\xe5d"), created from
    bytes as any Linux program may; returned as Python carries it (the bad bytes as lone surrogates)."""
    raw = os.path.join(os.fsencode(folder), stem + b".txt")
    fd = os.open(raw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(text.encode("utf-8"))
    return Path(os.fsdecode(raw))


# --- size-proof loading (issue #13): small files that expand into work or memory ------------------------------------

_DOCX_BODY_START = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w='
                    '"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>')
_DOCX_BODY_END = '<w:sectPr/></w:body></w:document>'


def write_docx_with_body(path: Path, body_xml: str) -> Path:
    """A Word document (the parts python-docx writes) whose ``word/document.xml`` body is ``body_xml``."""
    template = write_docx(path.with_suffix(".template.docx"), [("paragraph", "Mal")])
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                data = (_DOCX_BODY_START + body_xml + _DOCX_BODY_END).encode("utf-8")
            target.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    template.unlink()
    return path


def write_many_paragraphs_docx(path: Path, paragraphs: int = 40_000) -> Path:
    """``paragraphs`` short paragraphs (about 40 KB on disk): a loop that never checks the clock runs long."""
    body = "".join(f"<w:p><w:r><w:t>Tiltak {n}: regjeringen vil styrke næringen.</w:t></w:r></w:p>"
                   for n in range(paragraphs))
    return write_docx_with_body(path, body)


def write_docx_big_table(path: Path, megabytes: int = 10) -> Path:
    """One table of about ``megabytes`` MB of XML (a few rows per KB) in well under 100 KB on disk."""
    row = ("<w:tr>" + "".join(f"<w:tc><w:p><w:r><w:t>Celle {n}</w:t></w:r></w:p></w:tc>" for n in range(3))
           + "</w:tr>")
    rows = megabytes * 1_000_000 // len(row)
    return write_docx_with_body(path, "<w:tbl><w:tblGrid><w:gridCol/><w:gridCol/><w:gridCol/></w:tblGrid>"
                                      + row * rows + "</w:tbl>")


def write_docx_xml_bomb(path: Path, megabytes: int = 100) -> Path:
    """A Word document whose body is ``megabytes`` MB of XML (one repeated paragraph), a few hundred KB on disk."""
    paragraph = "<w:p><w:r><w:t>Regjeringen vil styrke næringen.</w:t></w:r></w:p>"
    return write_docx_with_body(path, paragraph * (megabytes * 1_000_000 // len(paragraph)))


def write_huge_page_pdf(path: Path, width: float = 20_000_000, lines: int = 30) -> Path:
    """A PDF of one page ``width`` points wide (20 million points: 7 km) holding ``lines`` lines of text, a few KB:
    a grid of one cell per point across would take gigabytes."""
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=(width, A4_HEIGHT))
    for row in range(lines):
        pdf.setFont("Helvetica", 11)
        text = f"Linje {row + 1}: regjeringen vil styrke næringen i hele landet."
        pdf.drawString(72, A4_HEIGHT - 72 - 16 * row, text)
    pdf.showPage()
    pdf.save()
    return path


def write_huge_html(path: Path, megabytes: int = 30) -> Path:
    """A page of ``megabytes`` MB: an article of short paragraphs (distinct numbers) inside layout markup."""
    paragraph = ('<div class="avsnitt"><p>Tiltak {n}: regjeringen vil <b>styrke</b> næringen i '
                 '<a href="/tema/{n}">hele landet</a>.</p></div>\n')
    with path.open("w", encoding="utf-8") as handle:
        handle.write('<!DOCTYPE html>\n<html lang="nb"><head><meta charset="utf-8"><title>Stor side</title></head>'
                     "<body><main><h1>Stor side</h1>\n")
        n, written = 0, 0
        while written < megabytes * 1_000_000:
            chunk = "".join(paragraph.format(n=n + i) for i in range(1000))
            handle.write(chunk)
            written += len(chunk.encode("utf-8"))
            n += 1000
        handle.write("</main></body></html>\n")
    return path


# --- encodings decided by the bytes (issue #22) ----------------------------------------------------------------------

def write_mixed_encoding_text(path: Path) -> Path:
    """UTF-8 text with one line pasted in from a cp1252 file (its 'ø' and 'å' single bytes)."""
    first = norwegian_text("sjømat og næringsliv i Sør-Norge").encode("utf-8")
    pasted = "Tiltaket gjelder også små bedrifter på Sørlandet.\n".encode("cp1252")
    path.write_bytes(first + pasted + "Økt eksport er målet.\n".encode())
    return path


def write_html_with_wrong_charset(path: Path, declared: str = "iso-8859-1", body_encoding: str = "utf-8") -> Path:
    """A page declaring ``declared`` whose bytes are in ``body_encoding``."""
    body = ("<main><h1>Løft for sjømatnæringen</h1><p>Regjeringen vil styrke næringen i Nord-Norge og Sør-Norge, og "
            "økt eksport fra små og store bedrifter er målet for de neste årene.</p><p>Tiltakene følges opp i "
            "budsjettet, og næringen får bedre vilkår på kysten.</p></main>")
    page = (f'<!DOCTYPE html>\n<html lang="nb"><head><meta charset="{declared}"><title>Sjømat</title></head>'
            f"<body>{body}</body></html>")
    path.write_bytes(page.encode(body_encoding))
    return path
