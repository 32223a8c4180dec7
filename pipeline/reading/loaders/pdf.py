"""PDF: the printed lines of each page, with their position, font size and weight, from the page's characters as
pdfium (pipeline.reading.loaders.pdfium_pages, the default) or pdfplumber reads them.

Layout is what later tells a heading from body text, a running header from the first line of a page, and a
wrapped line from a new paragraph (pipeline.reading.normalise). Pages are numbered from 1 as the reader counts them.
Lines, columns, bands and footnotes come from the page's characters (pipeline.reading.loaders.pdf_layout); a page larger
than any paper (over 5 m on a side) is read as one column, with a warning, because the column detection's grid
grows with the page's width in points. A page that cannot be read is skipped with a warning.
"""

from __future__ import annotations

import datetime
import functools
import io
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.errors import UnsupportedFormatError
from pipeline.reading.loaders import pdf_layout
from pipeline.reading.loaders.limits import NO_LIMITS, LoadLimits
from pipeline.reading.source import LineLayout, PageInfo, SourceDocument, SourceFormat, SourceLine

NO_TEXT_LAYER = "no_text_layer"
_BOLD = ("bold", "black", "heavy", "semibold", "demi")


def _declared_page_count(pdf) -> int | None:
    """The page count the PDF's page tree declares (/Pages /Count), read without visiting every page."""
    from pdfminer.pdftypes import resolve1

    try:
        count = resolve1(resolve1(pdf.doc.catalog["Pages"]).get("Count"))
    except Exception:  # a damaged catalog: counting the pages themselves (below) reports it
        return None
    return count if isinstance(count, int) and count >= 0 else None


def _open(path: Path, data: bytes, limits: LoadLimits):
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        declared = _declared_page_count(pdf)
        if declared is not None:
            limits.check_pages(path, declared)  # before the page tree is walked or any page read
        _ = pdf.pages  # parses the page tree: damage shows here
    except UnsupportedFormatError:
        raise
    except (PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise UnsupportedFormatError(path, "password-protected PDF; remove the password and try again") from exc
    except Exception as exc:  # pdfminer raises many types (PSEOF, PDFSyntaxError, ValueError …) for damage
        # pdfplumber wraps pdfminer's error without chaining it: the original is its argument or context.
        wrapped = [exc.__cause__, exc.__context__, *(a for a in exc.args if isinstance(a, BaseException))]
        cause = next((e for e in wrapped if e is not None), exc)
        if any(isinstance(e, (PDFPasswordIncorrect, PDFEncryptionError)) for e in wrapped) or (
                "password" in str(cause).lower()):
            raise UnsupportedFormatError(path, "password-protected PDF; remove the password and try again") from exc
        raise UnsupportedFormatError(path, f"damaged or truncated PDF ({type(cause).__name__}: {cause})") from exc
    try:
        limits.check_pages(path, len(pdf.pages))  # a page tree whose /Count understates it
    except UnsupportedFormatError:
        pdf.close()
        raise
    return pdf


def _pdfium_refusal(path: Path, exc: Exception) -> UnsupportedFormatError:
    """Why pdfium could not open ``path``, for the user."""
    if "password" in str(exc).lower():
        return UnsupportedFormatError(path, "password-protected PDF; remove the password and try again")
    return UnsupportedFormatError(path, f"damaged or truncated PDF ({exc})")


def _open_pdfium(path: Path, data: bytes, limits: LoadLimits):
    """``data`` opened with pdfium, its pages read on demand (pipeline.reading.loaders.pdfium_pages)."""
    import pypdfium2 as pdfium

    from pipeline.reading.loaders.pdfium_pages import PdfiumDocument

    try:
        pdf = PdfiumDocument(data)
    except pdfium.PdfiumError as exc:
        raise _pdfium_refusal(path, exc) from exc
    try:
        limits.check_pages(path, len(pdf))
    except UnsupportedFormatError:
        pdf.close()
        raise
    return pdf


@functools.lru_cache(maxsize=1024)
def _bold_font(fontname: str) -> bool:
    """Whether a font's name says it is bold ("ABCDEF+Arial-BoldMT"); asked once per font, not per character."""
    return any(word in fontname.lower() for word in _BOLD)


def _layout(line: dict) -> LineLayout:
    chars = [c for c in line.get("chars", []) if c.get("text", "").strip()]
    sizes = [round(float(c.get("size", 0)), 1) for c in chars] or [0.0]
    bold = sum(1 for c in chars if _bold_font(str(c.get("fontname", ""))))
    return LineLayout(x0=float(line["x0"]), x1=float(line["x1"]), top=float(line["top"]),
                      bottom=float(line["bottom"]), font_size=statistics.median(sizes),
                      bold=bool(chars) and bold >= 0.8 * len(chars))


# Column detection holds a grid of one cell per point across per printed row. A page larger than any paper (A0 is
# 2,384 points on its long side; 5 m is 14,173) or a grid past this many cells is read as one column instead,
# with a warning: the grid of a page 20 million points wide would take gigabytes.
MAX_PAGE_POINTS = 5000 / 25.4 * 72
MAX_GRID_CELLS = 20_000_000


def _oversized(page) -> str | None:
    """Why ``page`` is too large to look for columns on, or None."""
    if max(float(page.width), float(page.height)) > MAX_PAGE_POINTS:
        return f"{float(page.width) / 72 * 0.0254:,.1f} × {float(page.height) / 72 * 0.0254:,.1f} m"
    return None


# Progress on the console for long documents: for PDFs of at least PROGRESS_MIN_PAGES pages, a line every
# PROGRESS_EVERY_PAGES pages or PROGRESS_EVERY_SECONDS seconds, whichever comes first, and one at the last page.
PROGRESS_MIN_PAGES = 50
PROGRESS_EVERY_PAGES = 25
PROGRESS_EVERY_SECONDS = 10.0
Progress = Callable[[int, int], None]
"""Called after each page with (pages read so far, the document's page count)."""


class ConsoleProgress:
    """The default progress of a long PDF: "tiltak: NAME: page 100 of 419 (23 pages/s)" on stderr (which a
    worker process shares with the console that started the run)."""

    def __init__(self, name: str, stream=None, clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.stream, self.clock = name, stream, clock
        self.started = clock()
        self.last_page, self.last_time = 0, self.started

    def __call__(self, page: int, total: int) -> None:
        if total < PROGRESS_MIN_PAGES:
            return
        now = self.clock()
        if page < total and page - self.last_page < PROGRESS_EVERY_PAGES and now - self.last_time < (
                PROGRESS_EVERY_SECONDS):
            return
        rate = page / max(now - self.started, 1e-6)
        stream = self.stream or sys.stderr
        shown = f"{rate:.1f}" if rate < 10 else f"{rate:.0f}"
        print(f"tiltak: {self.name}: page {page} of {total} ({shown} pages/s)", file=stream, flush=True)
        self.last_page, self.last_time = page, now


_PLACEHOLDER_TITLES = {"untitled", "(anonymous)", "anonymous", "document", "dokument", "presentation"}


def _meaningful_title(title: object) -> str | None:
    """The metadata title, unless it is a tool's placeholder ("untitled", "Microsoft Word - rapport.docx")."""
    if not isinstance(title, str):
        return None
    text = title.strip().removeprefix("Microsoft Word - ").strip()
    # File names a layout tool wrote as the title ("Prop1LS-FIN.book", "rapport.indd") are not the document's title.
    if not text or text.lower() in _PLACEHOLDER_TITLES or text.lower().endswith((".doc", ".docx", ".indd", ".book",
                                                                                 ".fm", ".qxd", ".pdf")):
        return None
    return text


_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?")


def _creation_date(value: object) -> str | None:
    """A PDF date ("D:20251111073226Z", "D:20241124223509+01'00'") as an ISO date, when it is one."""
    if isinstance(value, bytes):
        value = value.decode("latin-1", "replace")
    if not isinstance(value, str) or not (match := _PDF_DATE.match(value.strip())):
        return None
    year, month, day = match.group(1), match.group(2) or "01", match.group(3) or "01"
    try:
        return datetime.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def _page_lines(page, number: int, oversized: list[str]) -> list[dict]:
    """The printed lines of one page in reading order (see pipeline.reading.loaders.pdf_layout)."""
    width, height = float(page.width), float(page.height)
    chars = page.chars
    if too_large := _oversized(page):
        oversized.append(f"page {number} ({too_large})")
        return pdf_layout.page_lines(chars, width, height, find_columns=False)
    try:
        return pdf_layout.page_lines(chars, width, height, max_grid_cells=MAX_GRID_CELLS)
    except pdf_layout.TooLargeForColumns as exc:
        oversized.append(f"page {number} ({exc})")
        return pdf_layout.page_lines(chars, width, height, find_columns=False)


class _PdfplumberPages:
    """pdfplumber's reading of single pages of a document read with pdfium, opened on first use. pdfium reads a page
    whose content it cannot decode (a damaged stream, an unknown filter) as an empty page and says nothing, and a
    page it fails on is lost with it: such a page is read again by pdfminer, which reads it or says what is wrong."""

    def __init__(self, path: Path, data: bytes, limits: LoadLimits) -> None:
        self.path, self.data, self.limits = path, data, limits
        self._pdf = None
        self._unopenable = False

    def page_lines(self, number: int, oversized: list[str]) -> tuple[list[dict], bool]:
        """The page's lines and whether it is an image page without text; a page pdfminer cannot read raises."""
        if self._pdf is None and not self._unopenable:
            try:
                self._pdf = _open(self.path, self.data, self.limits)
            except UnsupportedFormatError:  # pdfminer cannot open what pdfium did: pdfium's reading stands
                self._unopenable = True
        if self._pdf is None:
            return [], False
        page = self._pdf.pages[number - 1]
        try:
            found = _page_lines(page, number, oversized)
            return found, not found and bool(page.images)
        finally:
            page.close()

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()


def _read_page(page, number: int, oversized: list[str], second_reader: _PdfplumberPages | None
               ) -> tuple[list[dict], bool]:
    """The page's lines, and whether it is an image page without text. With ``second_reader`` (the page was read by
    pdfium), a page pdfium fails on or finds empty of text and images is read again by pdfplumber."""
    try:
        found = _page_lines(page, number, oversized)
        images = not found and bool(page.images)
    except Exception:
        if second_reader is None:
            raise
        found, images = [], False
    if second_reader is not None and not found and not images:
        return second_reader.page_lines(number, oversized)
    return found, images


_NAMED_PAGES = 10  # unreadable pages warned about one by one; the rest are counted


def _listed(items: list[str], shown: int = 3) -> str:
    return ", ".join(items[:shown]) + (f" and {len(items) - shown} more" if len(items) > shown else "")


def _unreadable_warnings(path: Path, unreadable: list[str], page_count: int) -> list[str]:
    """One warning per page that could not be read ("page 7 could not be read (…); skipped"); a document none
    of whose pages could be read is refused."""
    if unreadable and len(unreadable) == page_count:
        raise UnsupportedFormatError(path, f"no page could be read: {_listed(unreadable)}")
    warnings = [f"{item.replace(' (', ' could not be read (', 1)}; skipped" for item in unreadable[:_NAMED_PAGES]]
    if len(unreadable) > _NAMED_PAGES:
        warnings.append(f"{len(unreadable) - _NAMED_PAGES} more pages could not be read; skipped")
    return warnings


def read(path: Path, data: bytes, limits: LoadLimits = NO_LIMITS, progress: Progress | None = None,
         chars_from: str = "pdfium") -> SourceDocument:
    """Each page's lines with their layout. A page that cannot be read (a damaged content stream or font, a
    layout the reader trips on) becomes a warning naming it and the reason, and the other pages are read; only
    a document with no readable page is refused. ``progress`` is told of every page read (default: a line on
    stderr now and then for a long document, see ConsoleProgress). ``chars_from``: where the characters come from,
    "pdfium" (pypdfium2, the default, several times faster; pipeline.reading.loaders.pdfium_pages) or "pdfplumber"
    (pdfminer)."""
    progress = progress if progress is not None else ConsoleProgress(path.name)
    if chars_from not in ("pdfplumber", "pdfium"):
        raise ValueError(f"unknown character source {chars_from!r}: use 'pdfplumber' or 'pdfium'")
    if chars_from == "pdfplumber":
        return _read(path, data, limits, progress, chars_from)
    from pipeline.reading.loaders.pdfium_pages import PDFIUM_LOCK

    with PDFIUM_LOCK:
        return _read(path, data, limits, progress, chars_from)


def _read(path: Path, data: bytes, limits: LoadLimits, progress: Progress, chars_from: str) -> SourceDocument:
    pdf = _open(path, data, limits) if chars_from == "pdfplumber" else _open_pdfium(path, data, limits)
    second_reader = _PdfplumberPages(path, data, limits) if chars_from == "pdfium" else None
    lines: list[SourceLine] = []
    pages: list[PageInfo] = []
    image_pages = 0
    oversized: list[str] = []  # pages read without column detection, and why
    unreadable: list[str] = []  # "page 7 (ValueError: …)"
    try:
        title = (pdf.metadata or {}).get("Title")
        created = _creation_date((pdf.metadata or {}).get("CreationDate"))
        for number, page in enumerate(pdf.pages, start=1):
            limits.check_time(path, "load")
            try:
                pages.append(PageInfo(number, float(page.width), float(page.height)))
                found, images = _read_page(page, number, oversized, second_reader)
                image_pages += bool(images)
                page_lines = [SourceLine(text=line["text"], page=number, layout=_layout(line)) for line in found]
            except Exception as exc:  # pdfminer and pdfplumber raise many types for a damaged page
                if len(pages) < number:
                    pages.append(PageInfo(number))
                reason = f"{type(exc).__name__}: {exc}".strip()
                unreadable.append(f"page {number} ({reason[:200]})")
                continue
            finally:
                page.close()
                progress(number, len(pdf.pages))
            lines.extend(page_lines)
    finally:
        pdf.close()
        if second_reader is not None:
            second_reader.close()
    warnings = _unreadable_warnings(path, unreadable, len(pages))
    if oversized:
        warnings.append(f"{_listed(oversized)}: larger than any paper size; read as one column, without looking "
                        "for text columns")
    if not lines:
        hint = "the pages are images (scanned?)" if image_pages else "no text found"
        warnings.append(f"{NO_TEXT_LAYER}: {hint}; run OCR (e.g. ocrmypdf) first to get a text layer")
    elif image_pages:
        warnings.append(f"{NO_TEXT_LAYER}: {image_pages} of {len(pages)} pages are images without text; "
                        "run OCR (e.g. ocrmypdf) to read them")
    title_text = _meaningful_title(title)
    return SourceDocument(path=path, sha256="", size_bytes=len(data), format=SourceFormat.PDF, lines=lines,
                          title=title_text, pages=pages, warnings=warnings, created=created)


def read_plain(path: Path, data: bytes, limits: LoadLimits = NO_LIMITS, progress: Progress | None = None
               ) -> SourceDocument:
    """The ``pypdfium2`` backend: each page's text lines without layout, many times faster than pdfplumber.
    Without font sizes and positions, headings are found only by their wording and numbering, and running
    headers only as a page's first or last line: for large corpora where speed matters more than structure."""
    from pipeline.reading.loaders.pdfium_pages import PDFIUM_LOCK

    progress = progress if progress is not None else ConsoleProgress(path.name)
    with PDFIUM_LOCK:
        return _read_plain(path, data, limits, progress)


def _read_plain(path: Path, data: bytes, limits: LoadLimits, progress: Progress) -> SourceDocument:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise _pdfium_refusal(path, exc) from exc
    lines: list[SourceLine] = []
    pages: list[PageInfo] = []
    unreadable: list[str] = []
    try:
        limits.check_pages(path, len(pdf))
        metadata = pdf.get_metadata_dict()
        title, created = metadata.get("Title"), _creation_date(metadata.get("CreationDate"))
        for number in range(1, len(pdf) + 1):
            limits.check_time(path, "load")
            page = None
            try:
                page = pdf[number - 1]
                width, height = page.get_size()
                pages.append(PageInfo(number, float(width), float(height)))
                textpage = page.get_textpage()
                text = textpage.get_text_bounded()
                textpage.close()
            except pdfium.PdfiumError as exc:
                if len(pages) < number:
                    pages.append(PageInfo(number))
                unreadable.append(f"page {number} (PdfiumError: {str(exc)[:200]})")
                continue
            finally:
                if page is not None:
                    page.close()
                progress(number, len(pdf))
            lines.extend(SourceLine(text=line, page=number) for line in text.splitlines() if line.strip())
    finally:
        pdf.close()
    warnings = _unreadable_warnings(path, unreadable, len(pages))
    if not lines:
        warnings.append(f"{NO_TEXT_LAYER}: no text found; run OCR (e.g. ocrmypdf) first to get a text layer")
    return SourceDocument(path=path, sha256="", size_bytes=len(data), format=SourceFormat.PDF, lines=lines,
                          title=_meaningful_title(title), pages=pages, warnings=warnings, created=created)
