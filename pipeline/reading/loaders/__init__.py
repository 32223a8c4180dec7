"""Loaders: one interface, ``load_document(path) -> SourceDocument``, for PDF, HTML, DOCX and plain text.

The format is sniffed from the bytes (magic numbers, the parts inside a zip, markup), not taken from the
extension: a PDF saved as ``.txt`` is read as a PDF, and a spreadsheet renamed ``.docx`` is refused with a reason.
When content and extension disagree the document carries a warning saying so.

``LoadLimits`` carries the run's guards against documents too large to process (``max_bytes``, ``max_pages``,
``max_chars``, ``max_seconds_per_document``): a document over a limit is refused with an error naming the limit and
the config key that raises it, before the expensive work is done (``max_bytes`` before the file is read at all).
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from pipeline.errors import UnsupportedFormatError
from pipeline.reading.loaders.limits import NO_LIMITS, LoadLimits
from pipeline.reading.source import SourceDocument, SourceFormat

SUPPORTED_SUFFIXES: dict[str, SourceFormat] = {
    ".pdf": SourceFormat.PDF,
    ".html": SourceFormat.HTML,
    ".htm": SourceFormat.HTML,
    ".xhtml": SourceFormat.HTML,
    ".docx": SourceFormat.DOCX,
    ".txt": SourceFormat.TEXT,
    ".md": SourceFormat.TEXT,
}

# Markup that only an HTML page starts with (after an optional BOM, whitespace and comments).
_HTML_START = re.compile(rb"^\s*+(?:<!--(?>.*?-->)\s*+)*+<(?:!doctype\s+html|html|head|body|meta|title)\b", re.I | re.S)
_HTML_ANYWHERE = re.compile(rb"<(?:html|body|article|main)\b[^>]*>", re.I)
_TEXT_CONTROL = set(range(32)) - {9, 10, 12, 13}
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _looks_like_text(head: bytes) -> bool:
    if head.startswith(_UTF16_BOMS):
        return True
    if b"\x00" in head:
        return False
    controls = sum(1 for byte in head if byte in _TEXT_CONTROL)
    return controls <= max(2, len(head) // 200)


def sniff_format(data: bytes, path: Path) -> SourceFormat:
    """The format of ``data`` (the file's bytes, or at least its first 64 KiB for non-zip formats).

    Raises UnsupportedFormatError naming the file and why it cannot be read.
    """
    if not data:
        raise UnsupportedFormatError(path, "empty file (0 bytes)")
    head = data[:65536]
    if head.lstrip()[:5] == b"%PDF-" or head[:1024].find(b"%PDF-") >= 0:
        return SourceFormat.PDF
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile as exc:
            raise UnsupportedFormatError(path, f"damaged zip archive (a .docx is a zip): {exc}") from exc
        if "word/document.xml" in names:
            return SourceFormat.DOCX
        kind = "a spreadsheet (.xlsx)" if any(n.startswith("xl/") for n in names) else "not a Word document"
        raise UnsupportedFormatError(path, f"zip archive but {kind}; tiltak reads Word documents (.docx)")
    if head.startswith(_OLE_MAGIC):
        raise UnsupportedFormatError(path, "old binary Office file (.doc/.xls); save it as .docx or PDF first")
    if not _looks_like_text(head):
        raise UnsupportedFormatError(path, "binary content, not a PDF, HTML, DOCX or text file")
    text_head = head.decode("utf-16", "ignore").encode() if head.startswith(_UTF16_BOMS) else head
    text_head = text_head.removeprefix(b"\xef\xbb\xbf")
    if _HTML_START.match(text_head) or (path.suffix.lower() in {".html", ".htm", ".xhtml"}
                                         and _HTML_ANYWHERE.search(text_head)):
        return SourceFormat.HTML
    return SourceFormat.TEXT


def _extension_warning(path: Path, fmt: SourceFormat) -> str | None:
    expected = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if expected is None or expected == fmt:
        return None
    return f"content is {fmt.value} although the file name ends in {path.suffix}; read as {fmt.value}"


def load_document(path: Path, limits: LoadLimits = NO_LIMITS, *, pdf_backend: str = "pdfium",
                  ocr: bool = False, progress: Callable[[int, int], None] | None = None) -> SourceDocument:
    """Read ``path`` into a SourceDocument, choosing the loader by its content, within ``limits``. PDFs are read
    by ``pdf_backend``: "pdfplumber" (with layout), "pdfium" (the same layout reading from pdfium's characters, many
    times faster) or "pypdfium2" (plain text, without layout), telling ``progress``
    (pages read, page count) after each page (by default a long PDF's progress is printed on stderr); with
    ``ocr``, their pages without a text layer are read by Tesseract (pipeline.reading.loaders.ocr)."""
    path = Path(path)
    try:
        # The size from the file system first: a file over max_bytes is never read into memory.
        limits.check_bytes(path, path.stat().st_size)
        data = path.read_bytes()
    except OSError as exc:
        raise UnsupportedFormatError(path, f"cannot read: {exc.strerror or exc}") from exc
    limits.check_bytes(path, len(data))  # a file that grew after its size was taken
    fmt = sniff_format(data, path)
    from pipeline.reading.loaders import docx, html, pdf, text

    if pdf_backend not in ("pdfplumber", "pdfium", "pypdfium2"):
        raise ValueError(f"unknown PDF backend {pdf_backend!r}: use 'pdfplumber', 'pdfium' or 'pypdfium2'")
    pdf_reader = (functools.partial(pdf.read_plain, progress=progress) if pdf_backend == "pypdfium2"
                  else functools.partial(pdf.read, progress=progress, chars_from=pdf_backend))
    reader = {SourceFormat.PDF: pdf_reader, SourceFormat.HTML: html.read,
              SourceFormat.DOCX: docx.read, SourceFormat.TEXT: text.read}[fmt]
    document = reader(path, data, limits)
    if fmt == SourceFormat.PDF:
        from pipeline.reading.loaders import ocr as ocr_reader

        if ocr:
            document = ocr_reader.read_scanned_pages(document, data, limits)
        else:
            ocr_reader.mention_ocr_option(document)
    # A cheap early check on the extracted text, so that a huge document fails in seconds, before structure
    # and NLP. Normalisation changes the length only a little (drops controls and repeated spaces, adds block
    # separators); analyse_document checks the normalised text against the same limit.
    limits.check_chars(path, sum(len(line.text.strip()) for line in document.lines))
    document.sha256 = hashlib.sha256(data).hexdigest()
    document.size_bytes = len(data)
    if warning := _extension_warning(path, fmt):
        document.warnings.insert(0, warning)
    return document
